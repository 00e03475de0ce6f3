"""The HTTP face of each emulated cluster's Kubernetes API server: what kubectl and the Python client send.

Routes, discovery, OpenAPI v3, patches, Table output and Status errors, on top of the objects `objects.py` keeps.
Each behaviour follows the real API server as kubectl 1.32 exercises it (the e2e tests drive the real kubectl
against this module):

- discovery: legacy `/api`, `/api/v1`, `/apis`, `/apis/eraser.sh/v1` documents and `/version`; kubectl asks for
  aggregated discovery first and falls back to these, as against any API server that does not serve it;
- OpenAPI v3 (`/openapi/v3`, one document per group version) with `x-kubernetes-group-version-kind` on each
  operation and the `fieldValidation` query parameter, which is how kubectl decides that the server validates
  (server-side field validation, `--validate=strict`, the default); v2 answers 404, as on servers without it;
- PATCH: JSON merge patch and JSON patch for every kind, strategic merge patch for built-in kinds only
  (custom resources answer 415 UnsupportedMediaType, as the real server does; kubectl then uses merge patch);
- `fieldValidation=Strict`: unknown fields answer 400 BadRequest with "strict decoding error";
- `Accept: ...;as=Table`: the server-side printing kubectl get asks for, with the columns the real server
  prints for these kinds (an ImageList has no printer columns: NAME and AGE);
- errors are `Status` objects with reason, details and code.
"""

import copy
import re
import time

from armemulator.kubernetes.objects import KubeError, field_selector_matches

VERSION = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.6",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-10-22T00:00:00Z",
    "goVersion": "go1.22.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}

# resource: (group, version, kind, namespaced, verbs, shortNames, singular)
_RW = ["create", "delete", "get", "list", "patch", "update", "watch"]
RESOURCES = {
    "configmaps": ("", "v1", "ConfigMap", True, _RW, ["cm"], "configmap"),
    "pods": ("", "v1", "Pod", True, ["get", "list", "watch"], ["po"], "pod"),
    "nodes": ("", "v1", "Node", False, ["get", "list", "watch"], ["no"], "node"),
    "events": ("", "v1", "Event", True, ["get", "list", "watch"], ["ev"], "event"),
    "namespaces": ("", "v1", "Namespace", False, ["get", "list", "watch"], ["ns"], "namespace"),
    "imagelists": ("eraser.sh", "v1", "ImageList", False, _RW, [], "imagelist"),
    "imagejobs": ("eraser.sh", "v1", "ImageJob", False, ["get", "list", "watch"], [], "imagejob"),
    "podtemplates": ("", "v1", "PodTemplate", True, ["delete", "get", "list", "watch"], [], "podtemplate"),
}
NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")

# The fields each stored kind has (for fieldValidation=Strict); metadata's are checked for every kind.
_FIELDS = {
    "ConfigMap": {"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"},
    "ImageList": {"apiVersion", "kind", "metadata", "spec", "status"},
}
_SPEC_FIELDS = {"ImageList": {"images"}}
_META_FIELDS = {
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
    "ownerReferences",
    "managedFields",
    "selfLink",
}

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def handle(kube, method, path, query, body, headers, server_url):
    """Answer one request: (status, payload, content type). `payload` is a dict or list (JSON) or str."""
    try:
        answer = _route(kube, method, path, query, body, headers, server_url)
    except KubeError as err:
        return err.code, err.body(), "application/json"
    if isinstance(answer, str):
        return 200, answer, "text/plain"
    if "as=Table" in (headers.get("Accept") or "") and method == "GET" and isinstance(answer, dict):
        answer = as_table(answer)
    status = 201 if method == "POST" else 200
    return status, answer, "application/json"


# --- routing ---------------------------------------------------------------------------------------------------

_PATTERNS = [
    re.compile(
        r"/api/(?P<version>v1)(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>[a-z]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[a-z]+))?"
    ),
    re.compile(
        r"/apis/(?P<group>eraser\.sh)/(?P<version>v1)/(?P<resource>[a-z]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[a-z]+))?"
    ),
]


