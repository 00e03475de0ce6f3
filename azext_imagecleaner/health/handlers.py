"""`az aks image-cleaner check`: is Image Cleaner healthy on this cluster or fleet, and if not, what to run.

One cluster: the cluster from ARM; where the monitoring add-on sends to a workspace, its retention from ARM and one
Log Analytics query on the cluster's resource (`monitor.check_query`: coverage's, the history's and the tables');
then one plan through the access seam (one run-command on a private cluster), each read `Permitted` so that a role
the caller lacks skips the checks that need it and names the role. A fleet: Resource Graph's rows (the clusters,
their workspaces' retention, their data collection rules) and one history query per workspace (`monitor.fanout`);
the checks that need the cluster's Kubernetes API are not made there, and each row says which. The rules are
`health.checks`'. Exit 1 after the output when a check fails.
"""

import datetime

from knack.log import get_logger

from azext_imagecleaner.azure import errors
from azext_imagecleaner.health import checks as hc

logger = get_logger(__name__)

_POD_FIELDS = ("metadata.name", "status.phase", "status.containerStatuses")
_TEMPLATE_FIELDS = ("metadata.name", "metadata.creationTimestamp", "metadata.ownerReferences")
_JOB_FIELDS = ("metadata.name", "metadata.creationTimestamp", "status")
# The live view's reads of `coverage` (monitor.coverage.live_plan), by name.
_LIVE = ("nodes", "live_jobs", "workers", "warnings", "preemptions")


def check(
    cmd,
    client,
    resource_group_name=None,
    name=None,
    all_clusters=False,
    cluster_ids=None,
    subscriptions=None,
    management_group=None,
    admin=False,
    kubeconfig=None,
    context=None,
    transport="auto",
    timeout=None,
):
    from azext_imagecleaner.fleet import selection

    if all_clusters or cluster_ids is not None:
        rows = fleet_check(cmd, cluster_ids, resource_group_name, subscriptions, management_group)
        failing = [r for r in rows if r["fail"]]
        if failing:
            logger.error(
                "%d of %d cluster(s) fail a check: %s.",
                len(failing),
                len(rows),
                "; ".join(f"{r['name']}: {', '.join(r['fail'])}" for r in failing[:5]),
            )
            selection.exit_non_zero_after_output(cmd.cli_ctx)
        return rows
    from azext_imagecleaner.access import AccessOptions

    options = AccessOptions(admin, kubeconfig, context, transport or "auto", timeout)
    found = cluster_check(cmd, client, resource_group_name, name, options)
    failed = [c["name"] for c in found["checks"] if c["status"] == hc.FAIL]
    if failed:
        logger.error("%d check(s) failed: %s. See each one's 'fix'.", len(failed), ", ".join(failed))
        selection.exit_non_zero_after_output(cmd.cli_ctx)
    return found


# --- one cluster -------------------------------------------------------------------------------------------------


def cluster_check(cmd, client, resource_group_name, name, options):
    from azext_imagecleaner.access._plan import facts_of
    from azext_imagecleaner.azure.resource_graph import cluster_workspace

    with errors.mapped(resource_group_name, name):
        mc = client.get(resource_group_name, name)
    cleaner = mc.security_profile.image_cleaner if mc.security_profile else None
    enabled, hours = bool(cleaner and cleaner.enabled), cleaner.interval_hours if cleaner else None
    pools = [(p.name, p.os_type) for p in mc.agent_pool_profiles or []]
    addons = mc.addon_profiles or {}
    virtual_node = any(k.lower() == "aciconnectorlinux" and bool(a.enabled) for k, a in addons.items())
    facts = facts_of(mc)
    workspace = cluster_workspace(mc)
    insights = _insights(cmd, mc, resource_group_name, name, hours) if workspace and enabled else None
    found = [hc.setting(enabled, hours, resource_group_name, name)]
    side = _cluster_side(cmd, client, mc, resource_group_name, name, options, facts, insights)
    found.append(hc.node_pools(pools, virtual_node, side.get("filtered")))
    found += side["checks"]
    found += _monitored(cmd, mc, resource_group_name, name, workspace, hours, side, enabled, insights)
    return {"name": name, "resourceGroup": resource_group_name, **hc.result(found)}


