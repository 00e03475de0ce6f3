"""Every log statement of Eraser v1.0.0 to v1.4.1 (../shared/eraser-log-statements.md), each version's shape,
and the real excerpts of ../shared/eraser-logs-real/, through the report parser."""

import json

import pytest

from azext_imagecleaner.eraser.report import Parsed, parse_lines, report

TS = 1731308367.6420007
ID = "sha256:60eb709f2e5c30f4067e605271d1b1bfff0e32f633a5a02f55a74aa448bfafbc"
TAG = "localhost/kubernetes/pause:0.1.0"
REPO_DIGEST = "localhost/kubernetes/pause@sha256:" + "d" * 64
IMG = {"image_id": ID, "names": [TAG], "digests": [REPO_DIGEST]}
ERR = {"error": "rpc error: code = Unavailable desc = connection error", "stacktrace": "main.main\n\t/x.go:1"}
NO_ROW = None


def zap(logger, msg, level="info", **fields):
    """A line as zap's production JSON encoder writes it, scanner lines with their constant provider."""
    entry = {"level": level, "ts": TS, "logger": logger, "msg": msg}
    if logger == "scanner":
        entry["provider"] = "trivy"
    entry.update(fields)
    return json.dumps(entry)


def outcomes(lines, container):
    result = report(parse_lines(lines, "aks-nodepool1-0", container, pod="eraser-aks-x"))
    return [(r["outcome"], r["image"]) for r in result["rows"]]