def _route(kube, method, path, query, body, headers, server_url):
    fixed = _fixed_document(kube, method, path, query, server_url)
    if fixed is not None:
        return fixed
    match = next((m for m in (p.fullmatch(path) for p in _PATTERNS) if m), None)
    if not match:
        raise KubeError(404, "NotFound", "the server could not find the requested resource")
    parts = match.groupdict()
    resource, ns, name, sub = parts["resource"], parts.get("ns"), parts.get("name"), parts.get("sub")
    # /api/v1/namespaces/kube-system is the namespace itself, not a collection under it.
    if resource == "namespaces" and ns is None and name and sub is None:
        return _namespace(name)
    if resource not in RESOURCES or RESOURCES[resource][0] != (parts.get("group") or ""):
        raise KubeError(404, "NotFound", "the server could not find the requested resource")
    if resource in ("imagelists", "imagejobs") and resource not in kube.crds:  # installed with Image Cleaner
        raise KubeError(404, "NotFound", "the server could not find the requested resource")
    if RESOURCES[resource][3] is False and ns is not None:
        raise KubeError(404, "NotFound", "the server could not find the requested resource")
    return _resource(kube, method, resource, ns, name, sub, query, body, headers)


def _resource(kube, method, resource, ns, name, sub, query, body, headers):  # noqa: PLR0911, PLR0912
    if sub == "log" and resource == "pods" and method == "GET":
        return kube.pod_log(ns, name, query.get("container"))
    if sub is not None:
        raise KubeError(404, "NotFound", "the server could not find the requested resource")
    if resource in ("pods", "nodes", "events", "namespaces", "imagejobs"):
        if method != "GET":
            raise KubeError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        return _read_only(kube, resource, ns, name, query)
    if resource == "podtemplates" and method not in ("GET", "DELETE"):  # the controller's alone, here
        raise KubeError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    if method == "GET" and name is None:
        return kube.list(resource, ns, query.get("labelSelector"), query.get("fieldSelector"))
    if method == "GET":
        return kube.get(resource, ns, name)
    if method == "POST" and name is None:
        body = _object_body(body)
        _validate(resource, body, query)
        if ns and (body.get("metadata") or {}).get("namespace") not in (None, ns):
            raise KubeError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        return kube.create(resource, ns, body)
    if method == "PUT" and name:
        body = _object_body(body)
        _validate(resource, body, query)
        return kube.replace(resource, ns, name, body)
    if method == "PATCH" and name:
        current = kube.get(resource, ns, name)
        patched = apply_patch(resource, current, body, (headers.get("Content-Type") or "").split(";")[0].strip())
        _validate(resource, patched, query)
        if patched == current:
            return current
        return kube.replace(resource, ns, name, patched)
    if method == "DELETE" and name:
        return kube.delete(resource, ns, name)
    raise KubeError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def _object_body(body):
    if not isinstance(body, dict):
        raise KubeError(400, "BadRequest", "the body of the request could not be decoded as a JSON object")
    return body


def _read_only(kube, resource, ns, name, query):  # noqa: PLR0911 - one answer per kind and verb
    if resource == "pods":
        if name:
            return kube.get_pod(ns, name)
        pods = kube.list_pods(ns, query.get("labelSelector"))
        pods["items"] = [p for p in pods["items"] if field_selector_matches(query.get("fieldSelector"), p)]
        return pods
    if resource == "nodes":
        nodes = kube.list_nodes()
        if name:
            found = [n for n in nodes["items"] if n["metadata"]["name"] == name]
            if not found:
                raise KubeError(404, "NotFound", f'nodes "{name}" not found', {"name": name, "kind": "nodes"})
            return found[0]
        return nodes
    if resource == "namespaces":
        if name:
            return _namespace(name)
        return {
            "kind": "NamespaceList",
            "apiVersion": "v1",
            "metadata": {},
            "items": [_namespace(n) for n in NAMESPACES],
        }
    if resource == "imagejobs":
        return kube.get("imagejobs", None, name) if name else kube.list("imagejobs", None, query.get("labelSelector"))
    # Events: the kubelet's Warnings the simulated Eraser causes (none about ConfigMaps: the article's `kubectl
    # describe configmap` shows "Events: <none>").
    events = kube.list_events(ns, query.get("fieldSelector"))
    if name:
        found = [e for e in events["items"] if e["metadata"]["name"] == name]
        if not found:
            raise KubeError(404, "NotFound", f'events "{name}" not found', {"name": name, "kind": "events"})
        return found[0]
    return events


