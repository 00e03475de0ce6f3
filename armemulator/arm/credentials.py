"""listClusterUserCredential and listClusterAdminCredential: the kubeconfig each kind of cluster gets.

Follows ../shared/aks-access.md:
- managed AAD (§1): the user credential is an `exec` kubeconfig that runs kubelogin with `--login devicecode`,
  as AKS returns it for Kubernetes >= 1.24 (captured in Azure/kubelogin#193, Azure/AKS#3050); `format=azure`
  gives the old `auth-provider: azure` entry without an access token;
- local accounts disabled (§2): the admin credential answers 400 BadRequest with the service's message;
- private clusters (§4): `server` is the private FQDN, which resolves only inside the cluster's VNet (here:
  nowhere); `server-fqdn=public` gives the public FQDN, which does not lead here either.
Elsewhere `server` is this emulator's own address for the cluster. Static credentials are tokens here where
AKS hands out client certificates: what matters to a client is that they are local accounts.
"""

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
STATIC_TOKENS = {"clusterAdmin": "clusterAdmin-token", "clusterUser": "clusterUser-token"}


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
        user = {"token": STATIC_TOKENS[which]}
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
