"""Pure rules of cluster access: which credential and transport, kubectl lines and output, Azure RBAC wording."""

import base64
import io
import json
import zipfile
from types import SimpleNamespace

import pytest

from azext_imagecleaner.access import _kubectl, _plan
from azext_imagecleaner.access._plan import AccessOptions, ClusterFacts, Refusal
from azext_imagecleaner.access._token import AadToken, token_scope
from azext_imagecleaner.azure import errors

CLUSTER_ID = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"


def facts(**kw):
    return ClusterFacts(id=CLUSTER_ID, subscription="s1", **kw)


def never():
    raise AssertionError("reachability was not needed")


# --- facts, credential, transport ----------------------------------------------------------------------


def test_facts_of_a_managed_aad_private_cluster():
    mc = SimpleNamespace(
        id=CLUSTER_ID,
        aad_profile=SimpleNamespace(managed=True, enable_azure_rbac=True, tenant_id="t1"),
        disable_local_accounts=True,
        api_server_access_profile=SimpleNamespace(enable_private_cluster=True, disable_run_command=False),
    )
    got = _plan.facts_of(mc)
    assert got == ClusterFacts(
        CLUSTER_ID, "s1", aad_managed=True, azure_rbac=True, tenant="t1", local_accounts_disabled=True, private=True
    )


def test_facts_of_an_old_sdk_model_without_the_newer_attributes():
    got = _plan.facts_of(SimpleNamespace(id=CLUSTER_ID, aad_profile=SimpleNamespace(managed=False)))
    assert got.aad_legacy and not got.aad_managed and not got.run_command_disabled


@pytest.mark.parametrize(
    ("cluster", "options", "expected"),
    [
        (facts(), AccessOptions(), "user"),
        (facts(aad_managed=True), AccessOptions(), "aad"),
        (facts(aad_managed=True, local_accounts_disabled=True), AccessOptions(), "aad"),
        (facts(), AccessOptions(admin=True), "admin"),
        (
            facts(aad_managed=True, local_accounts_disabled=True),
            AccessOptions(admin=True),
            Refusal("local-accounts-disabled"),
        ),
        (facts(aad_legacy=True), AccessOptions(), Refusal("legacy-aad")),
        (facts(aad_legacy=True), AccessOptions(kubeconfig="k"), "kubeconfig"),
    ],
)
def test_credential(cluster, options, expected):
    assert _plan.credential(cluster, options) == expected


def test_auto_uses_the_api_server_when_it_answers_else_run_command():
    assert _plan.transport(facts(), AccessOptions(), lambda: True) == "api-server"
    assert _plan.transport(facts(private=True), AccessOptions(), lambda: False) == "run-command"
    assert _plan.transport(facts(run_command_disabled=True), AccessOptions(), lambda: False) == Refusal(
        "unreachable-run-command-disabled"
    )


def test_a_forced_transport_does_not_probe():
    assert _plan.transport(facts(), AccessOptions(transport="api-server"), never) == "api-server"
    assert _plan.transport(facts(), AccessOptions(transport="run-command"), never) == "run-command"
    assert _plan.transport(facts(run_command_disabled=True), AccessOptions(transport="run-command"), never) == Refusal(
        "run-command-disabled"
    )
    assert _plan.transport(None, AccessOptions(kubeconfig="k", transport="run-command"), never) == Refusal(
        "kubeconfig-with-run-command"
    )


# --- kubectl through run-command -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        ('Error from server (NotFound): configmaps "x" not found', (404, "NotFound", 'configmaps "x" not found')),
        (
            'Error from server (AlreadyExists): error when creating "manifest.json": exists',
            (409, "AlreadyExists", 'error when creating "manifest.json": exists'),
        ),
        (
            "Error from server (Conflict): the object has been modified",
            (409, "Conflict", "the object has been modified"),
        ),
        (
            "Error from server (Forbidden): imagelists.eraser.sh is forbidden: no",
            (403, "Forbidden", "imagelists.eraser.sh is forbidden: no"),
        ),
        (
            'error: the server doesn\'t have a resource type "imagelists"',
            (404, "NotFound", "the server could not find the requested resource"),
        ),
        ("error: You must be logged in to the server (Unauthorized)", (401, "Unauthorized", "Unauthorized")),
        ("Unable to connect to the server: dial tcp: i/o timeout", None),
    ],
)
def test_server_error(stderr, expected):
    got = _kubectl.server_error(stderr)
    assert (tuple(got) if got else None) == expected


def test_pods_from_jsonpath_lines():
    text = "eraser-aks-1-abc\taks-1\tRunning\tcollector trivy-scanner remover\ncollector-aks-2\t\tPending\tcollector\n"
    pods = _kubectl.pods_from_lines(text)
    assert [p["metadata"]["name"] for p in pods] == ["eraser-aks-1-abc", "collector-aks-2"]
    assert pods[0]["spec"]["containers"] == [{"name": "collector"}, {"name": "trivy-scanner"}, {"name": "remover"}]
    assert pods[1]["spec"]["nodeName"] is None and pods[1]["status"]["phase"] == "Pending"


def test_context_zip_holds_the_manifests():
    data = base64.b64decode(_kubectl.context_zip({"manifest-0.json": {"kind": "ImageList"}}))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert json.loads(archive.read("manifest-0.json")) == {"kind": "ImageList"}


