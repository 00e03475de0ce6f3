"""The Kubernetes calls a command makes, as a plan the access seam runs in one go (pure).

A command gives `kube.run([...])` a list of steps and gets one result per step. Against the API server the steps
run one by one (`api_server`); through AKS run-command the whole plan is one shell script in one pod
(`_script`), because every run-command starts a pod, which takes seconds, tens of seconds on a busy cluster
(../shared/aks-access.md §4). Writes that depend on what is read (edit a list, replace the ImageList) are steps
of their own, so that the read, the decision and the write happen in the same pod. The rules those writes
follow are here, so that both transports apply the same ones.
"""

import json
from typing import NamedTuple


class Read(NamedTuple):
    """One object, or None when it is not there (404, or its resource type is not installed)."""

    resource: str  # "configmaps" or "imagelists"
    namespace: str | None
    name: str


class ListConfigMaps(NamedTuple):
    """The ConfigMaps of a namespace, with a label selector."""

    namespace: str
    selector: str | None = None


class Pods(NamedTuple):
    """The pods of a namespace whose names start with one of `prefixes`: name, node, phase and containers."""

    namespace: str
    prefixes: tuple = ()


class List(NamedTuple):
    """The objects of one kind, each cut to `fields` (dotted paths; absent ones are null), as the run-command script's
    jq cuts them (`project`): `resource` "nodes", "pods", "events", "configmaps", "podtemplates" or "imagejobs"; of
    `namespace` (None: every namespace, or a cluster-scoped kind); with a label `selector` and a `field_selector`.
    None when the server does not have the resource type (the ImageJob's, before Image Cleaner is on)."""

    resource: str
    namespace: str | None = None
    selector: str | None = None
    field_selector: str | None = None
    fields: tuple = ()


def field_tree(fields):
    """{key: subtree or None} of dotted paths: what `project` keeps."""
    tree = {}
    for path in fields:
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node.setdefault(parts[-1], None)
    return tree


def project(obj, tree):
    """`obj` cut to `tree` (`field_tree`), absent fields as None."""
    found = {}
    for key, sub in tree.items():
        value = obj.get(key) if isinstance(obj, dict) else None
        found[key] = project(value, sub) if sub is not None else value
    return found


class PodLogs(NamedTuple):
    """The logs of every container of the pods `Pods` finds (on `node`, of `container`, when given): a list of
    {"pod", "node", "phase", "container", "log", "cut"}. A pod deleted meanwhile is left out."""

    namespace: str
    prefixes: tuple = ()
    node: str | None = None
    container: str | None = None


class Permitted(NamedTuple):
    """`step`, whose refusal by the API server (401 or 403: a role the caller lacks) is its result, a `Denied`,
    instead of the end of the plan: for a command that can do without it (`check` names the role it needs)."""

    step: tuple


class Denied(NamedTuple):
    """What the API server said when it refused a `Permitted` step."""

    status: int
    reason: str
    message: str


REFUSED = (401, 403)


class EditJsonList(NamedTuple):
    """Add and remove strings in the list `field` of the JSON under `key` of a ConfigMap, created (with `labels`)
    when it is missing; a concurrent change (409) is read again. Result: {"configmap": as written, "missing": the
    strings of `remove` that were not in the list}."""

    namespace: str
    name: str
    key: str
    field: str
    labels: tuple = ()  # (name, value) pairs
    add: tuple = ()
    remove: tuple = ()


class Recreate(NamedTuple):
    """Delete the cluster-scoped object `body` names if it exists, create it anew (while a deleted one lingers,
    AlreadyExists is retried for `RECREATE_ATTEMPTS` seconds), then, with `wait_seconds`, wait as `WaitFor` does.
    Result: {"replaced": bool, "created": the object, and, with a wait, "final" and "state" as `WaitFor` gives}.
    A resource type the server does not have fails as a 404 whose message says so."""

    resource: str
    body: dict
    wait_seconds: float | None = None


class WaitFor(NamedTuple):
    """Wait up to `seconds` until the cluster-scoped object's `status.timestamp` is set. Result: {"final": the
    object last read or None, "state": "finished", "replaced" (another uid), "gone", or "waiting" (time is up)}."""

    resource: str
    name: str
    uid: str
    seconds: float


RECREATE_ATTEMPTS = 10
EDIT_ATTEMPTS = 3
# Between reads of an object waited for: a GET a second is nothing to an API server, and `run --wait` ends within a
# second of the run.
POLL_SECONDS = 1


def edit_json_list(current, step):
    """(the ConfigMap to write, missing) for `step` on `current` (the ConfigMap read, or None).

    The JSON under the key is rewritten compactly, as jq writes it in the run-command script; a value that is not
    a JSON object holding a list of strings counts as an empty list. The current one's resourceVersion goes with
    it, so that a concurrent change is a 409.
    """
    data = (current or {}).get("data") or {}
    try:
        items = json.loads(data.get(step.key) or "{}").get(step.field)
    except (ValueError, AttributeError):
        items = None
    items = [i for i in items if isinstance(i, str)] if isinstance(items, list) else []
    missing = [r for r in step.remove if r not in items]
    kept = [i for i in dict.fromkeys([*items, *step.add]) if i not in step.remove]
    metadata = {"name": step.name, "namespace": step.namespace}
    labels = dict(((current or {}).get("metadata") or {}).get("labels") or {})
    labels.update(step.labels)
    if labels:
        metadata["labels"] = labels
    if current is not None:
        metadata["resourceVersion"] = current["metadata"].get("resourceVersion")
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {step.key: json.dumps({step.field: kept}, separators=(",", ":"))},
    }
    return body, missing


def wait_state(found, uid):
    """Where a run waited for stands: "finished", "replaced", "gone", or None (still running)."""
    if found is None:
        return "gone"
    if (found.get("metadata") or {}).get("uid") != uid:
        return "replaced"
    return "finished" if (found.get("status") or {}).get("timestamp") else None


def log_limits(sizes, budget):
    """How many bytes of each log fit in `budget`, shared fairly: a log smaller than its share is taken whole and
    leaves the rest to the others (as the run-command script's awk computes it)."""
    limits = [0] * len(sizes)
    left = budget
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    for rank, index in enumerate(order):
        share = left // (len(sizes) - rank)
        limits[index] = min(sizes[index], share)
        left -= limits[index]
    return limits