# (statement row, container, logger, level, msg, fields, expected outcome or NO_ROW)
STATEMENTS = [
    (1, "remover", "remover", "error", "pprof server failed", ERR, "other"),
    (2, "remover", "remover", "info", "remover starting", {"imageListPtr": "", "criPath": "/run/cri.sock"}, NO_ROW),
    (3, "remover", "remover", "error", "failed to get image client", ERR, "run failed"),
    (4, "remover", "remover", "info", "CRI client created successfully", {}, NO_ROW),
    (5, "remover", "remover", "info", "imageListPtr is empty, waiting for scan erase path", {}, NO_ROW),
    (6, "remover", "remover", "info", "imageListPtr provided, parsing image list file", {"path": "/l"}, NO_ROW),
    (7, "remover", "remover", "error", "error opening scanErase pipe", ERR, "run failed"),
    (8, "remover", "remover", "error", "error reading non-compliant images", ERR, "run failed"),
    (9, "remover", "remover", "error", "error closing non-compliant images file", ERR, "run failed"),
    (10, "remover", "remover", "error", "error in unmarshal non-compliant images", ERR, "run failed"),
    (11, "remover", "remover", "info", "successfully created imagelist from scanned non-compliant images", {}, NO_ROW),
    (12, "remover", "remover", "info", "attempting to parse image list file", {"path": "/l"}, NO_ROW),
    (13, "remover", "remover", "error", "failed to parse image list file", {"path": "/l", **ERR}, "run failed"),
    (14, "remover", "remover", "info", "successfully parsed image list file", {"count": 1, "images": [TAG]}, NO_ROW),
    (15, "remover", "remover", "info", "configmaps for exclusion do not exist", {}, NO_ROW),
    (16, "remover", "remover", "error", "failed to parse exclusion list", ERR, "run failed"),
    (17, "remover", "remover", "info", "no images to exclude", {}, NO_ROW),
    (18, "remover", "remover", "error", "failed to remove images", ERR, "run failed"),
    (19, "remover", "remover", "error", "error recording metrics", ERR, "other"),
    (20, "remover", "remover", "error", "unable to open pipe", {"pipeFile": "/p", **ERR}, "run failed"),
    (21, "remover", "remover", "error", "unable to write to pipe", {"pipeFile": "/p", **ERR}, "run failed"),
    (22, "remover", "remover", "error", "unable to close pipe", {"pipeFile": "/p", **ERR}, "run failed"),
    (26, "remover", "remover", "error", "error processing digest", ERR, "other"),
    (27, "remover", "remover", "debug", "Map of non-running images", {"nonRunningImages": {ID: ID}}, NO_ROW),
    (28, "remover", "remover", "debug", "Map of running images", {"runningImages": {}}, NO_ROW),
    (29, "remover", "remover", "debug", "Map of digest to image name(s)", {"idToImageMap": {ID: IMG}}, NO_ROW),
    (30, "remover", "remover", "info", "image is excluded", {"given": TAG, "imageID": ID, "name": IMG}, "excluded"),
    (
        31,
        "remover",
        "remover",
        "error",
        "error removing image",
        {"given": ID, "imageID": ID, "name": IMG, **ERR},
        "removal failed",
    ),
    (32, "remover", "remover", "info", "removed image", {"given": ID, "imageID": ID, "name": IMG}, "removed"),
    (33, "remover", "remover", "info", "image is running", {"given": ID, "imageID": ID, "name": IMG}, "running"),
    (34, "remover", "remover", "info", "image is not on node", {"given": TAG}, "not on node"),
    (35, "remover", "remover", "info", "image is excluded", {"imageID": ID, "name": IMG}, "excluded"),
    (36, "remover", "remover", "error", "error removing image", {"imageID": ID, "name": IMG, **ERR}, "removal failed"),
    (37, "remover", "remover", "info", "removed image", {"digest": ID}, "removed"),
    (38, "remover", "remover", "info", "prune successful", {}, NO_ROW),
    (39, "remover", "remover", "info", "error during prune", {}, "removal failed"),
    (40, "collector", "collector", "error", "pprof server failed", ERR, "other"),
    (41, "collector", "collector", "error", "failed to get image client", ERR, "run failed"),
    (42, "collector", "collector", "info", "configmaps for exclusion do not exist", {}, NO_ROW),
    (43, "collector", "collector", "error", "failed to parse exclusion list", ERR, "run failed"),
    (44, "collector", "collector", "info", "no images to exclude", {}, NO_ROW),
    (45, "collector", "collector", "error", "failed to list all images", ERR, "run failed"),
    (46, "collector", "collector", "info", "images collected", {"finalImages:": [IMG]}, NO_ROW),
    (47, "collector", "collector", "error", "failed to encode finalImages", ERR, "run failed"),
    (48, "collector", "collector", "error", "failed to create pipe", {"pipeFile": "/p", **ERR}, "run failed"),
    (49, "collector", "collector", "error", "failed to open pipe", {"pipeFile": "/p", **ERR}, "run failed"),
    (50, "collector", "collector", "error", "failed to write to pipe", {"pipeFile": "/p", **ERR}, "run failed"),
    (51, "collector", "collector", "error", "failed to close pipe", {"pipeFile": "/p", **ERR}, "run failed"),
    (54, "collector", "collector", "error", "failed to read pipe", {"pipeFile": "/p", **ERR}, "run failed"),
    (56, "collector", "collector", "info", "garbage in pipe", {"pipeFile": "/p", "in_pipe": "x"}, "other"),
    (57, "collector", "collector", "error", "error processing digest", ERR, "other"),
    (58, "trivy-scanner", "scanner", "info", "trivy version", {"trivy version": "0.57.1"}, NO_ROW),
    (59, "trivy-scanner", "scanner", "info", "config", {"config": {"timeout": {}}}, NO_ROW),
    (60, "trivy-scanner", "scanner", "error", "unable to read config", ERR, "run failed"),
    (61, "trivy-scanner", "scanner", "debug", "userConfig", {"json": "{}", "struct": "x"}, NO_ROW),
    (62, "trivy-scanner", "scanner", "error", "unable to read images from provider", ERR, "run failed"),
    (63, "trivy-scanner", "scanner", "error", "error initializing scanner", ERR, "other"),
    (64, "trivy-scanner", "scanner", "error", "total image scan timed out", ERR, "other"),
    (65, "trivy-scanner", "scanner", "info", "Vulnerable", {"Images": [IMG], "Total count": 1}, NO_ROW),
    (66, "trivy-scanner", "scanner", "info", "Failed", {"Images": [IMG]}, NO_ROW),
    (67, "trivy-scanner", "scanner", "error", "unable to write images", ERR, "run failed"),
    (68, "trivy-scanner", "scanner", "info", "scanning complete, waiting for remover to finish...", {}, NO_ROW),
    (69, "trivy-scanner", "scanner", "error", "unable to complete scanning process", ERR, "run failed"),
    (70, "trivy-scanner", "scanner", "info", "remover job completed, shutting down...", {}, NO_ROW),
    (72, "trivy-scanner", "scanner", "error", "scan failed", ERR, "other"),
    (73, "trivy-scanner", "scanner", "info", "vulnerable image found", {"img": IMG}, NO_ROW),
    (74, "trivy-scanner", "scanner", "error", "invalid runtime provided", ERR, "run failed"),
    (75, "trivy-scanner", "scanner", "info", "scanning image with id", {"imageID": ID, "refs": [TAG]}, NO_ROW),
    (76, "trivy-scanner", "scanner", "info", "scanning image with ref", {"ref": TAG}, NO_ROW),
    (77, "trivy-scanner", "scanner", "debug", "scanning image ref", {"ref": TAG, "cli_invocation": "trivy"}, NO_ROW),
    (
        78,
        "trivy-scanner",
        "scanner",
        "error",
        "error scanning image",
        {"imageID": ID, "reference": TAG, "stderr": "FATAL", **ERR},
        NO_ROW,
    ),
    (
        79,
        "trivy-scanner",
        "scanner",
        "error",
        "error unmarshaling report",
        {"imageID": ID, "reference": TAG, "report": "", "stderr": "", **ERR},
        NO_ROW,
    ),
    (80, "trivy-scanner", "scanner", "info", "image is end of life", {"imageID": ID, "reference": TAG}, NO_ROW),
    (81, "trivy-scanner", "scanner", "error", "unable to get permissions for cri directory", ERR, "run failed"),
    (86, "trivy-scanner", "scanner", "error", "unable to read eraser config", ERR, "run failed"),
    (89, "trivy-scanner", "scanner", "error", "failed to create pipe", {"pipeName": "/p", **ERR}, "run failed"),
    (
        92,
        "trivy-scanner",
        "scanner",
        "error",
        "unable to write non-compliant images to scan erase pipe",
        ERR,
        "run failed",
    ),
    (93, "trivy-scanner", "scanner", "error", "error recording metrics", ERR, "other"),
    (97, "trivy-scanner", "scanner", "info", "garbage in pipe", {"pipeName": "/p", "in_pipe": "x"}, "other"),
    (98, "trivy-scanner", "scanner", "info", "scanning complete, exiting", {}, NO_ROW),
    ("M1", "remover", "remover", "error", "error initializing exporter", ERR, "other"),
    ("M2", "trivy-scanner", "scanner", "error", "failed to collect metrics", ERR, "other"),
    ("M3", "remover", "remover", "error", "failed to export metrics", ERR, "other"),
]


