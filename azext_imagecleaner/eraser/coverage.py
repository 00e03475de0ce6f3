"""Whether Image Cleaner reached every node, judged against the cluster's latest run (pure: facts in, statuses out).

One set of rules for both ways the facts arrive: from Container Insights (monitor.coverage_query's rows, the history of
weeks) and from the live cluster (the ImageJob, its pods and the nodes the API server shows now). What can go wrong
and what shows it: ../shared/image-cleaner-coverage.md.

A node is, in this order:
- `unsupported`: a Windows node, a virtual node, or one the node filter leaves out (`eraser.sh/cleanup.filter`);
- `unknown`: the evidence cannot tell (the inventory leaves kube-system out; without Container Insights, no run is in
  progress or just finished; a pod the inventory's interval can have missed);
- `new`: it joined after the latest run began, less than one interval ago;
- `overdue`: no run has reached it within `intervalHours` plus GRACE_HOURS (the schedule stopped, or it joined
  long after the latest run);
- `failed`: its worker pod in the latest run failed, or is stuck Pending (which also stops every later run);
- `covered`: its worker pod in the latest run completed; `running`: it has not finished yet;
- `missed`: it was there when the latest run began and got no worker pod.
Gaps are missed, failed and overdue.
"""

import datetime
import json
from typing import NamedTuple

COVERED, MISSED, FAILED, OVERDUE, NEW, UNSUPPORTED, RUNNING, UNKNOWN = (
    "covered",
    "missed",
    "failed",
    "overdue",
    "new",
    "unsupported",
    "running",
    "unknown",
)
STATUSES = (COVERED, RUNNING, NEW, UNSUPPORTED, UNKNOWN, MISSED, FAILED, OVERDUE)
GAPS = (MISSED, FAILED, OVERDUE)
# A run may begin late: the controller schedules the next one about intervalHours after the last one ended, and a run
# takes minutes (../shared/image-cleaner-coverage.md, "Schedule").
GRACE_HOURS = 2
# A worker pod starts in seconds (its node is set, no scheduler): Pending this long, it is stuck (eraser#911).
STUCK_MINUTES = 30
# A container's reasons that say nothing went wrong.
NORMAL_REASONS = frozenset(("", "Completed", "PodInitializing", "ContainerCreating", "Running"))


class Evidence(NamedTuple):
    """What a cluster's facts are worth: `source` "container insights" or "live"; the latest scheduled run (its start,
    its ImageJob) and how many runs there were; for Container Insights, the inventory's interval in minutes, whether
    kube-system is in it, whether the workers' logs are collected, and how long its worker pods were seen (the
    shortest)."""

    source: str
    latest_start: datetime.datetime | None
    latest_run: str | None
    runs: int = 0
    interval_minutes: float | None = None
    kube_system: bool = True
    logs_collected: bool = False
    pod_span_minutes: float | None = None


class Node(NamedTuple):
    """One node and its worker pod in the latest run (`pod_status` None: it got none)."""

    name: str
    os: str
    virtual: bool
    filtered: bool
    joined: datetime.datetime | None
    pod: str | None = None
    pod_status: str | None = None
    pod_created: datetime.datetime | None = None
    reasons: tuple = ()  # its own (OutOfcpu) and its containers' reasons, then its Warning events' (less specific)
    runs: int = 0  # how many runs reached it
    last_run: datetime.datetime | None = None  # its last run whose pod completed
    logged: bool = False  # its worker pod logged in the latest run (the inventory may not have sampled it)


