"""`az aks image-cleaner report --since`: what Image Cleaner did over days or weeks, on one cluster or a fleet,
read from Container Insights after the worker pods are gone.

One cluster: one resource-centric query on the cluster's own resource ID (it needs no workspace ID, and works for
people who can read the cluster but not its workspace; ../shared/container-insights.md §4). A fleet: the
clusters found as `list` finds them, grouped by the workspace their monitoring add-on sends to, one query per
workspace (by its customer ID, which Resource Graph gives), each for at most 100 clusters, filtered on
`_ResourceId`; a workspace whose ID cannot be read falls back to a query per cluster. Where nothing was kept,
it says why instead of an empty report: no monitoring add-on, or an agent that leaves kube-system out.
"""

import concurrent.futures
import contextlib
import gc
from typing import NamedTuple

from knack.log import get_logger

from azext_imagecleaner import _errors, _history, _monitor

logger = get_logger(__name__)

# Workspaces queried at once: Log Analytics runs at most five queries of a user at a time and queues the rest
# (Azure Monitor service limits, "User query throttling"; MicrosoftDocs/azure-monitor-docs
# includes/azure-monitor-limits-log-queries.md), so more threads would only hold more answers in memory.
PARALLEL_QUERIES = 5


def _window_text(window):
    days, seconds = window.days, window.seconds
    if not seconds:
        return f"{days} days" if days != 1 else "day"
    hours = days * 24 + seconds // 3600
    return f"{hours} hours" if hours != 1 else "hour"


def _iso(window):
    return f"PT{int(window.total_seconds())}S"


# --- one cluster -------------------------------------------------------------------------------------------------


def cluster_report(cmd, client, resource_group_name, name, window, show_query, connect):
    """The history of one cluster. `connect(mc)`: the cluster's Kubernetes API (the access seam) for the cluster as
    read from ARM, used only to tell why nothing was collected."""
    with _errors.mapped(resource_group_name, name):
        mc = client.get(resource_group_name, name)
    text = _history.query()
    if show_query:
        return {"query": text, "timespan": _iso(window), "resource": mc.id}
    if not _monitoring_workspace(mc):
        raise _errors.nothing_kept(resource_group_name, name)
    what = _errors.cluster_text(resource_group_name, name)
    rows = _monitor.query(_monitor.logs_client(cmd.cli_ctx), text, window, what, resource=mc.id)
    result = _history.reports(rows).get(mc.id.lower()) or {"rows": [], "totals": {}, "skippedLines": 0}
    if not result["rows"]:
        _explain_no_rows(mc, resource_group_name, name, window, connect)
    _warn(result)
    return {
        "name": name,
        "resourceGroup": resource_group_name,
        "since": _iso(window),
        **result,
        "summary": _history.summary(result),
    }


def _monitoring_workspace(mc):
    from azext_imagecleaner._discovery import monitoring_workspace

    return monitoring_workspace(mc.addon_profiles)


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
            (configmap,) = kube.run([steps.Read("configmaps", _history.NAMESPACE, _history.AGENT_CONFIGMAP)])
    except Exception as ex:  # noqa: BLE001 - the reason cannot be checked; say so, and what the empty report means
        logger.warning(
            "No Eraser log line was found for the %s in the last %s, and whether Container Insights collects "
            "kube-system there could not be checked (%s): the empty report may mean that nothing was collected.",
            _errors.cluster_text(resource_group_name, name),
            _window_text(window),
            getattr(ex, "error_msg", None) or _errors.first_line(ex),
        )
        return
    gap = _history.collection_gap(configmap)
    if gap:
        raise _errors.not_collected(resource_group_name, name, _window_text(window), gap)
    logger.warning(
        "No Eraser log line was found for the %s in the last %s, though Container Insights collects kube-system "
        "there: Image Cleaner runs every %s hours, so a shorter window may hold no run, and new lines take a few "
        "minutes to arrive.",
        _errors.cluster_text(resource_group_name, name),
        _window_text(window),
        cleaner.interval_hours,
    )


def _warn(result):
    from azext_imagecleaner._report import run_failures

    for node, detail in run_failures(result):
        logger.warning("A run failed on node %s: %s", node or "(unknown)", detail)


# --- a fleet -----------------------------------------------------------------------------------------------------


def fleet_report(cmd, window, show_query, cluster_ids, resource_group_name, subscriptions, management_group):
    """A row per cluster: its history (a row per image and outcome, totals, summary) or why there is none."""
    clusters = _fleet_clusters(cmd, cluster_ids, resource_group_name, subscriptions, management_group)
    by_workspace, rows = {}, []
    for cluster in clusters:
        row = {k: cluster[k] for k in ("name", "resourceGroup", "subscription", "id")}
        row["workspace"] = cluster.get("workspace")
        rows.append(row)
        if not row["workspace"]:
            row.update(history="no monitoring add-on", images=[], summary=None)
        else:
            by_workspace.setdefault(row["workspace"].lower(), []).append(row)
    plans = _plans(cmd, by_workspace)
    if show_query:
        return [
            {"workspace": p.workspace, "resource": p.resource, "query": p.text, "timespan": _iso(window)} for p in plans
        ]
    found, failed = _run(cmd, plans, window)
    for row in rows:
        if not row["workspace"]:
            continue
        result = found.get(row["id"].lower())
        error = failed.get(row["id"].lower())
        if error is not None:
            row.update(history="query failed", error=error, images=[], summary=None)
        elif result and result["rows"]:
            row.update(
                history="kept",
                images=_history.by_image(result["rows"]),
                totals=result["totals"],
                summary=_history.summary(result),
            )
        else:
            row.update(history="no Eraser log lines in the window", images=[], summary=None)
    _say_what_is_missing(cmd, rows, window)
    return sorted(rows, key=lambda r: (r["subscription"] or "", r["resourceGroup"] or "", r["name"]))


