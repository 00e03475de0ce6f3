"""`az aks image-cleaner run | exclusion | logs | status` through the real az, the real kubernetes client,
and the emulator's Kubernetes API with its simulated Eraser controller."""

import json
import os
import re

import pytest

ALPINE = "docker.io/library/alpine:3.7.3"
NGINX = "docker.io/library/nginx:1.19.0"  # running on every node: never removed
REDIS = "docker.io/library/redis:6.0.5"


@pytest.fixture
def cleaner_cluster(make_cluster):
    """A cluster with Image Cleaner on: three Linux nodes, Eraser installed."""
    return make_cluster(image_cleaner=(True, 48))


def kube_requests(emulator, cluster, method=None, contains=""):
    prefix = f"/k8s/{cluster.subscription}/{cluster.resource_group}/{cluster.name}/"
    return [
        r
        for r in emulator.requests()
        if r["path"].startswith(prefix) and contains in r["path"] and (method is None or r["method"] == method)
    ]


def kube(emulator, cluster):
    return emulator.kube(cluster.subscription, cluster.resource_group, cluster.name)


def remover_logs(emulator, cluster):
    return [p["logs"]["remover"] for p in kube(emulator, cluster)["pods"] if "remover" in p["logs"]]


# --- run -------------------------------------------------------------------------------------------------


def test_run_writes_the_imagelist_named_imagelist_and_waits_for_the_counts(az, emulator, cleaner_cluster):
    result = az("aks", "image-cleaner", "run", *cleaner_cluster.args, "--images", ALPINE, NGINX, "--wait", "-o", "json")
    assert result.code == 0, result.err
    assert result.json["status"]["success"] == 3
    assert result.json["status"]["failed"] == 0
    assert result.json["images"] == [ALPINE, NGINX]
    (post,) = kube_requests(emulator, cleaner_cluster, "POST", "imagelists")
    assert post["body"]["metadata"]["name"] == "imagelist"
    assert post["body"]["apiVersion"] == "eraser.sh/v1" and post["body"]["spec"]["images"] == [ALPINE, NGINX]
    logs = remover_logs(emulator, cleaner_cluster)
    assert len(logs) == 3
    assert all('"msg":"removed image","given":"docker.io/library/alpine:3.7.3"' in log for log in logs)
    assert all('"msg":"image is running","given":"docker.io/library/nginx:1.19.0"' in log for log in logs)


def test_running_the_same_list_again_really_runs_again(az, emulator, cleaner_cluster):
    for _ in range(2):
        result = az("aks", "image-cleaner", "run", *cleaner_cluster.args, "--images", REDIS, "--wait")
        assert result.code == 0, result.err
    methods = [
        r["method"]
        for r in kube_requests(emulator, cleaner_cluster, contains="imagelists")
        if r["method"] in ("POST", "DELETE")
    ]
    assert methods == ["POST", "DELETE", "POST"]
    snapshot = kube(emulator, cleaner_cluster)
    assert snapshot["runs"] == 2  # the controller acted twice, not once
    assert "replaced the previous ImageList" in result.err
    workers = [p for p in snapshot["pods"] if p["metadata"]["name"].startswith("eraser-aks-")]
    assert len(workers) == 6
    assert sum('"msg":"removed image"' in p["logs"]["remover"] for p in workers) == 3  # first run
    assert sum('"msg":"image is not on node"' in p["logs"]["remover"] for p in workers) == 3  # second run


def test_run_all_prunes_every_unused_image(az, emulator, cleaner_cluster):
    result = az("aks", "image-cleaner", "run", *cleaner_cluster.args, "--all", "--wait", "-o", "json")
    assert result.code == 0, result.err
    assert kube(emulator, cleaner_cluster)["imagelists"][0]["spec"]["images"] == ["*"]
    # docker.io/library/locked:1.0 cannot be removed: every node reports the prune as failed.
    assert result.json["status"]["failed"] == 3
    assert "failed on 3 node(s)" in result.err
    assert all('"error during prune"' in log for log in remover_logs(emulator, cleaner_cluster))