@pytest.mark.parametrize(
    "row, container, logger_name, level, msg, fields, expected", STATEMENTS, ids=[str(s[0]) for s in STATEMENTS]
)
def test_every_v1_4_1_statement(row, container, logger_name, level, msg, fields, expected):
    got = outcomes([zap(logger_name, msg, level, **fields)], container)
    if expected is NO_ROW:
        assert got == []
    else:
        assert [o for o, _ in got] == [expected]


def test_run_failures_name_the_container_and_keep_the_error_without_the_stack():
    (row,) = report(parse_lines([zap("collector", "failed to list all images", "error", **ERR)], "n1", "collector"))[
        "rows"
    ]
    assert row["outcome"] == "run failed" and row["image"] is None
    assert (
        row["detail"] == "collector: failed to list all images: rpc error: code = Unavailable desc = connection error"
    )
    assert "stacktrace" not in row["detail"] and "/x.go" not in row["detail"]


def test_a_scheduled_run_shows_names_not_image_ids():
    """v1.4.1 scheduled mode: `given` and `imageID` are the ID; the name is only in `name.names`."""
    lines = [zap("remover", verb, given=ID, imageID=ID, name=IMG) for verb in ("removed image", "image is running")]
    rows = report(parse_lines(lines, "n1", "remover"))["rows"]
    assert {(r["image"], r["digest"]) for r in rows} == {(TAG, ID)}
    assert len(rows) == 1  # one row per node and image


def test_a_name_object_without_names_falls_back_to_given_then_the_scanner_s_name():
    no_names = {"image_id": ID, "digests": [REPO_DIGEST]}
    (row,) = report(parse_lines([zap("remover", "removed image", given=TAG, imageID=ID, name=no_names)], "n", "r"))[
        "rows"
    ]
    assert row["image"] == TAG
    parsed = parse_lines([zap("scanner", "scanning image with id", imageID=ID, refs=[TAG])], "n", "trivy-scanner")
    parse_lines([zap("remover", "removed image", given=ID, imageID=ID, name={"image_id": ID})], "n", "remover", parsed)
    (row,) = report(parsed)["rows"]
    assert row["image"] == TAG  # joined by image ID to what the scanner logged