def _namespace(name):
    if name not in NAMESPACES:
        raise KubeError(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


# --- field validation ------------------------------------------------------------------------------------------


def _validate(resource, obj, query):
    """fieldValidation=Strict (kubectl's default since 1.27): unknown fields are an error, not dropped."""
    if query.get("fieldValidation") != "Strict":
        return
    kind = RESOURCES[resource][2]
    unknown = [f'unknown field "{k}"' for k in obj if k not in _FIELDS.get(kind, obj.keys())]
    unknown += [f'unknown field "metadata.{k}"' for k in (obj.get("metadata") or {}) if k not in _META_FIELDS]
    spec = obj.get("spec")
    if kind in _SPEC_FIELDS and isinstance(spec, dict):
        unknown += [f'unknown field "spec.{k}"' for k in spec if k not in _SPEC_FIELDS[kind]]
    if unknown:
        raise KubeError(
            400,
            "BadRequest",
            f'{kind} in version "v1" cannot be handled as a {kind}: strict decoding error: {", ".join(unknown)}',
        )


# --- patches ---------------------------------------------------------------------------------------------------


def apply_patch(resource, current, patch, content_type):
    if content_type == MERGE_PATCH:
        return merge_patch(current, patch)
    if content_type == JSON_PATCH:
        return json_patch(current, patch)
    if content_type == STRATEGIC_PATCH and RESOURCES[resource][0] == "":
        return strategic_merge_patch(current, patch)
    # The real server: strategic merge patch is for built-in kinds; server-side apply is not served here.
    raise KubeError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {JSON_PATCH}, {MERGE_PATCH}"
        + (f", {STRATEGIC_PATCH}" if RESOURCES[resource][0] == "" else ""),
    )


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target, patch):
    """Strategic merge patch for the built-in kinds stored here (ConfigMap): their fields are maps and scalars,
    which merge as in a JSON merge patch; `$patch: replace|delete` on a map and `$retainKeys` are honoured, and
    kubectl's other directives (`$setElementOrder/...`) carry no meaning for maps and are dropped."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    base = {} if directive == "replace" or not isinstance(target, dict) else copy.deepcopy(target)
    if "$retainKeys" in patch:
        base = {k: v for k, v in base.items() if k in patch["$retainKeys"]}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            base.pop(key, None)
            continue
        merged = strategic_merge_patch(base.get(key), value)
        if merged is None:
            base.pop(key, None)
        else:
            base[key] = merged
    return base


def json_patch(target, operations):
    """RFC 6902 JSON patch: add, remove, replace, move, copy, test."""
    if not isinstance(operations, list):
        raise KubeError(400, "BadRequest", "the JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "test":
            if _pointer_get(doc, path) != op.get("value"):
                raise KubeError(422, "Invalid", f"the test operation on {path} failed")
        elif kind == "remove":
            doc = _pointer_set(doc, path, remove=True)
        elif kind in ("add", "replace"):
            if kind == "replace":
                _pointer_get(doc, path)  # must exist
            doc = _pointer_set(doc, path, op.get("value"), insert=kind == "add")
        elif kind in ("move", "copy"):
            value = _pointer_get(doc, op["from"])
            if kind == "move":
                doc = _pointer_set(doc, op["from"], remove=True)
            doc = _pointer_set(doc, path, copy.deepcopy(value), insert=True)
        else:
            raise KubeError(400, "BadRequest", f"unknown JSON patch operation {kind!r}")
    return doc


def _tokens(path):
    return [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]] if path else []


def _pointer_get(doc, path):
    node = doc
    for token in _tokens(path):
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError, TypeError) as ex:
            raise KubeError(422, "Invalid", f"the JSON patch path {path} does not exist") from ex
    return node


def _pointer_set(doc, path, value=None, insert=False, remove=False):
    tokens = _tokens(path)
    if not tokens:
        return value
    parent = _pointer_get(
        doc, "/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in tokens[:-1]) if tokens[:-1] else ""
    )
    last = tokens[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if remove:
            parent.pop(index)
        elif insert:
            parent.insert(index, value)
        else:
            parent[index] = value
    elif isinstance(parent, dict):
        if remove:
            if last not in parent:
                raise KubeError(422, "Invalid", f"the JSON patch path {path} does not exist")
            del parent[last]
        else:
            parent[last] = value
    else:
        raise KubeError(422, "Invalid", f"the JSON patch path {path} does not exist")
    return doc


# --- server-side printing --------------------------------------------------------------------------------------

_NAME = {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}
_AGE = {"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0}


def as_table(answer):
    items = answer.get("items") if answer.get("kind", "").endswith("List") else [answer]
    kind = answer["kind"][: -len("List")] if answer.get("kind", "").endswith("List") else answer.get("kind")
    columns, cells = _columns(kind)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": (answer.get("metadata") or {}).get("resourceVersion", "")},
        "columnDefinitions": columns,
        "rows": [
            {
                "cells": cells(item),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": item.get("metadata", {}),
                },
            }
            for item in items
        ],
    }


def _columns(kind):
    def col(name, kind_="string", priority=0):
        return {"name": name, "type": kind_, "format": "", "description": name, "priority": priority}

    if kind == "ConfigMap":
        return [_NAME, col("Data", "integer"), _AGE], lambda o: [
            o["metadata"]["name"],
            len(o.get("data") or {}) + len(o.get("binaryData") or {}),
            _age(o),
        ]
    if kind == "Pod":

        def pod(o):
            containers = o.get("spec", {}).get("containers", [])
            phase = o.get("status", {}).get("phase", "Unknown")
            ready = len(containers) if phase == "Running" else 0
            return [
                o["metadata"]["name"],
                f"{ready}/{len(containers)}",
                "Completed" if phase == "Succeeded" else "Error" if phase == "Failed" else phase,
                0,
                _age(o),
                o["spec"].get("nodeName", "<none>"),
            ]

        return [_NAME, col("Ready"), col("Status"), col("Restarts", "integer"), _AGE, col("Node", priority=1)], pod
    if kind == "Node":
        return [_NAME, col("Status"), col("Roles"), _AGE, col("Version")], lambda o: [
            o["metadata"]["name"],
            "Ready",
            "<none>",
            _age(o),
            VERSION["gitVersion"],
        ]
    if kind == "Namespace":
        return [_NAME, col("Status"), _AGE], lambda o: [o["metadata"]["name"], "Active", _age(o)]
    if kind == "Event":
        return [col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Message")], lambda o: [
            "",
            o.get("type", ""),
            o.get("reason", ""),
            "",
            o.get("message", ""),
        ]
    return [_NAME, _AGE], lambda o: [o["metadata"]["name"], _age(o)]  # ImageList: no printer columns


def _age(obj):
    created = (obj.get("metadata") or {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    seconds = max(0, int(time.time() - time.mktime(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")) + time.timezone))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# --- discovery and OpenAPI -------------------------------------------------------------------------------------


def _fixed_document(kube, method, path, query, server_url):  # noqa: PLR0911 - a table of fixed documents
    if method != "GET":
        return None
    if path == "/version":
        return VERSION
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_url}],
        }
    if path == "/apis":
        groups = []
        if "imagelists" in kube.crds:
            version = {"groupVersion": "eraser.sh/v1", "version": "v1"}
            groups.append({"name": "eraser.sh", "versions": [version], "preferredVersion": version})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    if path == "/api/v1":
        return _resource_list("v1", [r for r, spec in RESOURCES.items() if spec[0] == ""])
    if path == "/apis/eraser.sh/v1" and "imagelists" in kube.crds:
        return _resource_list("eraser.sh/v1", [r for r in ("imagelists", "imagejobs") if r in kube.crds])
    if path == "/openapi/v3":
        documents = {"api/v1": "api/v1"}
        if "imagelists" in kube.crds:
            documents["apis/eraser.sh/v1"] = "apis/eraser.sh/v1"
        return {"paths": {k: {"serverRelativeURL": f"/openapi/v3/{v}?hash={_hash(v)}"} for k, v in documents.items()}}
    if path == "/openapi/v3/api/v1":
        return openapi_document("", "v1")
    if path == "/openapi/v3/apis/eraser.sh/v1" and "imagelists" in kube.crds:
        return openapi_document("eraser.sh", "v1")
    return None


def _hash(text):
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:32].upper()


def _resource_list(group_version, resources):
    listed = []
    for resource in resources:
        _, _, kind, namespaced, verbs, short, singular = RESOURCES[resource]
        entry = {"name": resource, "singularName": singular, "namespaced": namespaced, "kind": kind, "verbs": verbs}
        if short:
            entry["shortNames"] = short
        listed.append(entry)
        if resource == "pods":
            listed.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]})
        if resource == "imagelists":
            listed.append(
                {
                    "name": "imagelists/status",
                    "singularName": "",
                    "namespaced": False,
                    "kind": "ImageList",
                    "verbs": ["get", "patch", "update"],
                }
            )
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": listed}


def _schema_name(group, kind):
    return f"io.k8s.api.core.v1.{kind}" if group == "" else f"sh.eraser.v1.{kind}"


def openapi_document(group, version):
    """A compact OpenAPI v3 document for one group version, with what kubectl reads from it: each operation's
    x-kubernetes-group-version-kind and x-kubernetes-action, the fieldValidation parameter, and the schemas."""
    paths, schemas = {}, {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": _OBJECT_META}
    query_params = [
        {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
        for name in ("dryRun", "fieldManager", "fieldValidation", "pretty")
    ]
    prefix = "/api/v1" if group == "" else f"/apis/{group}/{version}"
    for resource, (res_group, _, kind, namespaced, verbs, _, _) in RESOURCES.items():
        if res_group != group:
            continue
        gvk = {"group": group, "version": version, "kind": kind}
        ref = {"$ref": f"#/components/schemas/{_schema_name(group, kind)}"}
        content = {"application/json": {"schema": ref}}
        collection = f"{prefix}/namespaces/{{namespace}}/{resource}" if namespaced else f"{prefix}/{resource}"
        item = f"{collection}/{{name}}"

        def op(action, verb, body=False, kind=kind, content=content, gvk=gvk):
            operation = {
                "operationId": f"{verb}{kind}",
                "parameters": query_params if verb in ("create", "replace", "patch") else [],
                "responses": {"200": {"description": "OK", "content": content}},
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
            }
            if body:
                operation["requestBody"] = {"content": content, "required": True}
            return operation

        coll_ops, item_ops = {"get": op("list", "list")}, {"get": op("get", "read")}
        if "create" in verbs:
            coll_ops["post"] = op("post", "create", body=True)
            item_ops.update(
                put=op("put", "replace", body=True),
                patch=op("patch", "patch", body=True),
                delete=op("delete", "delete"),
            )
        paths[collection], paths[item] = coll_ops, item_ops
        schemas[_schema_name(group, kind)] = _kind_schema(group, version, kind)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": schemas},
    }


_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
_OBJECT_META = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer", "format": "int64"},
        "creationTimestamp": {"type": "string", "format": "date-time"},
        "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"},
    },
}


def _kind_schema(group, version, kind):
    meta = {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}], "default": {}}
    properties = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": meta}
    if kind == "ConfigMap":
        properties.update(
            data=_STRING_MAP,
            binaryData={"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
            immutable={"type": "boolean"},
        )
    elif kind == "ImageList":
        # Eraser's CRD (eraser.sh/v1 ImageList): spec.images, a list of strings; status written by the controller.
        properties.update(
            spec={
                "type": "object",
                "required": ["images"],
                "properties": {"images": {"type": "array", "items": {"type": "string"}}},
            },
            status={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        )
    else:
        properties.update(
            spec={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            status={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        )
    return {
        "type": "object",
        "properties": properties,
        "x-kubernetes-group-version-kind": [{"group": group, "version": version, "kind": kind}],
    }
