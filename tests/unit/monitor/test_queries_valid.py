"""Every query the extension's builders can produce passes Microsoft's Kusto language service (Kusto.Language), with
the documented schemas: Log Analytics' tables for the history and coverage, Resource Graph's Resources and
InsightsResources tables with its operator subset for discovery and the data collection rules
(../shared/kusto-language-service.md). duckdb-kql, the emulator's engine, accepts queries that the services refuse,
so it cannot be the judge of these."""

import itertools

import pytest

from armemulator import kustolanguage
from armemulator.loganalytics import tables
from armemulator.resourcegraph import endpoint as graph
from azext_imagecleaner.aks.rules import Flags
from azext_imagecleaner.azure import resource_graph
from azext_imagecleaner.monitor import check_query, coverage_query, history_query

# No az in these tests: the az-release matrix (scripts/test-matrix.sh) leaves them out.
pytestmark = pytest.mark.same_on_every_az

LOG_SCHEMA = tables.schema()
GRAPH_SCHEMA = {name: dict(graph.RESOURCES) for name in graph.TABLES}

CLUSTERS = [
    f"/subscriptions/{s:08d}-0000-0000-0000-000000000000/resourceGroups/rg-{s}/providers/"
    f"Microsoft.ContainerService/managedClusters/aks-{n}"
    for s, n in itertools.product(range(2), range(50))
]


def _errors(text, schema, dialect):
    verdict = kustolanguage.judge(text, schema, dialect)
    return [(e["code"], e["message"], text[e["start"] : e["start"] + e["length"]]) for e in verdict.errors]


def _every_history_query():
    for members, fleet in itertools.product((None, CLUSTERS[:1], CLUSTERS), (False, True)):
        yield f"history members={members and len(members)} fleet={fleet}", history_query.query(members, fleet)
    # Every level a cut answer can be split to (the fan-out halves a plan down to BUCKETS parts), its first and
    # last part: the parts of one level differ only in which buckets their list names (`part_buckets`), and
    # Kusto.Language takes about 0.2 s for each of these 22 kB queries.
    n = 2
    while n <= history_query.BUCKETS:
        for k in sorted({0, n - 1}):
            yield f"history part {k} of {n}", history_query.query(CLUSTERS[:1], True, (k, n))
            yield f"history one-cluster part {k} of {n}", history_query.query(None, False, (k, n))
        n *= 2


def _every_coverage_query():
    yield "coverage one cluster", coverage_query.query()
    yield "coverage one of a fleet", coverage_query.query(CLUSTERS[:1])
    yield "coverage a workspace's clusters", coverage_query.query(CLUSTERS)


def _every_check_query():
    yield "check one cluster, daily", check_query.query(48)
    yield "check one cluster, 90 days", check_query.query(2 * 2160)


def _every_graph_query():
    every_flags = [
        None,
        Flags(enable=True),
        Flags(enable=True, interval_hours=48),
        Flags(interval_hours=48),
        Flags(disable=True),
    ]
    for group, flags, monitoring in itertools.product((None, "rg-1", "x' or name != '"), every_flags, (False, True)):
        yield (
            f"discovery group={group} flags={flags} monitoring={monitoring}",
            resource_graph.graph_query(group, flags, monitoring),
        )
    yield "workspaces, one", resource_graph.workspace_query(["/subscriptions/x/resourceGroups/r/providers/w/ws"])
    yield "workspaces, many", resource_graph.workspace_query([f"/subscriptions/x/ws{i}" for i in range(40)])
    yield "data collection rules", resource_graph.RULES_QUERY


def test_every_log_analytics_query_is_valid():
    queries = [*_every_history_query(), *_every_coverage_query(), *_every_check_query()]
    assert len(queries) == 6 + 2 * 2 * 8 + 3 + 2
    refused = {
        what: found for what, text in queries if (found := _errors(text, LOG_SCHEMA, kustolanguage.LOG_ANALYTICS))
    }
    assert refused == {}


def test_every_resource_graph_query_is_valid():
    queries = list(_every_graph_query())
    refused = {
        what: found for what, text in queries if (found := _errors(text, GRAPH_SCHEMA, kustolanguage.RESOURCE_GRAPH))
    }
    assert refused == {}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # What Kusto.Language found in coverage's query before: `latest` is a keyword, not a name.
        ("let latest = KubeEvents | summarize count(); latest", "KS142"),
        ("KubeEvents | where NoSuchColumn == 1", "KS142"),
        ("KubeEvents | extend n = no_such_function(Count)", None),
    ],
)
def test_the_referee_refuses_what_the_service_refuses(text, code):
    found = _errors(text, LOG_SCHEMA, kustolanguage.LOG_ANALYTICS)
    assert found, text
    if code:
        assert found[0][0] == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Resources | parse name with a '-' b", "UnsupportedOperator"),
        ("Resources | join kind=fullouter (Resources) on id", "UnsupportedJoinKind"),
        (" | ".join(["Resources", *["join (Resources) on id"] * 4]), "TooManyJoins"),
        ("Resources | mv-expand a = zones | mv-expand b = zones | mv-expand c = zones", "TooManyMvExpands"),
    ],
)
def test_the_referee_applies_resource_graphs_subset(text, code):
    assert [c for c, _, _ in _errors(text, GRAPH_SCHEMA, kustolanguage.RESOURCE_GRAPH)] == [code]
    # The same query is valid KQL: only Resource Graph refuses it.
    assert _errors(text, GRAPH_SCHEMA, kustolanguage.LOG_ANALYTICS) == []


def test_kube_events_count_is_real_as_documented():
    assert LOG_SCHEMA["KubeEvents"]["Count"] == "real"
    assert _errors("KubeEvents | where Count == 1.5 | project Count", LOG_SCHEMA, kustolanguage.LOG_ANALYTICS) == []
