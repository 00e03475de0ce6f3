"""Kubernetes' protobuf encoding of a request body, decoded into the object's JSON form.

kubectl newer than 1.32 sends built-in kinds (a ConfigMap from `kubectl create configmap`) as
`application/vnd.kubernetes.protobuf`, which the real API server accepts. The wire format, from
k8s.io/apimachinery's runtime/serializer/protobuf and the generated.proto of k8s.io/api/core/v1 and
apimachinery's meta/v1: the 4 bytes `k8s\\0`, then a `runtime.Unknown` {1 typeMeta {1 apiVersion, 2 kind}, 2 raw,
3 contentEncoding, 4 contentType}, whose `raw` is the object's own message. Only what the emulator stores is
decoded: ConfigMap {1 metadata, 2 data, 3 binaryData, 4 immutable} and the ObjectMeta fields a client may set.
"""

import base64

from armemulator.kubernetes.objects import KubeError

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


def _fields(data):
    """(field number, wire type, value) of one message: varints as int, length-delimited as bytes."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            length, i = _varint(data, i)
            value, i = data[i : i + length], i + length
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise KubeError(400, "BadRequest", f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _varint(data, i):
    shift = result = 0
    while True:
        if i >= len(data):
            raise KubeError(400, "BadRequest", "truncated protobuf body")
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def _map_entry(raw, as_bytes=False):
    entry = {number: value for number, _, value in _fields(raw)}
    value = entry.get(2, b"")
    return entry.get(1, b"").decode(), base64.b64encode(value).decode() if as_bytes else value.decode()


_META_STRINGS = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}


def _object_meta(raw):
    meta = {}
    for number, _, value in _fields(raw):
        if number in _META_STRINGS:
            meta[_META_STRINGS[number]] = value.decode()
        elif number in (11, 12):
            key, text = _map_entry(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = text
        elif number == 14:
            meta.setdefault("finalizers", []).append(value.decode())
    return meta


def decode(body):
    """The JSON form of a protobuf-encoded request body (a ConfigMap), or a 415 for any other kind."""
    if not body.startswith(MAGIC):
        raise KubeError(400, "BadRequest", "the protobuf body does not start with the Kubernetes magic number")
    type_meta, raw = {}, b""
    for number, _, value in _fields(body[len(MAGIC) :]):
        if number == 1:
            type_meta = {n: v.decode() for n, _, v in _fields(value)}
        elif number == 2:
            raw = value
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    if (api_version, kind) != ("v1", "ConfigMap"):
        raise KubeError(
            415,
            "UnsupportedMediaType",
            f"the emulator decodes protobuf for v1 ConfigMap only, not {api_version} {kind}",
        )
    obj = {"apiVersion": api_version, "kind": kind}
    for number, wire, value in _fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(value)
        elif number in (2, 3):
            key, text = _map_entry(value, as_bytes=number == 3)
            obj.setdefault("data" if number == 2 else "binaryData", {})[key] = text
        elif number == 4 and wire == 0:
            obj["immutable"] = bool(value)
    return obj