def _plans(cmd, by_workspace):
    """The queries for {workspace resource ID (lower case): its clusters' rows}: one per workspace and 100
    clusters, or one per cluster where the workspace's ID cannot be read."""
    from azext_imagecleaner._discovery import customer_ids

    ids = customer_ids(cmd.cli_ctx, list(by_workspace))
    plans = []
    for workspace, members in by_workspace.items():
        customer = ids.get(workspace)
        if customer is None:
            logger.warning(
                "The ID of workspace %s cannot be read here: its %d cluster(s) are queried one by one.",
                workspace,
                len(members),
            )
            plans += [_Plan(f"cluster '{m['name']}'", _history.query(), None, m["id"], (m["id"],)) for m in members]
            continue
        for chunk in _history.chunks(members):
            chunk_ids = tuple(m["id"] for m in chunk)
            plans.append(_Plan(f"workspace {workspace}", _history.query(chunk_ids), customer, None, chunk_ids))
    return plans


def _say_what_is_missing(cmd, rows, window):
    """Warn of the clusters without history; where queries failed, say why, and exit 1 after the output."""
    without = [r for r in rows if r["history"] not in ("kept", "query failed")]
    if without:
        logger.warning(
            "%d of %d cluster(s) have no history in the last %s (see their 'history'): for the reason, run "
            "'az aks image-cleaner report -g RG -n NAME --since ...' on one of them.",
            len(without),
            len(rows),
            _window_text(window),
        )
    failures = sorted({r["error"] for r in rows if r["history"] == "query failed"})
    if failures:
        # As `set` does for the clusters it could not change: every row printed, then exit 1.
        from azext_imagecleaner.fleet import _exit_non_zero_after_output

        logger.error(
            "%d of %d cluster(s) have no history here because their query failed (see their 'error'): %s",
            sum(1 for r in rows if r["history"] == "query failed"),
            len(rows),
            "; ".join(failures[:3]),
        )
        _exit_non_zero_after_output(cmd.cli_ctx)


class _Plan(NamedTuple):
    """One query: `what` names it in words; in a workspace (its customer ID) or a resource's scope; for `members`."""

    what: str
    text: str
    workspace: str | None
    resource: str | None
    members: tuple


def _run(cmd, plans, window):
    """Run the queries, a few at a time: ({cluster resource ID (lower case): report}, {cluster resource ID (lower
    case): why its query failed}). A query that fails costs its own clusters their history, not the fleet's.

    The threads only ask and wait; each answer is read into reports here, one at a time, as it arrives. Reading
    is Python work under the interpreter lock: in five threads, the readings would only take turns."""
    from azure.cli.core.azclierror import AzCLIError

    client = _monitor.logs_client(cmd.cli_ctx)
    found, failed = {}, {}

    def ask(plan):
        try:
            return _monitor.query(
                client, plan.text, window, plan.what, workspace=plan.workspace, resource=plan.resource
            ), None
        except AzCLIError as ex:
            return None, ex.error_msg

    workers = min(PARALLEL_QUERIES, len(plans) or 1)
    with _no_cycle_collection(), concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        asked = {pool.submit(ask, plan): plan for plan in plans}
        for answered in concurrent.futures.as_completed(asked):
            rows, error = answered.result()
            if error is None:
                found.update(_history.reports(rows))
            else:
                failed.update((m.lower(), error) for m in asked[answered].members)
    return found, failed


@contextlib.contextmanager
def _no_cycle_collection():
    """Python's cycle collector off while the answers are read. They become millions of objects (parsed JSON,
    report rows) that hold no cycle, and the collector would walk them again each time more arrive: about 30% of
    the reading time, measured over ten workspaces' answers (benchmarks/README.md). On again after, as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fleet_clusters(cmd, cluster_ids, resource_group_name, subscriptions, management_group):
    from azext_imagecleaner._discovery import discover, row_from_arm
    from azext_imagecleaner.fleet import _scope, parse_cluster_id

    if cluster_ids is None:
        scope = _scope(cmd.cli_ctx, subscriptions, management_group)
        return discover(cmd.cli_ctx, scope, resource_group_name, monitoring=True)
    from azext_imagecleaner._client import managed_clusters_client

    rows = []
    for target in dict.fromkeys(parse_cluster_id(i) for i in cluster_ids):
        client = managed_clusters_client(cmd.cli_ctx, target.subscription)
        with _errors.mapped(target.resource_group, target.name):
            mc = client.get(target.resource_group, target.name)
        rows.append(row_from_arm(target.subscription, mc, monitoring=True))
    return rows