# --- wording --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "resource", "group", "role"),
    [
        ("create", "imagelists", "eraser.sh", errors.CLUSTER_ADMIN_ROLE),
        ("get", "imagelists", "eraser.sh", errors.CLUSTER_ADMIN_ROLE),
        ("update", "configmaps", "", errors.WRITER_ROLE),
        ("get", "pods/log", "", errors.WRITER_ROLE),
        ("list", "configmaps", "", errors.READER_ROLE),
    ],
)
def test_role_for_each_denied_call(verb, resource, group, role):
    assert errors.role_for(verb, resource, group)[0] == role


def test_azure_rbac_denial_names_the_assignment_to_make():
    message = (
        'imagelists.eraser.sh is forbidden: User "u" cannot create resource "imagelists" in API group "eraser.sh" at '
        "the cluster scope: User does not have access to the resource in Azure. Update role assignment to allow access."
    )
    error = errors.kube_error_for(
        403, "Forbidden", message, "rg", "c1", facts(aad_managed=True, azure_rbac=True), "oid-1"
    )
    assert "start a manual run" in error.error_msg and errors.CLUSTER_ADMIN_ROLE in error.error_msg
    assert f'--role "{errors.CLUSTER_ADMIN_ROLE}" --assignee oid-1 --scope {CLUSTER_ID}' in error.recommendations[0]


def test_kubernetes_rbac_denial_without_local_accounts_does_not_suggest_admin():
    error = errors.kube_error_for(
        403, "Forbidden", "no", "rg", "c1", facts(aad_managed=True, local_accounts_disabled=True)
    )
    assert "--admin" not in error.recommendations[0]


# --- the AAD token ---------------------------------------------------------------------------------------


def test_the_token_is_fetched_again_only_when_it_nears_expiry():
    now = [1000.0]
    fetched = []

    def fetch():
        fetched.append(now[0])
        return f"t{len(fetched)}", now[0] + 3600

    token = AadToken(fetch, clock=lambda: now[0])
    assert token.get() == "t1" and token.get() == "t1"
    now[0] += 3600 - 301
    assert token.get() == "t1"
    now[0] += 2  # 299 s left: under the 300 s margin
    assert token.get() == "t2"
    assert fetched == [1000.0, 1000.0 + 3600 - 299]


def test_object_id_is_read_from_the_token_held():
    payload = base64.urlsafe_b64encode(json.dumps({"oid": "o-1"}).encode()).decode().rstrip("=")
    token = AadToken(lambda: (f"h.{payload}.s", 10**10))
    assert token.object_id() is None
    token.get()
    assert token.object_id() == "o-1"


def test_at_cap():
    assert _kubectl.at_cap("x" * (_kubectl.OUTPUT_CAP - 10))
    assert not _kubectl.at_cap("x" * 1000)


@pytest.mark.parametrize(
    ("cluster_tenant", "login_tenant", "expected"),
    [
        ("T1", "t1", {"subscription": "s1"}),
        (None, "t1", {"subscription": "s1"}),
        ("T2", "t1", {"tenant": "T2"}),
        ("T2", None, {"tenant": "T2"}),
    ],
)
def test_token_scope(cluster_tenant, login_tenant, expected):
    assert token_scope(cluster_tenant, login_tenant, "s1") == expected


def test_a_second_connection_in_one_process_works():
    """The first AAD token source imports access._token; that must not shadow the function that makes the source
    (it did when both were named `_token`: 'module' object is not callable on the second connection)."""
    from azext_imagecleaner.access import connect
    from azext_imagecleaner.access.run_command import RunCommandKube

    aad_private = SimpleNamespace(
        id="/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
        aad_profile=SimpleNamespace(managed=True, enable_azure_rbac=True, tenant_id="t"),
        disable_local_accounts=True,
        api_server_access_profile=SimpleNamespace(enable_private_cluster=True, disable_run_command=False),
    )
    client = SimpleNamespace(get=lambda rg, name: aad_private)
    cmd = SimpleNamespace(cli_ctx=SimpleNamespace())
    for _ in range(2):
        with connect(cmd, client, "rg", "c", AccessOptions(transport="run-command")) as kube:
            assert isinstance(kube, RunCommandKube)


def test_a_resource_type_the_server_lacks_is_told_apart_from_a_missing_object_whatever_the_body_type():
    from azext_imagecleaner.access.api_server import _type_missing

    class ApiException(Exception):  # the kubernetes client's, as far as the check reads it
        def __init__(self, status, reason):
            super().__init__(reason)
            self.status, self.body = status, None

    # The API server's 404 for a type it does not serve (its Status message); read raw, the body is bytes.
    type_missing = b'{"kind":"Status","status":"Failure","message":"the server could not find the requested resource"}'
    object_missing = b'{"kind":"Status","status":"Failure","message":"pods \\"x\\" not found","reason":"NotFound"}'
    for body in (type_missing, type_missing.decode()):
        error = ApiException(status=404, reason="Not Found")
        error.body = body
        assert _type_missing(error)
    for status, body in ((404, object_missing), (404, None), (500, type_missing)):
        error = ApiException(status=status, reason="x")
        error.body = body
        assert not _type_missing(error)
