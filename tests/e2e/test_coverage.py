"""`az aks image-cleaner coverage` through the real az: every node's status against the latest run, from what the
emulator's Container Insights sampled of 30 days of runs (nodes, pods, Warning events, the workers' logs), or, without
the monitoring add-on, from the live cluster; for a fleet, one query per workspace. The faults are those AKS users
report (../shared/image-cleaner-coverage.md), injected into the latest run (armemulator/eraser/pods.py)."""

import uuid

import pytest

from armemulator.kubernetes.auth import CLUSTER_ADMIN, READER
from tests.e2e.test_enterprise_access import body as access_body
from tests.e2e.test_history import COLLECT_KUBE_SYSTEM, WORKSPACE, cluster_id, log_queries, ref

LINUX = [f"aks-nodepool1-{n}" for n in range(8)]
WINDOWS = ["akswin1000000", "akswin1000001"]
VIRTUAL = "virtual-node-aci-linux"
FAULTS = {
    "aks-nodepool1-1": "down",  # Azure/AKS#5580: no worker pod
    "aks-nodepool1-2": "outofcpu",  # Azure/AKS#3824: rejected at admission
    "aks-nodepool1-3": "oomkilled",  # eraser#777: the scanner over its memory limit
    "aks-nodepool1-4": "imagepull",  # eraser#911: stuck Pending
    "aks-nodepool1-5": "preempt",  # Azure/AKS#4344: two workload pods preempted, the worker pod runs
}


def cluster_body(monitoring="ws-cover", nodes=8, windows=True, virtual=True, private=False, aad=False, profile=False):
    """A cluster with Image Cleaner on; Container Insights sending to workspace `monitoring` through the monitoring
    add-on, or with `profile` through the Azure Monitor profile (az 2.91's --enable-azure-monitor-logs)."""
    doc = access_body(private=private, aad=aad, local_accounts=not aad)
    properties = doc["properties"]
    properties["securityProfile"]["imageCleaner"] = {"enabled": True, "intervalHours": 168}
    properties["agentPoolProfiles"][0]["count"] = nodes
    if windows:
        properties["agentPoolProfiles"].append(
            {"name": "win1", "count": 2, "osType": "Windows", "mode": "User", "vmSize": "Standard_D4s_v3"}
        )
    if virtual:
        properties["addonProfiles"]["aciConnectorLinux"] = {"enabled": True, "config": {"SubnetName": "vn"}}
    if monitoring and profile:
        properties["azureMonitorProfile"] = {
            "containerInsights": {"enabled": True, "logAnalyticsWorkspaceResourceId": WORKSPACE.format(monitoring)}
        }
    elif monitoring:
        properties["addonProfiles"]["omsagent"] = {
            "enabled": True,
            # onboarded with managed identity, as az does by default: the add-on has a data collection rule
            "config": {"logAnalyticsWorkspaceResourceID": WORKSPACE.format(monitoring), "useAADAuth": "true"},
        }
    return doc


def agent(emulator, cluster, settings=COLLECT_KUBE_SYSTEM):
    configmap = {
        "metadata": {"name": "container-azm-ms-agentconfig", "namespace": "kube-system"},
        "data": {"schema-version": "v1", "log-data-collection-settings": settings},
    }
    emulator.put_configmap(*ref(cluster), configmap)


@pytest.fixture
def group():
    return f"cover-{uuid.uuid4().hex[:8]}"


def coverage(az, *args, env=None):
    return az("aks", "image-cleaner", "coverage", *args, "-o", "json", env=env)


def statuses(result):
    return {n["node"]: n["status"] for n in result.json["nodes"]}