def _cluster_plan():
    from azext_imagecleaner.access import steps
    from azext_imagecleaner.cluster import exclusions
    from azext_imagecleaner.monitor import coverage as cover
    from azext_imagecleaner.monitor import history_rows

    kube_system = exclusions.NAMESPACE
    return {
        "controller": steps.List("pods", kube_system, selector="control-plane=controller-manager", fields=_POD_FIELDS),
        "jobs": steps.List("imagejobs", fields=_JOB_FIELDS),
        "templates": steps.List("podtemplates", kube_system, fields=_TEMPLATE_FIELDS),
        "lists": steps.ListConfigMaps(kube_system, exclusions.SELECTOR),
        "config": steps.Read("configmaps", kube_system, "eraser-manager-config"),
        "agent": steps.Read("configmaps", kube_system, history_rows.AGENT_CONFIGMAP),
        **dict(zip(_LIVE, cover.live_plan(), strict=True)),
    }


def _cluster_side(cmd, client, mc, resource_group_name, name, options, facts, insights):
    """The cluster-side checks from one plan: {"checks", "filtered": the nodes labelled to be left out (None when
    unread), "agent": the agent's ConfigMap, "agent_unread": why it could not be read}. `insights`: what Container
    Insights holds (`_insights`), which judges the workers where it sampled the nodes, whatever the caller may read
    live."""
    from azure.cli.core.azclierror import AzCLIError

    from azext_imagecleaner.access import connect, steps

    plan = _cluster_plan()
    cleaner = mc.security_profile.image_cleaner if mc.security_profile else None
    enabled = bool(cleaner and cleaner.enabled)
    try:
        with connect(cmd, client, resource_group_name, name, options, mc) as kube:
            transport = getattr(kube, "transport", "api-server")
            answers = dict(zip(plan, kube.run([steps.Permitted(s) for s in plan.values()]), strict=True))
    except AzCLIError as ex:
        reason = "The cluster's Kubernetes API could not be reached (see 'access')."
        skips = [hc.skipped(n, reason) for n in hc.CLUSTER_SIDE if n != hc.ACCESS]
        refused = hc.access_refused(ex.error_msg, ex.recommendations[0] if ex.recommendations else None)
        return {"checks": [refused, *skips], "filtered": None, "agent": None, "agent_unread": reason}
    denied = {key: _role_skip(answer, resource_group_name, name, facts) for key, answer in answers.items()
              if isinstance(answer, steps.Denied)}  # fmt: skip
    rg = resource_group_name
    sampled = _sampled(insights)
    judges = (
        (hc.CONTROLLER, ("controller",), lambda: hc.controller(answers["controller"] or [], enabled, rg, name)),
        (hc.IMAGE_JOBS, ("jobs", "templates"), lambda: hc.image_jobs(answers["jobs"], answers["templates"])),
        (hc.WORKERS, () if sampled else _LIVE, lambda: _workers(answers, mc, sampled)),
        (hc.EXCLUSION_LISTS, ("lists",), lambda: hc.exclusion_lists(answers["lists"], rg, name)),
        (hc.VERSION, ("config",), lambda: _version(answers["config"], mc, rg, name)),
    )
    found = [hc.access(transport, facts.private)]
    found += [_or_skip(check, denied, keys, judge) for check, keys, judge in judges]
    filtered = None
    if "nodes" not in denied:
        nodes = answers["nodes"] or []
        filtered = sorted(
            n["metadata"]["name"] for n in nodes if hc.FILTER_LABEL in (n["metadata"].get("labels") or {})
        )
    elif sampled:
        filtered = sorted(n.name for n in sampled[1] if n.filtered)
    return {"checks": found, "filtered": filtered, "agent": answers["agent"], "agent_unread": denied.get("agent")}


def _or_skip(name, denied, keys, judge):
    """The check, or a skip naming the role its reads need."""
    refused = [denied[k] for k in keys if k in denied]
    if refused:
        return hc.skipped(name, refused[0])
    return judge()


def _role_skip(denied, resource_group_name, name, facts):
    """What a refused read needs, in words: the role (Azure RBAC) and how to get it."""
    error = errors.kube_error_for(denied.status, denied.reason, denied.message, resource_group_name, name, facts)
    hint = error.recommendations[0] if error.recommendations else ""
    return f"{error.error_msg} {hint}".strip()


