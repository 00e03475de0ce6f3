"""`az aks image-cleaner report --since`: Eraser's history from Container Insights, one cluster and a fleet, through
the real az against the emulator's Log Analytics (a real KQL engine over ContainerLogV2, ContainerLog and
KubePodInventory rows that the clusters' monitoring agents wrote as the simulated Eraser ran)."""

import json
import uuid

import pytest

from armemulator.arm.clusters import sample_cluster
from tests.e2e.test_enterprise_access import body as access_body

WORKSPACE = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/logs/providers/"
    "Microsoft.OperationalInsights/workspaces/{}"
)
# The agent's ConfigMap (microsoft/Docker-Provider's template), taking kube-system's logs.
COLLECT_KUBE_SYSTEM = """[log_collection_settings]
   [log_collection_settings.stdout]
      enabled = true
      exclude_namespaces = ["gatekeeper-system"]
   [log_collection_settings.stderr]
      enabled = true
      exclude_namespaces = ["gatekeeper-system"]
"""
LEGACY_SCHEMA = (
    COLLECT_KUBE_SYSTEM
    + """   [log_collection_settings.schema]
      containerlog_schema_version = "v1"
"""
)
LEAVE_KUBE_SYSTEM_OUT = COLLECT_KUBE_SYSTEM.replace('["gatekeeper-system"]', '["kube-system", "gatekeeper-system"]')


def ref(cluster):
    return cluster.subscription, cluster.resource_group, cluster.name


def monitored(
    make_cluster,
    emulator,
    workspace="ws-one",
    settings=COLLECT_KUBE_SYSTEM,
    hours=168,
    days=30,
    private=False,
    group=None,
):
    """A cluster whose monitoring add-on sends to `workspace`, with the agent `settings` and `days` of runs."""
    body = access_body(private=True) if private else sample_cluster()
    body["properties"]["securityProfile"]["imageCleaner"] = {"enabled": True, "intervalHours": hours}
    body["properties"]["addonProfiles"]["omsagent"] = {
        "enabled": True,
        "config": {"logAnalyticsWorkspaceResourceID": WORKSPACE.format(workspace)},
    }
    cluster = make_cluster(body=body, **({"resource_group": group} if group else {}))
    if settings is not None:
        configmap = {
            "metadata": {"name": "container-azm-ms-agentconfig", "namespace": "kube-system"},
            "data": {"schema-version": "v1", "log-data-collection-settings": settings},
        }
        emulator.put_configmap(*ref(cluster), configmap)
    if days:
        emulator.history(*ref(cluster), days=days)
    emulator.clear_requests()
    return cluster


def log_queries(emulator):
    return [r for r in emulator.requests() if r["method"] == "POST" and r["path"].lower().startswith("/v1/")]


def history(az, cluster, *extra, env=None):
    return az("aks", "image-cleaner", "report", *cluster.args, *extra, "-o", "json", env=env)


def test_thirty_days_of_runs_oldest_first_from_one_resource_centric_query(az, emulator, make_cluster):
    cluster = monitored(make_cluster, emulator)
    result = history(az, cluster, "--since", "30d")
    assert result.code == 0, result.err
    rows = result.json["rows"]
    # Four weekly runs on three nodes; a run removes the four vulnerable images it may and the one it cannot scan.
    times = [r["time"] for r in rows]
    assert times == sorted(times) and len({t[:10] for t in times}) == 4
    removed = [r for r in rows if r["outcome"] == "removed"]
    assert len(removed) == 4 * 3 * 4
    assert {r["image"] for r in removed if r["vulnerable"]} == {
        "docker.io/library/alpine:3.7.3",
        "docker.io/library/redis:6.0.5",
        "myregistry.azurecr.io/payments/api:2.3.1",
    }
    assert all(r["outcome"] == "removal failed" for r in rows if r["image"] == "docker.io/library/locked:1.0")
    assert result.json["summary"]["imagesRemoved"] == 48 and result.json["summary"]["failures"] == 12
    (query,) = log_queries(emulator)
    assert query["path"].lower() == f"/v1{cluster_id(cluster)}/query".lower()  # resource-centric: no workspace ID
    assert query["body"]["timespan"] == "PT2592000.0S"
    assert "ContainerLogV2" in query["body"]["query"] and "join kind=inner" in query["body"]["query"]


def cluster_id(cluster):
    return (
        f"/subscriptions/{cluster.subscription}/resourcegroups/{cluster.resource_group}/providers/"
        f"Microsoft.ContainerService/managedClusters/{cluster.name}"
    )