def test_every_status_from_thirty_days_of_container_insights(az, emulator, make_cluster, group):
    cluster = make_cluster(body=cluster_body(), resource_group=group)
    agent(emulator, cluster)
    emulator.node(*ref(cluster), "aks-nodepool1-6", labels={"eraser.sh/cleanup.filter": ""})
    assert emulator.history(*ref(cluster), days=30, faults=FAULTS) == 4
    emulator.node(*ref(cluster), "aks-nodepool1-8", hours_ago=2)  # joined after the latest run
    emulator.clear_requests()
    result = coverage(az, *cluster.args)
    assert result.code == 0, result.err
    assert statuses(result) == {
        "aks-nodepool1-0": "covered",
        "aks-nodepool1-1": "missed",
        "aks-nodepool1-2": "failed",
        "aks-nodepool1-3": "failed",
        "aks-nodepool1-4": "failed",
        "aks-nodepool1-5": "covered",
        "aks-nodepool1-6": "unsupported",
        "aks-nodepool1-7": "covered",
        "aks-nodepool1-8": "new",
        **dict.fromkeys(WINDOWS, "unsupported"),
        VIRTUAL: "unsupported",
    }
    nodes = {n["node"]: n for n in result.json["nodes"]}
    assert "OutOfcpu" in nodes["aks-nodepool1-2"]["reason"] and "OOMKilled" in nodes["aks-nodepool1-3"]["reason"]
    assert (
        "stuck Pending" in nodes["aks-nodepool1-4"]["reason"]
        and "ImagePullBackOff" in nodes["aks-nodepool1-4"]["reason"]
    )
    assert "got no worker pod" in nodes["aks-nodepool1-1"]["reason"]
    assert "Windows" in nodes[WINDOWS[0]]["reason"] and "virtual" in nodes[VIRTUAL]["reason"]
    assert "eraser.sh/cleanup.filter" in nodes["aks-nodepool1-6"]["reason"]
    # Four weekly runs reached the healthy nodes; the missed one, three.
    assert (nodes["aks-nodepool1-0"]["runs"], nodes["aks-nodepool1-1"]["runs"]) == (4, 3)
    assert nodes["aks-nodepool1-0"]["lastRun"] > nodes["aks-nodepool1-1"]["lastRun"]
    summary = result.json["summary"]
    assert (summary["covered"], summary["missed"], summary["failed"], summary["unsupported"], summary["new"]) == (
        3, 1, 3, 4, 1
    )  # fmt: skip
    assert summary["gaps"] == 4 and summary["runs"] == 4 and summary["evidence"] == "container insights"
    assert summary["nextRunDue"] > summary["latestRun"]
    assert summary["preemptedPods"] == 2
    assert {(p["namespace"], p["pod"], p["node"]) for p in summary["preempted"]} == {
        ("shop", "checkout-7b9c-x2lkq", "aks-nodepool1-5"),
        ("shop", "cart-5d4f-9wrtz", "aks-nodepool1-5"),
    }
    (query,) = log_queries(emulator)  # one resource-centric query
    assert query["path"].lower() == f"/v1{cluster_id(cluster)}/query".lower()
    assert "KubeNodeInventory" in query["body"]["query"] and "KubeEvents" in query["body"]["query"]
    assert not [r for r in emulator.requests() if "/k8s/" in r["path"]]  # the cluster itself was not asked
    gate = az("aks", "image-cleaner", "coverage", *cluster.args, "--query", "summary.gaps", "-o", "tsv")
    assert (gate.code, gate.out.strip()) == (0, "4")
    table = az("aks", "image-cleaner", "coverage", *cluster.args, "-o", "table")
    assert table.out.splitlines()[0].split() == ["Node", "Status", "LastRun", "Runs", "Reason"]


def test_a_schedule_that_stopped_leaves_every_node_overdue(az, emulator, make_cluster, group):
    cluster = make_cluster(body=cluster_body(nodes=3, windows=False, virtual=False), resource_group=group)
    agent(emulator, cluster)
    assert emulator.history(*ref(cluster), days=45, stopped_days=12) >= 4
    result = coverage(az, *cluster.args, "--since", "45d")
    assert result.code == 0, result.err
    assert set(statuses(result).values()) == {"overdue"}
    assert all("no run since" in n["reason"] for n in result.json["nodes"])
    assert result.json["summary"]["gaps"] == 3


def test_a_long_inventory_interval_is_said_and_no_node_is_called_missed_on_it(az, emulator, make_cluster, group):
    cluster = make_cluster(body=cluster_body(nodes=4, windows=False, virtual=False), resource_group=group)
    # No agent ConfigMap: the workers' logs are not collected (kube-system is left out), only the inventory.
    emulator.monitoring(*ref(cluster), interval="30m")
    emulator.history(*ref(cluster), days=30, faults={"aks-nodepool1-1": "down"})
    result = coverage(az, *cluster.args)
    assert result.code == 0, result.err
    found = statuses(result)
    assert "missed" not in found.values() and found["aks-nodepool1-1"] == "unknown"
    assert "sampled every 30 minutes" in result.err and "'unknown', not 'missed'" in result.err
    assert result.json["summary"]["inventoryIntervalMinutes"] == 30


def test_an_inventory_without_kube_system_is_said(az, emulator, make_cluster, group):
    cluster = make_cluster(body=cluster_body(nodes=3, windows=False, virtual=False), resource_group=group)
    agent(emulator, cluster)
    emulator.monitoring(*ref(cluster), namespaceFilteringMode="Exclude", namespaces=["kube-system"])
    emulator.history(*ref(cluster), days=30)
    result = coverage(az, *cluster.args)
    assert result.code == 0, result.err
    assert set(statuses(result).values()) == {"unknown"}
    assert "leaves kube-system out" in result.err and result.json["summary"]["gaps"] == 0


