"""The emulator over HTTPS, in process: ARM conventions a client relies on."""

import base64
import http.client
import json
import ssl

import pytest

from armemulator.arm.clusters import sample_cluster
from armemulator.arm.store import DEFAULT_SUBSCRIPTION as SUB
from armemulator.arm.store import Store
from armemulator.certs import make_certificates
from armemulator.server import EmulatorServer

# No az in these tests: the az-release matrix (scripts/test-matrix.sh) leaves them out.
pytestmark = pytest.mark.same_on_every_az

API = "api-version=2026-06-01"
RG_PATH = f"/subscriptions/{SUB}/resourceGroups/rg"
MC_PATH = f"{RG_PATH}/providers/Microsoft.ContainerService/managedClusters"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    certs = make_certificates(str(tmp_path_factory.mktemp("certs")))
    store = Store()
    store.etags_default = True
    for i in range(5):
        store.seed_cluster(SUB, "rg", f"c{i}", sample_cluster())
    srv = EmulatorServer(("127.0.0.1", 0), store, certs)
    srv.start_in_thread()
    srv.context = ssl.create_default_context(cafile=certs["ca"])
    yield srv
    srv.shutdown()
    srv.server_close()


def call(server, method, path, body=None, token=True, headers=None):
    connection = http.client.HTTPSConnection("127.0.0.1", server.server_address[1], context=server.context)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = "Bearer x"
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=all_headers)
    response = connection.getresponse()
    text = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), (json.loads(text) if text else None)


def test_token_is_a_jwt_with_the_tenant(server):
    status, _, body = call(server, "GET", "/msi/token?api-version=2019-08-01&resource=https://x/", token=False)
    assert status == 200 and body["token_type"] == "Bearer"
    claims = body["access_token"].split(".")[1]
    claims += "=" * (-len(claims) % 4)
    assert json.loads(base64.urlsafe_b64decode(claims))["tid"] == server.store.tenant


def test_arm_needs_a_bearer_token_and_an_api_version(server):
    assert call(server, "GET", f"{MC_PATH}/c0?{API}", token=False)[0] == 401
    status, _, body = call(server, "GET", f"{MC_PATH}/c0")
    assert (status, body["error"]["code"]) == (400, "MissingApiVersionParameter")


def test_get_has_the_etag_header_and_paths_are_case_insensitive(server):
    status, headers, body = call(server, "GET", f"{MC_PATH.lower()}/C0?{API}")
    assert status == 200 and headers["ETag"] == body["eTag"]


def test_list_pages_through_next_link(server):
    server.page_size = 2
    try:
        names, path = [], f"{MC_PATH}?{API}"
        while path:
            _, _, page = call(server, "GET", path)
            names += [c["name"] for c in page["value"]]
            path = page.get("nextLink", "").replace(f"https://127.0.0.1:{server.server_address[1]}", "")
        assert names == ["c0", "c1", "c2", "c3", "c4"]
    finally:
        server.page_size = 100


def test_put_answers_with_async_operation_headers(server):
    status, headers, body = call(server, "PUT", f"{MC_PATH}/fresh?{API}", sample_cluster())
    assert status == 201 and body["properties"]["provisioningState"] == "Creating"
    operation = headers["Azure-AsyncOperation"].split("127.0.0.1:")[1].split("/", 1)[1]
    status, _, poll = call(server, "GET", "/" + operation)
    assert status == 200 and poll["status"] == "Succeeded"


def test_throttling_answers_429_with_retry_after(server):
    server.store.set_throttle("write", rate=0.001, burst=1)
    try:
        assert call(server, "PUT", f"{MC_PATH}/t1?{API}", sample_cluster())[0] == 201
        status, headers, body = call(server, "PUT", f"{MC_PATH}/t2?{API}", sample_cluster())
        assert status == 429 and int(headers["Retry-After"]) >= 1
        assert body["error"]["code"] == "TooManyRequests"
    finally:
        server.store.set_throttle("write", None, None)


def test_dropped_connection(server):
    server.store.add_fault({"method": "GET", "path_contains": "/c1", "action": "drop"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(server, "GET", f"{MC_PATH}/c1?{API}")
    assert call(server, "GET", f"{MC_PATH}/c1?{API}")[0] == 200


def test_user_credentials_are_a_kubeconfig_pointing_at_the_emulator(server):
    status, _, body = call(server, "POST", f"{MC_PATH}/c0/listClusterUserCredential?{API}")
    kubeconfig = base64.b64decode(body["kubeconfigs"][0]["value"]).decode()
    assert status == 200 and "kind: Config" in kubeconfig
    assert f"server: https://127.0.0.1:{server.server_address[1]}/k8s/" in kubeconfig


def test_requests_are_logged_with_the_headers_that_matter(server):
    server.store.clear_requests()
    call(server, "PUT", f"{MC_PATH}/c3?{API}", sample_cluster(), headers={"If-Match": '"nope"'})
    (entry,) = server.store.snapshot_requests()
    assert entry["method"] == "PUT" and entry["status"] == 412
    assert entry["headers"]["if-match"] == '"nope"' and entry["authorization"] == "Bearer"
    assert entry["body"]["location"] == "eastus"
