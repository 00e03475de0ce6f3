"""An isolated az profile logged in to the emulator, as offline-az.md describes.

Nothing here touches the user's own ~/.azure: every call runs with its own
AZURE_CONFIG_DIR and AZURE_EXTENSION_DIR.
"""

import os
import subprocess

CLOUD = "LocalCloud"


def trust_bundle(base_env, ca_path, folder):
    """The emulator's CA added to the CAs already trusted, so az trusts the emulator and pip (run by
    `az extension add` for dependencies) still trusts the package index."""
    bundle = os.path.join(folder, "ca-bundle.pem")
    # A shell that sourced the sandbox's env.sh already points at this very bundle: start from the CAs behind it.
    candidates = (base_env.get("REQUESTS_CA_BUNDLE"), base_env.get("SSL_CERT_FILE"))
    trusted = next((p for p in candidates if p and os.path.isfile(p) and os.path.abspath(p) != bundle), None)
    if trusted is None:
        import certifi

        trusted = certifi.where()
    texts = []
    for path in (ca_path, trusted):
        with open(path, encoding="utf-8") as f:
            texts.append(f.read().rstrip("\n") + "\n")
    with open(bundle, "w", encoding="utf-8") as out:
        out.writelines(texts)
    return bundle


def az_environment(base_env, url, ca_path, config_dir, extension_dir):
    """The variables every az call against the emulator needs."""
    config_dir, extension_dir = os.path.abspath(config_dir), os.path.abspath(extension_dir)
    os.makedirs(config_dir, exist_ok=True)
    os.makedirs(extension_dir, exist_ok=True)
    env = dict(base_env)
    env.update(
        {
            "AZURE_CONFIG_DIR": config_dir,
            "AZURE_EXTENSION_DIR": extension_dir,
            "REQUESTS_CA_BUNDLE": trust_bundle(base_env, ca_path, config_dir),
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
    # Defaults from the caller's own az setup would change what the commands mean.
    for name in ("AZURE_DEFAULTS_GROUP", "AZURE_DEFAULTS_LOCATION"):
        env.pop(name, None)
    return env


def login(az, env, url):
    """Register the emulator as a cloud (or point the registered one at it), make it active, log in."""
    endpoints = [
        "--endpoint-resource-manager",
        f"{url}/",
        "--endpoint-active-directory",
        url,
        "--endpoint-active-directory-resource-id",
        "https://management.core.windows.net/",
    ]
    registered = _az(az, env, "cloud", "register", "-n", CLOUD, *endpoints, "--skip-endpoint-discovery", check=False)
    if registered.returncode != 0:
        # Registered by an earlier run, perhaps on another port: register it afresh
        # (`cloud update` has no way to skip endpoint discovery).
        _az(az, env, "cloud", "set", "-n", "AzureCloud")
        _az(az, env, "cloud", "unregister", "-n", CLOUD)
        _az(az, env, "cloud", "register", "-n", CLOUD, *endpoints, "--skip-endpoint-discovery")
    _az(az, env, "cloud", "set", "-n", CLOUD)
    _az(az, env, "login", "--identity", "-o", "none")


def install_extension(az, env, wheel, replace=False):
    if replace:
        _az(az, env, "extension", "remove", "-n", "imagecleaner", check=False)
    _az(az, env, "extension", "add", "--source", wheel, "--yes", "-o", "none")


def _az(az, env, *args, check=True):
    completed = subprocess.run(
        [az, *args, "--only-show-errors"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and completed.returncode != 0:
        raise RuntimeError(f"az {' '.join(args)} failed ({completed.returncode}): {completed.stderr.strip()}")
    return completed
