"""Which clusters a fleet command acts on: one Azure Resource Graph query, with ARM listing as the fallback.

Resource Graph is Azure's own answer to "every cluster I can see, and its setting": one KQL query across all
the login's subscriptions, the ones given, or a management group, paged with `$skipToken`, as `az graph query`
does (azure-mgmt-resourcegraph, the SDK `az graph` uses). Its data can lag behind ARM by a short time, so `set`
still reads each cluster from ARM before writing it. Where Resource Graph refuses (403: no permission, or a
policy), the clusters are listed through ARM one subscription at a time, and the command says so in one line.
The query text is built here (pure); `discover` does the I/O.
"""

import time
from typing import NamedTuple

from knack.log import get_logger

logger = get_logger(__name__)

CLUSTER_TYPE = "microsoft.containerservice/managedclusters"
_CLEANER = "properties.securityProfile.imageCleaner"
PAGE_SIZE = 1000  # Resource Graph's largest page


class Scope(NamedTuple):
    """Where to look: subscription IDs, a management group, or neither (every subscription of the login)."""

    subscriptions: tuple = ()
    management_group: str | None = None


def _quoted(text):
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def needs_change_filter(flags):
    """A KQL condition true for the clusters `flags` would change, or None when that cannot be said server-side.

    It errs on the side of reading a cluster: a missing profile or value always counts as needing a change, and so
    does a cluster whose last operation did not succeed, whose PUT makes AKS reconcile it (`_rules.needs_write`)."""
    enabled = f"{_CLEANER}.enabled"
    hours = f"{_CLEANER}.intervalHours"
    not_succeeded = "tostring(properties.provisioningState) !~ 'Succeeded'"
    if flags.disable:
        return f"tobool({enabled}) == true or {not_succeeded}"
    if flags.enable:
        condition = f"isnull({enabled}) or tobool({enabled}) != true"
        if flags.interval_hours is not None:
            condition += f" or isnull({hours}) or toint({hours}) != {int(flags.interval_hours)}"
        return f"{condition} or {not_succeeded}"
    return None


def graph_query(resource_group=None, flags=None, monitoring=False):
    """The Resources query for the clusters in scope (of a resource group; needing the change `flags` make; with
    their add-on profiles, to know where their monitoring add-on sends their logs)."""
    lines = ["Resources", f"| where type =~ {_quoted(CLUSTER_TYPE)}"]
    if resource_group:
        lines.append(f"| where resourceGroup =~ {_quoted(resource_group)}")
    condition = needs_change_filter(flags) if flags is not None else None
    if condition:
        lines.append(f"| where {condition}")
    lines.append(
        "| project id, name, subscriptionId, "
        f"enabled = tobool({_CLEANER}.enabled), intervalHours = toint({_CLEANER}.intervalHours), "
        "provisioningState = tostring(properties.provisioningState), agentPools = properties.agentPoolProfiles"
        + (", addons = properties.addonProfiles, monitor = properties.azureMonitorProfile" if monitoring else "")
    )
    lines.append("| order by id asc")
    return "\n".join(lines)


def _resource_group_of(resource_id):
    parts = (resource_id or "").split("/")
    return parts[4] if len(parts) > 4 else None


def _addon(addons):
    """The enabled monitoring add-on's config (`omsagent`), or None."""
    for key, value in (addons or {}).items():
        addon = value if isinstance(value, dict) else {"enabled": value.enabled, "config": value.config}
        if key.lower() == "omsagent" and addon.get("enabled"):
            return addon.get("config") or {}
    return None


def _config(config, name):
    return next((v for k, v in (config or {}).items() if k.lower() == name.lower()), None)


