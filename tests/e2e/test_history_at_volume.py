"""`report --since` at the volume real fleets log, through the real az: the emulator's Log Analytics holds Eraser's
lines at real sizes (30 candidates a node and run, 20 of them vulnerable: ../shared/container-insights.md §6) and
answers within the query API's limits, lowered here so that a few clusters reach them (§4). The history is computed
by the query; an answer the service cut is asked again in parts; lines past 16 KB arrive in parts (§2)."""

import datetime
import json
import uuid

import pytest

from tests.e2e.test_enterprise_access import body as access_body
from tests.e2e.test_history import COLLECT_KUBE_SYSTEM, WORKSPACE, cluster_id, log_queries, ref

# What varies here is what the emulator's Log Analytics answers (sizes, limits, parts): the az calls under it are
# those test_history.py makes on every az release (azure-monitor-query 1.2.0, which every supported az ships), so
# the az-release matrix leaves this module out (scripts/test-matrix.sh).
pytestmark = pytest.mark.same_on_every_az

MULTILINE = COLLECT_KUBE_SYSTEM + '   [log_collection_settings.enable_multiline_logs]\n      enabled = "true"\n'
RUNS, NODES, CANDIDATES, VULNERABLE = 4, 3, 30, 20  # 30 days of a weekly schedule


def monitored(make_cluster, emulator, workspace, group, settings=COLLECT_KUBE_SYSTEM, candidates=CANDIDATES,
              vulnerable=VULNERABLE, days=30, aad=False):  # fmt: skip
    """A cluster whose monitoring add-on sends to `workspace`, with `days` of weekly runs at real sizes."""
    doc = access_body(aad=aad, local_accounts=not aad)
    doc["properties"]["securityProfile"]["imageCleaner"] = {"enabled": True, "intervalHours": 168}
    doc["properties"]["addonProfiles"]["omsagent"] = {
        "enabled": True,
        "config": {"logAnalyticsWorkspaceResourceID": WORKSPACE.format(workspace)},
    }
    cluster = make_cluster(body=doc, resource_group=group)
    configmap = {
        "metadata": {"name": "container-azm-ms-agentconfig", "namespace": "kube-system"},
        "data": {"schema-version": "v1", "log-data-collection-settings": settings},
    }
    emulator.put_configmap(*ref(cluster), configmap)
    if days:
        assert emulator.history(*ref(cluster), days=days, candidates=candidates, vulnerable=vulnerable) == RUNS
    emulator.clear_requests()
    return cluster


@pytest.fixture
def group():
    return f"vol-{uuid.uuid4().hex[:8]}"


def fleet(az, group, env=None):
    result = az("aks", "image-cleaner", "report", "--all", "-g", group, "--since", "30d", "-o", "json", env=env)
    assert result.code == 0, result.err
    return {r["name"]: r for r in result.json}, result


def expected_summary(vulnerable=VULNERABLE):
    removed = RUNS * NODES * vulnerable
    return {"imagesRemoved": removed, "vulnerableRemoved": removed, "failures": 0}


def assert_exact(row, vulnerable=VULNERABLE):
    """Every figure of a cluster's history at real sizes: each vulnerable image removed on every node in every run."""
    assert row["history"] == "kept", row
    assert {k: row["summary"][k] for k in ("imagesRemoved", "vulnerableRemoved", "failures")} == expected_summary(
        vulnerable
    )
    removed = [i for i in row["images"] if i["outcome"] == "removed"]
    assert len(removed) == vulnerable and {i["outcome"] for i in row["images"]} == {"removed"}
    assert all((i["nodes"], i["runs"], i["vulnerable"]) == (NODES, RUNS * NODES, True) for i in removed)
    assert row["totals"]["byOutcome"] == {"removed": RUNS * NODES * vulnerable}
    assert row["totals"]["byNode"] == {f"aks-nodepool1-{n}": {"removed": RUNS * vulnerable} for n in range(NODES)}


def test_a_workspace_whose_lines_exceed_the_limits_gives_every_cluster_s_exact_figures(
    az, emulator, make_cluster, group
):
    limit = 400_000
    emulator.configure(log_max_bytes=limit)
    clusters = [monitored(make_cluster, emulator, "ws-volume", group) for _ in range(4)]
    held = {w: t["ContainerLogV2"]["bytes"] for w, t in emulator.logs().items() if "ContainerLogV2" in t}
    # The raw lines alone would be several times past the answer limit: sent line by line, the answer is cut.
    assert max(held.values()) > 4 * limit
    rows, result = fleet(az, group)
    for cluster in clusters:
        assert_exact(rows[cluster.name])
    (query,) = log_queries(emulator)  # one query for the workspace, whole
    assert query["status"] == 200 and query["answer_bytes"] < limit
    assert "incomplete" not in result.err and "cut" not in result.err


def test_a_cut_fleet_answer_is_asked_again_in_parts_until_each_is_whole(az, emulator, make_cluster, group):
    clusters = [monitored(make_cluster, emulator, "ws-parts", group) for _ in range(4)]
    whole, _ = fleet(az, group)
    emulator.clear_requests()
    # A cluster's history is 24 rows here: 4 clusters' answer is past 40 records, 2 clusters' too, 1's is not.
    emulator.configure(log_max_records=40)
    rows, result = fleet(az, group)
    assert rows == whole and "incomplete" not in result.err
    for cluster in clusters:
        assert_exact(rows[cluster.name])
    queries = log_queries(emulator)
    asked = [len(q["body"]["query"].split("let clusters = dynamic(")[1].split(");")[0].split(",")) for q in queries]
    assert sorted(asked, reverse=True) == [4, 2, 2, 1, 1, 1, 1]  # halved until each answer is whole
    assert all(q["status"] == 200 for q in queries)


