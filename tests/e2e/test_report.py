"""`az aks image-cleaner report` through the real az, on the emulator's simulated Eraser pods."""

import json

from armemulator.clusters import sample_cluster
from tests.e2e.test_cluster_side import ALPINE, NGINX, REDIS

NODES = {"aks-nodepool1-0", "aks-nodepool1-1", "aks-nodepool1-2"}


def test_report_after_a_manual_run_node_by_node(az, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    assert (
        az("aks", "image-cleaner", "exclusion", "add", *cluster.args, "--images", "docker.io/library/redis:*").code == 0
    )
    assert az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, NGINX, REDIS, "--wait").code == 0
    result = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json")
    assert result.code == 0, result.err
    rows = result.json["rows"]
    assert {(r["node"], r["image"], r["outcome"]) for r in rows} == {
        (node, image, outcome)
        for node in NODES
        for image, outcome in ((ALPINE, "removed"), (NGINX, "running"), (REDIS, "excluded"))
    }
    assert all(r["digest"].startswith("sha256:") and r["time"] for r in rows)
    assert all(r["vulnerable"] is None for r in rows)  # no scanner in a manual run
    assert result.json["totals"]["byOutcome"] == {"excluded": 3, "removed": 3, "running": 3}
    assert result.json["totals"]["byNode"]["aks-nodepool1-1"] == {"excluded": 1, "removed": 1, "running": 1}
    assert result.json["skippedLines"] == 0


def test_report_table_has_a_footer(az, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait")
    table = az("aks", "image-cleaner", "report", *cluster.args, "-o", "table").out.splitlines()
    assert table[0].split()[:4] == ["Node", "Image", "Digest", "Outcome"]
    footer = [line for line in table if "(total)" in line]
    assert len(footer) == 4  # one per node, one for all nodes
    assert footer[-1].startswith("all nodes") and "removed 3" in footer[-1]


def test_scheduled_run_shows_what_the_scanner_found(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    emulator.scheduled_run(cluster.subscription, cluster.resource_group, cluster.name)
    rows = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json").json["rows"]
    removed = {r["image"] for r in rows if r["outcome"] == "removed"}
    assert removed == {ALPINE, REDIS, "myregistry.azurecr.io/payments/api:2.3.1"}
    assert all(r["vulnerable"] is True for r in rows if r["outcome"] == "removed")
    failed = [r for r in rows if r["outcome"] == "removal failed"]
    assert {r["node"] for r in failed} == NODES and all("in use" in r["detail"] for r in failed)


def test_report_from_saved_logs_matches_the_live_one_and_skips_garbage(az, emulator, make_cluster, tmp_path):
    cluster = make_cluster(image_cleaner=(True, 48))
    az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, NGINX, "--wait")
    live = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json").json
    assert az("aks", "image-cleaner", "logs", *cluster.args, "--output-dir", str(tmp_path)).code == 0
    index = json.loads((tmp_path / "index.json").read_text())["logs"]
    with open(index[0]["file"], "a") as f:
        f.write("panic: not json\n" + json.dumps({"logger": "kubelet", "msg": "foreign"}) + "\n")
    saved = az("aks", "image-cleaner", "report", *cluster.args, "--from-dir", str(tmp_path), "-o", "json")
    assert saved.code == 0, saved.err
    assert saved.json["rows"] == live["rows"]
    assert saved.json["skippedLines"] == 2
    assert "Skipped 2 line(s)" in saved.err


def test_report_from_dir_needs_no_cluster_access(az, emulator, make_cluster, tmp_path):
    cluster = make_cluster(image_cleaner=(True, 48))
    az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait")
    az("aks", "image-cleaner", "logs", *cluster.args, "--output-dir", str(tmp_path))
    emulator.clear_requests()
    saved = az("aks", "image-cleaner", "report", *cluster.args, "--from-dir", str(tmp_path), "-o", "json")
    assert len(saved.json["rows"]) == 3
    assert not [r for r in emulator.requests() if "/k8s/" in r["path"]]


def test_missing_folder(az, make_cluster, tmp_path):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "image-cleaner", "report", *cluster.args, "--from-dir", str(tmp_path / "nope"))
    assert result.code != 0 and "is not a folder" in result.err and "Traceback" not in result.err


def test_history_query_with_the_pod_names_and_workspace(az, make_cluster):
    body = sample_cluster(image_cleaner=(True, 48))
    workspace = "/subscriptions/x/resourceGroups/logs/providers/Microsoft.OperationalInsights/workspaces/ws1"
    body["properties"]["addonProfiles"]["omsagent"] = {
        "enabled": True,
        "config": {"logAnalyticsWorkspaceResourceID": workspace},
    }
    cluster = make_cluster(body=body)
    az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait")
    result = az("aks", "image-cleaner", "report", *cluster.args, "--history", "-o", "json")
    assert result.code == 0, result.err
    pods = result.json["pods"]
    assert len(pods) == 3 and all(p.startswith("eraser-aks-") for p in pods)
    assert all(f'"{p}"' in result.json["query"] for p in pods)
    assert result.json["workspaceResourceId"] == workspace
    assert result.json["command"].startswith(
        f"az monitor log-analytics query -w $(az monitor log-analytics "
        f'workspace show --ids "{workspace}" --query customerId -o tsv)'
    )


def test_history_without_container_insights_warns(az, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "image-cleaner", "report", *cluster.args, "--history", "-o", "json")
    assert result.code == 0, result.err
    assert 'PodName startswith "eraser-"' in result.json["query"]
    assert "<WORKSPACE_GUID>" in result.json["command"]
    assert "Container Insights is not on" in result.err


def test_no_worker_pods(az, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "image-cleaner", "report", *cluster.args, "-o", "json")
    assert result.code == 0 and result.json["rows"] == []
    assert "report --history" in result.err