def _container_insights(monitor_profile):
    """The workspace of the Azure Monitor profile's containerInsights where it is on (az 2.91's
    `--enable-azure-monitor-logs`), from a dict of ARM's JSON or an SDK model; else None."""
    from collections.abc import Mapping

    # (the SDKs of az 2.85+ are Mappings by REST name, whose nested values may still be dicts: arm.resolve_models)
    if isinstance(monitor_profile, Mapping):
        insights = monitor_profile.get("containerInsights") or {}
        return insights.get("logAnalyticsWorkspaceResourceId") if insights.get("enabled") else None
    insights = getattr(monitor_profile, "container_insights", None)  # absent from the SDKs of older az
    return (
        getattr(insights, "log_analytics_workspace_resource_id", None) if getattr(insights, "enabled", None) else None
    )


def monitoring_workspace(addons, monitor_profile=None):
    """The workspace resource ID Container Insights sends to, or None when it is off (../shared/container-insights.md
    §1): the Azure Monitor profile's containerInsights, else the monitoring add-on (`omsagent`), as az reads them
    (azure-cli acs/managed_cluster_decorator.py, `_is_monitoring_enabled_on_mc`). From a cluster's add-on profiles
    and Azure Monitor profile, dicts of ARM's JSON or SDK models."""
    return _container_insights(monitor_profile) or _config(_addon(addons), "logAnalyticsWorkspaceResourceID")


def monitoring_uses_rule(addons, monitor_profile=None):
    """Whether Container Insights was onboarded with managed identity, which is when az gives it a data collection
    rule (azure-cli acs/addonconfiguration.py): the add-on's `config.useAADAuth`; without the add-on, the Azure
    Monitor profile onboards with managed identity only (acs `_is_monitoring_aad_auth`)."""
    config = _addon(addons)
    if config is not None:
        return str(_config(config, "useAADAuth") or "").lower() == "true"
    return _container_insights(monitor_profile) is not None


def cluster_workspace(mc):
    """`monitoring_workspace` of an SDK ManagedCluster."""
    return monitoring_workspace(mc.addon_profiles, getattr(mc, "azure_monitor_profile", None))


def row_from_graph(item):
    """A `list` row from a Resource Graph result row (with `id`, `workspace` and `usesRule` when it has add-on
    profiles)."""
    pools = item.get("agentPools") or []
    extra = (
        {
            "id": item.get("id"),
            "workspace": monitoring_workspace(item.get("addons"), item.get("monitor")),
            "usesRule": monitoring_uses_rule(item.get("addons"), item.get("monitor")),
        }
        if "addons" in item
        else {}
    )
    return {
        **extra,
        "name": item.get("name"),
        "resourceGroup": _resource_group_of(item.get("id")),
        "subscription": item.get("subscriptionId"),
        "enabled": bool(item.get("enabled")),
        "intervalHours": item.get("intervalHours"),
        "windowsPools": any(str((p or {}).get("osType") or "").lower() == "windows" for p in pools),
        "provisioningState": item.get("provisioningState"),
    }


def row_from_arm(subscription, mc, monitoring=False):
    """A `list` row from an ARM ManagedCluster model (with `id`, `workspace` and `usesRule` when `monitoring`)."""
    cleaner = mc.security_profile.image_cleaner if mc.security_profile else None
    pools = mc.agent_pool_profiles or []
    extra = {}
    if monitoring:
        monitor_profile = getattr(mc, "azure_monitor_profile", None)
        extra = {
            "id": mc.id,
            "workspace": cluster_workspace(mc),
            "usesRule": monitoring_uses_rule(mc.addon_profiles, monitor_profile),
        }
    return {
        **extra,
        "name": mc.name,
        "resourceGroup": _resource_group_of(mc.id),
        "subscription": subscription,
        "enabled": bool(cleaner and cleaner.enabled),
        "intervalHours": cleaner.interval_hours if cleaner else None,
        "windowsPools": any((p.os_type or "").lower() == "windows" for p in pools),
        "provisioningState": mc.provisioning_state,
    }


def parse_resets_after(text):
    """Seconds in Resource Graph's `x-ms-user-quota-resets-after` (hh:mm:ss), or 0."""
    try:
        hours, minutes, seconds = (float(p) for p in (text or "").split(":"))
    except ValueError:
        return 0.0
    return hours * 3600 + minutes * 60 + seconds


