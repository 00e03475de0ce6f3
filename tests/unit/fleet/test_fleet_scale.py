"""Pure rules of fleet discovery and pacing, and the emulator's Resource Graph (its KQL engine, paging, quota).

The queries the extension builds run through the emulator's engine (duckdb-kql), the real KQL it serves."""

import pytest

from armemulator import kusto
from armemulator.resourcegraph import endpoint as graph
from armemulator.resourcegraph.endpoint import GraphError, ResourceGraph
from azext_imagecleaner.aks.rules import Flags
from azext_imagecleaner.azure import resource_graph
from azext_imagecleaner.fleet.pacing import Pacer, remaining_from, subscription_of

PROVIDER = "Microsoft.ContainerService"


def cluster(name, enabled=None, hours=None, group="rg", sub="s1", windows=False):
    cleaner = {} if enabled is None else {"imageCleaner": {"enabled": enabled, "intervalHours": hours}}
    pools = [{"name": "p", "osType": "Linux"}] + ([{"name": "w", "osType": "Windows"}] if windows else [])
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/{group}/providers/{PROVIDER}/managedClusters/{name}",
        "name": name,
        "type": "microsoft.containerservice/managedclusters",
        "resourceGroup": group.lower(),
        "subscriptionId": sub,
        "properties": {"securityProfile": cleaner, "agentPoolProfiles": pools, "provisioningState": "Succeeded"},
    }


ROWS = [
    cluster("none"),
    cluster("off72", False, 72),
    cluster("on48", True, 48),
    cluster("on168", True, 168, windows=True),
]


# --- the queries the extension sends, run by the emulator's KQL -----------------------------------------------


def failed(name, enabled, hours):
    """A cluster whose last operation failed: a PUT of the same document makes AKS reconcile it."""
    row = cluster(name, enabled, hours)
    row["properties"]["provisioningState"] = "Failed"
    return row


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (Flags(enable=True), {"none", "off72", "failed-on48", "failed-off72"}),
        (Flags(enable=True, interval_hours=48), {"none", "off72", "on168", "failed-on48", "failed-off72"}),
        (Flags(disable=True), {"on48", "on168", "failed-on48", "failed-off72"}),
        (None, {"none", "off72", "on48", "on168", "failed-on48", "failed-off72"}),
    ],
)
def test_the_filter_keeps_exactly_the_clusters_that_need_a_change(flags, expected):
    rows = graph.run(
        resource_graph.graph_query(flags=flags),
        [*ROWS, failed("failed-on48", True, 48), failed("failed-off72", False, 72)],
    )
    assert {r["name"] for r in rows} == expected


def test_the_query_projects_what_a_list_row_needs():
    (row,) = graph.run(resource_graph.graph_query(resource_group="RG"), [ROWS[3]])
    assert resource_graph.row_from_graph(row) == {
        "name": "on168",
        "resourceGroup": "rg",
        "subscription": "s1",
        "enabled": True,
        "intervalHours": 168,
        "windowsPools": True,
        "provisioningState": "Succeeded",
    }
    assert graph.run(resource_graph.graph_query(resource_group="other"), ROWS) == []


def test_a_quote_in_a_group_name_cannot_change_the_query():
    assert graph.run(resource_graph.graph_query(resource_group="x' or name != '"), ROWS) == []


@pytest.mark.parametrize(("text", "seconds"), [("00:00:03", 3), ("01:02:03", 3723), ("", 0), ("soon", 0)])
def test_parse_resets_after(text, seconds):
    assert resource_graph.parse_resets_after(text) == seconds


# --- KQL semantics ------------------------------------------------------------------------------------------


def test_kql_null_comparisons_follow_kusto():
    # Kusto's rule (learn.microsoft.com/kusto/query/scalar-data-types/null-values): a null and a non-null value are
    # unequal, so != is true and == false. The hand-written subset this engine replaced had != null, not true.
    enabled = "tobool(properties.securityProfile.imageCleaner.enabled)"
    assert [r["name"] for r in graph.run(f"Resources | where {enabled} != true", ROWS[:1])] == ["none"]
    assert graph.run(f"Resources | where {enabled} == true", ROWS[:1]) == []
    assert len(graph.run("Resources | where isnull(properties.securityProfile.imageCleaner)", ROWS)) == 1


def test_kql_order_by_is_descending_unless_asc_and_take_limits():
    names = [r["name"] for r in graph.run("Resources | order by name | take 2", ROWS)]
    assert names == ["on48", "on168"]
    assert [r["name"] for r in graph.run("Resources | sort by name asc | limit 1", ROWS)] == ["none"]


def test_kql_in_extend_and_case_insensitive_equality():
    query = (
        "Resources | extend on = tobool(properties.securityProfile.imageCleaner.enabled) | where on == true "
        "| where name in ('on48', 'x') | where type =~ 'Microsoft.ContainerService/managedClusters'"
    )
    rows = graph.run(query, ROWS)
    assert [r["name"] for r in rows] == ["on48"]


def test_kql_beyond_what_the_extension_sends_runs_too():
    rows = graph.run("Resources | summarize clusters = count() by subscriptionId", ROWS)
    assert rows == [{"subscriptionId": "s1", "clusters": 4}]


@pytest.mark.parametrize("text", ["Resources | where", "Nope | take 1", "Resources | where f(x) == 1"])
def test_a_query_the_engine_cannot_run_is_refused(text):
    with pytest.raises(kusto.KqlError):
        graph.run(text, ROWS)


# --- the emulator's endpoint ----------------------------------------------------------------------------------