@pytest.mark.parametrize("kind", ["public", "private", "private + managed AAD"])
def test_without_monitoring_the_live_run_is_judged_and_past_runs_are_said_to_need_the_add_on(
    az, emulator, make_cluster, group, kind
):
    aad = "AAD" in kind
    doc = cluster_body(monitoring=None, nodes=3, windows=True, virtual=False, private="private" in kind, aad=aad)
    cluster = make_cluster(body=doc, resource_group=group)
    if aad:
        # The nodes are cluster-scoped: reading them needs RBAC Cluster Admin (../shared/aks-access.md §3).
        emulator.role_assignments(*ref(cluster), (READER, None))
        denied = coverage(az, *cluster.args)
        assert denied.code == 1 and "Traceback" not in denied.err
        assert "list nodes needs the role 'Azure Kubernetes Service RBAC Cluster Admin'" in denied.err
        emulator.role_assignments(*ref(cluster), (CLUSTER_ADMIN, None))
    before = coverage(az, *cluster.args)
    assert before.code == 0, before.err
    assert set(statuses(before).values()) == {"unknown", "unsupported"}  # no run to judge: never 'covered'
    assert f"az aks enable-addons -a monitoring -g {cluster.resource_group} -n {cluster.name}" in before.err
    emulator.node_fault(*ref(cluster), "aks-nodepool1-2", "outofcpu")
    emulator.scheduled_run(*ref(cluster))
    emulator.clear_requests()
    result = coverage(az, *cluster.args)
    assert result.code == 0, result.err
    found = statuses(result)
    assert {k: found[k] for k in LINUX[:3]} == {
        "aks-nodepool1-0": "covered",
        "aks-nodepool1-1": "covered",
        "aks-nodepool1-2": "failed",
    }
    assert result.json["summary"]["evidence"] == "live" and "monitoring" in result.err
    assert log_queries(emulator) == []
    run_commands = [r for r in emulator.requests() if r["path"].lower().endswith("/runcommand")]
    assert len(run_commands) == (1 if "private" in kind else 0)  # the whole live view in one run-command
    if aad and "private" in kind:
        assert run_commands[0]["body"].get("clusterToken")  # kubectl in the pod acts as the caller


def test_an_add_on_that_sent_no_inventory_leaves_the_live_cluster_to_judge(az, emulator, make_cluster, group):
    # The add-on is on, but its agent has sent nothing yet (just enabled, or not running), and no run is on.
    cluster = make_cluster(body=cluster_body(nodes=3, windows=False, virtual=False), resource_group=group)
    emulator.clear_requests()
    result = coverage(az, *cluster.args)
    assert result.code == 0, result.err
    assert "holds no inventory" in result.err and "shows only the run in progress or just finished" in result.err
    assert "enable-addons" not in result.err  # it is on
    assert result.json["summary"]["evidence"] == "live"
    assert set(statuses(result).values()) == {"unknown"}  # no run to judge: never 'covered'
    assert len(log_queries(emulator)) == 1 and [r for r in emulator.requests() if "/k8s/" in r["path"]]


def test_a_fleet_is_one_query_per_workspace_and_lists_every_cluster(az, emulator, make_cluster, group):
    small = {"nodes": 3, "windows": False, "virtual": False}
    first = [make_cluster(body=cluster_body("ws-fa", **small), resource_group=group) for _ in range(2)]
    second = make_cluster(body=cluster_body("ws-fb", **small), resource_group=group)
    bare = make_cluster(body=cluster_body(None, **small), resource_group=group)
    off = make_cluster(image_cleaner=(False, 72), resource_group=group)
    for number, cluster in enumerate([*first, second]):
        agent(emulator, cluster)
        emulator.history(*ref(cluster), days=30, faults={"aks-nodepool1-0": "down"} if number == 0 else None)
    emulator.clear_requests()
    result = az("aks", "image-cleaner", "coverage", "--all", "-g", group, "-o", "json")
    assert result.code == 0, result.err
    rows = {r["name"]: r for r in result.json}
    assert rows[first[0].name]["coverage"] == "judged" and rows[first[0].name]["summary"]["gaps"] == 1
    assert [n["node"] for n in rows[first[0].name]["gapNodes"]] == ["aks-nodepool1-0"]
    assert rows[first[1].name]["summary"]["gaps"] == 0 and rows[second.name]["summary"]["covered"] == 3
    assert rows[bare.name]["coverage"] == "no monitoring add-on" and rows[off.name]["coverage"] == "image cleaner off"
    queries = log_queries(emulator)
    assert len(queries) == 2 and all(q["path"].lower().startswith("/v1/workspaces/") for q in queries)
    table = az("aks", "image-cleaner", "coverage", "--all", "-g", group, "-o", "table")
    assert table.out.splitlines()[0].split() == [
        "Name", "ResourceGroup", "Coverage", "Nodes", "Covered", "Gaps", "LatestRun", "Preempted"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "args, message",
    [
        (["-g", "rg", "-n", "c", "--since", "7"], "--since 7 is not a window of time"),
        (["-g", "rg", "-n", "c", "--since", "P1M"], "--since P1M is not a window of time"),
        (["-n", "c"], "Give the cluster with --resource-group and --name"),
        (["-g", "rg", "-n", "c", "--all"], "--name names one cluster; --all and --ids choose a fleet"),
        (["--all", "--ids", "/subscriptions/x"], "Choose the clusters one way only: --all or --ids"),
        (["--subscriptions", "Prod"], "--subscriptions and --management-group narrow a fleet: add --all"),
        (["--ids", "/subscriptions/x/resourceGroups/rg"], "is not a managed cluster resource ID"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(az, emulator, args, message):
    emulator.clear_requests()
    result = coverage(az, *args)
    assert result.code != 0 and message in result.err
    assert "Traceback" not in result.err and result.out == ""
    assert emulator.requests() == []
