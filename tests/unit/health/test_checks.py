"""The checks of `az aks image-cleaner check` (pure): each fault's status, evidence and fix."""

from azext_imagecleaner.eraser import statements
from azext_imagecleaner.health import checks as hc


def controller_pod(restarts=0, reason=None, phase="Running", ready=True):
    status = {"restartCount": restarts, "ready": ready, "lastState": {}}
    if reason:
        status["lastState"] = {"terminated": {"reason": reason, "finishedAt": "2026-12-01T00:00:00Z"}}
    return {"metadata": {"name": "eraser-controller-manager-7d9f8b6c5-x2x4q"},
            "status": {"phase": phase, "containerStatuses": [status]}}  # fmt: skip


def test_setting_off_fails_with_the_command_that_turns_it_on():
    found = hc.setting(False, 72, "rg", "c1")
    assert (found.status, found.fix) == (hc.FAIL, "az aks update -g rg -n c1 --enable-image-cleaner")
    assert "its interval, 72 hours, is kept" in found.detail
    assert hc.setting(True, 168, "rg", "c1").status == hc.PASS


def test_node_pools_never_cleaned():
    found = hc.node_pools([("nodepool1", "Linux"), ("win1", "Windows")], True, ["aks-nodepool1-2"])
    assert found.status == hc.WARN
    assert "win1" in found.detail and "aciConnectorLinux" in found.detail and "aks-nodepool1-2" in found.detail
    assert found.fix == "kubectl label node aks-nodepool1-2 eraser.sh/cleanup.filter-"
    assert hc.node_pools([("nodepool1", "Linux")], False, []).status == hc.PASS


def test_controller_oomkilled_fails_other_restarts_warn_none_passes():
    assert hc.controller([controller_pod(3, "OOMKilled")], True, "rg", "c").status == hc.FAIL
    assert hc.controller([controller_pod(1, "Error")], True, "rg", "c").status == hc.WARN
    assert hc.controller([controller_pod()], True, "rg", "c").status == hc.PASS
    assert hc.controller([controller_pod(ready=False)], True, "rg", "c").status == hc.FAIL
    missing = hc.controller([], True, "rg", "c")
    assert missing.status == hc.FAIL and "--disable-image-cleaner" in missing.fix
    assert hc.controller([], False, "rg", "c").status == hc.SKIP


def test_podtemplates_whose_imagejob_is_gone_and_jobs_at_once():
    jobs = [{"metadata": {"name": n}, "status": {"phase": "Running"}} for n in ("imagejob-a", "imagejob-b")]
    owner = [{"kind": "ImageJob", "name": "imagejob-gone"}]
    templates = [
        {"metadata": {"name": "imagejob-a", "ownerReferences": [{"kind": "ImageJob", "name": "imagejob-a"}]}},
        {"metadata": {"name": "imagejob-gone", "ownerReferences": owner}},
    ]
    found = hc.image_jobs(jobs, templates)
    assert found.status == hc.WARN
    assert "2 ImageJobs run at once" in found.detail
    assert found.fix == "kubectl delete podtemplate -n kube-system imagejob-gone"
    assert hc.image_jobs(jobs[:1], templates[:1]).status == hc.PASS
    assert hc.image_jobs(None, None).status == hc.SKIP


def test_scanner_share_of_removals_whose_scan_failed():
    def row(scan, image):
        return {"outcome": statements.REMOVED, "scan": scan, "image": image, "node": "n"}

    half = [row(statements.SCAN_FAILED, "a"), row(statements.VULNERABLE, "b")]
    assert hc.scanner(half, "the runs").status == hc.FAIL
    some = [row(statements.SCAN_FAILED, "a"), row(statements.VULNERABLE, "b"), row(statements.VULNERABLE, "c")]
    found = hc.scanner(some, "the runs")
    assert found.status == hc.WARN and "1 of 3 removal(s) (33%)" in found.detail
    assert found.fix.startswith("az aks image-cleaner exclusion add")
    assert hc.scanner([row(statements.VULNERABLE, "b")], "the runs").status == hc.PASS
    assert hc.scanner([], "the runs").status == hc.SKIP


def test_history_pipeline():
    assert hc.history(False, None, None, 168, "rg", "c").fix == "az aks enable-addons -a monitoring -g rg -n c"
    assert hc.history(True, "kube-system is excluded", 30, 168, "rg", "c").status == hc.FAIL
    short = hc.history(True, None, 7, 168, "rg", "c")
    assert short.status == hc.WARN and "fewer than two intervals (14 days)" in short.detail
    assert hc.history(True, None, 30, 168, "rg", "c").status == hc.PASS
    assert "could not be read: no role" in hc.history(True, None, None, 168, "rg", "c", "no role").detail


def test_history_says_what_it_could_not_read_only_where_it_passes():
    unknowns = (("the agent collects kube-system", "no role."), ("the rule keeps it", None), ("the rule", "gone"))
    kept = hc.history(True, None, 30, 168, "rg", "c", unknowns=unknowns)
    assert kept.status == hc.PASS
    assert kept.detail.endswith(
        " Whether the agent collects kube-system could not be read: no role. Whether the rule could not be read: gone."
    )
    short = hc.history(True, None, 7, 168, "rg", "c", unknowns=unknowns)
    assert short.status == hc.WARN and "could not be read" not in short.detail


def test_exclusion_lists_eraser_cannot_read():
    good = {"metadata": {"name": "mine"}, "data": {"keep.json": '{"excluded": ["a"]}'}}
    wrong_key = {"metadata": {"name": "team"}, "data": {"excluded": '{"excluded": ["a"]}'}}
    not_json = {"metadata": {"name": "bad"}, "data": {"x.json": "{excluded: a"}}
    found = hc.exclusion_lists([good, wrong_key, not_json])
    assert found.status == hc.FAIL
    assert "team: ignored by Eraser: no data key ends in '.json'" in found.detail
    assert "bad: ignored by Eraser" in found.detail
    assert hc.exclusion_lists([good]).status == hc.PASS


def test_version_against_what_aks_documents():
    assert hc.version(["v1.3.1"], "1.32.7", "rg", "c").status == hc.PASS
    behind = hc.version(["v1.2.3"], "1.32.7", "rg", "c")
    assert behind.status == hc.WARN and "behind v1.3.1" in behind.detail
    assert hc.version(["v1.4.0"], "1.35.1", "rg", "c").status == hc.WARN  # v1.4.0 < v1.4.0-10
    assert hc.version(["v1.4.1"], "1.35.1", "rg", "c").status == hc.PASS
    assert hc.version(["v1.3.1"], "1.34.0", "rg", "c").status == hc.SKIP  # not documented
    assert hc.version([], "1.32.0", "rg", "c").status == hc.SKIP


def test_result_orders_checks_and_counts_them():
    found = hc.result([hc.skipped(hc.VERSION, "x"), hc.setting(False, None, "rg", "c"), hc.access("api-server", False)])
    assert [c["name"] for c in found["checks"]] == ["setting", "access", "version"]
    assert found["summary"] == {"pass": 1, "warn": 0, "fail": 1, "skip": 1}