def test_pages_carry_a_skip_token_only_with_the_id_column():
    graph = ResourceGraph()
    graph.page_cap = 2
    answer, headers = graph.query({"query": "Resources | project id, name"}, "u", lambda *_: (ROWS, []))
    assert answer["count"] == 2 and answer["totalRecords"] == 4 and answer["$skipToken"]
    second, _ = graph.query(
        {"query": "Resources | project id, name", "options": {"$skipToken": answer["$skipToken"]}},
        "u",
        lambda *_: (ROWS, []),
    )
    assert [r["name"] for r in answer["data"] + second["data"]] == [r["name"] for r in ROWS]
    names_only, _ = graph.query({"query": "Resources | project name"}, "u", lambda *_: (ROWS, []))
    assert "$skipToken" not in names_only and names_only["resultTruncated"] == "true"
    assert headers["x-ms-user-quota-remaining"] == 14


def test_the_quota_answers_429_when_spent():
    now = [0.0]
    graph = ResourceGraph(clock=lambda: now[0])
    graph.quota = 1
    graph.query({"query": "Resources"}, "u", lambda *_: (ROWS, []))
    with pytest.raises(GraphError) as raised:
        graph.query({"query": "Resources"}, "u", lambda *_: (ROWS, []))
    assert raised.value.status == 429 and raised.value.headers["x-ms-user-quota-resets-after"] == "00:00:05"
    now[0] = 5.0
    assert graph.query({"query": "Resources"}, "u", lambda *_: (ROWS, []))[1]["x-ms-user-quota-remaining"] == 0


# --- pacing ---------------------------------------------------------------------------------------------------


def test_slow_start_then_additive_increase_up_to_the_cap():
    now = [0.0]
    pacer = Pacer(ceiling=12, start=2, clock=lambda: now[0])
    for _ in range(2):
        assert pacer.try_start("s")
    assert not pacer.try_start("s")
    pacer.finish("s")
    pacer.finish("s")
    assert pacer.limit("s") == 4  # slow start: one more for each that finished
    pacer.observe("s", 200, remaining=5)  # pressure: slow start ends
    assert pacer.limit("s") == 3
    for _ in range(3):
        pacer.try_start("s")
        pacer.finish("s")
    assert pacer.limit("s") == 4  # additive: one more after a limit's worth
    for _ in range(100):
        pacer.try_start("s")
        pacer.finish("s")
    assert pacer.limit("s") == 12


def test_a_429_halves_the_limit_and_pauses_only_its_subscription():
    now = [100.0]
    pacer = Pacer(ceiling=16, start=8, clock=lambda: now[0])
    pacer.observe("slow", 429, retry_after=3)
    pacer.observe("slow", 429, retry_after=3)  # the same moment: one signal
    assert pacer.limit("slow") == 4 and pacer.throttled == 2
    assert not pacer.try_start("slow") and pacer.try_start("fast")
    now[0] += 3
    assert pacer.try_start("slow")
    now[0] += 1
    pacer.observe("slow", 429, retry_after=1)
    assert pacer.limit("slow") == 2


def test_a_low_remaining_budget_stops_growth():
    now = [0.0]
    pacer = Pacer(ceiling=16, start=4, clock=lambda: now[0])
    pacer.observe("s", 200, remaining=10)
    assert pacer.limit("s") == 3
    pacer.observe("s", 200, remaining=200)
    assert pacer.limit("s") == 3


def test_headers_and_urls():
    headers = {
        "x-ms-ratelimit-remaining-subscription-reads": "240",
        "x-ms-ratelimit-remaining-subscription-global-writes": "12",
    }
    assert remaining_from(headers) == 12
    assert remaining_from({}) is None
    assert subscription_of("https://m/subscriptions/abc/resourceGroups/rg?api-version=1") == "abc"
    assert subscription_of("https://m/providers/Microsoft.ResourceGraph/resources") is None


RULES = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Insights/dataCollectionRules"


def association(cluster_name, rule_name):
    cluster_id = f"/subscriptions/s1/resourceGroups/rg/providers/{PROVIDER}/managedClusters/{cluster_name}"
    return {
        "id": f"{cluster_id}/providers/Microsoft.Insights/dataCollectionRuleAssociations/ContainerInsightsExtension",
        "name": "ContainerInsightsExtension",
        "type": "microsoft.insights/datacollectionruleassociations",
        "properties": {"dataCollectionRuleId": f"{RULES}/{rule_name}"},
    }


def rule(name, properties):
    return {"id": f"{RULES}/{name}", "name": name, "type": "microsoft.insights/datacollectionrules",
            "properties": properties}  # fmt: skip


def test_the_rules_query_tells_a_rule_without_extensions_from_one_it_cannot_see():
    extensions = [{"extensionName": "ContainerInsights", "streams": ["Microsoft-ContainerLogV2"]}]
    rows = graph.run(
        resource_graph.RULES_QUERY,
        [rule("MSCI-eastus-c1", {"dataSources": {"extensions": extensions}}), rule("bare", {}),
         cluster("c1"), cluster("c2"), cluster("c3")],
        [association("c1", "MSCI-eastus-c1"), association("c2", "unseen"), association("c3", "bare"),
         {**association("vm", "x"), "id": association("vm", "x")["id"].replace("ContainerService/managedClusters",
                                                                                "Compute/virtualMachines")}],
    )  # fmt: skip
    found = resource_graph.rules_by_cluster(rows)
    prefix = f"/subscriptions/s1/resourcegroups/rg/providers/{PROVIDER.lower()}/managedclusters/"
    assert found == {
        f"{prefix}c1": (f"{RULES}/MSCI-eastus-c1", extensions),
        f"{prefix}c2": (f"{RULES}/unseen", None),  # the left outer join found no rule the login can see
        f"{prefix}c3": (f"{RULES}/bare", []),
    }