def test_prune_mode_logs_each_alias_once_per_image_and_names_come_from_the_collector():
    parsed = parse_lines([zap("collector", "images collected", **{"finalImages:": [IMG]})], "n", "collector")
    prune = [
        zap("remover", "successfully parsed image list file", count=1, images=["*"]),
        # nonRunningImages has one entry per alias (ID, tag, repo digest): three identical lines.
        *[zap("remover", "error removing image", "error", imageID=ID, name=IMG, **ERR) for _ in range(3)],
        zap("remover", "removed image", digest="sha256:" + "e" * 64),
        zap("remover", "error during prune"),
    ]
    parse_lines(prune, "n", "remover", parsed)
    rows = report(parsed)["rows"]
    assert sorted((r["image"] or "-", r["outcome"]) for r in rows) == [
        ("*", "removal failed"),
        ("-", "removed"),
        (TAG, "removal failed"),
    ]
    failed = next(r for r in rows if r["image"] == TAG)
    assert failed["detail"] == "rpc error: code = Unavailable desc = connection error"


def test_removed_twice_when_the_runtime_said_not_found_is_one_row():
    lines = [zap("remover", "removed image", given=g, imageID=ID, name=IMG) for g in (TAG, ID)]
    assert outcomes(lines, "remover") == [("removed", TAG)]


def test_a_failure_is_not_hidden_by_an_earlier_line_for_the_same_image():
    lines = [
        zap("remover", "image is excluded", imageID=ID, name=IMG),
        zap("remover", "error removing image", "error", imageID=ID, name=IMG, **ERR),
    ]
    assert outcomes(lines, "remover") == [("removal failed", TAG)]


def test_verdicts_are_joined_by_image_id_and_scan_failures_are_not_vulnerable():
    other_id = "sha256:" + "b" * 64
    other = {"image_id": other_id, "names": ["docker.io/library/redis:6.0.5"]}
    eol_id = "sha256:" + "c" * 64
    eol = {"image_id": eol_id, "names": ["docker.io/library/centos:7"]}
    clean_id = "sha256:" + "f" * 64
    clean = {"image_id": clean_id, "names": ["docker.io/library/busybox:1.36"]}
    parsed = parse_lines(
        [zap("collector", "images collected", **{"finalImages:": [IMG, other, eol, clean]})], "n", "collector"
    )
    parse_lines(
        [
            zap("scanner", "scanning image with id", imageID=ID, refs=[TAG]),
            zap("scanner", "vulnerable image found", img=IMG),
            zap("scanner", "error scanning image", "error", imageID=other_id, reference="r", stderr="", **ERR),
            zap("scanner", "image is end of life", imageID=eol_id, reference="docker.io/library/centos:7"),
            zap("scanner", "vulnerable image found", img=eol),
            zap("scanner", "Vulnerable", Images=[IMG, eol], **{"Total count": 2}),
            zap("scanner", "Failed", Images=[other]),
        ],
        "n",
        "trivy-scanner",
        parsed,
    )
    removed = [zap("remover", "removed image", given=i, imageID=i, name=o) for i, o in ((ID, IMG), (other_id, other))]
    removed += [zap("remover", "removed image", given=eol_id, imageID=eol_id, name=eol)]
    removed += [zap("remover", "image is running", given=clean_id, imageID=clean_id, name=clean)]
    parse_lines(removed, "n", "remover", parsed)
    got = {r["image"]: (r["vulnerable"], r["scan"]) for r in report(parsed)["rows"]}
    assert got == {
        TAG: (True, "vulnerable"),
        "docker.io/library/redis:6.0.5": (None, "scan failed"),
        "docker.io/library/centos:7": (True, "vulnerable (end of life)"),
        "docker.io/library/busybox:1.36": (False, "clean"),
    }


def test_a_scanner_that_never_finished_gives_no_verdict():
    parsed = parse_lines([zap("scanner", "scanning image with id", imageID=ID, refs=[TAG])], "n", "trivy-scanner")
    parse_lines([zap("remover", "removed image", given=ID, imageID=ID, name=IMG)], "n", "remover", parsed)
    (row,) = report(parsed)["rows"]
    assert (row["vulnerable"], row["scan"]) == (None, None)


def test_kubectl_timestamps_and_the_defaulted_container_banner():
    lines = [
        'Defaulted container "collector" out of: collector, remover, trivy-scanner',
        "2026-11-27T18:40:12.123456789Z " + zap("remover", "removed image", given=ID, imageID=ID, name=IMG),
    ]
    result = report(parse_lines(lines, "n", "remover"))
    assert [(r["outcome"], r["image"]) for r in result["rows"]] == [("removed", TAG)]
    assert result["skippedLines"] == 0


