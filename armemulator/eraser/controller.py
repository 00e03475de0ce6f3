"""The simulated Eraser controller of one emulated cluster, as AKS Image Cleaner deploys it.

What it does follows Eraser's documented behaviour (../shared/image-cleaner.md): once Image Cleaner is on, AKS
installs the controller, its config (`eraser-manager-config`) and the system exclusion list. The controller acts
only on the ImageList named `imagelist`, and only on a new generation of it: it starts a worker pod on every
Linux node (the remover alone for a manual run; collector, trivy-scanner and remover on its schedule), each
writing what Eraser v1.4.1 writes (logs.py), then fills the list's `status` with the node counts and deletes
the pods a while after they finish. Exclusions come from every ConfigMap in kube-system labelled
`eraser.sh/exclude.list=true`, from a key ending in `.json` (any key of the system list).

It sits above the Kubernetes objects it acts on (../kubernetes/objects.py knows nothing of it). What its worker
containers write goes to the pods' logs and, when given, to `log_sink(pod, node, {container: text}, started)`:
where the store wires the cluster's log collection (../loganalytics/agent.py), if the cluster has any. Its past
runs go to `past_sink([(pod, node, started)], {container: text from time 0})` alone.
"""

import copy
import hashlib
import itertools
import json

from armemulator.eraser import logs
from armemulator.kubernetes.objects import KUBE_SYSTEM, KubeError, now_iso

IMAGELIST_NAME = "imagelist"
EXCLUDE_LABEL = "eraser.sh/exclude.list"
ERASER_VERSION = "v1.4.0"
SYSTEM_EXCLUSIONS = ["mcr.microsoft.com/*"]

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

digest_of = logs.image_id


def worker_pod(node, run):
    """A worker pod's name: `eraser-<node>-xxxxx`, as the controller makes one per node and run
    (../shared/image-cleaner-coverage.md, from eraser-dev/eraser controllers/imagejob)."""
    return f"eraser-{node}-{hashlib.sha1(f'{run}{node}'.encode()).hexdigest()[:5]}"


def matches(pattern, reference):
    """Eraser's exclusion patterns: exact, `repo/*` (prefix), `name:*` (any tag)."""
    if pattern == reference:
        return True
    if pattern.endswith("/*"):
        return reference.startswith(pattern[:-1])
    if pattern.endswith(":*"):
        return reference.rsplit(":", 1)[0] == pattern[:-2]
    return pattern == "*"


