"""The objects one emulated cluster's Kubernetes API server keeps, with the real API server's rules.

ConfigMaps, Pods and their logs, Nodes, Events, and the cluster-scoped ImageList and ImageJob custom resources
(eraser.sh/v1):
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
RESOURCE_KINDS = {
    "configmaps": ("ConfigMap", "v1"),
    "imagelists": ("ImageList", "eraser.sh/v1"),
    "imagejobs": ("ImageJob", "eraser.sh/v1"),
    "podtemplates": ("PodTemplate", "v1"),
}


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
    return f"{resource}.eraser.sh" if resource in ("imagelists", "imagejobs") else resource


def _details(resource, name):
    group = "eraser.sh" if resource in ("imagelists", "imagejobs") else None
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
        self.imagejobs = {}  # name -> object (written by the controller only)
        self.podtemplates = {}  # (namespace, name) -> object (written by the controller only)
        self.events = []  # Event objects, as the kubelet and controllers record them
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
        if resource == "imagejobs":
            self._require_crd()
            return self.imagejobs, lambda ns, name: name
        if resource == "podtemplates":
            return self.podtemplates, lambda ns, name: (ns, name)
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

    def list_events(self, namespace=None, field_selector=None):
        """Events of a namespace, or of every one (None), as the API server lists them."""
        items = [
            copy.deepcopy(e)
            for e in self.events
            if (namespace is None or e["metadata"]["namespace"] == namespace)
            and field_selector_matches(field_selector, e)
        ]
        return {
            "kind": "EventList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(self.version)},
            "items": items,
        }

    def add_event(self, namespace, kind, name, reason, message, node, when, component="kubelet"):
        """A Warning event about an object, as the kubelet records one (source.host is its node)."""
        self.events.append(make_event(namespace, kind, name, reason, message, node, when, component, self.bump()))

    def list_nodes(self):
        return {
            "kind": "NodeList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(self.version)},
            "items": [copy.deepcopy(n) for _, n in sorted(self.nodes.items())],
        }

    def add_pod(self, name, node, logs, labels, *, ends_at, phase="Running", image_tag="v1.4.0", owner=None):
        containers = [{"name": c, "image": f"mcr.microsoft.com/oss/eraser/{c}:{image_tag}"} for c in logs]
        meta = {"name": name, "labels": labels}
        if owner:
            # The API server refuses an owner reference without a uid (apimachinery's ValidateOwnerReferences).
            uid = str(uuid.uuid5(uuid.NAMESPACE_OID, owner))
            meta["ownerReferences"] = [
                {"apiVersion": "v1", "kind": "PodTemplate", "name": owner, "uid": uid, "controller": True,
                 "blockOwnerDeletion": True}
            ]  # fmt: skip
        obj = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": self._new_meta(meta, KUBE_SYSTEM),
            "spec": {"nodeName": node, "containers": containers, "restartPolicy": "Never"},
            "status": {"phase": phase, "startTime": now_iso(self.wall())},
        }
        self.pods[(KUBE_SYSTEM, name)] = {"object": obj, "logs": logs, "ends_at": ends_at, "delete_at": None}


def make_event(namespace, kind, name, reason, message, node, when, component="kubelet", version="1"):
    """A Warning Event about an object (`when`: epoch seconds), as the API server stores one."""
    stamp = now_iso(when)
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {
            "name": f"{name}.{uuid.uuid4().hex[:16]}",
            "namespace": namespace,
            "creationTimestamp": stamp,
            "resourceVersion": version,
        },
        "involvedObject": {"kind": kind, "namespace": namespace, "name": name},
        "reason": reason,
        "message": message,
        "type": "Warning",
        "source": {"component": component, "host": node},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def _check_imagelist_spec(body):
    images = (body.get("spec") or {}).get("images")
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise KubeError(
            422,
            "Invalid",
            'ImageList.eraser.sh "imagelist" is invalid: spec.images: Invalid value: must be a list of strings',
        )


# The nodes a cluster is seeded with have been there for months: every past run of its schedule found them.
SEEDED_NODE_AGE = 180 * 86400


def nodes_for(doc, now=None):
    """Kubernetes nodes for an ARM cluster document: one per VM of every agent pool."""
    joined = (time.time() if now is None else now) - SEEDED_NODE_AGE
    nodes = []
    for pool in (doc.get("properties") or {}).get("agentPoolProfiles") or []:
        os_name = "windows" if (pool.get("osType") or "Linux").lower() == "windows" else "linux"
        for i in range(int(pool.get("count") or 1)):
            name = f"aks-{pool['name']}-{i}" if os_name == "linux" else f"aks{pool['name'][:6]}{i:06d}"
            nodes.append(node_object(name, os_name, pool["name"], created=joined))
    if ((doc.get("properties") or {}).get("addonProfiles") or {}).get("aciConnectorLinux", {}).get("enabled"):
        # The virtual node of the ACI connector (the virtual-node add-on): Linux by its label, but no VM.
        nodes.append(node_object("virtual-node-aci-linux", "linux", None, {"type": "virtual-kubelet"}, joined))
    return nodes


def node_object(name, os_name, pool, labels=None, created=None):
    """A Node as AKS's are, in the shape and about the size `kubectl get node -o json` shows: the labels AKS sets
    (OS, arch, pool, hostname), Ready, when it joined, and a full status: addresses, capacity, every nodeInfo field
    (clients check that none is missing: the Python client's V1NodeSystemInfo refuses a None architecture), and the
    images the kubelet reports (up to 50 by default, its --node-status-max-images)."""
    windows = os_name == "windows"
    meta = {
        "name": name,
        "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
        "labels": {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": os_name,
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": os_name,
            "node.kubernetes.io/instance-type": "Standard_D4ds_v5",
            **(
                {"agentpool": pool, "kubernetes.azure.com/agentpool": pool, "kubernetes.azure.com/mode": "system"}
                if pool
                else {}
            ),
            **(labels or {}),
        },
        "annotations": {
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        },
    }
    if created is not None:
        meta["creationTimestamp"] = now_iso(created)
    images = []
    for i in range(50 if pool else 0):  # a virtual node runs no images of its own
        digest = uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{i}").hex * 2
        repo = f"mcr.microsoft.com/oss/kubernetes/image-{i}"
        images.append({"names": [f"{repo}@sha256:{digest}", f"{repo}:v1.{i}.0"], "sizeBytes": 10_000_000 + 137_003 * i})
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": meta,
        "spec": {"providerID": f"azure:///{name}"}
        if pool
        else {"taints": [{"key": "virtual-kubelet.io/provider", "value": "azure", "effect": "NoSchedule"}]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "10.224.0.4"}, {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "4", "memory": "16374584Ki", "pods": "110", "ephemeral-storage": "129886128Ki"},
            "allocatable": {"cpu": "3860m", "memory": "12880696Ki", "pods": "110", "ephemeral-storage": "119703055367"},
            "conditions": [
                {"type": kind, "status": "False", "reason": f"Kubelet{reason}"}
                for kind, reason in (
                    ("MemoryPressure", "HasSufficientMemory"),
                    ("DiskPressure", "HasNoDiskPressure"),
                    ("PIDPressure", "HasSufficientPID"),
                )
            ]
            + [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": str(uuid.uuid5(uuid.NAMESPACE_OID, name)),
                "containerRuntimeVersion": "containerd://1.7.27-1",
                "kernelVersion": "10.0.20348.3453" if windows else "5.15.0-1089-azure",
                "kubeProxyVersion": "v1.33.2",
                "kubeletVersion": "v1.33.2",
                "machineID": uuid.uuid5(uuid.NAMESPACE_X500, name).hex,
                "operatingSystem": os_name,
                "osImage": "Windows Server 2022 Datacenter" if windows else "Ubuntu 22.04.5 LTS",
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_X500, name)),
            },
            "images": images,
        },
    }