def _text(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def conclusive(evidence):
    """Whether no worker pod seen means none was there: the API server lists every pod, the workers' logs would show
    it, or the inventory samples often enough to see a pod that lives as long as these do. Where it is not, a run can
    go unseen: no node is called missed or overdue on that evidence alone."""
    if evidence.source == "live" or evidence.logs_collected:
        return True
    return bool(
        evidence.interval_minutes and evidence.pod_span_minutes is not None
        and evidence.interval_minutes <= evidence.pod_span_minutes
    )  # fmt: skip


def judge(node, evidence, interval_hours, now):
    """(status, reason) of `node`: the first of the rules below that has an answer."""
    interval = datetime.timedelta(hours=interval_hours or 168)
    return (
        _out_of_reach(node, evidence)
        or _without_a_run_to_judge(node, evidence, interval_hours, interval, now)
        or _by_its_pod(node, evidence, interval_hours, interval, now)
    )


def _out_of_reach(node, evidence):
    """Nodes Image Cleaner never cleans, and evidence that cannot show any node's pod."""
    if node.os != "linux":
        return UNSUPPORTED, "a Windows node: Image Cleaner cleans Linux nodes only"
    if node.virtual:
        return UNSUPPORTED, "a virtual node: Image Cleaner cleans VM nodes only"
    if node.filtered:
        return UNSUPPORTED, "left out by the node filter (label eraser.sh/cleanup.filter)"
    if not evidence.kube_system:
        return UNKNOWN, "the inventory leaves kube-system out, so Image Cleaner's pods are in none of its samples"
    return None


def _without_a_run_to_judge(node, evidence, interval_hours, interval, now):
    """No run in the window, or the node joined after the latest one."""
    start, recent = evidence.latest_start, node.joined is not None and now - node.joined < interval
    if start is None:
        return _no_run(node, evidence, interval_hours, recent)
    if node.joined is not None and node.joined > start:
        if recent:
            due = _text(start + interval)
            return NEW, f"joined at {_text(node.joined)}, after the latest run began; the next is due by {due}"
        return OVERDUE, f"joined at {_text(node.joined)}, after the latest run ({_text(start)}), and no run since"
    return None


def _no_run(node, evidence, interval_hours, recent):
    if evidence.source == "live":
        return UNKNOWN, "no run is in progress or just finished, and past runs leave no trace in the cluster"
    if recent:
        return NEW, f"joined at {_text(node.joined)}; no run yet in the window"
    if not conclusive(evidence):
        return UNKNOWN, "no run seen in the window, though one may have fallen between the inventory's samples"
    return OVERDUE, f"no run of Image Cleaner in the window; runs are due every {interval_hours} h"


def _by_its_pod(node, evidence, interval_hours, interval, now):  # noqa: PLR0911 - one answer per status
    """What became of its worker pod in the latest run, and whether that run is too long ago."""
    # pylint: disable=too-many-return-statements
    start, seen = evidence.latest_start, conclusive(evidence)
    failure = next((r for r in node.reasons if r not in NORMAL_REASONS), None)
    if node.pod_status == "Failed":
        return FAILED, f"its worker pod {node.pod} failed: {failure or 'Failed'}"
    stuck = node.pod_created is not None and now - node.pod_created > datetime.timedelta(minutes=STUCK_MINUTES)
    if node.pod_status == "Pending" and stuck:
        return FAILED, (
            f"its worker pod {node.pod} is stuck Pending since {_text(node.pod_created)}"
            + (f" ({failure})" if failure else "")
            + ", which also holds back every later run"
        )
    if now - start > interval + datetime.timedelta(hours=GRACE_HOURS):
        if not seen:
            return UNKNOWN, f"the latest run seen began at {_text(start)}; later ones may have fallen between samples"
        return OVERDUE, f"no run since {_text(start)}; runs are due every {interval_hours} h"
    if node.pod_status == "Succeeded":
        return COVERED, None
    if node.pod_status in ("Pending", "Running"):
        return RUNNING, f"its worker pod {node.pod} is {node.pod_status}"
    if node.logged:
        return UNKNOWN, "its worker pod logged in the latest run, but no inventory sample shows how it ended"
    if seen:
        return MISSED, f"it was there when the run of {_text(start)} began, and got no worker pod"
    return UNKNOWN, (
        f"no sample shows a worker pod of the run of {_text(start)} on it, but at a "
        f"{evidence.interval_minutes:g}-minute inventory interval a pod that lives about "
        f"{evidence.pod_span_minutes or 0:.0f} minutes can fall between samples"
    )


def report(nodes, evidence, interval_hours, now, preempted=()):
    """{"nodes": [...], "summary": {...}} of one cluster: a row per node and the counts."""
    rows = []
    for node in sorted(nodes, key=lambda n: n.name):
        status, reason = judge(node, evidence, interval_hours, now)
        rows.append(
            {
                "node": node.name,
                "status": status,
                "reason": reason,
                "lastRun": _text(node.last_run),
                "runs": node.runs,
                "pod": node.pod,
                "joined": _text(node.joined),
            }
        )
    counts = {status: sum(1 for r in rows if r["status"] == status) for status in STATUSES}
    start = evidence.latest_start
    summary = {
        **counts,
        "nodes": len(rows),
        "gaps": sum(counts[s] for s in GAPS),
        "latestRun": _text(start),
        "nextRunDue": _text(start + datetime.timedelta(hours=interval_hours)) if start and interval_hours else None,
        "intervalHours": interval_hours,
        "runs": evidence.runs,
        "evidence": evidence.source,
        "preemptedPods": len(preempted),
        "preempted": sorted(preempted, key=lambda p: (p["time"] or "", p["namespace"], p["pod"])),
    }
    if evidence.interval_minutes is not None:
        summary["inventoryIntervalMinutes"] = evidence.interval_minutes
    return {"nodes": rows, "summary": summary}


def notes(evidence):
    """What Container Insights' evidence cannot show, in a line each (a warning each). (What the live cluster cannot
    show depends on whether the add-on is there: `coverage` says it.)"""
    found = []
    if not evidence.kube_system:
        found.append(
            "The cluster's inventory leaves kube-system out (its data collection rule's namespace filter), so no "
            "sample shows Image Cleaner's worker pods"
        )
    elif not conclusive(evidence):
        span = f"about {evidence.pod_span_minutes:.0f} minutes" if evidence.pod_span_minutes is not None else "minutes"
        found.append(
            f"The inventory is sampled every {evidence.interval_minutes:g} minutes and Image Cleaner's pods live "
            f"{span}, so a run's pods can fall between samples: a node without one is 'unknown', not 'missed' or "
            "'overdue' (collecting kube-system's logs, or a shorter interval, would tell)"
        )
    return found


# --- the facts, from Container Insights (`monitor.coverage_query`'s answer) ---------------------------------------


def _moment(value):
    """A datetime column's value (a datetime from azure-monitor-query, ISO 8601 text from elsewhere), in UTC."""
    if value in ("", None):
        return None
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def _list(value):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    return tuple(v for v in value or () if isinstance(v, str))


def from_rows(rows):
    """{cluster resource ID (lower case): (Evidence, [Node], [preempted pod])} from the query's rows."""
    from azext_imagecleaner.monitor import coverage_query as cq

    found = {}
    for row in rows:
        cluster = found.setdefault(
            (row.get("_ResourceId") or "").lower(), {"evidence": None, "nodes": [], "preempted": []}
        )
        kind = row.get("Kind")
        if kind == cq.CLUSTER:
            cluster["evidence"] = Evidence(
                source="container insights",
                latest_start=_moment(row.get("LatestStart")),
                latest_run=row.get("LatestRun") or None,
                runs=int(row.get("RunCount") or 0),
                interval_minutes=float(row.get("IntervalMinutes") or 1),
                kube_system=bool(row.get("KubeSystemRows")),
                logs_collected=bool(row.get("LoggedPods")),
                pod_span_minutes=float(row["PodSpanMinutes"]) if row.get("PodSpanMinutes") is not None else None,
            )
        elif kind == cq.NODE:
            cluster["nodes"].append(
                Node(
                    name=row.get("Node"),
                    os=row.get("Os") or "linux",
                    virtual=bool(row.get("Virtual")),
                    filtered=bool(row.get("Filtered")),
                    joined=_moment(row.get("Joined")),
                    pod=row.get("Pod") or None,
                    pod_status=row.get("PodStatus") or None,
                    pod_created=_moment(row.get("PodCreated")),
                    reasons=_list(row.get("Reasons")) + _list(row.get("EventReasons")),
                    runs=int(row.get("Runs") or 0),
                    last_run=_moment(row.get("LastRun")),
                    logged=bool(row.get("LoggedPods")) and not row.get("PodStatus"),
                )
            )
        elif kind == cq.PREEMPTED:
            cluster["preempted"].append(
                {
                    "namespace": row.get("Namespace"),
                    "pod": row.get("Name"),
                    "node": row.get("Node"),
                    "time": _text(_moment(row.get("Time"))),
                }
            )
    return {
        resource: (c["evidence"] or Evidence("container insights", None, None), c["nodes"], c["preempted"])
        for resource, c in found.items()
    }


# --- the facts, from the live cluster -------------------------------------------------------------------------------

WORKER_TYPE, JOB_OWNER = "eraser.sh/type", "eraser.sh/job-owner"
FILTER_LABEL = "eraser.sh/cleanup.filter"


def _meta_time(obj):
    return _moment((obj.get("metadata") or {}).get("creationTimestamp"))


def from_live(nodes, pods, jobs, events):
    """(Evidence, [Node], [preempted pod]) from what the API server shows now: the nodes, kube-system's worker pods,
    the ImageJobs (None: the resource type is not there) and the Warning events."""
    runs = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        owner = next((o for o in meta.get("ownerReferences") or [] if o.get("kind") == "PodTemplate"), None)
        if owner is None or (meta.get("labels") or {}).get(WORKER_TYPE) != "collector":
            continue
        runs.setdefault(owner["name"], []).append(pod)
    starts = {name: min(_meta_time(p) for p in members) for name, members in runs.items()}
    for job in jobs or []:
        labels = (job.get("metadata") or {}).get("labels") or {}
        if labels.get(JOB_OWNER) == "imagecollector":
            name = job["metadata"]["name"]
            starts[name] = min(filter(None, (starts.get(name), _meta_time(job))))
            runs.setdefault(name, [])
    latest = max(starts, key=starts.get) if starts else None
    by_node = {(p.get("spec") or {}).get("nodeName"): p for p in runs.get(latest, [])}
    warnings = {}
    for event in events:
        involved = event.get("involvedObject") or {}
        warnings.setdefault((involved.get("namespace"), involved.get("name")), []).append(event.get("reason"))
    found = []
    for node in nodes:
        meta = node.get("metadata") or {}
        labels = meta.get("labels") or {}
        pod = by_node.get(meta.get("name"))
        status = (pod or {}).get("status") or {}
        reasons = [status.get("reason") or ""]
        for container in status.get("containerStatuses") or []:
            for state in (container.get("state") or {}).values():
                reasons.append((state or {}).get("reason") or "")
        if pod:
            reasons += warnings.get(("kube-system", pod["metadata"]["name"]), [])
        found.append(
            Node(
                name=meta.get("name"),
                os=labels.get("kubernetes.io/os") or "linux",
                virtual=labels.get("type") == "virtual-kubelet",
                filtered=FILTER_LABEL in labels,
                joined=_meta_time(node),
                pod=pod["metadata"]["name"] if pod else None,
                pod_status=status.get("phase") if pod else None,
                pod_created=_meta_time(pod) if pod else None,
                reasons=tuple(r for r in reasons if r),
                runs=sum(
                    1
                    for members in runs.values()
                    if any((p.get("spec") or {}).get("nodeName") == meta.get("name") for p in members)
                ),
                last_run=starts[latest] if pod and status.get("phase") == "Succeeded" else None,
            )
        )
    return Evidence("live", starts.get(latest), latest, len(starts)), found, _preempted(runs, events)


def _preempted(runs, events):
    """The workload pods the kubelet evicted on a node in the minutes after a worker pod was created there, as the
    query finds them (`monitor.coverage_query.PREEMPTION_MINUTES`): one entry per pod, at its first eviction."""
    from azext_imagecleaner.monitor.coverage_query import PREEMPTION_MINUTES

    created_on = {}
    for members in runs.values():
        for pod in members:
            created_on.setdefault((pod.get("spec") or {}).get("nodeName"), []).append(_meta_time(pod))
    before, after = datetime.timedelta(minutes=1), datetime.timedelta(minutes=PREEMPTION_MINUTES)
    first = {}
    for event in events:
        when = _moment(event.get("lastTimestamp") or (event.get("metadata") or {}).get("creationTimestamp"))
        host = (event.get("source") or {}).get("host")
        if event.get("reason") != "Preempting" or when is None:
            continue
        if any(c and c - before <= when < c + after for c in created_on.get(host, ())):
            involved = event.get("involvedObject") or {}
            key = (involved.get("namespace"), involved.get("name"), host)
            first[key] = min(when, first.get(key, when))
    return [
        {"namespace": ns, "pod": name, "node": node, "time": _text(when)} for (ns, name, node), when in first.items()
    ]