def test_the_legacy_schema_gives_the_same_rows(az, emulator, make_cluster):
    v2 = monitored(make_cluster, emulator, workspace="ws-new")
    v1 = monitored(make_cluster, emulator, workspace="ws-old", settings=LEGACY_SCHEMA)
    new, old = (history(az, c, "--since", "30d") for c in (v2, v1))
    assert new.code == 0 and old.code == 0, new.err + old.err
    drop = ("pod", "time")
    assert [{k: v for k, v in r.items() if k not in drop} for r in old.json["rows"]] == [
        {k: v for k, v in r.items() if k not in drop} for r in new.json["rows"]
    ]
    assert old.json["summary"] == {**new.json["summary"], "lastRun": old.json["summary"]["lastRun"]}


def test_the_window_is_honoured(az, emulator, make_cluster):
    cluster = monitored(make_cluster, emulator, hours=240)  # runs 10 and 20 days ago
    emulator.scheduled_run(*ref(cluster))  # and one now
    week, fortnight = (history(az, cluster, "--since", since) for since in ("7d", "P15D"))
    assert week.code == 0 and fortnight.code == 0
    assert len({r["time"][:10] for r in week.json["rows"]}) == 1  # only today's run
    assert len({r["time"][:10] for r in fortnight.json["rows"]}) == 2
    assert [q["body"]["timespan"] for q in log_queries(emulator)] == ["PT604800.0S", "PT1296000.0S"]


