"""The emulator's AAD tokens, credentials and Azure RBAC model (../shared/aks-access.md §1-§3)."""

import pytest
import yaml

from armemulator.arm import credentials
from armemulator.arm.clusters import recorded_cluster, stored_document
from armemulator.arm.errors import ArmError
from armemulator.identity import AKS_SERVER_APP, Tokens
from armemulator.kubernetes import auth
from armemulator.kubernetes.objects import KubeError

# No az in these tests: the az-release matrix (scripts/test-matrix.sh) leaves them out.
pytestmark = pytest.mark.same_on_every_az

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def aad_doc(**properties):
    doc = recorded_cluster("automatic-aad-2025")
    doc["properties"].update(properties)
    return stored_document("s1", "rg", "c1", doc, existing=None, provisioning_state="Succeeded", tenant=TENANT)


def test_tokens_verify_only_their_own_unexpired_tokens():
    tokens = Tokens(b"k" * 32)
    token = tokens.issue(TENANT, AKS_SERVER_APP, now=1000)
    assert tokens.verify(token, now=1001)["aud"] == AKS_SERVER_APP
    assert tokens.verify(token, now=1000 + 3600) is None
    assert Tokens(b"x" * 32).verify(token, now=1001) is None
    assert tokens.verify(credentials.STATIC_TOKENS["clusterUser"]) is None


def test_aad_user_credential_is_the_kubelogin_exec_kubeconfig():
    doc = aad_doc()
    config = yaml.safe_load(credentials.kubeconfig(doc, "clusterUser", emulator_server="https://e", ca_data="Q0E="))
    user = config["users"][0]["user"]["exec"]
    assert user["command"] == "kubelogin" and user["args"][-2:] == ["--login", "devicecode"]
    assert "--server-id" in user["args"] and AKS_SERVER_APP in user["args"] and TENANT in user["args"]


def test_admin_credential_refused_when_local_accounts_are_disabled():
    with pytest.raises(ArmError) as raised:
        credentials.kubeconfig(aad_doc(), "clusterAdmin", emulator_server="https://e", ca_data="Q0E=")
    assert raised.value.status == 400 and "disable local accounts" in raised.value.body()["error"]["message"]


def test_private_cluster_credential_points_at_its_private_fqdn():
    doc = aad_doc(apiServerAccessProfile={"enablePrivateCluster": True})
    config = yaml.safe_load(credentials.kubeconfig(doc, "clusterUser", emulator_server="https://e", ca_data="Q0E="))
    server = config["clusters"][0]["cluster"]["server"]
    assert ".privatelink.westus2.azmk8s.io" in server and server == f"https://{doc['properties']['privateFQDN']}:443"


def test_aad_api_server_takes_only_an_aks_token_of_its_tenant():
    tokens, cluster = Tokens(), credentials.facts(aad_doc())
    assert auth.authenticate(f"Bearer {tokens.issue(TENANT, AKS_SERVER_APP)}", cluster, tokens).object_id
    for bad in (
        f"Bearer {tokens.issue(TENANT, 'https://management.core.windows.net/')}",
        f"Bearer {tokens.issue('other-tenant', AKS_SERVER_APP)}",
        f"Bearer {credentials.STATIC_TOKENS['clusterUser']}",
        f"Bearer {credentials.STATIC_TOKENS['clusterAdmin']}",  # local accounts are disabled
        "",
    ):
        with pytest.raises(KubeError) as raised:
            auth.authenticate(bad, cluster, tokens)
        assert raised.value.code == 401


@pytest.mark.parametrize(
    ("role", "scope", "method", "path", "allowed"),
    [
        (auth.CLUSTER_ADMIN, None, "POST", "/apis/eraser.sh/v1/imagelists", True),
        (auth.ADMIN, None, "POST", "/apis/eraser.sh/v1/imagelists", True),
        (auth.ADMIN, "kube-system", "POST", "/apis/eraser.sh/v1/imagelists", False),
        (auth.WRITER, None, "POST", "/apis/eraser.sh/v1/imagelists", False),
        (auth.WRITER, None, "PUT", "/api/v1/namespaces/kube-system/configmaps/x", True),
        (auth.WRITER, None, "GET", "/api/v1/namespaces/kube-system/pods/p/log", True),
        (auth.READER, None, "GET", "/api/v1/namespaces/kube-system/pods/p/log", False),
        (auth.READER, None, "GET", "/api/v1/namespaces/kube-system/configmaps", True),
        (auth.READER, None, "GET", "/apis/eraser.sh/v1/imagelists/imagelist", False),
        (auth.READER, None, "GET", "/api/v1/nodes", False),
    ],
)
def test_azure_rbac_per_role(role, scope, method, path, allowed):
    cluster = credentials.facts(aad_doc())
    caller = auth.Identity("u", object_id="o")
    if allowed:
        auth.authorize(caller, cluster, [(role, scope)], method, path, {})
        return
    with pytest.raises(KubeError) as raised:
        auth.authorize(caller, cluster, [(role, scope)], method, path, {})
    assert raised.value.code == 403
    assert "User does not have access to the resource in Azure. Update role assignment" in raised.value.message
