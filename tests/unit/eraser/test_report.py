"""The report parser, on log lines shaped as Eraser v1.4 writes them (shared notes)."""

import json

from azext_imagecleaner.eraser.report import Parsed, parse_lines, report

TS = 1795803091.5
A = "docker.io/library/alpine:3.7.3"
A_ID = "sha256:" + "a" * 64
N = "docker.io/library/nginx:1.19.0"
R = "docker.io/library/redis:6.0.5"


def line(logger, msg, level="info", **keys):
    entry = {"level": level, "ts": TS, "logger": logger, "caller": f"{logger}/x.go:1", "msg": msg}
    if logger == "scanner":
        entry["provider"] = "trivy"
    entry.update(keys)
    return json.dumps(entry)


def rows_of(lines, node="n1", container="remover"):
    return report(parse_lines(lines, node, container))


def test_remover_outcomes_for_a_listed_image():
    result = rows_of(
        [
            line("remover", "successfully parsed image list file", count=4, images=[A, N, R, "x:1"]),
            line("remover", "removed image", given=A, imageID=A_ID, name=[A]),
            line("remover", "image is running", given=N, imageID="sha256:n", name=[N]),
            line("remover", "image is excluded", given=R, imageID="sha256:r", name=[R]),
            line("remover", "image is not on node", given="x:1"),
            line(
                "remover",
                "error removing image",
                level="error",
                given="y:1",
                imageID="sha256:y",
                name=["y:1"],
                error="rpc error: image is in use",
            ),
        ]
    )
    outcomes = [(r["image"], r["outcome"]) for r in result["rows"]]
    assert sorted(outcomes) == sorted(
        [(A, "removed"), (N, "running"), (R, "excluded"), ("x:1", "not on node"), ("y:1", "removal failed")]
    )
    removed = next(r for r in result["rows"] if r["image"] == A)
    assert removed["digest"] == A_ID and removed["node"] == "n1" and removed["time"] == "2026-11-27T18:11:31Z"
    assert removed["vulnerable"] is None  # a manual run has no scanner
    failed = next(r for r in result["rows"] if r["image"] == "y:1")
    assert failed["detail"] == "rpc error: image is in use"
    assert result["totals"]["byOutcome"] == {
        "excluded": 1,
        "not on node": 1,
        "removal failed": 1,
        "removed": 1,
        "running": 1,
    }


def test_prune_mode_rows_carry_the_digest():
    result = rows_of(
        [
            line("remover", "successfully parsed image list file", count=1, images=["*"]),
            line("remover", "removed image", digest="sha256:1"),
            line("remover", "removed image", digest="sha256:2"),
            line("remover", "prune successful"),
        ]
    )
    assert [(r["image"], r["digest"], r["outcome"]) for r in result["rows"]] == [
        (None, "sha256:1", "removed"),
        (None, "sha256:2", "removed"),
    ]


def test_failed_prune_is_a_row():
    (row,) = rows_of([line("remover", "error during prune", level="error", error="boom")])["rows"]
    assert (row["image"], row["outcome"], row["detail"]) == ("*", "removal failed", "boom")


def test_scanner_marks_vulnerable_and_scanned_but_clean_images():
    parsed = Parsed()
    img = {"image_id": A_ID, "names": [A], "digests": [A_ID]}
    clean = {"image_id": "sha256:c", "names": [R], "digests": ["sha256:c"]}
    parse_lines([line("collector", "images collected", **{"finalImages:": [img, clean]})], "n1", "collector", parsed)
    parse_lines(
        [
            line("scanner", "vulnerable image found", img=img),
            line("scanner", "Vulnerable", Images=[A], **{"Total count": 1}),
        ],
        "n1",
        "trivy-scanner",
        parsed,
    )
    parse_lines(
        [
            line("remover", "removed image", given=A, imageID=A_ID, name=[A]),
            line("remover", "image is excluded", given=R, imageID="sha256:c", name=[R]),
        ],
        "n1",
        "remover",
        parsed,
    )
    verdicts = {r["image"]: r["vulnerable"] for r in report(parsed)["rows"]}
    assert verdicts == {A: True, R: False}


def test_garbage_and_foreign_lines_are_skipped_and_counted():
    result = rows_of(
        [
            "not json at all",
            "{broken json",
            json.dumps({"msg": "no logger"}),
            json.dumps({"logger": "kubelet", "msg": "someone else"}),
            json.dumps(["a", "list"]),
            "",
            line("remover", "removed image", given=A, imageID=A_ID, name=[A]),
        ]
    )
    assert result["skippedLines"] == 5
    assert len(result["rows"]) == 1


def test_unknown_eraser_messages_are_kept_as_other():
    (row,) = rows_of([line("remover", "image pinned by policy", given=A, name=[A])])["rows"]
    assert row["outcome"] == "other" and row["detail"] == "remover: image pinned by policy"


def test_scan_failed_is_other_with_the_error():
    (row,) = rows_of(
        [line("scanner", "scan failed", level="error", error="db download failed")], container="trivy-scanner"
    )["rows"]
    # Not fatal (trivy.go: the scanner carries on with the next image): "other", with the message and the error.
    assert row["outcome"] == "other" and row["detail"] == "scanner: scan failed: db download failed"


def test_totals_per_node():
    parsed = Parsed()
    parse_lines([line("remover", "removed image", given=A, name=[A])], "n1", "remover", parsed)
    parse_lines([line("remover", "image is running", given=N, name=[N])], "n2", "remover", parsed)
    totals = report(parsed)["totals"]
    assert totals["byNode"] == {"n1": {"removed": 1}, "n2": {"running": 1}}


def test_bad_timestamp_is_no_time():
    (row,) = rows_of([json.dumps({"logger": "remover", "msg": "removed image", "ts": "x", "given": A})])["rows"]
    assert row["time"] is None
