"""Coverage's rules (eraser/coverage.py): each status and what the evidence is worth, without mocks; and one
set of facts read both ways (the live cluster's objects, and the query over what Container Insights sampled, run on
the emulator's KQL engine) giving the same statuses."""

import datetime
import time

import pytest

from armemulator.arm.clusters import sample_cluster
from armemulator.arm.store import Store
from armemulator.kubernetes.objects import KUBE_SYSTEM
from azext_imagecleaner.eraser import coverage as cv
from azext_imagecleaner.monitor import coverage_query as cq

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)
LIVE = cv.Evidence("live", NOW - HOUR, "imagejob-a", 1)
# Container Insights at its default interval (1 minute) with the workers' logs collected: conclusive.
SAMPLED = cv.Evidence("container insights", NOW - HOUR, "imagejob-a", 4, 1.0, True, True, 8.0)


def node(name="aks-nodepool1-0", **fields):
    values = {"os": "linux", "virtual": False, "filtered": False, "joined": NOW - 100 * 24 * HOUR}
    values.update(fields)
    return cv.Node(name, **values)


def status(n, evidence=SAMPLED, hours=168, now=NOW):
    return cv.judge(n, evidence, hours, now)[0]


def test_a_node_whose_pod_completed_in_the_latest_run_is_covered():
    assert status(node(pod="p", pod_status="Succeeded", pod_created=NOW - HOUR)) == cv.COVERED


def test_windows_virtual_and_filtered_nodes_are_unsupported_whatever_the_evidence():
    for n in (node(os="windows"), node(virtual=True), node(filtered=True)):
        assert status(n) == status(n, LIVE) == cv.UNSUPPORTED


def test_a_node_there_when_the_run_began_without_a_pod_is_missed_only_on_conclusive_evidence():
    assert status(node()) == cv.MISSED
    assert status(node(), LIVE) == cv.MISSED  # the API server lists every pod of the run
    sparse = SAMPLED._replace(interval_minutes=30.0, logs_collected=False)
    assert not cv.conclusive(sparse)
    assert status(node(), sparse) == cv.UNKNOWN
    assert status(node(logged=True), sparse) == cv.UNKNOWN  # it logged, but no sample shows how it ended


def test_an_inventory_without_kube_system_can_tell_nothing():
    assert status(node(pod="p", pod_status="Succeeded"), SAMPLED._replace(kube_system=False)) == cv.UNKNOWN


def test_failed_and_stuck_pods_are_failed_with_their_reason():
    failed = node(pod="p", pod_status="Failed", pod_created=NOW - HOUR, reasons=("OutOfcpu",))
    assert cv.judge(failed, SAMPLED, 168, NOW) == (cv.FAILED, "its worker pod p failed: OutOfcpu")
    stuck = node(pod="p", pod_status="Pending", pod_created=NOW - HOUR, reasons=("ImagePullBackOff", "BackOff"))
    found, reason = cv.judge(stuck, SAMPLED, 168, NOW)
    assert found == cv.FAILED and "stuck Pending" in reason and "(ImagePullBackOff)" in reason
    # Pending for minutes is a pod starting, not a failure.
    starting = node(pod="p", pod_status="Pending", pod_created=NOW - datetime.timedelta(minutes=2))
    assert status(starting) == cv.RUNNING


def test_a_node_that_joined_after_the_run_is_new_for_one_interval_then_overdue():
    assert status(node(joined=NOW - HOUR / 2)) == cv.NEW  # the run began an hour ago
    late = SAMPLED._replace(latest_start=NOW - 200 * HOUR)
    assert status(node(joined=NOW - 190 * HOUR), late) == cv.OVERDUE


def test_no_run_within_the_interval_and_its_grace_is_overdue_unless_runs_can_go_unseen():
    old = SAMPLED._replace(latest_start=NOW - (168 + cv.GRACE_HOURS + 1) * HOUR)
    assert status(node(pod="p", pod_status="Succeeded"), old) == cv.OVERDUE
    assert status(node(pod="p", pod_status="Succeeded"), old._replace(latest_start=NOW - 169 * HOUR)) == cv.COVERED
    unseen = old._replace(interval_minutes=30.0, logs_collected=False)
    assert status(node(pod="p", pod_status="Succeeded"), unseen) == cv.UNKNOWN
    # No run at all in the window.
    assert status(node(), SAMPLED._replace(latest_start=None)) == cv.OVERDUE
    assert status(node(), LIVE._replace(latest_start=None)) == cv.UNKNOWN  # the live cluster keeps no past


def test_the_summary_counts_every_status_and_the_gaps():
    nodes = [
        node("a", pod="p", pod_status="Succeeded"),
        node("b"),
        node("c", pod="q", pod_status="Failed"),
        node("d", os="windows"),
    ]
    summary = cv.report(nodes, SAMPLED, 168, NOW)["summary"]
    assert (summary["covered"], summary["missed"], summary["failed"], summary["unsupported"]) == (1, 1, 1, 1)
    assert summary["gaps"] == 2 and summary["nodes"] == 4
    assert summary["nextRunDue"] == "2026-12-07T11:00:00Z"