def _sampled(insights):
    """Container Insights' (Evidence, [Node], [preempted]) of the cluster, where it sampled its nodes, else None."""
    facts = (insights or {}).get("coverage")
    return facts if facts and facts[1] else None


def _workers(answers, mc, sampled):
    """`coverage`'s judgement of the latest run: from Container Insights where it sampled the cluster (runs past
    and overdue show), else from the live cluster's reads in the plan."""
    from azext_imagecleaner.eraser import coverage
    from azext_imagecleaner.monitor import coverage as cover

    cleaner = mc.security_profile.image_cleaner if mc.security_profile else None
    if not (cleaner and cleaner.enabled):
        return hc.skipped(hc.WORKERS, "Image Cleaner is off: no run to judge.")
    evidence, nodes, preempted = sampled or cover.live_facts([answers[k] for k in _LIVE])
    return hc.workers(coverage.report(nodes, evidence, cleaner.interval_hours, _now(), preempted))


def _version(config, mc, resource_group_name, name):
    from azext_imagecleaner.cluster.status import eraser_components

    kubernetes = getattr(mc, "current_kubernetes_version", None) or mc.kubernetes_version
    return hc.version(list(eraser_components(config).values()), kubernetes, resource_group_name, name)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


# --- Container Insights ------------------------------------------------------------------------------------------


def _insights(cmd, mc, resource_group_name, name, hours):
    """What Container Insights holds of the cluster: {"coverage": `coverage`'s facts over its window, "history": the
    history of the latest runs (two intervals), "tables": {table: Eraser's lines in it}, "errors": {part: why it
    could not be read}}, from one query on the cluster's resource (`monitor.check_query`). Where the service cuts
    that answer, coverage's and the history's own queries are asked apart: the history's splits its own cut answers
    (`monitor.fanout`), and a cut answer is never read as a whole one."""
    from azure.cli.core.azclierror import AzCLIError

    from azext_imagecleaner.azure import log_analytics
    from azext_imagecleaner.monitor import check_query
    from azext_imagecleaner.monitor import coverage as cover

    window, history_hours = cover.window_for(None, hours), _history_hours(hours)
    what = errors.cluster_text(resource_group_name, name)
    try:
        client = log_analytics.logs_client(cmd.cli_ctx)
        rows = log_analytics.query(client, check_query.query(history_hours), window, what, resource=mc.id)
    except log_analytics.AnswerCut as ex:
        logger.info("Log Analytics cut its answer for %s (%s): asking for coverage and history apart.", what, ex)
        return _insights_apart(cmd, mc, resource_group_name, name, window, history_hours)
    except AzCLIError as ex:
        logger.warning("Container Insights could not be read (%s).", ex.error_msg)
        return {"coverage": None, "history": None, "tables": None, "errors": {"query": ex.error_msg}}
    found = check_query.read(rows).get(mc.id.lower()) or {"coverage": None, "history": None, "tables": {}}
    return {**found, "errors": {}}


def _insights_apart(cmd, mc, resource_group_name, name, window, history_hours):
    from azure.cli.core.azclierror import AzCLIError

    from azext_imagecleaner.monitor import coverage as cover
    from azext_imagecleaner.monitor import history

    found = {"coverage": None, "history": None, "tables": None, "errors": {}}
    try:
        found["coverage"] = cover.insights_facts(cmd, mc, resource_group_name, name, window)
    except AzCLIError as ex:
        logger.warning("Container Insights' inventory could not be read (%s): judging the live cluster.", ex.error_msg)
    try:
        history_window = datetime.timedelta(hours=history_hours)
        found["history"] = history.cluster_history(cmd, mc, resource_group_name, name, history_window)
    except AzCLIError as ex:
        found["errors"]["history"] = ex.error_msg
    return found


def _history_hours(hours):
    """The latest runs: two intervals."""
    return 2 * (hours or 168)