# --- I/O ----------------------------------------------------------------------------------------------------


def discover(cli_ctx, scope, resource_group=None, flags=None, monitoring=False):
    """The rows of the clusters in scope (needing the change `flags` make, where given), sorted by ID; with
    `monitoring`, each with its `id` and the `workspace` its monitoring add-on sends to."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    from azext_imagecleaner.azure import errors

    started = time.monotonic()
    try:
        rows = _from_graph(cli_ctx, scope, graph_query(resource_group, flags, monitoring))
    except (ServiceRequestError, ServiceResponseError) as ex:
        raise errors.graph_unreachable(ex) from ex
    except HttpResponseError as ex:
        if ex.status_code != 403:
            raise errors.graph_failed(ex) from ex
        if scope.management_group:
            raise errors.graph_refused_for_management_group(scope.management_group, ex) from ex
        logger.warning(
            "Resource Graph refused the query (%s); listing clusters through Azure Resource Manager instead, one "
            "subscription at a time.",
            errors.first_line(ex),
        )
        rows = _from_arm(cli_ctx, scope, resource_group, monitoring)
    logger.info("Found %d cluster(s) in %.1f s.", len(rows), time.monotonic() - started)
    return rows


def _graph_client(cli_ctx):
    from azure.cli.core.commands.client_factory import get_mgmt_service_client
    from azure.mgmt.resourcegraph import ResourceGraphClient

    from azext_imagecleaner.azure.arm import retry_budget_seconds, retry_policy

    return get_mgmt_service_client(
        cli_ctx,
        ResourceGraphClient,
        subscription_bound=False,
        retry_policy=retry_policy(retry_budget_seconds(cli_ctx)),
    )


def _from_graph(cli_ctx, scope, query, convert=row_from_graph):
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    client = _graph_client(cli_ctx)
    rows, skip_token = [], None
    while True:
        request = QueryRequest(
            subscriptions=list(scope.subscriptions) or None,
            management_groups=[scope.management_group] if scope.management_group else None,
            query=query,
            options=QueryRequestOptions(skip_token=skip_token, top=PAGE_SIZE, result_format="objectArray"),
        )
        page, headers = client.resources(
            request, cls=lambda response, deserialized, _: (deserialized, response.http_response.headers)
        )
        rows += [convert(item) for item in page.data or []]
        skip_token = page.skip_token
        if not skip_token:
            return rows
        # Resource Graph's own pacing: with the quota of this window spent, wait for the next one.
        if str(headers.get("x-ms-user-quota-remaining", "1")) == "0":
            wait = parse_resets_after(headers.get("x-ms-user-quota-resets-after"))
            logger.info("Resource Graph quota spent; waiting %.0f s for the next window.", wait)
            time.sleep(wait)


def _from_arm(cli_ctx, scope, resource_group, monitoring=False):
    from azure.core.exceptions import ResourceNotFoundError

    from azext_imagecleaner.azure import errors
    from azext_imagecleaner.azure.arm import managed_clusters_client

    rows = []
    for subscription in scope.subscriptions or visible_subscriptions(cli_ctx):
        client = managed_clusters_client(cli_ctx, subscription)
        with errors.mapped(resource_group or "*", f"* in subscription {subscription}"):
            try:
                pages = client.list_by_resource_group(resource_group) if resource_group else client.list()
                rows += [row_from_arm(subscription, mc, monitoring) for mc in pages]
            except ResourceNotFoundError:
                # A resource group of that name in some subscriptions only, as Resource Graph's filter would have it.
                logger.debug("No resource group %s in subscription %s.", resource_group, subscription)
    return sorted(rows, key=lambda r: (r["subscription"], r["resourceGroup"] or "", r["name"]))


def workspace_query(workspace_ids):
    """The Resources query for the customer IDs (the GUIDs the query API takes) and retention of Log Analytics
    workspaces."""
    listed = ", ".join(_quoted(i.lower()) for i in workspace_ids)
    return (
        "Resources\n| where type =~ 'microsoft.operationalinsights/workspaces'\n"
        f"| where tolower(id) in ({listed})\n| project id, customerId = tostring(properties.customerId), "
        "retentionInDays = toint(properties.retentionInDays)"
    )


def customer_ids(cli_ctx, workspace_ids):
    """{workspace resource ID (lower case): customer ID} of the workspaces Resource Graph shows the login, in every
    subscription it can see; a workspace it cannot read is left out (the caller says what it does instead)."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if not workspace_ids:
        return {}
    try:
        found = _from_graph(cli_ctx, Scope(), workspace_query(workspace_ids), lambda item: item)
    except (HttpResponseError, ServiceRequestError, ServiceResponseError) as ex:
        logger.warning("Resource Graph could not name the workspaces' IDs (%s).", getattr(ex, "status_code", ex))
        return {}
    return {item["id"].lower(): item["customerId"] for item in found if item.get("customerId")}