def test_windows_nodes_are_counted_as_skipped(az, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48), windows_pool=True)
    result = az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE, "--wait", "-o", "json")
    assert result.code == 0, result.err
    assert (result.json["status"]["success"], result.json["status"]["skipped"]) == (3, 2)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--images", "Not An Image"], "'Not An Image' is not an image reference"),
        (["--images", "docker.io/library/alpine:"], "is not an image reference"),
        (["--images", ALPINE, "--all"], "--images and --all cannot be used together"),
        ([], "Say which images to remove"),
    ],
)
def test_bad_run_input_is_refused_before_anything_is_sent(az, emulator, cleaner_cluster, args, message):
    result = az("aks", "image-cleaner", "run", *cleaner_cluster.args, *args)
    assert result.code != 0
    assert message in result.err
    assert "Traceback" not in result.err
    assert emulator.requests() == []


def test_run_on_a_cluster_without_image_cleaner_says_how_to_enable_it(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(False, 72))
    result = az("aks", "image-cleaner", "run", *cluster.args, "--images", ALPINE)
    assert result.code != 0
    assert "Image Cleaner is not enabled there" in result.err
    assert f"az aks update -g {cluster.resource_group} -n {cluster.name} --enable-image-cleaner" in result.err
    assert kube_requests(emulator, cluster, "POST") == []


def test_wait_is_bounded(az, emulator, cleaner_cluster):
    emulator.configure(kube_run_seconds=60)
    result = az("aks", "image-cleaner", "run", *cleaner_cluster.args, "--images", ALPINE, "--wait", "--timeout", "3")
    assert result.code != 0
    assert "did not finish within 3 s" in result.err
    assert "az aks image-cleaner status" in result.err


# --- exclusion lists -------------------------------------------------------------------------------------


def test_exclusion_add_creates_the_labelled_list_with_a_json_key(az, emulator, cleaner_cluster):
    result = az(
        "aks",
        "image-cleaner",
        "exclusion",
        "add",
        *cleaner_cluster.args,
        "--images",
        "docker.io/library/*",
        "myregistry.azurecr.io/payments/api:*",
        "-o",
        "json",
    )
    assert result.code == 0, result.err
    (configmap,) = [
        c for c in kube(emulator, cleaner_cluster)["configmaps"] if c["metadata"]["name"] == "imagecleaner-exclusions"
    ]
    assert configmap["metadata"]["namespace"] == "kube-system"
    assert configmap["metadata"]["labels"] == {"eraser.sh/exclude.list": "true"}
    assert json.loads(configmap["data"]["excluded.json"]) == {
        "excluded": ["docker.io/library/*", "myregistry.azurecr.io/payments/api:*"]
    }
    assert result.json["excluded"] == ["docker.io/library/*", "myregistry.azurecr.io/payments/api:*"]


def test_exclusions_are_honoured_by_the_next_run(az, emulator, cleaner_cluster):
    assert az("aks", "image-cleaner", "exclusion", "add", *cleaner_cluster.args, "--images", ALPINE).code == 0
    assert az("aks", "image-cleaner", "run", *cleaner_cluster.args, "--images", ALPINE, "--wait").code == 0
    assert all('"msg":"image is excluded"' in log for log in remover_logs(emulator, cleaner_cluster))


def test_exclusion_add_and_remove_merge_and_warn(az, emulator, cleaner_cluster):
    az("aks", "image-cleaner", "exclusion", "add", *cleaner_cluster.args, "--images", ALPINE, REDIS)
    again = az(
        "aks", "image-cleaner", "exclusion", "add", *cleaner_cluster.args, "--images", REDIS, NGINX, "-o", "json"
    )
    assert again.json["excluded"] == [ALPINE, REDIS, NGINX]
    removed = az(
        "aks",
        "image-cleaner",
        "exclusion",
        "remove",
        *cleaner_cluster.args,
        "--images",
        REDIS,
        "docker.io/library/never-added:1",
        "-o",
        "json",
    )
    assert removed.code == 0, removed.err
    assert removed.json["excluded"] == [ALPINE, NGINX]
    assert "docker.io/library/never-added:1 is not in kube-system/imagecleaner-exclusions" in removed.err
    puts = kube_requests(emulator, cleaner_cluster, "PUT", "configmaps/imagecleaner-exclusions")
    assert all(p["body"]["metadata"]["resourceVersion"] for p in puts)  # optimistic concurrency