def test_without_the_monitoring_add_on_nothing_was_kept(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = history(az, cluster, "--since", "30d")
    assert result.code != 0 and "Traceback" not in result.err
    assert "Container Insights (the monitoring add-on) is off" in result.err
    assert f"az aks enable-addons -a monitoring -g {cluster.resource_group} -n {cluster.name}" in result.err
    assert "history starts from then on" in result.err
    assert log_queries(emulator) == []


@pytest.mark.parametrize(
    "settings, private, said",
    [
        (LEAVE_KUBE_SYSTEM_OUT, False, "log_collection_settings.stderr.exclude_namespaces holds kube-system"),
        (None, True, "ConfigMap kube-system/container-azm-ms-agentconfig is absent"),
    ],
    ids=["kube-system excluded", "no agent ConfigMap, private cluster"],
)
def test_an_agent_that_leaves_kube_system_out_is_named(az, emulator, make_cluster, settings, private, said):
    cluster = monitored(make_cluster, emulator, settings=settings, private=private)
    result = history(az, cluster, "--since", "30d")
    assert result.code != 0 and "Traceback" not in result.err
    assert said in result.err and "Container Insights does not collect kube-system" in result.err
    assert "remove kube-system from exclude_namespaces" in result.err and "ingestion" in result.err
    assert len(log_queries(emulator)) == 1
    run_commands = [r for r in emulator.requests() if r["path"].lower().endswith("/runcommand")]
    assert len(run_commands) == (1 if private else 0)  # the ConfigMap read, through the cluster-access seam


def test_a_partial_answer_gives_its_rows_and_a_warning(az, emulator, make_cluster):
    cluster = monitored(make_cluster, emulator)
    whole = history(az, cluster, "--since", "30d").json["rows"]
    emulator.add_fault(path_contains="/v1/", method="POST", action="partial", keep=18)  # half the containers
    result = history(az, cluster, "--since", "30d")
    assert result.code == 0, result.err
    assert "answered only part of the query" in result.err and "PartialError" in result.err
    assert 0 < len(result.json["rows"]) < len(whole)


def test_throttling_is_retried(az, emulator, make_cluster):
    cluster = monitored(make_cluster, emulator)
    emulator.add_fault(path_contains="/v1/", method="POST", status=429, retry_after=1, times=2)
    result = history(az, cluster, "--since", "30d")
    assert result.code == 0, result.err
    assert [q["status"] for q in log_queries(emulator)] == [429, 429, 200]
    assert result.json["summary"]["imagesRemoved"] == 48


def test_a_query_past_the_time_limit_is_one_line(az, emulator, make_cluster):
    cluster = monitored(make_cluster, emulator)
    emulator.add_fault(path_contains="/v1/", method="POST", status=504, code="GatewayTimeout", times=99)
    result = history(az, cluster, "--since", "30d", env={"AZURE_IMAGECLEANER_RETRY_SECONDS": "2"})
    assert result.code != 0 and "Traceback" not in result.err
    assert "time limit (504)" in result.err and "shorter window" in result.err


def test_show_query_prints_the_kql_and_runs_nothing(az, emulator, make_cluster):
    cluster = monitored(make_cluster, emulator, days=0)
    result = history(az, cluster, "--since", "7d", "--show-query")
    assert result.code == 0, result.err
    assert result.json["timespan"] == "PT604800S" and "ContainerLogV2" in result.json["query"]
    assert log_queries(emulator) == []
    old = az("aks", "image-cleaner", "report", *cluster.args, "--history", "--query", "query", "-o", "tsv")
    assert old.code == 0 and "ContainerLog" in old.out and "deprecated" in old.err


def test_a_fleet_is_one_query_per_workspace(az, emulator, make_cluster):
    group = f"hist-{uuid.uuid4().hex[:8]}"
    first = [monitored(make_cluster, emulator, workspace="ws-a", group=group) for _ in range(3)]
    second = [monitored(make_cluster, emulator, workspace="ws-b", group=group) for _ in range(2)]
    excluded = monitored(make_cluster, emulator, workspace="ws-b", settings=LEAVE_KUBE_SYSTEM_OUT, group=group)
    bare = make_cluster(image_cleaner=(True, 48), resource_group=group)
    emulator.clear_requests()
    result = az("aks", "image-cleaner", "report", "--all", "-g", group, "--since", "30d", "-o", "json")
    assert result.code == 0, result.err
    rows = {r["name"]: r for r in result.json}
    assert {rows[c.name]["history"] for c in first + second} == {"kept"}
    assert all(rows[c.name]["summary"]["imagesRemoved"] == 48 for c in first + second)
    assert rows[excluded.name]["history"] == "no Eraser log lines in the window"
    assert rows[bare.name]["history"] == "no monitoring add-on" and rows[bare.name]["images"] == []
    # A row per image and outcome over every node and run: the same weekly images removed on each of 3 nodes.
    images = rows[first[0].name]["images"]
    removed = [i for i in images if i["outcome"] == "removed"]
    assert sum(i["runs"] for i in removed) == 48 and all(i["nodes"] == 3 for i in removed)
    assert {i["outcome"] for i in images} == {"removed", "removal failed"}
    assert all(i["first"] <= i["last"] for i in images) and "rows" not in rows[first[0].name]
    queries = log_queries(emulator)
    assert len(queries) == 2 and all(q["path"].lower().startswith("/v1/workspaces/") for q in queries)
    asked = {
        frozenset(json.loads(q["body"]["query"].split("let clusters = dynamic(")[1].split(");")[0])) for q in queries
    }
    # Each workspace's clusters, in lower case as the service stores `_ResourceId`.
    assert asked == {frozenset(cluster_id(c).lower() for c in members) for members in (first, [*second, excluded])}
    table = az("aks", "image-cleaner", "report", "--all", "-g", group, "--since", "30d", "-o", "table")
    assert "ImagesRemoved" in table.out.splitlines()[0] and "no monitoring add-on" in table.out
    # The help's example: the vulnerable images each cluster removed.
    query = "[].{cluster: name, removed: images[?vulnerable && outcome=='removed'].image}"
    found = az("aks", "image-cleaner", "report", "--all", "-g", group, "--since", "30d", "--query", query, "-o", "json")
    removed = {r["cluster"]: sorted(r["removed"]) for r in found.json}
    assert removed[first[0].name] == [
        "docker.io/library/alpine:3.7.3",
        "docker.io/library/redis:6.0.5",
        "myregistry.azurecr.io/payments/api:2.3.1",
    ]
    assert removed[bare.name] == []


def test_a_failed_workspace_query_costs_only_its_own_clusters(az, emulator, make_cluster):
    group = f"hist-{uuid.uuid4().hex[:8]}"
    readable = [monitored(make_cluster, emulator, workspace="ws-open", group=group) for _ in range(2)]
    refused = [monitored(make_cluster, emulator, workspace="ws-closed", group=group) for _ in range(2)]
    command = ("aks", "image-cleaner", "report", "--all", "-g", group, "--since", "30d")
    assert az(*command, "-o", "json").code == 0
    # The closed workspace's query path (by its customer ID), as az asked for it: the one listing its clusters.
    closed = next(
        q["path"] for q in log_queries(emulator) if cluster_id(refused[0]).lower() in q["body"]["query"]
    )  # fmt: skip
    emulator.clear_requests()
    emulator.add_fault(path_contains=closed, method="POST", status=403, code="InsufficientAccessError", times=99)
    result = az(*command, "-o", "json")
    assert result.code == 1 and "Traceback" not in result.err
    rows = {r["name"]: r for r in result.json}
    assert {rows[c.name]["history"] for c in readable} == {"kept"}
    assert all(rows[c.name]["summary"]["imagesRemoved"] == 48 for c in readable)
    for cluster in refused:
        assert rows[cluster.name]["history"] == "query failed" and rows[cluster.name]["images"] == []
        assert "refused the query" in rows[cluster.name]["error"] and "(403)" in rows[cluster.name]["error"]
    assert "2 of 4 cluster(s) have no history here because their query failed" in result.err
    assert sorted(q["status"] for q in log_queries(emulator)) == [200, 403]  # a 403 is not retried
