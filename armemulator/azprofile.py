"""An isolated az profile logged in to the emulator, as offline-az.md describes.

Nothing here touches the user's own ~/.azure: every call runs with its own
AZURE_CONFIG_DIR and AZURE_EXTENSION_DIR.
"""

import os
import re
import ssl
import subprocess
import sys

CLOUD = "LocalCloud"


class AzStepError(Exception):
    """An az call of the profile's set-up failed; str() is one line: the command, its error, how to retry."""

    def __init__(self, args, returncode, stderr):
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        # az's own one-line message, not pip's or Python's noise around it.
        error = next((line for line in reversed(lines) if line.startswith("ERROR:")), lines[-1] if lines else "")
        self.command = "az " + " ".join(args)
        super().__init__(f"`{self.command}` exited {returncode}: {error or 'no error text'}")


def system_trust():
    """What this machine trusts without being told: the CA file OpenSSL defaults to, and pip's `cert`
    settings (pip.conf or PIP_CERT; a TLS-inspecting proxy's CA is often set only there)."""
    paths = ssl.get_default_verify_paths()
    return [p for p in (paths.cafile, paths.openssl_cafile) if p] + pip_certs()


def pip_certs():
    """The `cert` files pip is configured with, as `pip config list` reports them from every file and
    variable it reads."""
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return pip_cert_settings(listed)


def pip_cert_settings(listed):
    """Every `cert` in `pip config list` output, whose lines look like `global.cert='/etc/ssl/ca.pem'` or
    `:env:.cert='...'`. All of them are kept: trusting one CA file more than pip would does no harm here."""
    return re.findall(r"^[^=\n]*\.cert='([^'\n]*)'$", listed, re.MULTILINE)


def trust_sources(base_env, bundle, system_files, certifi_file):
    """The CA files the sandbox's bundle starts from (pure: every path is given; `system_files` is a list or
    a function giving one, called only when needed).

    REQUESTS_CA_BUNDLE or SSL_CERT_FILE when the caller set one (but never the sandbox's own bundle, which a
    shell that sourced .sandbox/env.sh points at); otherwise everything the machine trusts, plus certifi's
    bundle, which is what requests trusts when nothing is set."""
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        path = base_env.get(name)
        if path and os.path.isfile(path) and os.path.abspath(path) != os.path.abspath(bundle):
            return [path]
    if callable(system_files):
        system_files = system_files()
    sources = []
    for path in (*system_files, certifi_file):
        if path and os.path.isfile(path) and os.path.realpath(path) not in map(os.path.realpath, sources):
            sources.append(path)
    return sources


def trust_bundle(base_env, ca_path, folder, system_files=system_trust, certifi_file=None):
    """The emulator's CA added to the CAs already trusted, so az trusts the emulator and pip (run by
    `az extension add` for dependencies, inheriting REQUESTS_CA_BUNDLE) still trusts the package index."""
    bundle = os.path.join(folder, "ca-bundle.pem")
    if certifi_file is None:
        import certifi

        certifi_file = certifi.where()
    seen, blocks = set(), []
    for path in (ca_path, *trust_sources(base_env, bundle, system_files, certifi_file)):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        # One copy of each certificate: the system store and certifi share most of theirs.
        for block in _PEM.findall(text) or [text.strip()]:
            if block not in seen:
                seen.add(block)
                blocks.append(block)
    with open(bundle, "w", encoding="utf-8") as out:
        out.write("\n".join(blocks) + "\n")
    return bundle


_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


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
            # az runs as `python -m azure.cli`, which puts the working folder first on sys.path: run from a checkout,
            # it would import the checkout's azext_imagecleaner instead of the installed extension.
            "PYTHONSAFEPATH": "1",
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
    """Register the emulator as a cloud (or point the registered one at it), make it active, log in.

    The cloud's Log Analytics endpoint is the emulator too: az's `log_analytics_resource_id`, which the extension
    queries and asks tokens for, as in China or US Gov (../shared/container-insights.md §4). Only `--cloud-config`
    sets it, and then every endpoint comes from it."""
    import json

    config = {
        "endpoints": {
            "resourceManager": f"{url}/",
            "activeDirectory": url,
            "activeDirectoryResourceId": "https://management.core.windows.net/",
            "logAnalyticsResourceId": url,
        }
    }
    endpoints = ["--cloud-config", json.dumps(config)]
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
        raise AzStepError(args, completed.returncode, completed.stderr)
    return completed