def workspace_retentions(cli_ctx, workspace_ids):
    """{workspace resource ID (lower case): its retention in days} of the workspaces Resource Graph shows the login
    (`properties.retentionInDays`); errors are the caller's to word."""
    found = _from_graph(cli_ctx, Scope(), workspace_query(workspace_ids), lambda item: item)
    return {item["id"].lower(): item["retentionInDays"] for item in found if item.get("retentionInDays") is not None}


# Data collection rule associations are in InsightsResources (Resource Graph's sample "List VMs with data collection
# rule associations", learn.microsoft.com/azure/governance/resource-graph/samples/samples-by-category), the rules
# themselves, tracked resources, in Resources.
RULES_QUERY = """InsightsResources
| where type =~ 'microsoft.insights/datacollectionruleassociations' and name =~ 'ContainerInsightsExtension'
| where tolower(id) contains '/providers/microsoft.containerservice/managedclusters/'
| project id, ruleKey = tolower(tostring(properties.dataCollectionRuleId)),
    ruleId = tostring(properties.dataCollectionRuleId)
| join kind=leftouter (
    Resources
    | where type =~ 'microsoft.insights/datacollectionrules'
    | project ruleKey = tolower(id), shown = true, extensions = properties.dataSources.extensions
) on ruleKey
| project id, ruleId, shown, extensions
| order by id asc"""
_ASSOCIATION_SUFFIX = "/providers/microsoft.insights/datacollectionruleassociations/"


def container_insights_rules(cli_ctx, subscriptions):
    """{cluster resource ID (lower case): (its Container Insights data collection rule's ID, the rule's
    `properties.dataSources.extensions`, None where Resource Graph does not show the login the rule)} for the
    clusters of `subscriptions` that have the association az names ContainerInsightsExtension, in one query;
    errors are the caller's to word."""
    return rules_by_cluster(_from_graph(cli_ctx, Scope(subscriptions=tuple(subscriptions)), RULES_QUERY, dict))


def rules_by_cluster(items):
    """`container_insights_rules`' answer from the rows of RULES_QUERY."""
    rules = {}
    for item in items:
        association = item["id"].lower()
        cluster = association[: association.find(_ASSOCIATION_SUFFIX)]
        # `shown` is null where the left outer join found no rule: one the login cannot read, or one deleted.
        rules[cluster] = (item.get("ruleId"), (item.get("extensions") or []) if item.get("shown") else None)
    return rules


def visible_subscriptions(cli_ctx):
    """The enabled subscriptions of the login's current tenant, as az knows them."""
    from azure.cli.core._profile import Profile

    profile = Profile(cli_ctx=cli_ctx)
    tenant = profile.get_subscription()["tenantId"]
    return [
        s["id"]
        for s in profile.load_cached_subscriptions()
        if s.get("tenantId") == tenant and s.get("state", "Enabled") == "Enabled"
    ]
