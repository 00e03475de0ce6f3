"""How a run's worker pod goes on one node, fault by fault: its phases over time and what the kubelet records (pure).

The faults follow what AKS users report (../shared/image-cleaner-coverage.md, each with its source):
- DOWN (Azure/AKS#5580): the node is down when the run begins: it gets no worker pod;
- OUT_OF_CPU (Azure/AKS#3824, eraser#1062): the kubelet rejects the pod at admission: phase Failed, reason OutOfcpu,
  message "Pod was rejected: Node didn't have enough resource: cpu, ...", a Warning event OutOfcpu; never retried,
  no container starts;
- IMAGE_PULL (eraser#911): a container's image cannot be pulled: the pod stays Pending (ImagePullBackOff), and the
  ImageJob Running, with no later runs;
- OOM_KILLED (eraser#777/#837): trivy-scanner over its memory limit: terminated OOMKilled (exit 137), the pod Failed;
- PREEMPT (Azure/AKS#4344, #4175): the worker pod is system-node-critical, and the kubelet evicts workload pods to
  admit it: the workload pods Failed, reason Preempting, with a Warning event "Preempted in order to admit critical
  pod" (kubernetes pkg/kubelet/preemption/preemption.go); the worker pod itself runs;
- the log faults of logs.py (a runtime the containers cannot reach, a scanner's panic): the containers exit with an
  error, the pod Failed.
A plan's times are seconds from the run's start.
"""

from typing import NamedTuple

from armemulator.eraser import logs

DOWN, OUT_OF_CPU, IMAGE_PULL, OOM_KILLED, PREEMPT = "down", "outofcpu", "imagepull", "oomkilled", "preempt"
COVERAGE_FAULTS = (DOWN, OUT_OF_CPU, IMAGE_PULL, OOM_KILLED, PREEMPT)
SCHEDULED, MANUAL = ("collector", "trivy-scanner", "remover"), ("remover",)
# The workload pods a preemption evicts on a node (their namespace and names).
PREEMPTED = ("shop", ("checkout-7b9c-x2lkq", "cart-5d4f-9wrtz"))
REJECTED = "Pod was rejected: Node didn't have enough resource: cpu, requested: 1000, used: 3820, capacity: 3860"


class Plan(NamedTuple):
    """A worker pod's life: `states` [(seconds, phase, {container: (state, reason)}, pod reason)], `ends` when it
    stops (None: never), `failed`, and the Warning events [(seconds, kind, namespace, name, reason, message)]."""

    states: list
    ends: float | None
    failed: bool
    events: list


def plan(fault, containers, run_seconds):
    """The plan of a worker pod with `containers` on a node with `fault`, or None when it gets no pod (DOWN)."""
    running = {c: ("running", "") for c in containers}
    if fault == DOWN:
        return None
    if fault == OUT_OF_CPU:
        waiting = {c: ("waiting", "") for c in containers}
        events = [(0, "Pod", "kube-system", None, "OutOfcpu", REJECTED)]
        return Plan([(0, "Failed", waiting, "OutOfcpu")], 0, True, events)
    if fault == IMAGE_PULL:
        waiting = {c: ("waiting", "ImagePullBackOff" if c == containers[-1] else "PodInitializing") for c in containers}
        message = f'Back-off pulling image "mcr.microsoft.com/oss/eraser/{containers[-1]}:v1.4.0"'
        return Plan([(0, "Pending", waiting, "")], None, True, [(1, "Pod", "kube-system", None, "BackOff", message)])
    events = []
    if fault == PREEMPT:
        namespace, names = PREEMPTED
        events = [
            (0, "Pod", namespace, name, "Preempting", "Preempted in order to admit critical pod") for name in names
        ]
    done = {c: ("terminated", "Completed") for c in containers}
    # Without its vulnerability DB, trivy fails each image's scan, and the scanner still ends well (logs.py).
    crashed = fault in logs.NODE_FAULTS and fault != logs.SCANNER_DB_UNAVAILABLE
    failed = fault == OOM_KILLED or crashed
    if fault == OOM_KILLED:
        done = dict(done, **{"trivy-scanner": ("terminated", "OOMKilled")})
    elif crashed:
        done = {c: ("terminated", "Error") for c in containers}
    return Plan([(0, "Running", running, ""), (run_seconds, "Failed" if failed else "Succeeded", done, "")],
                run_seconds, failed, events)  # fmt: skip


def status(plan_, at):
    """The pod's `status` at `at` seconds into its run, as the API server shows it."""
    current = plan_.states[0]
    for state in plan_.states:
        if state[0] <= at:
            current = state
    _, phase, containers, reason = current
    found = {"phase": phase}
    if reason:
        found.update(reason=reason, message=REJECTED if reason == "OutOfcpu" else "")
    statuses = []
    for name, (state, why) in containers.items():
        detail = {"reason": why} if why else {}
        if state == "terminated":
            detail["exitCode"] = 0 if why == "Completed" else 137 if why == "OOMKilled" else 1
        statuses.append({"name": name, "state": {state: detail}, "ready": state == "running", "restartCount": 0})
    if phase != "Failed" or not reason:  # a pod the kubelet rejected never had its containers created
        found["containerStatuses"] = statuses
    return found