def test_console_format_lines_under_log_level_debug():
    lines = [
        "2026-11-27T18:40:12.000Z\tINFO\tremover\tremover starting\t" + json.dumps({"imageListPtr": "/l"}),
        "2026-11-27T18:40:12.100Z\tDEBUG\tremover\tMap of running images\t" + json.dumps({"runningImages": {}}),
        "2026-11-27T18:40:13.000Z\tINFO\tremover\tremoved image\t" + json.dumps({"given": TAG, "imageID": ID}),
        "2026-11-27T19:40:14.000+0100\tERROR\tremover\tremover/helpers.go:80\terror removing image\t"
        + json.dumps({"given": "x:1", "imageID": "sha256:x", "error": "in use"}),
        "main.removeImages",
        "\t/workspace/pkg/remover/helpers.go:80",
    ]
    result = report(parse_lines(lines, "n", "remover"))
    got = [(r["image"], r["outcome"], r["time"], r["detail"]) for r in result["rows"]]
    assert got == [
        (TAG, "removed", "2026-11-27T18:40:13Z", None),
        ("x:1", "removal failed", "2026-11-27T18:40:14Z", "in use"),
    ]
    assert result["skippedLines"] == 0


def test_v1_0_0_remover_logger_eraser_and_pre_v1_name_arrays():
    lines = [
        zap("eraser", "removed image", given=TAG, imageID=ID, name=IMG),  # v1.0.0: logger `eraser`
        zap("eraser", "image is running", given="a:1", digest="sha256:a", name=["a:1", "a:latest"]),  # v0.4/v0.5
        zap("eraser", "Removed", image="b:1"),  # v0.1 to v0.3
    ]
    assert sorted(outcomes(lines, "eraser")) == sorted([("removed", TAG), ("removed", "b:1"), ("running", "a:1")])


def test_v1_0_and_v1_1_scanner_shapes():
    parsed = parse_lines(
        [
            zap("scanner", "found image with id under reference", imageID=ID, ref=TAG),
            zap("scanner", "could not find image by reference", "error", imageID=ID, reference=TAG, **ERR),
            zap("scanner", "Vulnerable", Images=[]),  # no `Total count` before v1.2
            zap("scanner", "eraser job completed, shutting down..."),
        ],
        "n",
        "trivy-scanner",
    )
    parse_lines([zap("remover", "removed image", given=ID, imageID=ID, name=IMG)], "n", "remover", parsed)
    (row,) = report(parsed)["rows"]
    assert (row["image"], row["scan"]) == (TAG, "scan failed")


def test_unsupported_runtime_before_v1_3_is_a_run_failure():
    line = zap("collector", "runtime", "error", error="unsupported runtime", stacktrace="s")
    assert outcomes([line], "collector") == [("run failed", None)]


def test_a_go_panic_in_the_scanner_is_a_run_failure_and_its_dump_is_not_counted():
    lines = [
        zap("scanner", "scanning image with id", imageID=ID, refs=[TAG]),
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1]",
        "",
        "goroutine 1 [running]:",
        "main.scan(...)",
        "\t/workspace/pkg/scanners/trivy/trivy.go:170 +0x1d",
    ]
    result = report(parse_lines(lines, "n", "trivy-scanner"))
    (row,) = result["rows"]
    assert row["outcome"] == "run failed" and row["container"] == "trivy-scanner"
    assert row["detail"] == "trivy-scanner: panic: runtime error: invalid memory address or nil pointer dereference"
    assert result["skippedLines"] == 0


# --- the real excerpts (../shared/eraser-logs-real/), copied verbatim ----------------------------------------