def _monitored(cmd, mc, resource_group_name, name, workspace, hours, side, enabled, insights):
    """The history and scanner checks: the add-on, the agent's ConfigMap, the workspace's retention, the tables
    Eraser's lines are in, and the latest runs' history (`_insights`)."""
    from azext_imagecleaner.monitor import history_rows

    if not workspace:
        return [
            hc.history(False, None, None, hours, resource_group_name, name),
            hc.skipped(hc.SCANNER, "No monitoring add-on: the scanner's lines are gone with its worker pods."),
        ]
    unread = side.get("agent_unread")
    gap = None if unread else history_rows.collection_gap(side.get("agent"))
    rule, rule_unread = _rule(cmd, mc)
    rule_gap = history_rows.rule_gap(rule)
    retention, retention_unread = _retention(cmd, workspace)
    tables = (insights or {}).get("tables")
    window_hours = _history_hours(hours)
    history_check = hc.history(
        True, gap, retention, hours, resource_group_name, name, retention_unread=retention_unread, tables=tables,
        window_hours=window_hours, rule_gap=rule_gap,
        unknowns=(("the agent collects kube-system", unread), ("the data collection rule keeps it", rule_unread)),
    )  # fmt: skip
    gap = gap or rule_gap
    if not enabled:
        return [history_check, hc.skipped(hc.SCANNER, "Image Cleaner is off: no run to read.")]
    if gap:
        return [history_check, hc.skipped(hc.SCANNER, hc.NOT_COLLECTED)]
    failed = insights["errors"].get("query") or insights["errors"].get("history")
    if failed:
        return [history_check, hc.skipped(hc.SCANNER, f"The history query failed: {failed}")]
    rows = (insights.get("history") or {}).get("rows") or []
    return [history_check, hc.scanner(rows, f"the runs of the last {window_hours} hours", resource_group_name, name)]


def _rule(cmd, mc):
    """(the cluster's Container Insights data collection rule or None, None) or (None, why it could not be read):
    read only where the add-on was onboarded with managed identity, which is when az gives it one."""
    from azext_imagecleaner.azure.arm import container_insights_rule
    from azext_imagecleaner.azure.resource_graph import monitoring_uses_rule

    if not monitoring_uses_rule(mc.addon_profiles, getattr(mc, "azure_monitor_profile", None)):
        return None, None
    from azext_imagecleaner.monitor import history_rows

    try:
        found = container_insights_rule(cmd.cli_ctx, mc.id)
        return (history_rows.container_insights_rule(*found) if found else None), None
    except Exception as ex:  # noqa: BLE001 - one unreadable fact makes part of one check unknown, not the command
        if getattr(ex, "status_code", None) == 403:
            return None, "reading it needs the role 'Monitoring Reader' (or 'Reader') on the data collection rule"
        return None, errors.first_line(ex)


def _retention(cmd, workspace):
    """(days, None) or (None, why not)."""
    from azext_imagecleaner.azure.arm import workspace_retention

    try:
        return workspace_retention(cmd.cli_ctx, workspace), None
    except Exception as ex:  # noqa: BLE001 - one unreadable fact makes part of one check unknown, not the command
        status = getattr(ex, "status_code", None)
        if status == 403:
            return None, "reading the workspace needs the role 'Log Analytics Reader' (or 'Reader') on it"
        return None, errors.first_line(ex)


# --- a fleet -----------------------------------------------------------------------------------------------------

FLEET_NOT_CHECKED = list(hc.CLUSTER_SIDE)


def fleet_check(cmd, cluster_ids, resource_group_name, subscriptions, management_group):
    """A row per cluster: its failing and warning checks, from Resource Graph and one query per workspace."""
    from azext_imagecleaner.fleet import selection
    from azext_imagecleaner.monitor import history

    clusters = selection.clusters(cmd, cluster_ids, resource_group_name, subscriptions, management_group)
    longest = max((c.get("intervalHours") or 0 for c in clusters), default=0) or 168
    window = datetime.timedelta(hours=2 * longest)
    histories = history.fleet_histories(cmd, clusters, window)
    retention = _fleet_retention(cmd, clusters)
    rules, rules_unread = _fleet_rules(cmd, clusters)
    rows = []
    for cluster in clusters:
        found = [
            hc.setting(cluster.get("enabled"), cluster.get("intervalHours"), cluster["resourceGroup"], cluster["name"]),
            hc.fleet_node_pools(bool(cluster.get("windowsPools"))),
        ]
        rule = _fleet_rule(cluster, rules, rules_unread)
        found += _fleet_monitored(cluster, histories.get(cluster["id"].lower()), retention, window, rule)
        rows.append(_fleet_row(cluster, found))
    return sorted(rows, key=lambda r: (r["subscription"] or "", r["resourceGroup"] or "", r["name"]))