class EraserController:
    def __init__(self, cluster, log_sink=None, past_sink=None):
        self.cluster, self.log_sink, self.past_sink = cluster, log_sink, past_sink
        cluster.on_delete.append(lambda resource, name: self.forget(name) if resource == "imagelists" else None)
        self.installed = False
        self.node_images = {
            name: copy.deepcopy(NODE_IMAGES)
            for name, node in cluster.nodes.items()
            if node["metadata"]["labels"]["kubernetes.io/os"] == "linux"
        }
        self.node_faults = {}  # node -> logs.RUNTIME_UNREACHABLE or logs.SCANNER_PANIC
        self.past_simulated = False  # whether the schedule before now was logged: once per cluster
        self.handled_generation = {}
        self.runs = 0

    def install(self):
        """What AKS deploys when Image Cleaner is enabled."""
        if self.installed:
            return
        self.installed = True
        self.cluster.crds.add("imagelists")
        config = (
            "apiVersion: eraser.sh/v1alpha3\nkind: EraserConfig\nmanager:\n  scheduling:\n"
            "    repeatInterval: 168h\ncomponents:\n"
            + "".join(
                f"  {c}:\n    enabled: true\n    image:\n      repo: mcr.microsoft.com/oss/eraser/{r}\n"
                f"      tag: {ERASER_VERSION}\n"
                for c, r in (("collector", "collector"), ("scanner", "eraser-trivy-scanner"), ("remover", "remover"))
            )
        )
        self.cluster.create_configmap(
            KUBE_SYSTEM,
            {"metadata": {"name": "eraser-manager-config"}, "data": {"controller_manager_config.yaml": config}},
        )
        self.cluster.create_configmap(
            KUBE_SYSTEM,
            {
                "metadata": {"name": "eraser-system-exclusion", "labels": {EXCLUDE_LABEL: "true"}},
                "data": {"excluded": json.dumps({"excluded": SYSTEM_EXCLUSIONS})},
            },
        )
        self.cluster.add_pod(
            "eraser-controller-manager-7d9f8b6c5-x2x4q",
            "aks-nodepool1-0",
            {"manager": ""},
            {"app": "eraser-controller-manager", "control-plane": "controller-manager"},
            ends_at=None,
            phase="Running",
            image_tag=ERASER_VERSION,
        )

    def forget(self, imagelist_name):
        """The ImageList was deleted: the next one with that name is new to the controller."""
        self.handled_generation.pop(imagelist_name, None)

    def settle(self):
        """Let the controller act on everything whose time has come."""
        if not self.installed:
            return
        cluster = self.cluster
        now = cluster.clock()
        for name, imagelist in list(cluster.imagelists.items()):
            generation = imagelist["metadata"]["generation"]
            if name == IMAGELIST_NAME and self.handled_generation.get(name) != generation:
                self.handled_generation[name] = generation
                self._start_run(imagelist["spec"]["images"], manual=True)
        for key, pod in list(cluster.pods.items()):
            if pod["ends_at"] is not None and pod["ends_at"] <= now and pod["delete_at"] is None:
                pod["object"]["status"]["phase"] = "Failed" if pod.get("failed") else "Succeeded"
                pod["object"]["metadata"]["resourceVersion"] = cluster.bump()
                pod["delete_at"] = now + cluster.pod_ttl_seconds
                self._finish_run_if_done(pod.get("run"))
            if pod["delete_at"] is not None and pod["delete_at"] <= now:
                del cluster.pods[key]

    def set_node_fault(self, node, fault):
        if node not in self.node_images or fault not in (None, *logs.NODE_FAULTS):
            raise KubeError(400, "BadRequest", f"no Linux node {node!r}, or no fault {fault!r}")
        self.node_faults[node] = fault

    def start_scheduled_run(self, candidates=None, vulnerable=None):
        """A run of the schedule: collector, trivy-scanner and remover on every Linux node; with `candidates`, each
        node holds that many unused images for this run, `vulnerable` of them (logs.candidate_images)."""
        self._start_run(None, manual=False, candidates=(candidates, vulnerable) if candidates else None)

    def past_runs(self, days, interval_hours, now=None, candidates=None, vulnerable=None):
        """Image Cleaner's schedule before now: a scheduled run every `interval_hours` over the last `days`, at its
        own time, to the past sink only (their pods are long gone). Nodes pull images between runs, so each run
        finds the images every node starts with (NODE_IMAGES, or `candidates` images of which `vulnerable` are
        found so: logs.candidate_images), and the images there now are left as they are. Every run of every node
        writes the same lines at its own times, so one run is written once, from time 0, and the sink lays it at
        each node's and run's start (in bulk, as a real past is large: ../shared/container-insights.md §6).
        A cluster has one past: asked again, it adds nothing (returns 0)."""
        if self.past_simulated or not self.past_sink:
            return 0
        self.past_simulated = True
        now = self.cluster.wall() if now is None else now
        starts, started = [], now - interval_hours * 3600
        while started >= now - days * 86400:
            starts.append(started)
            started -= interval_hours * 3600
        if not starts:
            return 0
        inventory = NODE_IMAGES if candidates is None else logs.candidate_images(candidates, vulnerable or 0)
        ticks = itertools.count()
        texts, _ = logs.scheduled_run(
            "template", copy.deepcopy(inventory), self._exclusions(), matches, lambda: next(ticks) / 1000
        )
        runs = [(worker_pod(node, f"past-{at}"), node, at) for at in starts for node in sorted(self.node_images)]
        self.past_sink(runs, texts)
        return len(starts)

    def _start_run(self, images, manual, candidates=None):
        cluster = self.cluster
        self.runs += 1
        run = {"id": self.runs, "manual": manual, "pods": [], "failed_nodes": 0}
        ends_at = cluster.clock() + cluster.run_seconds
        started = cluster.wall()
        exclusions = self._exclusions()
        for node in sorted(self.node_images):
            inventory, fault = self.node_images[node], self.node_faults.get(node)
            if candidates:
                inventory = logs.candidate_images(*candidates)
            if manual:
                texts, failed = logs.manual_run(node, inventory, images, exclusions, matches, cluster.wall, fault)
            else:
                texts, failed = logs.scheduled_run(node, inventory, exclusions, matches, cluster.wall, fault)
            pod_name = worker_pod(node, self.runs)
            labels = {"app": "eraser", "eraser.sh/run": str(self.runs)}
            cluster.add_pod(pod_name, node, texts, labels, ends_at=ends_at, image_tag=ERASER_VERSION)
            cluster.pods[(KUBE_SYSTEM, pod_name)].update(run=run, failed=fault is not None)
            if self.log_sink:
                self.log_sink(pod_name, node, texts, started)
            run["pods"].append(pod_name)
            run["failed_nodes"] += int(failed)
        run["skipped"] = len(cluster.nodes) - len(self.node_images)
        if not run["pods"]:
            self._finish_run_if_done(run)

    def _finish_run_if_done(self, run):
        cluster = self.cluster
        if not run or not run["manual"]:
            return
        pods = cluster.pods
        if any((KUBE_SYSTEM, p) in pods and pods[(KUBE_SYSTEM, p)]["delete_at"] is None for p in run["pods"]):
            return
        imagelist = cluster.imagelists.get(IMAGELIST_NAME)
        if imagelist is None:
            return
        imagelist["status"] = {
            "timestamp": now_iso(cluster.wall()),
            "success": len(run["pods"]) - run["failed_nodes"],
            "failed": run["failed_nodes"],
            "skipped": run["skipped"],
        }
        imagelist["metadata"]["resourceVersion"] = cluster.bump()

    def _exclusions(self):
        patterns = []
        for obj in self.cluster.configmaps.values():
            labels = obj["metadata"].get("labels") or {}
            if obj["metadata"]["namespace"] != KUBE_SYSTEM or labels.get(EXCLUDE_LABEL) != "true":
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
