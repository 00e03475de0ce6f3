"""The emulated Kubernetes API server's HTTP rules (armemulator/kubernetes/api.py), in process."""

import pytest

from armemulator.arm.clusters import sample_cluster
from armemulator.eraser.controller import EraserController
from armemulator.kubernetes import api as kube_api
from armemulator.kubernetes.objects import KubeCluster, KubeError, nodes_for

# No az in these tests: the az-release matrix (scripts/test-matrix.sh) leaves them out.
pytestmark = pytest.mark.same_on_every_az

ALPINE = "docker.io/library/alpine:3.7.3"


@pytest.fixture
def kube(clock):
    cluster = KubeCluster(nodes_for(sample_cluster()), clock)
    EraserController(cluster).install()
    return cluster


def call(kube, method, path, body=None, query=None, content_type="application/json", accept="application/json"):
    headers = {"Content-Type": content_type, "Accept": accept}
    return kube_api.handle(kube, method, path, query or {}, body, headers, "https://x/k8s/s/rg/c")


def test_merge_patch_follows_rfc_7386():
    target = {"a": {"b": 1, "c": 2}, "d": [1, 2]}
    assert kube_api.merge_patch(target, {"a": {"b": None, "e": 3}, "d": [3]}) == {"a": {"c": 2, "e": 3}, "d": [3]}


def test_json_patch_follows_rfc_6902():
    doc = {"spec": {"images": ["a:1"]}, "metadata": {"labels": {"x/y": "1"}}}
    ops = [
        {"op": "add", "path": "/spec/images/-", "value": "b:1"},
        {"op": "replace", "path": "/spec/images/0", "value": "c:1"},
        {"op": "remove", "path": "/metadata/labels/x~1y"},
        {"op": "test", "path": "/spec/images/1", "value": "b:1"},
    ]
    assert kube_api.json_patch(doc, ops) == {"spec": {"images": ["c:1", "b:1"]}, "metadata": {"labels": {}}}
    with pytest.raises(KubeError) as failed:
        kube_api.json_patch(doc, [{"op": "test", "path": "/spec/images/0", "value": "nope"}])
    assert failed.value.code == 422


def test_strategic_merge_patch_directives_on_maps():
    target = {"data": {"a": "1", "b": "2"}, "metadata": {"labels": {"x": "1"}}}
    patch = {"data": {"$patch": "replace", "c": "3"}, "metadata": {"labels": {"y": "2"}}, "$setElementOrder/x": []}
    assert kube_api.strategic_merge_patch(target, patch) == {
        "data": {"c": "3"},
        "metadata": {"labels": {"x": "1", "y": "2"}},
    }


def test_a_custom_resource_refuses_strategic_merge_patch_as_the_real_server_does(kube):
    call(
        kube, "POST", "/apis/eraser.sh/v1/imagelists", {"metadata": {"name": "imagelist"}, "spec": {"images": [ALPINE]}}
    )
    status, body, _ = call(
        kube,
        "PATCH",
        "/apis/eraser.sh/v1/imagelists/imagelist",
        {"spec": {"images": []}},
        content_type=kube_api.STRATEGIC_PATCH,
    )
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")
    status, body, _ = call(
        kube,
        "PATCH",
        "/apis/eraser.sh/v1/imagelists/imagelist",
        {"spec": {"images": ["b:1"]}},
        content_type=kube_api.MERGE_PATCH,
    )
    assert status == 200 and body["spec"]["images"] == ["b:1"] and body["metadata"]["generation"] == 2


def test_a_patch_that_changes_nothing_keeps_the_resource_version(kube):
    _, created, _ = call(
        kube, "POST", "/api/v1/namespaces/kube-system/configmaps", {"metadata": {"name": "x"}, "data": {"k": "v"}}
    )
    _, patched, _ = call(
        kube,
        "PATCH",
        "/api/v1/namespaces/kube-system/configmaps/x",
        {"data": {"k": "v"}},
        content_type=kube_api.MERGE_PATCH,
    )
    assert patched["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_strict_field_validation(kube):
    status, body, _ = call(
        kube,
        "POST",
        "/api/v1/namespaces/kube-system/configmaps",
        {"metadata": {"name": "x", "labelz": {}}, "dataz": {}},
        query={"fieldValidation": "Strict"},
    )
    assert (
        status == 400
        and 'unknown field "dataz"' in body["message"]
        and 'unknown field "metadata.labelz"' in body["message"]
    )


def test_table_output_for_kubectl_get(kube):
    status, table, _ = call(
        kube, "GET", "/api/v1/namespaces/kube-system/configmaps", accept="application/json;as=Table;v=v1;g=meta.k8s.io"
    )
    assert status == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert [r["cells"][:2] for r in table["rows"]] == [["eraser-manager-config", 1], ["eraser-system-exclusion", 1]]


def test_discovery_and_openapi_name_every_kind_kubectl_uses(kube):
    _, core, _ = call(kube, "GET", "/api/v1")
    assert {r["name"] for r in core["resources"]} >= {"configmaps", "pods", "pods/log", "nodes", "events", "namespaces"}
    _, groups, _ = call(kube, "GET", "/apis")
    assert [g["name"] for g in groups["groups"]] == ["eraser.sh"]
    _, index, _ = call(kube, "GET", "/openapi/v3")
    assert set(index["paths"]) == {"api/v1", "apis/eraser.sh/v1"}
    _, doc, _ = call(kube, "GET", "/openapi/v3/apis/eraser.sh/v1")
    post = doc["paths"]["/apis/eraser.sh/v1/imagelists"]["post"]
    assert post["x-kubernetes-group-version-kind"] == {"group": "eraser.sh", "version": "v1", "kind": "ImageList"}
    assert "fieldValidation" in [p["name"] for p in post["parameters"]]
    status, _, _ = call(kube, "GET", "/openapi/v2")
    assert status == 404


def _field(number, payload):
    """A length-delimited protobuf field (wire type 2)."""

    def varint(value):
        out = b""
        while True:
            byte, value = value & 0x7F, value >> 7
            out += bytes([byte | (0x80 if value else 0)])
            if not value:
                return out

    return varint(number << 3 | 2) + varint(len(payload)) + payload


def test_a_protobuf_configmap_from_newer_kubectl_decodes_to_its_json_form():
    from armemulator.kubernetes import protobuf

    meta = _field(1, b"excluded") + _field(3, b"kube-system") + _field(11, _field(1, b"a") + _field(2, b"b"))
    configmap = _field(1, meta) + _field(2, _field(1, b"sample.json") + _field(2, b'{"excluded": []}'))
    envelope = protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"ConfigMap")) + _field(2, configmap)
    assert protobuf.decode(envelope) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "excluded", "namespace": "kube-system", "labels": {"a": "b"}},
        "data": {"sample.json": '{"excluded": []}'},
    }
    other = protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"Secret"))
    with pytest.raises(KubeError) as refused:
        protobuf.decode(other)
    assert refused.value.code == 415