def _fleet_retention(cmd, clusters):
    """{workspace ID (lower case): retention days} from Resource Graph, one query for every workspace."""
    from azext_imagecleaner.azure.resource_graph import workspace_retentions

    workspaces = sorted({c["workspace"] for c in clusters if c.get("workspace")})
    if not workspaces:
        return {}
    try:
        return workspace_retentions(cmd.cli_ctx, workspaces)
    except Exception as ex:  # noqa: BLE001 - the retention is one fact of one check: say it is unknown
        logger.warning("The workspaces' retention could not be read from Resource Graph: %s", errors.first_line(ex))
        return {}


def _fleet_rules(cmd, clusters):
    """The Container Insights data collection rules of the clusters onboarded with managed identity, from one
    Resource Graph query over their subscriptions (`resource_graph.container_insights_rules`), and why they could
    not be read, or None."""
    from azext_imagecleaner.azure.resource_graph import container_insights_rules

    subscriptions = sorted({c["subscription"] for c in clusters if c.get("workspace") and c.get("usesRule")})
    if not subscriptions:
        return {}, None
    try:
        return container_insights_rules(cmd.cli_ctx, subscriptions), None
    except Exception as ex:  # noqa: BLE001 - the rules are one fact of one check: say it is unknown
        logger.warning("The data collection rules could not be read from Resource Graph: %s", errors.first_line(ex))
        return {}, f"Resource Graph's query failed: {errors.first_line(ex)}"


def _fleet_rule(cluster, rules, unread):
    """(the cluster's Container Insights rule as `history_rows.rule_gap` takes it, or None; why it is unknown, or
    None) from `_fleet_rules`' answer."""
    from azext_imagecleaner.monitor import history_rows

    if not (cluster.get("workspace") and cluster.get("usesRule")):
        return None, None
    if unread:
        return None, unread
    return history_rows.rule_from_graph(rules.get(cluster["id"].lower()))


def _fleet_monitored(cluster, found, retention, window, rule):
    from azext_imagecleaner.monitor import history_rows

    rg, name, hours = cluster["resourceGroup"], cluster["name"], cluster.get("intervalHours")
    workspace = cluster.get("workspace")
    if not workspace:
        return [
            hc.history(False, None, None, hours, rg, name),
            hc.skipped(hc.SCANNER, "No monitoring add-on."),
        ]
    days = retention.get(workspace.lower())
    rule, rule_unread = rule
    rule_gap = history_rows.rule_gap(rule)
    history_check = hc.history(
        True, None, days, hours, rg, name, "not in Resource Graph's answer", rule_gap=rule_gap,
        unknowns=(("the data collection rule keeps kube-system", rule_unread),),
    )  # fmt: skip
    if not cluster.get("enabled"):
        return [history_check, hc.skipped(hc.SCANNER, "Image Cleaner is off: no run to read.")]
    if rule_gap:
        return [history_check, hc.skipped(hc.SCANNER, hc.NOT_COLLECTED)]
    if found is None or found.get("error"):
        why = (found or {}).get("error") or "no answer"
        return [history_check, hc.skipped(hc.SCANNER, f"The workspace's query failed: {why}")]
    if not found["images"]:
        # Nothing kept over two intervals of an enabled cluster: most often kube-system is not collected.
        return [
            history_check._replace(
                status=hc.WARN,
                detail=f"No Eraser line in the workspace over the last {int(window.total_seconds() // 3600)} hours: "
                "the agent may leave kube-system out ('az aks image-cleaner check -g RG -n NAME' reads its "
                "ConfigMap).",
            ),
            hc.skipped(hc.SCANNER, "No Eraser line in the window."),
        ]
    return [history_check, hc.fleet_scanner(found["images"], f"the last {int(window.total_seconds() // 3600)} hours")]


def _fleet_row(cluster, found):
    result = hc.result(found)
    by_status = {s: [c["name"] for c in result["checks"] if c["status"] == s] for s in hc.STATUSES}
    return {
        "name": cluster["name"],
        "resourceGroup": cluster["resourceGroup"],
        "subscription": cluster["subscription"],
        "fail": by_status[hc.FAIL],
        "warn": by_status[hc.WARN],
        "checks": result["checks"],
        "summary": result["summary"],
        "notChecked": FLEET_NOT_CHECKED,
    }
