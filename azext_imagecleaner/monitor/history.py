"""`az aks image-cleaner report --since`: what Image Cleaner did over days or weeks, on one cluster or a fleet,
read from Container Insights after the worker pods are gone.

One cluster: one resource-centric query on the cluster's own resource ID (it needs no workspace ID, and works for
people who can read the cluster but not its workspace; ../shared/container-insights.md §4). A fleet: the
clusters found as `list` finds them (`fleet.selection`), grouped by the workspace their monitoring add-on sends to, one
query per workspace (by its customer ID, which Resource Graph gives), each for at most 100 clusters, filtered on
`_ResourceId`; a workspace whose ID cannot be read falls back to a query per cluster (`fanout`). The service
computes the report (`history_query`) and answers what is printed. Where nothing was kept, it says why instead of
an empty report: no monitoring add-on, or an agent that leaves kube-system out.
"""

from knack.log import get_logger

from azext_imagecleaner.azure import errors
from azext_imagecleaner.fleet import selection
from azext_imagecleaner.monitor import fanout, history_rows
from azext_imagecleaner.monitor import history_query as hq

logger = get_logger(__name__)


# --- one cluster -------------------------------------------------------------------------------------------------


def cluster_report(cmd, client, resource_group_name, name, window, show_query, connect):
    """The history of one cluster. `connect(mc)`: the cluster's Kubernetes API (the access seam) for the cluster as
    read from ARM, used only to tell why nothing was collected."""
    with errors.mapped(resource_group_name, name):
        mc = client.get(resource_group_name, name)
    if show_query:
        return {"query": hq.query(), "timespan": fanout.timespan(window), "resource": mc.id}
    if not _monitoring_workspace(mc):
        raise errors.nothing_kept(resource_group_name, name)
    result = cluster_history(cmd, mc, resource_group_name, name, window)
    if not result["rows"]:
        _explain_no_rows(mc, resource_group_name, name, window, connect)
    _warn(result)
    return {
        "name": name,
        "resourceGroup": resource_group_name,
        "since": fanout.timespan(window),
        "rows": result["rows"],
        "totals": result["totals"],
        "skippedLines": result["skippedLines"],
        "summary": result["summary"],
    }


def cluster_history(cmd, mc, resource_group_name, name, window):
    """One cluster's history over `window`: one resource-centric query (in parts only where an answer is cut)."""
    plan = fanout.Plan(errors.cluster_text(resource_group_name, name), None, mc.id, (mc.id,))
    found, failed = fanout.run(cmd.cli_ctx, [plan], window, _text, history_rows.read, history_rows.combine)
    if failed:
        raise failed[mc.id.lower()]
    return found.get(mc.id.lower()) or _empty()


def _empty():
    return {
        "rows": [],
        "totals": {"byOutcome": {}, "byNode": {}},
        "skippedLines": 0,
        "summary": {"imagesRemoved": 0, "vulnerableRemoved": 0, "failures": 0, "lastRun": None},
    }


def _text(plan, fleet=False):
    """The query of a plan: its clusters (a workspace's; one resource's scope needs no list) and its part of each
    one's nodes."""
    members = plan.members if plan.workspace is not None else None
    return hq.query(members, fleet=fleet, part=plan.part)


def _monitoring_workspace(mc):
    from azext_imagecleaner.azure.resource_graph import cluster_workspace

    return cluster_workspace(mc)


def _explain_no_rows(mc, resource_group_name, name, window, connect):
    """No Eraser line in the window: an agent that leaves kube-system out is an error (nothing was collected);
    otherwise the empty report stands, with what it means."""
    from azext_imagecleaner.access import steps

    cleaner = mc.security_profile.image_cleaner if mc.security_profile else None
    if not (cleaner and cleaner.enabled):
        logger.warning("Image Cleaner is off on the %s: it made no run to report.", name)
        return
    try:
        with connect(mc) as kube:
            (configmap,) = kube.run([steps.Read("configmaps", history_rows.NAMESPACE, history_rows.AGENT_CONFIGMAP)])
    except Exception as ex:  # noqa: BLE001 - the reason cannot be checked; say so, and what the empty report means
        logger.warning(
            "No Eraser log line was found for the %s in the last %s, and whether Container Insights collects "
            "kube-system there could not be checked (%s): the empty report may mean that nothing was collected.",
            errors.cluster_text(resource_group_name, name),
            fanout.window_words(window),
            getattr(ex, "error_msg", None) or errors.first_line(ex),
        )
        return
    gap = history_rows.collection_gap(configmap)
    if gap:
        raise errors.not_collected(resource_group_name, name, fanout.window_words(window), gap)
    logger.warning(
        "No Eraser log line was found for the %s in the last %s, though Container Insights collects kube-system "
        "there: Image Cleaner runs every %s hours, so a shorter window may hold no run, and new lines take a few "
        "minutes to arrive.",
        errors.cluster_text(resource_group_name, name),
        fanout.window_words(window),
        cleaner.interval_hours,
    )