def test_the_notes_say_what_the_evidence_cannot_show():
    assert cv.notes(SAMPLED) == cv.notes(LIVE) == []
    assert "sampled every 30 minutes" in cv.notes(SAMPLED._replace(interval_minutes=30.0, logs_collected=False))[0]
    assert "leaves kube-system out" in cv.notes(SAMPLED._replace(kube_system=False))[0]


# --- the same run, read live and from Container Insights ------------------------------------------------------


FAULTS = {"aks-nodepool1-1": "down", "aks-nodepool1-2": "outofcpu", "aks-nodepool1-3": "oomkilled",
          "aks-nodepool1-4": "imagepull", "aks-nodepool1-5": "preempt"}  # fmt: skip
WORKSPACE = "/subscriptions/s/resourceGroups/logs/providers/Microsoft.OperationalInsights/workspaces/ws"
AGENT = (
    "[log_collection_settings.stdout]\nenabled = true\nexclude_namespaces = []\n"
    "[log_collection_settings.stderr]\nenabled = true\nexclude_namespaces = []\n"
)


@pytest.fixture
def one_run():
    """A cluster of 7 Linux nodes (one filtered), 2 Windows and a virtual node, with Container Insights collecting
    kube-system, after one scheduled run with FAULTS: (store, cluster ID, when to judge)."""
    ticks = [0.0]
    store = Store(clock=lambda: ticks[0])
    store.kube_run_seconds = 2.0
    body = sample_cluster(image_cleaner={"enabled": True, "intervalHours": 168}, windows_pool=True, virtual_node=True)
    body["properties"]["agentPoolProfiles"][0]["count"] = 7
    body["properties"]["addonProfiles"]["omsagent"] = {
        "enabled": True,
        "config": {"logAnalyticsWorkspaceResourceID": WORKSPACE},
    }
    sub = store.subscriptions and next(iter(store.subscriptions))
    doc = store.seed_cluster(sub, "rg", "c1", body)
    kube = store.kube_cluster(sub, "rg", "c1")
    kube.create_configmap(
        KUBE_SYSTEM,
        {"metadata": {"name": "container-azm-ms-agentconfig"}, "data": {"log-data-collection-settings": AGENT}},
    )
    kube.nodes["aks-nodepool1-6"]["metadata"]["labels"]["eraser.sh/cleanup.filter"] = ""
    eraser = store.eraser_of(sub, "rg", "c1")
    for name, fault in FAULTS.items():
        eraser.set_node_fault(name, fault)
    eraser.start_scheduled_run()
    ticks[0] = 60.0  # every pod that ends has ended; none is deleted yet (their TTL is 10 minutes)
    store.kube_cluster(sub, "rg", "c1")
    return store, kube, doc["id"], datetime.datetime.fromtimestamp(time.time() + 60, datetime.timezone.utc)


def _judged(facts, now):
    evidence, nodes, preempted = facts
    result = cv.report(nodes, evidence, 168, now, preempted)
    return {n["node"]: (n["status"], n["pod"], n["runs"]) for n in result["nodes"]}, result["summary"]["preempted"]


def test_one_run_read_live_and_from_container_insights_gives_the_same_statuses(one_run):
    store, kube, resource_id, now = one_run
    pods = [p["object"] for (namespace, _), p in kube.pods.items() if namespace == KUBE_SYSTEM]
    live = cv.from_live(list(kube.nodes.values()), pods, list(kube.imagejobs.values()), kube.list_events()["items"])
    result = store.logs.query(cq.query(), "P1D", resource=resource_id, now=now.replace(tzinfo=None))
    names = [name for name, _ in result.columns]
    rows = [dict(zip(names, row, strict=True)) for row in result.rows]
    sampled = cv.from_rows(rows)[resource_id.lower()]
    assert sampled[0].source == "container insights" and cv.conclusive(sampled[0])
    live_nodes, live_preempted = _judged(live, now)
    sampled_nodes, sampled_preempted = _judged(sampled, now)
    assert live_nodes == sampled_nodes
    assert live_preempted == sampled_preempted and len(live_preempted) == 2
    assert {n: s for n, (s, _, _) in live_nodes.items()} == {
        "aks-nodepool1-0": cv.COVERED,
        "aks-nodepool1-1": cv.MISSED,
        "aks-nodepool1-2": cv.FAILED,
        "aks-nodepool1-3": cv.FAILED,
        "aks-nodepool1-4": cv.RUNNING,  # Pending a minute: not yet stuck
        "aks-nodepool1-5": cv.COVERED,
        "aks-nodepool1-6": cv.UNSUPPORTED,
        "akswin1000000": cv.UNSUPPORTED,
        "akswin1000001": cv.UNSUPPORTED,
        "virtual-node-aci-linux": cv.UNSUPPORTED,
    }
    later = now + datetime.timedelta(minutes=cv.STUCK_MINUTES + 1)
    assert _judged(live, later)[0]["aks-nodepool1-4"][0] == _judged(sampled, later)[0]["aks-nodepool1-4"][0]
