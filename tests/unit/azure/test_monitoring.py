"""Where a cluster's Container Insights sends, and whether it has a data collection rule, from its add-on profiles
and its Azure Monitor profile, as az reads them (azure_cli acs/managed_cluster_decorator.py)."""

from types import SimpleNamespace

import pytest

from azext_imagecleaner.azure.resource_graph import monitoring_uses_rule, monitoring_workspace

WS = "/subscriptions/s/resourceGroups/l/providers/Microsoft.OperationalInsights/workspaces/"


def addon(enabled=True, aad=None):
    config = {"logAnalyticsWorkspaceResourceID": WS + "addon"}
    if aad is not None:
        config["useAADAuth"] = aad
    return {"omsagent": {"enabled": enabled, "config": config}}


def profile(enabled=True):
    return {"containerInsights": {"enabled": enabled, "logAnalyticsWorkspaceResourceId": WS + "profile"}}


@pytest.mark.parametrize(
    ("addons", "monitor", "workspace", "rule"),
    [
        ({}, None, None, False),
        (addon(aad="true"), None, WS + "addon", True),
        (addon(aad="false"), None, WS + "addon", False),
        (addon(), None, WS + "addon", False),  # no useAADAuth: legacy auth (acs _is_monitoring_aad_auth)
        (addon(enabled=False), None, None, False),
        ({}, profile(), WS + "profile", True),  # --enable-azure-monitor-logs: managed identity only
        ({}, profile(enabled=False), None, False),
        # the RP mirrors a legacy add-on into the profile; the add-on still says how it authenticates
        (addon(aad="false"), profile(), WS + "profile", False),
    ],
)
def test_workspace_and_rule(addons, monitor, workspace, rule):
    assert monitoring_workspace(addons, monitor) == workspace
    assert monitoring_uses_rule(addons, monitor) is rule


def test_sdk_models_are_read_as_the_json_is():
    models = {"omsagent": SimpleNamespace(enabled=True, config={"logAnalyticsWorkspaceResourceID": WS + "addon"})}
    insights = SimpleNamespace(enabled=True, log_analytics_workspace_resource_id=WS + "profile")
    assert monitoring_workspace(models, SimpleNamespace(container_insights=insights)) == WS + "profile"
    # an older az's SDK has no container_insights on its profile
    assert monitoring_workspace(models, SimpleNamespace(metrics=None)) == WS + "addon"
