"""listClusterUserCredential and listClusterAdminCredential: the kubeconfig each kind of cluster gets.

Follows ../shared/aks-access.md:
- managed AAD (§1): the user credential is an `exec` kubeconfig that runs kubelogin with `--login devicecode`,
  as AKS returns it for Kubernetes >= 1.24 (captured in Azure/kubelogin#193, Azure/AKS#3050); `format=azure`
  gives the old `auth-provider: azure` entry without an access token;
- local accounts disabled (§2): the admin credential answers 400 BadRequest with the service's message;
- private clusters (§4): `server` is the private FQDN, which resolves only inside the cluster's VNet (here:
  nowhere); `server-fqdn=public` gives the public FQDN, which does not lead here either.
Elsewhere `server` is this emulator's own address for the cluster. A static (local-account) user holds what
AKS hands out: a client certificate and key and a token (the API server here authenticates by the token). All
three are made anew in each emulator process, so a test can search any output for them (`secrets()`).
"""

import base64
import functools
import secrets as _random

import yaml

from armemulator.arm.errors import ArmError
from armemulator.identity import AKS_SERVER_APP

KUBELOGIN_CLIENT_APP = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"
LOCAL_ACCOUNTS_DISABLED = (
    "Getting static credential is not allowed because this cluster is set to disable local accounts."
)
KUBELOGIN_INSTALL_HINT = (
    "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
    "To learn more, please go to https://aka.ms/aks/kubelogin\n"
)
STATIC_TOKENS = {which: f"{which}-{_random.token_hex(16)}" for which in ("clusterAdmin", "clusterUser")}


@functools.cache
def client_certificate(which):
    """(certificate, key) of a static user, PEM, base64 as a kubeconfig holds them: made once per process."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, which)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (
        base64.b64encode(certificate.public_bytes(serialization.Encoding.PEM)).decode(),
        base64.b64encode(key_pem).decode(),
    )


def secrets():
    """Every static credential this process hands out, for tests that check no output holds one."""
    found = list(STATIC_TOKENS.values())
    for which in STATIC_TOKENS:
        for data in client_certificate(which):
            found += [data, base64.b64decode(data).decode()]
    return found


def facts(doc):
    properties = doc.get("properties") or {}
    aad = properties.get("aadProfile") or {}
    access = properties.get("apiServerAccessProfile") or {}
    return {
        "aad_managed": bool(aad.get("managed")),
        "aad_legacy": bool(aad) and not aad.get("managed"),
        "azure_rbac": bool(aad.get("managed") and aad.get("enableAzureRBAC")),
        "tenant": aad.get("tenantID"),
        "local_accounts_disabled": bool(properties.get("disableLocalAccounts")),
        "private": bool(access.get("enablePrivateCluster")),
        "run_command_disabled": bool(access.get("disableRunCommand")),
        "fqdn": properties.get("fqdn"),
        "private_fqdn": properties.get("privateFQDN"),
    }


def kubeconfig(doc, which, *, emulator_server, ca_data, server_fqdn=None, credential_format=None):
    """The kubeconfig text for `which` ("clusterUser" or "clusterAdmin"), or the ArmError the service answers."""
    cluster = facts(doc)
    name = doc["name"]
    if which == "clusterAdmin" and cluster["local_accounts_disabled"]:
        raise ArmError(400, "BadRequest", LOCAL_ACCOUNTS_DISABLED)
    if cluster["private"]:
        fqdn = cluster["fqdn"] if (server_fqdn or "").lower() == "public" else cluster["private_fqdn"]
        server = f"https://{fqdn}:443"
    else:
        server = emulator_server
    user_name = f"{which}_{doc['id'].split('/')[4]}_{name}"
    if which == "clusterUser" and cluster["aad_managed"]:
        user = _aad_user(cluster, credential_format)
    else:
        certificate, key = client_certificate(which)
        user = {"client-certificate-data": certificate, "client-key-data": key, "token": STATIC_TOKENS[which]}
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"certificate-authority-data": ca_data, "server": server}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user_name}}],
        "current-context": name,
        "preferences": {},
        "users": [{"name": user_name, "user": user}],
    }
    return yaml.safe_dump(document, sort_keys=False)


def _aad_user(cluster, credential_format):
    if (credential_format or "").lower() == "azure":
        return {
            "auth-provider": {
                "name": "azure",
                "config": {
                    "apiserver-id": AKS_SERVER_APP,
                    "client-id": KUBELOGIN_CLIENT_APP,
                    "config-mode": "1",
                    "environment": "AzurePublicCloud",
                    "tenant-id": cluster["tenant"],
                },
            }
        }
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "kubelogin",
            "args": [
                "get-token",
                "--environment",
                "AzurePublicCloud",
                "--server-id",
                AKS_SERVER_APP,
                "--client-id",
                KUBELOGIN_CLIENT_APP,
                "--tenant-id",
                cluster["tenant"],
                "--login",
                "devicecode",
            ],
            "env": None,
            "installHint": KUBELOGIN_INSTALL_HINT,
            "provideClusterInfo": False,
        }
    }
