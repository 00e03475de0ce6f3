"""A Kubernetes API for each emulated cluster, with a simulated Eraser controller.

It serves what `az aks image-cleaner` uses, with the real API's conventions:
ConfigMaps, Pods and their logs, Nodes, and the cluster-scoped ImageList
custom resource (eraser.sh/v1); `resourceVersion` on every object,
`metadata.generation` bumped on a spec change, label selectors, and `Status`
objects for errors. The controller reacts to a new generation of the
ImageList named `imagelist` by starting a worker pod on every Linux node
(only the `remover` container; a scheduled run has collector, trivy-scanner
and remover), has them write what Eraser v1.4.1 writes (eraser_logs.py),
fills the list's `status`, and deletes the pods a while after they finish.
"""

import copy
import hashlib
import json
import time
import uuid

from armemulator import eraser_logs

KUBE_SYSTEM = "kube-system"
EXCLUDE_LABEL = "eraser.sh/exclude.list"
IMAGELIST_NAME = "imagelist"
ERASER_VERSION = "v1.4.0"
WORKER_PREFIX = "eraser-aks-"

# What every emulated Linux node holds: reference -> facts. `in_use`: a stopped container still uses it, so
# its removal fails; `scan_fails`: trivy cannot scan it (it then goes to the remover all the same).
NODE_IMAGES = {
    "docker.io/library/alpine:3.7.3": {"vulnerable": True, "running": False},
    "docker.io/library/nginx:1.19.0": {"vulnerable": True, "running": True},
    "docker.io/library/busybox:1.31.0": {"vulnerable": False, "running": False},
    "docker.io/library/redis:6.0.5": {"vulnerable": True, "running": False},
    "myregistry.azurecr.io/payments/api:2.3.1": {"vulnerable": True, "running": False},
    "myregistry.azurecr.io/payments/worker:2.3.1": {"vulnerable": False, "running": True},
    "mcr.microsoft.com/oss/kubernetes/pause:3.6": {"vulnerable": False, "running": True},
    "docker.io/library/locked:1.0": {"vulnerable": True, "running": False, "in_use": True},
    "myregistry.azurecr.io/legacy/report:0.9": {"vulnerable": False, "running": False, "scan_fails": True},
}
FAILING_IMAGE = "docker.io/library/locked:1.0"
UNSCANNABLE_IMAGE = "myregistry.azurecr.io/legacy/report:0.9"
SYSTEM_EXCLUSIONS = ["mcr.microsoft.com/*"]


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


digest_of = eraser_logs.image_id


def _now_iso(wall):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


