"""An isolated az profile logged in to the emulator, as offline-az.md describes.

Nothing here touches the user's own ~/.azure: every call runs with its own
AZURE_CONFIG_DIR and AZURE_EXTENSION_DIR.
"""

import os
import subprocess

CLOUD = "LocalCloud"


def az_environment(base_env, url, ca_path, config_dir, extension_dir):
    """The variables every az call against the emulator needs."""
    env = dict(base_env)
    env.update(
        {
            "AZURE_CONFIG_DIR": config_dir,
            "AZURE_EXTENSION_DIR": extension_dir,
            "REQUESTS_CA_BUNDLE": ca_path,
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_INSTANCE_DISCOVERY": "false",
            "AZURE_CORE_NO_COLOR": "true",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "false",
            # MSAL's App Service managed identity; without it MSAL tries IMDS, which is not here.
            "IDENTITY_ENDPOINT": f"{url}/msi/token",
            "IDENTITY_HEADER": "armemulator",
        }
    )
    # A proxy or another CA bundle from the caller's shell would point az elsewhere.
    for name in ("CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "AZURE_DEFAULTS_GROUP", "AZURE_DEFAULTS_LOCATION"):
        env.pop(name, None)
    os.makedirs(config_dir, exist_ok=True)
    os.makedirs(extension_dir, exist_ok=True)
    return env


def login(az, env, url):
    """Register the emulator as a cloud, make it active, and log in with the managed identity."""
    steps = [
        [
            az,
            "cloud",
            "register",
            "-n",
            CLOUD,
            "--endpoint-resource-manager",
            f"{url}/",
            "--endpoint-active-directory",
            url,
            "--endpoint-active-directory-resource-id",
            "https://management.core.windows.net/",
            "--skip-endpoint-discovery",
            "--only-show-errors",
        ],
        [az, "cloud", "set", "-n", CLOUD, "--only-show-errors"],
        [az, "login", "--identity", "-o", "none", "--only-show-errors"],
    ]
    for step in steps:
        subprocess.run(step, env=env, check=True, stdin=subprocess.DEVNULL, capture_output=True, text=True)


def install_extension(az, env, wheel):
    subprocess.run(
        [az, "extension", "add", "--source", wheel, "--yes", "-o", "none", "--only-show-errors"],
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