def test_exclusion_list_shows_system_and_user_lists_and_warns_about_ignored_ones(az, emulator, cleaner_cluster):
    emulator.put_configmap(
        cleaner_cluster.subscription,
        cleaner_cluster.resource_group,
        cleaner_cluster.name,
        {
            "metadata": {
                "name": "team-a-exclusions",
                "namespace": "kube-system",
                "labels": {"eraser.sh/exclude.list": "true"},
            },
            "data": {"excluded": json.dumps({"excluded": ["docker.io/team-a/*"]})},
        },
    )
    az("aks", "image-cleaner", "exclusion", "add", *cleaner_cluster.args, "--images", ALPINE)
    result = az("aks", "image-cleaner", "exclusion", "list", *cleaner_cluster.args, "-o", "json")
    assert result.code == 0, result.err
    rows = {r["configMap"]: r for r in result.json}
    assert rows["eraser-system-exclusion"]["readOnly"] is True
    assert rows["eraser-system-exclusion"]["kind"] == "system"
    assert rows["imagecleaner-exclusions"]["excluded"] == [ALPINE]
    assert rows["team-a-exclusions"]["problem"].startswith("ignored by Eraser: no data key ends in '.json'")
    assert "ConfigMap kube-system/team-a-exclusions is ignored by Eraser" in result.err
    table = az("aks", "image-cleaner", "exclusion", "list", *cleaner_cluster.args, "-o", "table")
    assert "eraser-system-exclusion  system" in table.out


@pytest.mark.parametrize("pattern", ["*", "UPPER/case:*", "docker.io/library/alpine:3.7.3:*"])
def test_bad_exclusion_patterns_are_refused_before_anything_is_sent(az, emulator, cleaner_cluster, pattern):
    result = az("aks", "image-cleaner", "exclusion", "add", *cleaner_cluster.args, "--images", pattern)
    assert result.code != 0
    assert "Traceback" not in result.err
    assert emulator.requests() == []


# --- logs ------------------------------------------------------------------------------------------------


def test_logs_are_saved_with_an_index(az, emulator, cleaner_cluster, tmp_path):
    az("aks", "image-cleaner", "run", *cleaner_cluster.args, "--images", ALPINE, "--wait")
    result = az("aks", "image-cleaner", "logs", *cleaner_cluster.args, "--output-dir", str(tmp_path), "-o", "json")
    assert result.code == 0, result.err
    index = json.loads((tmp_path / "index.json").read_text())["logs"]
    assert {e["node"] for e in index} == {"aks-nodepool1-0", "aks-nodepool1-1", "aks-nodepool1-2"}
    for entry in index:
        assert entry["container"] == "remover"
        assert '"msg":"removed image"' in open(entry["file"]).read()
    assert result.json == index


def test_logs_filtered_by_node_and_container(az, emulator, cleaner_cluster):
    emulator.scheduled_run(cleaner_cluster.subscription, cleaner_cluster.resource_group, cleaner_cluster.name)
    result = az(
        "aks",
        "image-cleaner",
        "logs",
        *cleaner_cluster.args,
        "--node",
        "aks-nodepool1-1",
        "--container",
        "trivy-scanner",
        "-o",
        "json",
    )
    assert result.code == 0, result.err
    (entry,) = result.json
    assert (entry["node"], entry["container"]) == ("aks-nodepool1-1", "trivy-scanner")
    assert '"msg":"vulnerable image found"' in entry["log"]


def test_no_worker_pod_points_to_container_insights(az, emulator, cleaner_cluster):
    result = az("aks", "image-cleaner", "logs", *cleaner_cluster.args, "-o", "json")
    assert result.code == 0, result.err
    assert result.json == []
    assert "No Eraser worker pod is running" in result.err
    assert "Container Insights" in result.err