def test_a_single_cluster_whose_answer_is_cut_is_split_and_complete(az, emulator, make_cluster, group):
    cluster = monitored(make_cluster, emulator, "ws-single", group)
    command = ("aks", "image-cleaner", "report", *cluster.args, "--since", "30d", "-o", "json")
    whole = az(*command)
    assert whole.code == 0, whole.err
    assert len(whole.json["rows"]) == RUNS * NODES * VULNERABLE
    emulator.clear_requests()
    emulator.configure(log_max_records=100)  # one node's month is 80 rows; the cluster's 240
    cut = az(*command)
    assert cut.code == 0, cut.err
    assert cut.json == whole.json and "incomplete" not in cut.err
    queries = log_queries(emulator)
    assert len(queries) >= 3 and all(q["path"].lower() == f"/v1{cluster_id(cluster)}/query".lower() for q in queries)
    parts = [q["body"]["query"] for q in queries[1:]]
    assert all("hash_sha256(Computer)" in text for text in parts)  # asked again for parts of its nodes


def test_a_cut_that_parts_cannot_mend_in_the_budget_is_one_line_and_no_history(az, emulator, make_cluster, group):
    cluster = monitored(make_cluster, emulator, "ws-stuck", group)
    emulator.configure(log_max_records=5)
    command = ("aks", "image-cleaner", "report", *cluster.args, "--since", "30d", "-o", "json")
    result = az(*command, env={"AZURE_IMAGECLEANER_RETRY_SECONDS": "1"})
    assert result.code != 0 and "Traceback" not in result.err and result.out == ""
    assert "cut its answer" in result.err and "a cut answer is not shown as a history" in result.err
    assert "--since" in result.err


_TIMES = ("first", "last", "time")


def _seconds(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def assert_same_but_when_laid(items, others):
    """`items` and `others` (two clusters' images or rows) hold the same entries, every field equal, but for their
    times: each cluster's runs are laid from the moment it was seeded, at another fraction of a second, and times
    print in whole seconds. So times are compared from each cluster's earliest, to within a second."""

    def keyed(entries):
        start = min(_seconds(e[t]) for e in entries for t in _TIMES if e.get(t))
        found = {}
        for entry in entries:
            key = json.dumps({k: v for k, v in entry.items() if k not in _TIMES}, sort_keys=True)
            found.setdefault(key, []).append(sorted(_seconds(entry[t]) - start for t in _TIMES if entry.get(t)))
        return {key: sorted(times) for key, times in found.items()}

    mine, theirs = keyed(items), keyed(others)
    assert mine.keys() == theirs.keys()
    for key, times in mine.items():
        assert len(times) == len(theirs[key]), key
        for a, b in zip(times, theirs[key], strict=True):
            assert all(abs(x - y) <= 1 for x, y in zip(a, b, strict=True)), key


def test_lines_past_16_kb_in_parts_change_no_figure(az, emulator, make_cluster, group):
    many = 100  # the collector's `images collected` and the scanner's `Vulnerable` lines are past 16 KB
    parts = monitored(make_cluster, emulator, "ws-long", group, candidates=many, vulnerable=85)
    stitched = monitored(make_cluster, emulator, "ws-long", group, settings=MULTILINE, candidates=many, vulnerable=85)
    rows, _ = fleet(az, group)
    for cluster in (parts, stitched):
        assert_exact(rows[cluster.name], vulnerable=85)
    assert_same_but_when_laid(rows[parts.name]["images"], rows[stitched.name]["images"])
    # Each part is skipped, and counted: two lines a node and run arrive in two parts each.
    one = az("aks", "image-cleaner", "report", *parts.args, "--since", "30d", "-o", "json").json
    other = az("aks", "image-cleaner", "report", *stitched.args, "--since", "30d", "-o", "json").json
    assert one["skippedLines"] == RUNS * NODES * 4 and other["skippedLines"] == 0
    assert_same_but_when_laid([dict(r, pod=None) for r in one["rows"]], [dict(r, pod=None) for r in other["rows"]])


def test_the_live_report_and_the_history_of_the_same_run_agree(az, emulator, make_cluster, group):
    """On a managed-AAD cluster with local accounts disabled: the live report reads the pods' logs through the API
    server (whole lines), the history reads what the agent kept (lines past 16 KB in parts)."""
    cluster = monitored(make_cluster, emulator, "ws-live", group, days=0, aad=True)
    emulator.role_assignments(*ref(cluster), ("Azure Kubernetes Service RBAC Writer", None))
    emulator.scheduled_run(*ref(cluster), candidates=100, vulnerable=85)
    live = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json")
    history = az("aks", "image-cleaner", "report", *cluster.args, "--since", "1d", "-o", "json")
    assert live.code == 0 and history.code == 0, live.err + history.err

    def key(row):
        return (row["node"], row["pod"], row["image"] or "", row["outcome"])

    assert sorted(history.json["rows"], key=key) == sorted(live.json["rows"], key=key)
    assert len(live.json["rows"]) == NODES * 85
    assert history.json["totals"] == live.json["totals"]
    assert live.json["skippedLines"] == 0 and history.json["skippedLines"] == NODES * 4  # the parts
