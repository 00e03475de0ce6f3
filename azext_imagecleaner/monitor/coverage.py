"""`az aks image-cleaner coverage`: is Image Cleaner cleaning every Linux node on schedule? For one cluster, a
fleet.

With Container Insights (the monitoring add-on), the evidence is what it sampled over the window: one
resource-centric query for one cluster, one query per workspace for a fleet (`fanout`), each reduced by Log
Analytics to a row per node (`coverage_query`). Without it, the live cluster through the access seam (the API server
or one AKS run-command): the ImageJob of a run in progress or just finished, its worker pods, the nodes, the Warning
events, which judge that run only. The statuses, from either, are `eraser.coverage`'s. The command exits 0 whenever it
could judge, whatever the gaps: a CI gate reads them with --query.
"""

import datetime

from knack.log import get_logger

from azext_imagecleaner.azure import errors
from azext_imagecleaner.eraser import coverage
from azext_imagecleaner.fleet import selection
from azext_imagecleaner.monitor import coverage_query as cq
from azext_imagecleaner.monitor import fanout

logger = get_logger(__name__)

DEFAULT_DAYS = 30
# The live view's reads, one plan (one run-command on a private cluster), each object cut to what judging needs.
_NODE_FIELDS = ("metadata.name", "metadata.labels", "metadata.creationTimestamp")
_POD_FIELDS = (
    "metadata.name",
    "metadata.labels",
    "metadata.creationTimestamp",
    "metadata.ownerReferences",
    "spec.nodeName",
    "status.phase",
    "status.reason",
    "status.containerStatuses",
)
_JOB_FIELDS = ("metadata.name", "metadata.labels", "metadata.creationTimestamp", "status")
_EVENT_FIELDS = ("involvedObject", "reason", "type", "source", "lastTimestamp", "metadata.creationTimestamp")


def window_for(since, interval_hours):
    """--since, or enough to hold the latest run: 30 days, or two intervals where they are longer."""
    if since is not None:
        return since
    return max(datetime.timedelta(days=DEFAULT_DAYS), datetime.timedelta(hours=2 * (interval_hours or 0)))


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


# --- one cluster ---------------------------------------------------------------------------------------------


def cluster_coverage(cmd, client, resource_group_name, name, since, show_query, connect):
    """A row per node of one cluster and the summary. `connect(mc)`: the access seam, for the live view."""
    with errors.mapped(resource_group_name, name):
        mc = client.get(resource_group_name, name)
    cleaner = mc.security_profile.image_cleaner if mc.security_profile else None
    hours = cleaner.interval_hours if cleaner else None
    window = window_for(since, hours)
    if show_query:
        return {"query": cq.query(), "timespan": fanout.timespan(window), "resource": mc.id}
    if not (cleaner and cleaner.enabled):
        raise errors.image_cleaner_off(resource_group_name, name)
    from azext_imagecleaner.azure.resource_graph import cluster_workspace

    result, monitored = None, bool(cluster_workspace(mc))
    if monitored:
        facts = insights_facts(cmd, mc, resource_group_name, name, window)
        if facts and facts[1]:
            result = _judged(facts, hours)
        else:
            logger.warning(
                "Container Insights holds no inventory of the %s in the last %s: judging the live cluster.",
                errors.cluster_text(resource_group_name, name),
                fanout.window_words(window),
            )
    if result is None:
        with connect(mc) as kube:
            result = _judged(_live_facts(kube), hours)
    for note in result.pop("notes"):
        logger.warning("%s.", note)
    if result["summary"]["evidence"] == "live":
        past = "past runs, and whether runs are overdue, leave no trace in the cluster"
        if monitored:
            logger.warning("The live cluster shows only the run in progress or just finished: %s.", past)
        else:
            logger.warning(
                "Without Container Insights (the monitoring add-on) only the run in progress or just finished can be "
                "judged: %s. Turn it on to judge every run: az aks enable-addons -a monitoring -g %s -n %s",
                past,
                resource_group_name,
                name,
            )
    return {"name": name, "resourceGroup": resource_group_name, "since": fanout.timespan(window), **result}


def insights_facts(cmd, mc, resource_group_name, name, window):
    """(Evidence, [Node], [preempted pod]) of one cluster from Container Insights over `window` (one query on its
    resource), or None when it holds nothing of it; a failed query raises its az error."""
    plan = fanout.Plan(errors.cluster_text(resource_group_name, name), None, mc.id, (mc.id,))
    found, failed = fanout.run(cmd.cli_ctx, [plan], window, lambda p: cq.query(), coverage.from_rows)
    if failed:
        raise failed[mc.id.lower()]
    return found.get(mc.id.lower())