def _warn(result):
    from azext_imagecleaner.eraser.report import run_failures

    for node, detail in run_failures(result):
        logger.warning("A run failed on node %s: %s", node or "(unknown)", detail)


# --- a fleet -----------------------------------------------------------------------------------------------------


def fleet_report(cmd, window, show_query, cluster_ids, resource_group_name, subscriptions, management_group):
    """A row per cluster: its history (a row per image and outcome, totals, summary) or why there is none."""
    clusters = selection.clusters(cmd, cluster_ids, resource_group_name, subscriptions, management_group)
    by_workspace, rows = {}, []
    for cluster in clusters:
        row = {k: cluster[k] for k in ("name", "resourceGroup", "subscription", "id")}
        row["workspace"] = cluster.get("workspace")
        rows.append(row)
        if not row["workspace"]:
            row.update(history="no monitoring add-on", images=[], summary=None)
        else:
            by_workspace.setdefault(row["workspace"].lower(), []).append(row)
    plans = fanout.workspace_plans(cmd.cli_ctx, by_workspace)
    if show_query:
        return [
            {
                "workspace": p.workspace,
                "resource": p.resource,
                "query": _fleet_text(p),
                "timespan": fanout.timespan(window),
            }
            for p in plans
        ]
    found, failed = fanout.run(cmd.cli_ctx, plans, window, _fleet_text, history_rows.read, history_rows.combine)
    for row in rows:
        if not row["workspace"]:
            continue
        result = found.get(row["id"].lower())
        error = failed.get(row["id"].lower())
        if error is not None:
            row.update(history="query failed", error=error.error_msg, images=[], summary=None)
        elif result and (result["images"] or result["totals"]["byNode"]):
            row.update(
                history="kept",
                images=history_rows.public(result["images"]),
                totals=result["totals"],
                summary=result["summary"],
            )
        else:
            row.update(history="no Eraser log lines in the window", images=[], summary=None)
    _say_what_is_missing(cmd, rows, window)
    return sorted(rows, key=lambda r: (r["subscription"] or "", r["resourceGroup"] or "", r["name"]))


def fleet_histories(cmd, clusters, window):
    """{cluster ID (lower case): {"images", "summary"} or {"error"}} of the clusters (`selection.clusters` rows)
    whose monitoring add-on sends to a workspace: one query per workspace, as `fleet_report` makes them."""
    by_workspace = {}
    for cluster in clusters:
        if cluster.get("workspace"):
            by_workspace.setdefault(cluster["workspace"].lower(), []).append(cluster)
    if not by_workspace:
        return {}
    plans = fanout.workspace_plans(cmd.cli_ctx, by_workspace)
    found, failed = fanout.run(cmd.cli_ctx, plans, window, _fleet_text, history_rows.read, history_rows.combine)
    histories = {key: {"images": r["images"], "summary": r["summary"]} for key, r in found.items()}
    for key, error in failed.items():
        histories[key] = {"error": error.error_msg}
    for cluster in clusters:
        key = cluster["id"].lower()
        if cluster.get("workspace") and key not in histories:
            histories[key] = {"images": [], "summary": None}
    return histories


def _fleet_text(plan):
    return _text(plan, fleet=True)


def _say_what_is_missing(cmd, rows, window):
    """Warn of the clusters without history; where queries failed, say why, and exit 1 after the output."""
    without = [r for r in rows if r["history"] not in ("kept", "query failed")]
    if without:
        logger.warning(
            "%d of %d cluster(s) have no history in the last %s (see their 'history'): for the reason, run "
            "'az aks image-cleaner report -g RG -n NAME --since ...' on one of them.",
            len(without),
            len(rows),
            fanout.window_words(window),
        )
    selection.say_failed_queries(cmd.cli_ctx, rows, "history", "have no history here")