REAL_REMOVER_1107 = (
    '{"level":"info","ts":1731308367.6420007,"logger":"remover","msg":"removed image",'
    '"given":"sha256:60eb709f2e5c30f4067e605271d1b1bfff0e32f633a5a02f55a74aa448bfafbc",'
    '"imageID":"sha256:60eb709f2e5c30f4067e605271d1b1bfff0e32f633a5a02f55a74aa448bfafbc",'
    '"name":{"image_id":"sha256:60eb709f2e5c30f4067e605271d1b1bfff0e32f633a5a02f55a74aa448bfafbc",'
    '"names":["localhost/kubernetes/pause:0.1.0"]}}'
)
REAL_COLLECTOR_594 = [
    'Defaulted container "collector" out of: collector, eraser, trivy-scanner',
    '{"level":"error","ts":1674667563.8705308,"logger":"collector","msg":"failed to get image client",'
    '"error":"rpc error: code = Unimplemented desc = unknown service runtime.v1.RuntimeService\\nrpc error: '
    'code = Unimplemented desc = unknown service runtime.v1alpha2.RuntimeService","stacktrace":"main.main\\n\\t'
    '/workspace/pkg/collector/collector.go:60\\nruntime.main\\n\\t/usr/local/go/src/runtime/proc.go:250"}',
]
REAL_SCANNER_760B = [
    '{"level":"info","ts":1686290634.2260928,"caller":"local/scan.go:288",'
    '"msg":"Detecting gobinary vulnerabilities..."}',
    '{"level":"info","ts":1686290634.2287092,"logger":"scanner","msg":"scanning image with id","provider":"trivy",'
    '"imageID":"sha256:7022e60db4b185ddc9077c609568f6066c3314c9009c0f44919fbc14dd66c0e1",'
    '"refs":["mcr.microsoft.com/oss/kubernetes/azure-cloud-node-manager:v1.26.10"]}',
    '{"level":"info","ts":1686290634.2287338,"logger":"scanner","msg":"scanning image with ref","provider":"trivy",'
    '"ref":"mcr.microsoft.com/oss/kubernetes/azure-cloud-node-manager:v1.26.10"}',
    '{"level":"info","ts":1686290635.5530171,"caller":"local/scan.go:249","msg":"Detected OS: debian"}',
]


def test_real_1107_remover_one_image_removed_by_name():
    (row,) = report(parse_lines([REAL_REMOVER_1107], "aks-nodepool1-0", "remover"))["rows"]
    assert (row["image"], row["outcome"], row["digest"][:19]) == (TAG, "removed", "sha256:60eb709f2e5c")
    assert row["time"] == "2024-11-11T06:59:27Z"


def test_real_594_collector_no_image_rows_and_a_failure_for_the_node():
    result = report(parse_lines(REAL_COLLECTOR_594, "aks-nodepool1-0", "collector"))
    (row,) = result["rows"]
    assert (row["node"], row["outcome"], row["container"], row["image"]) == (
        "aks-nodepool1-0",
        "run failed",
        "collector",
        None,
    )
    assert row["detail"] == (
        "collector: failed to get image client: rpc error: code = Unimplemented desc = unknown service "
        "runtime.v1.RuntimeService; rpc error: code = Unimplemented desc = unknown service "
        "runtime.v1alpha2.RuntimeService"
    )
    assert result["skippedLines"] == 0  # the banner is kubectl's, not a log line


def test_real_760b_scanner_started_no_rows_and_trivy_s_own_lines_skipped():
    parsed = Parsed()
    parse_lines(REAL_SCANNER_760B, "aks-nodepool1-0", "trivy-scanner", parsed)
    result = report(parsed)
    assert result["rows"] == []
    assert result["skippedLines"] == 2  # trivy's own lines: `caller`, no `logger`


def test_a_scheduled_run_s_verdicts_do_not_leak_into_a_later_manual_run_on_the_node():
    parsed = Parsed()
    parse_lines([zap("collector", "images collected", **{"finalImages:": [IMG]})], "n", "collector", parsed, "sched")
    parse_lines([zap("scanner", "Vulnerable", Images=[], **{"Total count": 0})], "n", "trivy-scanner", parsed, "sched")
    parse_lines([zap("remover", "removed image", given=TAG, imageID=ID, name=IMG)], "n", "remover", parsed, "manual")
    (row,) = report(parsed)["rows"]
    assert (row["pod"], row["scan"], row["vulnerable"]) == ("manual", None, None)  # no scanner in a manual run


def test_messages_without_an_image_are_rows_of_their_own_container():
    parsed = Parsed()
    remover = [zap("remover", m, "error", **ERR) for m in ("pprof server failed", "error recording metrics")]
    parse_lines(remover, "n", "remover", parsed, "p")
    parse_lines([zap("collector", "pprof server failed", "error", **ERR)], "n", "collector", parsed, "p")
    rows = report(parsed)["rows"]
    assert sorted((r["container"], r["detail"].split(":")[1].strip()) for r in rows) == [
        ("collector", "pprof server failed"),
        ("remover", "error recording metrics"),
        ("remover", "pprof server failed"),
    ]
    assert {r["outcome"] for r in rows} == {"other"}
