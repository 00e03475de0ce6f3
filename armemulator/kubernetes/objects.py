"""The objects one emulated cluster's Kubernetes API server keeps, with the real API server's rules.

ConfigMaps, Pods and their logs, Nodes, and the cluster-scoped ImageList custom resource (eraser.sh/v1):
`resourceVersion` on every object, `metadata.generation` bumped on a spec change, label and field selectors,
and `Status` objects for errors. The HTTP face is api.py. The simulated Eraser (../eraser/controller.py) sits
above these objects and acts on them: it installs its custom resource (`crds`) and hears of deletions
(`on_delete`); nothing here knows of it.
"""

import copy
import time
import uuid

KUBE_SYSTEM = "kube-system"
# resource -> (kind, apiVersion) of what the emulator stores.
RESOURCE_KINDS = {"configmaps": ("ConfigMap", "v1"), "imagelists": ("ImageList", "eraser.sh/v1")}


class KubeError(Exception):
    """A Kubernetes `Status` failure, shaped as the API server sends it (kind Status, reason, details, code)."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def body(self):
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status


def _qualified(resource):
    return "imagelists.eraser.sh" if resource == "imagelists" else resource


def _details(resource, name):
    group = "eraser.sh" if resource == "imagelists" else None
    details = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return details


def _client_meta(meta):
    """The metadata a client may set; the server owns the rest."""
    return {
        k: copy.deepcopy(v)
        for k, v in meta.items()
        if k in ("name", "namespace", "labels", "annotations", "finalizers", "ownerReferences")
    }


def field_selector_matches(selector, obj):
    """`metadata.name=x`, `metadata.namespace=y` and `involvedObject.*` (events), comma-joined, `=`/`==`/`!=`."""
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        negate = "!=" in term
        path, value = term.replace("!=", "=").replace("==", "=").split("=", 1)
        actual = obj
        for part in path.split("."):
            actual = actual.get(part) if isinstance(actual, dict) else None
        if (str(actual) == value.strip() if actual is not None else value.strip() == "") == negate:
            return False
    return True


def now_iso(wall):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


def label_selector_matches(selector, labels):
    """Equality- and existence-based selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-joined."""
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class KubeCluster:
    """The Kubernetes side of one emulated AKS cluster."""

    def __init__(self, nodes, clock, wall=time.time, run_seconds=2.0, pod_ttl_seconds=600.0):
        self.clock, self.wall = clock, wall
        self.run_seconds, self.pod_ttl_seconds = run_seconds, pod_ttl_seconds
        self.version = 0
        self.configmaps = {}  # (namespace, name) -> object
        self.pods = {}  # (namespace, name) -> {"object", "logs": {container: text}, "ends_at", "delete_at"}
        self.imagelists = {}  # name -> object
        self.nodes = {n["metadata"]["name"]: n for n in nodes}
        for node in nodes:
            node["metadata"].setdefault("creationTimestamp", now_iso(wall()))
        self.crds = set()  # the custom resources installed, by plural ("imagelists")
        self.on_delete = []  # callables (resource, name), told of each deletion

    def snapshot(self):
        """Everything stored, for tests: ConfigMaps, ImageLists, and Pods with their logs."""
        return {
            "configmaps": [copy.deepcopy(o) for _, o in sorted(self.configmaps.items())],
            "imagelists": [copy.deepcopy(o) for _, o in sorted(self.imagelists.items())],
            "pods": [dict(copy.deepcopy(p["object"]), logs=dict(p["logs"])) for _, p in sorted(self.pods.items())],
        }

    # --- object bookkeeping ----------------------------------------------------------------------

    def bump(self):
        self.version += 1
        return str(self.version)

    def _new_meta(self, metadata, namespace=None):
        meta = copy.deepcopy(metadata or {})
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_iso(self.wall())
        meta["resourceVersion"] = self.bump()
        if namespace is not None:
            meta["namespace"] = namespace
        return meta

    # --- stored objects: ConfigMaps and ImageLists ---------------------------------------------------
    # The API server's rules for a write, as the real one applies them (and the kubectl e2e tests check):
    # metadata.name required, the URL's namespace wins, AlreadyExists on create, resourceVersion as an
    # optimistic lock on update, server-owned fields (uid, creationTimestamp) kept, and for the ImageList
    # custom resource metadata.generation bumped only when the spec changes.

    def _objects(self, resource):
        if resource == "configmaps":
            return self.configmaps, lambda ns, name: (ns, name)
        if resource == "imagelists":
            self._require_crd()
            return self.imagelists, lambda ns, name: name
        raise KubeError(405, "MethodNotAllowed", f"the server does not allow this method on {resource}")

    def get(self, resource, namespace, name):
        objects, key = self._objects(resource)
        found = objects.get(key(namespace, name))
        if not found:
            raise KubeError(404, "NotFound", f'{_qualified(resource)} "{name}" not found', _details(resource, name))
        return copy.deepcopy(found)

    def list(self, resource, namespace, label_selector=None, field_selector=None):
        objects, _ = self._objects(resource)
        items = [
            copy.deepcopy(o)
            for o in (v for _, v in sorted(objects.items()))
            if (namespace is None or o["metadata"].get("namespace") in (None, namespace))
            and label_selector_matches(label_selector, o["metadata"].get("labels") or {})
            and field_selector_matches(field_selector, o)
        ]
        kind, api_version = RESOURCE_KINDS[resource]
        return {
            "kind": f"{kind}List",
            "apiVersion": api_version,
            "metadata": {"resourceVersion": str(self.version)},
            "items": items,
        }

    def create(self, resource, namespace, body):
        objects, key = self._objects(resource)
        kind, api_version = RESOURCE_KINDS[resource]
        meta = body.get("metadata") or {}
        name = meta.get("name")
        if not name:
            raise KubeError(
                422, "Invalid", f'{kind} "" is invalid: metadata.name: Required value: name or generateName is required'
            )
        if key(namespace, name) in objects:
            raise KubeError(
                409, "AlreadyExists", f'{_qualified(resource)} "{name}" already exists', _details(resource, name)
            )
        if resource == "imagelists":
            _check_imagelist_spec(body)
        obj = copy.deepcopy(body)
        obj.update(kind=kind, apiVersion=api_version)
        obj["metadata"] = self._new_meta(_client_meta(meta), namespace if resource == "configmaps" else None)
        if resource == "imagelists":
            obj["metadata"]["generation"] = 1
            obj.pop("status", None)  # status is its own subresource
        objects[key(namespace, name)] = obj
        return copy.deepcopy(obj)

    def replace(self, resource, namespace, name, body):
        objects, key = self._objects(resource)
        current = self.get(resource, namespace, name)
        meta = body.get("metadata") or {}
        given = meta.get("resourceVersion")
        if given and given != current["metadata"]["resourceVersion"]:
            raise KubeError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {_qualified(resource)} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
                _details(resource, name),
            )
        if meta.get("name") not in (None, name):
            raise KubeError(400, "BadRequest", "the name of the object does not match the name on the URL")
        kind, api_version = RESOURCE_KINDS[resource]
        if resource == "imagelists":
            _check_imagelist_spec(body)
        obj = copy.deepcopy(body)
        obj.update(kind=kind, apiVersion=api_version)
        new_meta = _client_meta(meta)
        for server_field in ("uid", "creationTimestamp", "namespace", "generation"):
            if server_field in current["metadata"]:
                new_meta[server_field] = current["metadata"][server_field]
        new_meta["name"] = name
        if resource == "imagelists":
            obj["status"] = current.get("status")  # kept: status is written only through its subresource
            if obj["status"] is None:
                obj.pop("status")
            if obj.get("spec") != current.get("spec"):
                new_meta["generation"] = current["metadata"]["generation"] + 1
        new_meta["resourceVersion"] = self.bump()
        obj["metadata"] = new_meta
        objects[key(namespace, name)] = obj
        return copy.deepcopy(obj)

    def delete(self, resource, namespace, name):
        objects, key = self._objects(resource)
        current = self.get(resource, namespace, name)
        del objects[key(namespace, name)]
        for hook in self.on_delete:
            hook(resource, name)
        if resource == "imagelists":
            return current  # a custom resource's DELETE answers with the object
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": _details(resource, name),
        }

    # The names the extension's code and tests use.
    def list_configmaps(self, namespace, selector):
        return self.list("configmaps", namespace, selector)

    def get_configmap(self, namespace, name):
        return self.get("configmaps", namespace, name)

    def create_configmap(self, namespace, body):
        return self.create("configmaps", namespace, body)

    def replace_configmap(self, namespace, name, body):
        return self.replace("configmaps", namespace, name, body)

    def delete_configmap(self, namespace, name):
        return self.delete("configmaps", namespace, name)

    def _require_crd(self):
        if "imagelists" not in self.crds:
            raise KubeError(404, "NotFound", "the server could not find the requested resource")

    def list_imagelists(self):
        return self.list("imagelists", None)

    def get_imagelist(self, name):
        return self.get("imagelists", None, name)

    def create_imagelist(self, body):
        return self.create("imagelists", None, body)

    def replace_imagelist(self, name, body):
        return self.replace("imagelists", None, name, body)

    def delete_imagelist(self, name):
        return self.delete("imagelists", None, name)

    # --- Pods and nodes --------------------------------------------------------------------------

    def list_pods(self, namespace, selector):
        items = [
            copy.deepcopy(p["object"])
            for (ns, _), p in sorted(self.pods.items())
            if ns == namespace and label_selector_matches(selector, p["object"]["metadata"].get("labels") or {})
        ]
        return {
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(self.version)},
            "items": items,
        }

    def get_pod(self, namespace, name):
        found = self.pods.get((namespace, name))
        if not found:
            raise KubeError(404, "NotFound", f'pods "{name}" not found')
        return copy.deepcopy(found["object"])

    def pod_log(self, namespace, name, container):
        found = self.pods.get((namespace, name))
        if not found:
            raise KubeError(404, "NotFound", f'pods "{name}" not found')
        containers = list(found["logs"])
        if container is None:
            if len(containers) != 1:
                raise KubeError(
                    400,
                    "BadRequest",
                    f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]",
                )
            container = containers[0]
        if container not in found["logs"]:
            raise KubeError(400, "BadRequest", f"container {container} is not valid for pod {name}")
        return found["logs"][container]

    def list_nodes(self):
        return {
            "kind": "NodeList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(self.version)},
            "items": [copy.deepcopy(n) for _, n in sorted(self.nodes.items())],
        }

    def add_pod(self, name, node, logs, labels, *, ends_at, phase="Running", image_tag="v1.4.0"):
        containers = [{"name": c, "image": f"mcr.microsoft.com/oss/eraser/{c}:{image_tag}"} for c in logs]
        obj = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": self._new_meta({"name": name, "labels": labels}, KUBE_SYSTEM),
            "spec": {"nodeName": node, "containers": containers, "restartPolicy": "Never"},
            "status": {"phase": phase, "startTime": now_iso(self.wall())},
        }
        self.pods[(KUBE_SYSTEM, name)] = {"object": obj, "logs": logs, "ends_at": ends_at, "delete_at": None}


def _check_imagelist_spec(body):
    images = (body.get("spec") or {}).get("images")
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise KubeError(
            422,
            "Invalid",
            'ImageList.eraser.sh "imagelist" is invalid: spec.images: Invalid value: must be a list of strings',
        )


def nodes_for(doc):
    """Kubernetes nodes for an ARM cluster document: one per VM of every agent pool."""
    nodes = []
    for pool in (doc.get("properties") or {}).get("agentPoolProfiles") or []:
        os_name = "windows" if (pool.get("osType") or "Linux").lower() == "windows" else "linux"
        for i in range(int(pool.get("count") or 1)):
            name = f"aks-{pool['name']}-{i}" if os_name == "linux" else f"aks{pool['name'][:6]}{i:06d}"
            nodes.append(
                {
                    "kind": "Node",
                    "apiVersion": "v1",
                    "metadata": {"name": name, "labels": {"kubernetes.io/os": os_name, "agentpool": pool["name"]}},
                    "status": {"nodeInfo": {"operatingSystem": os_name}},
                }
            )
    return nodes
