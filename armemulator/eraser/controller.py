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
import uuid

from armemulator.eraser import logs, pods
from armemulator.kubernetes.objects import KUBE_SYSTEM, KubeError, make_event, now_iso

IMAGELIST_NAME = "imagelist"
EXCLUDE_LABEL = "eraser.sh/exclude.list"
# Nodes left out of every run (the controller counts them `skipped`): the node filter's label, and in the shipped
# config Windows nodes (../shared/image-cleaner-coverage.md); a virtual node has no VM to clean.
FILTER_LABEL = "eraser.sh/cleanup.filter"
JOB_OWNER = "eraser.sh/job-owner"
CONTROLLER_POD = "eraser-controller-manager-7d9f8b6c5-x2x4q"
WORKER_TYPE = "eraser.sh/type"
# A run at a past time (the schedule before now): how long its pods take, and how long after they are deleted (AKS:
# worker pods go within about 10 minutes; a failed job and its pods stay for delayOnFailure, 24 h, or until the
# next run deletes old jobs).
PAST_RUN_SECONDS = 180
POD_TTL_SECONDS = 600
FAILED_TTL_SECONDS = 24 * 3600
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


def epoch(stamp):
    import calendar
    import time

    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


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
    def __init__(self, cluster, log_sink=None, past_sink=None, inventory_sink=None):
        self.cluster, self.log_sink, self.past_sink = cluster, log_sink, past_sink
        self.inventory_sink = inventory_sink  # (pods [inventory.Pod], events, [(start, end)]): what the agent samples
        cluster.on_delete.append(lambda resource, name: self.forget(name) if resource == "imagelists" else None)
        self.installed = False
        self.node_images = {
            name: copy.deepcopy(NODE_IMAGES)
            for name, node in cluster.nodes.items()
            if node["metadata"]["labels"]["kubernetes.io/os"] == "linux"
        }
        self.node_faults = {}  # node -> a fault of logs.NODE_FAULTS or pods.COVERAGE_FAULTS
        self.jobs = {}  # ImageJob name -> {"pods", "manual", "deleted_at"}
        self.past_simulated = False  # whether the schedule before now was logged: once per cluster
        self.handled_generation = {}
        self.runs = 0

    def install(self):
        """What AKS deploys when Image Cleaner is enabled."""
        if self.installed:
            return
        self.installed = True
        self.cluster.crds.update(("imagelists", "imagejobs"))
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
            CONTROLLER_POD,
            "aks-nodepool1-0",
            {"manager": ""},
            {"app": "eraser-controller-manager", "control-plane": "controller-manager"},
            ends_at=None,
            phase="Running",
            image_tag=ERASER_VERSION,
        )
        self._controller_status(restarts=0, reason=None)

    def _controller_status(self, restarts, reason):
        """The controller pod's container status: ready and running, after `restarts` restarts whose last ended
        with `reason` (OOMKilled: eraser-dev/eraser#487, #1169; the kubelet's exit code 137 for a kill)."""
        pod = self.cluster.pods[(KUBE_SYSTEM, CONTROLLER_POD)]["object"]
        status = {
            "name": "manager",
            "ready": True,
            "started": True,
            "restartCount": restarts,
            "image": f"mcr.microsoft.com/oss/eraser/eraser-manager:{ERASER_VERSION}",
            "state": {"running": {"startedAt": now_iso(self.cluster.wall())}},
            "lastState": {},
        }
        if restarts and reason:
            status["lastState"] = {
                "terminated": {
                    "reason": reason,
                    "exitCode": 137 if reason == "OOMKilled" else 1,
                    "finishedAt": now_iso(self.cluster.wall() - 5),
                }
            }
        pod["status"]["containerStatuses"] = [status]
        pod["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
        pod["metadata"]["resourceVersion"] = self.cluster.bump()

    def restart_controller(self, restarts, reason="OOMKilled", orphans=0):
        """The controller was killed and restarted `restarts` times, the last for `reason`; each restart left the
        PodTemplate of the ImageJob it was running behind (eraser-dev/eraser#912: `orphans` of them, whose ImageJob
        is gone), and "PodTemplate not found" follows (#868, #1051)."""
        if not self.installed:
            raise KubeError(409, "Conflict", "Image Cleaner is not installed on this cluster")
        self._controller_status(restarts, reason)
        for number in range(orphans):
            job = f"imagejob-{hashlib.sha1(f'lost-{self.runs}-{number}'.encode()).hexdigest()[:5]}"
            self._pod_template(job, str(uuid.uuid4()), self.cluster.wall() - 3600 * (number + 1))

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
            plan = pod.get("plan")
            if plan is not None:
                pod["object"]["status"].update(pods.status(plan, now - pod["started"]))
            if pod["ends_at"] is not None and pod["ends_at"] <= now and pod["delete_at"] is None:
                if plan is None:
                    pod["object"]["status"]["phase"] = "Failed" if pod.get("failed") else "Succeeded"
                pod["object"]["metadata"]["resourceVersion"] = cluster.bump()
                pod["delete_at"] = now + (cluster.pod_ttl_seconds if not pod.get("failed") else FAILED_TTL_SECONDS)
                self._finish_run_if_done(pod.get("run"))
            if pod["delete_at"] is not None and pod["delete_at"] <= now:
                del cluster.pods[key]
        for name in list(cluster.imagejobs):
            run = self.jobs.get(name)
            if run and run["deleted_at"] is not None and run["deleted_at"] <= now:
                del cluster.imagejobs[name]
                # The PodTemplate goes with its owner, the ImageJob (Kubernetes' garbage collector).
                cluster.podtemplates.pop((KUBE_SYSTEM, name), None)

    def set_node_fault(self, node, fault):
        if node not in self.node_images or fault not in (None, *logs.NODE_FAULTS, *pods.COVERAGE_FAULTS):
            raise KubeError(400, "BadRequest", f"no Linux node {node!r}, or no fault {fault!r}")
        self.node_faults[node] = fault

    def eligible(self, at=None):
        """The nodes a run (begun at wall time `at`, or now) gives a worker pod to: Linux, not virtual, not filtered,
        there when it began."""
        found = []
        for name, node in sorted(self.cluster.nodes.items()):
            labels = node["metadata"].get("labels") or {}
            if labels.get("kubernetes.io/os") != "linux" or labels.get("type") == "virtual-kubelet":
                continue
            if FILTER_LABEL in labels or (at is not None and epoch(node["metadata"]["creationTimestamp"]) > at):
                continue
            self.node_images.setdefault(name, copy.deepcopy(NODE_IMAGES))
            found.append(name)
        return found

    def start_scheduled_run(self, candidates=None, vulnerable=None):
        """A run of the schedule: collector, trivy-scanner and remover on every Linux node; with `candidates`, each
        node holds that many unused images for this run, `vulnerable` of them (logs.candidate_images)."""
        running = [n for n, j in self.cluster.imagejobs.items() if j["status"].get("phase") == "Running" and not
                   self.jobs.get(n, {}).get("manual")]  # fmt: skip
        if running:
            # The controller starts the next run only when the last one ends (eraser-dev/eraser#911).
            raise KubeError(409, "Conflict", f"ImageJob {running[0]} is still running: the next run waits for it")
        self._start_run(None, manual=False, candidates=(candidates, vulnerable) if candidates else None)

    def past_runs(self, days, interval_hours, now=None, candidates=None, vulnerable=None, faults=None, stopped_days=0):
        """Image Cleaner's schedule before now: a scheduled run every `interval_hours` over the last `days`, at its
        own time, to the sinks only (their pods are long gone); with `stopped_days`, the controller stopped that many
        days ago and nothing ran since. Nodes pull images between runs, so each run finds the images every node
        starts with (NODE_IMAGES, or `candidates` images of which `vulnerable` are found so:
        logs.candidate_images), and the images there now are left as they are. The latest run meets `faults`
        ({node: fault of pods.py or logs.py}); every other worker writes the same lines at its own times, so one run
        is written once, from time 0, and the past sink lays it at each node's and run's start (in bulk, as a real
        past is large: ../shared/container-insights.md §6). The agent samples what it would have seen of each run
        (`inventory_sink`). A cluster has one past: asked again, it adds nothing (returns 0)."""
        if self.past_simulated or not self.past_sink:
            return 0
        self.past_simulated = True
        now = self.cluster.wall() if now is None else now
        starts, started = [], now - interval_hours * 3600
        while started >= now - days * 86400:
            if started <= now - stopped_days * 86400:
                starts.append(started)
            started -= interval_hours * 3600
        starts.reverse()
        if not starts:
            return 0
        inventory = NODE_IMAGES if candidates is None else logs.candidate_images(candidates, vulnerable or 0)
        ticks = itertools.count()
        exclusions = self._exclusions()
        texts, _ = logs.scheduled_run(
            "template", copy.deepcopy(inventory), exclusions, matches, lambda: next(ticks) / 1000
        )
        alike, sampled, events, windows = [], [], [], []
        for number, at in enumerate(starts):
            latest = number == len(starts) - 1
            following = now if latest else starts[number + 1]
            job = f"imagejob-{hashlib.sha1(f'past-{at}'.encode()).hexdigest()[:5]}"
            run_pods = []
            for node in self.eligible(at):
                fault = (faults or {}).get(node) if latest else None
                plan = pods.plan(fault, pods.SCHEDULED, PAST_RUN_SECONDS)
                if plan is None:
                    continue
                pod = worker_pod(node, f"past-{at}")
                if plan.states[0][1] == "Running" and fault in logs.NODE_FAULTS:
                    clock = itertools.count()
                    own, _ = logs.scheduled_run(
                        node, copy.deepcopy(inventory), exclusions, matches, lambda at=at, c=clock: at + next(c) / 1000,
                        fault,
                    )  # fmt: skip
                    if self.log_sink:
                        self.log_sink(pod, node, own, at)
                elif plan.states[0][1] == "Running":
                    alike.append((pod, node, at))
                found = self._inventory_pod(pod, node, {WORKER_TYPE: "collector"}, job, at, plan, POD_TTL_SECONDS)
                if plan.failed:  # kept a day (delayOnFailure), or until the next run's job replaces it
                    found = found._replace(deleted=min(found.deleted, following))
                run_pods.append(found)
                events += [
                    make_event(namespace, kind, name or pod, reason, message, node, at + offset)
                    for offset, kind, namespace, name, reason, message in plan.events
                ]
            sampled += run_pods
            windows.append((at, max((p.deleted for p in run_pods), default=at)))
        self.past_sink(alike, texts)
        if self.inventory_sink:
            self.inventory_sink(sampled, events, windows)
        return len(starts)

    def _start_run(self, images, manual, candidates=None):
        cluster = self.cluster
        self.runs += 1
        clock, started = cluster.clock(), cluster.wall()
        job = self._new_job(f"run-{self.runs}-{started}", manual, started)
        run = {"id": self.runs, "manual": manual, "pods": [], "failed_nodes": 0, "job": job}
        exclusions = self._exclusions()
        eligible = self.eligible()
        sampled = []
        for node in eligible:
            inventory, fault = self.node_images[node], self.node_faults.get(node)
            plan = pods.plan(fault, pods.MANUAL if manual else pods.SCHEDULED, cluster.run_seconds)
            if plan is None:  # down when the run began: no pod
                continue
            if candidates:
                inventory = logs.candidate_images(*candidates)
            texts, log_failed = {}, False
            if plan.states[0][1] == "Running":  # its containers started
                log_fault = fault if fault in logs.NODE_FAULTS else None
                args = (node, inventory, *([images] if manual else []), exclusions, matches, cluster.wall, log_fault)
                texts, log_failed = (logs.manual_run if manual else logs.scheduled_run)(*args)
            pod_name = worker_pod(node, job)
            labels = {WORKER_TYPE: "manual" if manual else "collector"}
            containers = pods.MANUAL if manual else pods.SCHEDULED
            cluster.add_pod(
                pod_name, node, texts or dict.fromkeys(containers, ""), labels,
                ends_at=None if plan.ends is None else clock + plan.ends, image_tag=ERASER_VERSION, owner=job,
            )  # fmt: skip
            entry = cluster.pods[(KUBE_SYSTEM, pod_name)]
            entry.update(run=run, failed=plan.failed, plan=plan, started=clock)
            entry["object"]["status"].update(pods.status(plan, 0))
            for _, kind, namespace, name, reason, message in plan.events:
                cluster.add_event(namespace, kind, name or pod_name, reason, message, node, started)
            if self.log_sink and any(texts.values()):
                self.log_sink(pod_name, node, texts, started)
            sampled.append(self._inventory_pod(pod_name, node, labels, job, started, plan, cluster.pod_ttl_seconds))
            run["pods"].append(pod_name)
            # A remover that cannot prune logs the error and exits 0 (its pod succeeds); the ImageList counts it.
            run["failed_nodes"] += int(plan.failed or log_failed)
        run["skipped"] = len(cluster.nodes) - len(eligible)
        self.jobs[job].update(pods=run["pods"], run=run)
        self._job_status(job)
        if self.inventory_sink and sampled:
            events = [e for e in cluster.events if e["metadata"]["creationTimestamp"] >= now_iso(started)]
            self.inventory_sink(sampled, events, [(started, max(p.deleted for p in sampled))])
        if not run["pods"]:
            self._finish_run_if_done(run)

    def _new_job(self, seed, manual, started):
        """An ImageJob (cluster-scoped; generateName imagejob-), labelled by its owner: the collector's schedule or
        the ImageList (eraser-dev/eraser controllers/imagejob and imagecollector)."""
        name = f"imagejob-{hashlib.sha1(seed.encode()).hexdigest()[:5]}"
        meta = {"name": name, "labels": {JOB_OWNER: "imagelist-controller" if manual else "imagecollector"}}
        if manual:
            imagelist = self.cluster.imagelists.get(IMAGELIST_NAME) or {"metadata": {}}
            meta["ownerReferences"] = [{"apiVersion": "eraser.sh/v1", "kind": "ImageList", "name": IMAGELIST_NAME,
                                        "uid": imagelist["metadata"].get("uid") or str(uuid.uuid4())}]  # fmt: skip
        self.cluster.imagejobs[name] = {
            "apiVersion": "eraser.sh/v1",
            "kind": "ImageJob",
            "metadata": dict(self.cluster._new_meta(meta), creationTimestamp=now_iso(started)),
            "status": {"desired": 0, "succeeded": 0, "failed": 0, "skipped": 0, "phase": "Running"},
        }
        self.jobs[name] = {"pods": [], "manual": manual, "deleted_at": None}
        self._pod_template(name, self.cluster.imagejobs[name]["metadata"]["uid"], started)
        return name

    def _pod_template(self, job, job_uid, started):
        """The PodTemplate the controller makes for an ImageJob's worker pods, in its namespace, named as the job
        and owned by it (eraser-dev/eraser controllers/imagejob; the worker pods' owner)."""
        meta = {
            "name": job,
            "ownerReferences": [{"apiVersion": "eraser.sh/v1", "kind": "ImageJob", "name": job, "uid": job_uid,
                                 "controller": True, "blockOwnerDeletion": True}],
        }  # fmt: skip
        self.cluster.podtemplates[(KUBE_SYSTEM, job)] = {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": dict(self.cluster._new_meta(meta, KUBE_SYSTEM), creationTimestamp=now_iso(started)),
            "template": {"metadata": {"labels": {WORKER_TYPE: "collector"}}, "spec": {"containers": []}},
        }

    def _job_status(self, name):
        """The ImageJob's counts and phase from its pods: finished when none is Pending or Running; Failed on any
        shortfall (successRatio); deleted with its pods (delayOnSuccess 0, delayOnFailure 24 h)."""
        job, cluster = self.cluster.imagejobs.get(name), self.cluster
        if job is None:
            return
        run = self.jobs[name].get("run") or {}
        phases = [cluster.pods[(KUBE_SYSTEM, p)]["object"]["status"]["phase"] for p in run.get("pods", [])
                  if (KUBE_SYSTEM, p) in cluster.pods]  # fmt: skip
        eligible = len(run.get("pods", [])) + sum(1 for n in self.eligible() if self.node_faults.get(n) == pods.DOWN)
        status = job["status"]
        status.update(
            desired=eligible,
            succeeded=phases.count("Succeeded"),
            failed=phases.count("Failed"),
            skipped=run.get("skipped", 0),
        )
        if phases and not any(p in ("Pending", "Running") for p in phases):
            status["phase"] = "Completed" if status["succeeded"] == eligible else "Failed"
            delay = 0 if status["phase"] == "Completed" else FAILED_TTL_SECONDS
            status["deleteAfter"] = now_iso(cluster.wall() + delay)
            pods_gone = [cluster.pods[(KUBE_SYSTEM, p)]["delete_at"] for p in run.get("pods", [])
                         if (KUBE_SYSTEM, p) in cluster.pods]  # fmt: skip
            self.jobs[name]["deleted_at"] = max([d for d in pods_gone if d is not None] or [cluster.clock()])
        job["metadata"]["resourceVersion"] = cluster.bump()

    @staticmethod
    def _inventory_pod(name, node, labels, job, started, plan, ttl):
        """The pod as the agent samples it, in wall time (inventory.Pod)."""
        from armemulator.loganalytics.inventory import Pod

        ends = started + (plan.ends if plan.ends is not None else FAILED_TTL_SECONDS)
        deleted = ends + (FAILED_TTL_SECONDS if plan.failed and plan.ends is not None else ttl)
        states = [(started + at, phase, containers) for at, phase, containers, _ in plan.states]
        return Pod(name, node, KUBE_SYSTEM, labels, ("PodTemplate", job), started, states, deleted)

    def _finish_run_if_done(self, run):
        cluster = self.cluster
        if run and run.get("job"):
            self._job_status(run["job"])
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