def _judged(facts, hours):
    evidence, nodes, preempted = facts
    judged = coverage.report(nodes, evidence, hours, _now(), preempted)
    return {**judged, "notes": coverage.notes(evidence)}


def live_plan():
    """The live view's reads: the nodes, the ImageJobs, kube-system's worker pods and Warning events, and the
    preemptions anywhere (`check` runs them in its own plan)."""
    from azext_imagecleaner.access import steps

    return [
        steps.List("nodes", fields=_NODE_FIELDS),
        steps.List("imagejobs", fields=_JOB_FIELDS),
        steps.List("pods", "kube-system", selector="eraser.sh/type", fields=_POD_FIELDS),
        steps.List("events", "kube-system", field_selector="type=Warning", fields=_EVENT_FIELDS),
        steps.List("events", None, field_selector="reason=Preempting", fields=_EVENT_FIELDS),
    ]


def live_facts(reads):
    """(Evidence, [Node], [preempted pod]) from the answers to `live_plan`."""
    nodes, jobs, pods, pod_events, preemptions = reads
    return coverage.from_live(nodes or [], pods or [], jobs, [*(pod_events or []), *(preemptions or [])])


def _live_facts(kube):
    return live_facts(kube.run(live_plan()))


# --- a fleet ---------------------------------------------------------------------------------------------------


def fleet_coverage(cmd, since, show_query, cluster_ids, resource_group_name, subscriptions, management_group):
    """A row per cluster: its summary and its gap nodes, or why it has none."""
    clusters = selection.clusters(cmd, cluster_ids, resource_group_name, subscriptions, management_group)
    window = window_for(since, max((c.get("intervalHours") or 0 for c in clusters), default=0))
    by_workspace, rows = {}, []
    for cluster in clusters:
        row = {k: cluster[k] for k in ("name", "resourceGroup", "subscription", "id")}
        row.update(workspace=cluster.get("workspace"), intervalHours=cluster.get("intervalHours"))
        rows.append(row)
        if not cluster.get("enabled"):
            row.update(coverage="image cleaner off", summary=None, gapNodes=[])
        elif not row["workspace"]:
            row.update(coverage="no monitoring add-on", summary=None, gapNodes=[])
        else:
            by_workspace.setdefault(row["workspace"].lower(), []).append(row)
    plans = fanout.workspace_plans(cmd.cli_ctx, by_workspace)
    if show_query:
        return [
            {"workspace": p.workspace, "resource": p.resource, "query": _text(p), "timespan": fanout.timespan(window)}
            for p in plans
        ]
    found, failed = fanout.run(cmd.cli_ctx, plans, window, _text, coverage.from_rows)
    now = _now()
    for row in (r for r in rows if "coverage" not in r):
        facts, error = found.get(row["id"].lower()), failed.get(row["id"].lower())
        if error is not None:
            row.update(coverage="query failed", error=error.error_msg, summary=None, gapNodes=[])
        elif not facts or not facts[1]:
            row.update(coverage="no inventory in the window", summary=None, gapNodes=[])
        else:
            evidence, nodes, preempted = facts
            judged = coverage.report(nodes, evidence, row["intervalHours"], now, preempted)
            gaps = [n for n in judged["nodes"] if n["status"] in coverage.GAPS]
            row.update(coverage="judged", summary=judged["summary"], gapNodes=gaps, notes=coverage.notes(evidence))
    _say_what_is_missing(cmd, rows, window)
    return sorted(rows, key=lambda r: (r["subscription"] or "", r["resourceGroup"] or "", r["name"]))


def _text(plan):
    return cq.query(plan.members if plan.workspace is not None else None)


def _say_what_is_missing(cmd, rows, window):
    unjudged = [r for r in rows if r["coverage"] not in ("judged", "query failed")]
    if unjudged:
        reasons = sorted({r["coverage"] for r in unjudged})
        logger.warning(
            "%d of %d cluster(s) could not be judged from Container Insights over the last %s (%s): see their "
            "'coverage'; 'az aks image-cleaner coverage -g RG -n NAME' judges one from the live cluster.",
            len(unjudged),
            len(rows),
            fanout.window_words(window),
            ", ".join(reasons),
        )
    noted = sum(1 for r in rows if r.get("notes"))
    if noted:
        logger.warning("%d cluster(s) have evidence that cannot tell every node (see their 'notes').", noted)
    selection.say_failed_queries(cmd.cli_ctx, rows, "coverage", "could not be judged")