def matches(pattern, reference):
    """Eraser's exclusion patterns: exact, `repo/*` (prefix), `name:*` (any tag)."""
    if pattern == reference:
        return True
    if pattern.endswith("/*"):
        return reference.startswith(pattern[:-1])
    if pattern.endswith(":*"):
        return reference.rsplit(":", 1)[0] == pattern[:-2]
    return pattern == "*"


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
            node["metadata"].setdefault("creationTimestamp", _now_iso(wall()))
        self.node_images = {
            name: copy.deepcopy(NODE_IMAGES)
            for name, node in self.nodes.items()
            if node["metadata"]["labels"]["kubernetes.io/os"] == "linux"
        }
        self.node_faults = {}  # node -> eraser_logs.RUNTIME_UNREACHABLE or SCANNER_PANIC
        self.handled_generation = {}
        self.runs = 0
        self.eraser_installed = False

    def snapshot(self):
        """Everything stored, for tests: ConfigMaps, ImageLists, and Pods with their logs."""
        return {
            "configmaps": [copy.deepcopy(o) for _, o in sorted(self.configmaps.items())],
            "imagelists": [copy.deepcopy(o) for _, o in sorted(self.imagelists.items())],
            "pods": [dict(copy.deepcopy(p["object"]), logs=dict(p["logs"])) for _, p in sorted(self.pods.items())],
            "runs": self.runs,
        }

    # --- object bookkeeping ----------------------------------------------------------------------

    def _bump(self):
        self.version += 1
        return str(self.version)

    def _new_meta(self, metadata, namespace=None):
        meta = copy.deepcopy(metadata or {})
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now_iso(self.wall())
        meta["resourceVersion"] = self._bump()
        if namespace is not None:
            meta["namespace"] = namespace
        return meta

    def install_eraser(self):
        """What AKS deploys when Image Cleaner is enabled."""
        if self.eraser_installed:
            return
        self.eraser_installed = True
        config = (
            "apiVersion: eraser.sh/v1alpha3\nkind: EraserConfig\nmanager:\n  scheduling:\n"
            "    repeatInterval: 168h\ncomponents:\n"
            + "".join(
                f"  {c}:\n    enabled: true\n    image:\n      repo: mcr.microsoft.com/oss/eraser/{r}\n"
                f"      tag: {ERASER_VERSION}\n"
                for c, r in (("collector", "collector"), ("scanner", "eraser-trivy-scanner"), ("remover", "remover"))
            )
        )
        self.create_configmap(
            KUBE_SYSTEM,
            {"metadata": {"name": "eraser-manager-config"}, "data": {"controller_manager_config.yaml": config}},
        )
        self.create_configmap(
            KUBE_SYSTEM,
            {
                "metadata": {"name": "eraser-system-exclusion", "labels": {EXCLUDE_LABEL: "true"}},
                "data": {"excluded": json.dumps({"excluded": SYSTEM_EXCLUSIONS})},
            },
        )
        self._add_pod(
            "eraser-controller-manager-7d9f8b6c5-x2x4q",
            "aks-nodepool1-0",
            {"manager": ""},
            {"app": "eraser-controller-manager", "control-plane": "controller-manager"},
            ends_at=None,
            phase="Running",
        )

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
        new_meta["resourceVersion"] = self._bump()
        obj["metadata"] = new_meta
        objects[key(namespace, name)] = obj
        return copy.deepcopy(obj)

    def delete(self, resource, namespace, name):
        objects, key = self._objects(resource)
        current = self.get(resource, namespace, name)
        del objects[key(namespace, name)]
        if resource == "imagelists":
            self.handled_generation.pop(name, None)
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
        if not self.eraser_installed:
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

    def _add_pod(self, name, node, logs, labels, *, ends_at, phase="Running"):
        containers = [{"name": c, "image": f"mcr.microsoft.com/oss/eraser/{c}:{ERASER_VERSION}"} for c in logs]
        obj = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": self._new_meta({"name": name, "labels": labels}, KUBE_SYSTEM),
            "spec": {"nodeName": node, "containers": containers, "restartPolicy": "Never"},
            "status": {"phase": phase, "startTime": _now_iso(self.wall())},
        }
        self.pods[(KUBE_SYSTEM, name)] = {"object": obj, "logs": logs, "ends_at": ends_at, "delete_at": None}

    # --- the simulated Eraser controller ---------------------------------------------------------

    def settle(self):
        """Let the controller act on everything whose time has come."""
        if not self.eraser_installed:
            return
        now = self.clock()
        for name, imagelist in list(self.imagelists.items()):
            generation = imagelist["metadata"]["generation"]
            if name == IMAGELIST_NAME and self.handled_generation.get(name) != generation:
                self.handled_generation[name] = generation
                self._start_run(imagelist["spec"]["images"], manual=True)
        for key, pod in list(self.pods.items()):
            if pod["ends_at"] is not None and pod["ends_at"] <= now and pod["delete_at"] is None:
                pod["object"]["status"]["phase"] = "Failed" if pod.get("failed") else "Succeeded"
                pod["object"]["metadata"]["resourceVersion"] = self._bump()
                pod["delete_at"] = now + self.pod_ttl_seconds
                self._finish_run_if_done(pod.get("run"))
            if pod["delete_at"] is not None and pod["delete_at"] <= now:
                del self.pods[key]

    def set_node_fault(self, node, fault):
        if node not in self.node_images or fault not in (None, *eraser_logs.NODE_FAULTS):
            raise KubeError(400, "BadRequest", f"no Linux node {node!r}, or no fault {fault!r}")
        self.node_faults[node] = fault

    def start_scheduled_run(self):
        """A run of the schedule: collector, trivy-scanner and remover on every Linux node."""
        self._start_run(None, manual=False)

    def _start_run(self, images, manual):
        self.runs += 1
        run = {"id": self.runs, "manual": manual, "pods": [], "failed_nodes": 0}
        ends_at = self.clock() + self.run_seconds
        exclusions = self._exclusions()
        for node in sorted(self.node_images):
            inventory, fault = self.node_images[node], self.node_faults.get(node)
            if manual:
                logs, failed = eraser_logs.manual_run(node, inventory, images, exclusions, matches, self.wall, fault)
            else:
                logs, failed = eraser_logs.scheduled_run(node, inventory, exclusions, matches, self.wall, fault)
            pod_name = f"{WORKER_PREFIX}{hashlib.sha1(f'{self.runs}{node}'.encode()).hexdigest()[:5]}"
            self._add_pod(pod_name, node, logs, {"app": "eraser", "eraser.sh/run": str(self.runs)}, ends_at=ends_at)
            self.pods[(KUBE_SYSTEM, pod_name)].update(run=run, failed=fault is not None)
            run["pods"].append(pod_name)
            run["failed_nodes"] += int(failed)
        run["skipped"] = len(self.nodes) - len(self.node_images)
        if not run["pods"]:
            self._finish_run_if_done(run)

    def _finish_run_if_done(self, run):
        if not run or not run["manual"]:
            return
        if any((KUBE_SYSTEM, p) in self.pods and self.pods[(KUBE_SYSTEM, p)]["delete_at"] is None for p in run["pods"]):
            return
        imagelist = self.imagelists.get(IMAGELIST_NAME)
        if imagelist is None:
            return
        imagelist["status"] = {
            "timestamp": _now_iso(self.wall()),
            "success": len(run["pods"]) - run["failed_nodes"],
            "failed": run["failed_nodes"],
            "skipped": run["skipped"],
        }
        imagelist["metadata"]["resourceVersion"] = self._bump()

    def _exclusions(self):
        patterns = []
        for obj in self.configmaps.values():
            if (
                obj["metadata"]["namespace"] != KUBE_SYSTEM
                or (obj["metadata"].get("labels") or {}).get(EXCLUDE_LABEL) != "true"
            ):
                continue
            if obj["metadata"]["name"] == "eraser-system-exclusion":
                keys = sorted(obj["data"])
            else:
                keys = [k for k in sorted(obj["data"]) if k.endswith(".json")][:1]
            for key in keys:
                try:
                    patterns += json.loads(obj["data"][key]).get("excluded", [])
                except (ValueError, AttributeError):
                    continue
        return patterns


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