def test_logs_vanish_with_the_pods(az, emulator, cleaner_cluster):
    emulator.configure(kube_pod_ttl_seconds=0)
    az("aks", "image-cleaner", "run", *cleaner_cluster.args, "--images", ALPINE, "--wait")
    result = az("aks", "image-cleaner", "logs", *cleaner_cluster.args, "-o", "json")
    assert result.json == [] and "Container Insights" in result.err


# --- status ----------------------------------------------------------------------------------------------


def test_status_before_and_after_a_run(az, emulator, cleaner_cluster):
    before = az("aks", "image-cleaner", "status", *cleaner_cluster.args, "-o", "json")
    assert before.code == 0, before.err
    assert before.json["enabled"] is True and before.json["intervalHours"] == 48
    assert before.json["eraserVersion"] == "v1.4.0"
    assert before.json["lastManualRun"] == {"state": "none"}
    az("aks", "image-cleaner", "run", *cleaner_cluster.args, "--images", ALPINE, "--wait")
    after = az("aks", "image-cleaner", "status", *cleaner_cluster.args, "-o", "json").json
    assert after["lastManualRun"]["state"] == "finished"
    assert (after["lastManualRun"]["success"], after["lastManualRun"]["failed"]) == (3, 0)
    assert len(after["workerPods"]) == 3
    table = az("aks", "image-cleaner", "status", *cleaner_cluster.args, "-o", "table").out
    assert "v1.4.0" in table and "finished" in table


# --- how the cluster is reached --------------------------------------------------------------------------


def test_credentials_come_from_arm_and_never_touch_the_users_kubeconfig(az, emulator, cleaner_cluster, tmp_path):
    result = az("aks", "image-cleaner", "status", *cleaner_cluster.args, env={"HOME": str(tmp_path)})
    assert result.code == 0, result.err
    assert not (tmp_path / ".kube").exists()
    posts = [r["path"] for r in emulator.requests() if r["method"] == "POST"]
    assert any(p.lower().endswith("/listclusterusercredential") for p in posts)


def test_admin_credentials(az, emulator, cleaner_cluster):
    assert az("aks", "image-cleaner", "status", *cleaner_cluster.args, "--admin").code == 0
    posts = [r["path"].lower() for r in emulator.requests() if r["method"] == "POST"]
    assert any(p.endswith("/listclusteradmincredential") for p in posts)
    assert not any(p.endswith("/listclusterusercredential") for p in posts)


def test_an_existing_kubeconfig_and_context(az, emulator, cleaner_cluster, tmp_path):
    path = tmp_path / "config"
    fetched = az("aks", "get-credentials", *cleaner_cluster.args, "--file", str(path))
    assert fetched.code == 0, fetched.err
    emulator.clear_requests()
    result = az(
        "aks",
        "image-cleaner",
        "status",
        *cleaner_cluster.args,
        "--kubeconfig",
        str(path),
        "--context",
        cleaner_cluster.name,
        "-o",
        "json",
    )
    assert result.code == 0, result.err
    assert not any("credential" in r["path"].lower() for r in emulator.requests())
    assert kube_requests(emulator, cleaner_cluster)


def test_refused_credentials_are_a_clear_error(az, cleaner_cluster, tmp_path):
    path = tmp_path / "config"
    az("aks", "get-credentials", *cleaner_cluster.args, "--file", str(path))
    path.write_text(re.sub(r"token: clusterUser-\w+", "token: stolen-token", path.read_text()))
    result = az("aks", "image-cleaner", "status", *cleaner_cluster.args, "--kubeconfig", str(path))
    assert result.code != 0
    assert "refused the request (401 Unauthorized" in result.err
    assert "--admin" in result.err
    assert "Traceback" not in result.err


def test_missing_kubeconfig_file(az, emulator, cleaner_cluster, tmp_path):
    result = az(
        "aks", "image-cleaner", "status", *cleaner_cluster.args, "--kubeconfig", os.path.join(str(tmp_path), "nope")
    )
    assert result.code != 0
    assert "Traceback" not in result.err
