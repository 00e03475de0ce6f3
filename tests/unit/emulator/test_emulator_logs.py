"""The emulator's Container Insights and Log Analytics as the service is: a past loaded in bulk is the rows the
agent writes run by run, long lines are kept as the agent keeps them, and the query API answers within its limits
(../shared/container-insights.md §2, §4)."""

import copy
import itertools
import json
import time

import pytest

from armemulator.eraser import logs as eraser_logs
from armemulator.eraser.controller import NODE_IMAGES, matches
from armemulator.loganalytics import agent, endpoint
from armemulator.loganalytics.store import LogStore
from tests.unit.monitor.test_history import WORKSPACE, doc, settings

# No az in these tests: the az-release matrix (scripts/test-matrix.sh) leaves them out.
pytestmark = pytest.mark.same_on_every_az

LEGACY = settings("v1")
MULTILINE_ON = '[log_collection_settings.enable_multiline_logs]\nenabled = "true"\n'
MULTILINE = {"data": {agent.SETTINGS_KEY: settings()["data"][agent.SETTINGS_KEY] + MULTILINE_ON}}


def one_run(candidates=None, vulnerable=0, start=0.0):
    ticks = itertools.count()
    inventory = (
        copy.deepcopy(NODE_IMAGES) if candidates is None else eraser_logs.candidate_images(candidates, vulnerable)
    )
    texts, _ = eraser_logs.scheduled_run("n", inventory, [], matches, lambda: start + next(ticks) / 1000)
    return texts


def table_rows(store, table):
    """Every row of a table, comparable: JSON values parsed, the ts of a legacy line's text read as a number, and a
    part of a line past 16 KB as a part (where a line is cut depends on how many digits its `ts` has)."""
    found = store.database._con.execute(f"SELECT * FROM main.{table}").fetchall()
    names = [c for c, _ in store.database.tables[table]]
    rows = []
    for values in found:
        row = dict(zip(names, values, strict=True))
        for column in ("LogMessage", "KubernetesMetadata"):
            if isinstance(row.get(column), str):
                row[column] = json.loads(row[column])
        if isinstance(row.get("LogMessage"), dict) and "ts" in row["LogMessage"]:
            row["LogMessage"]["ts"] = round(row["LogMessage"]["ts"], 6)
        elif isinstance(row.get("LogMessage"), str):
            row["LogMessage"] = "a part"
        if "LogEntry" in row:
            try:
                row["LogEntry"] = dict(json.loads(row["LogEntry"]), ts=round(json.loads(row["LogEntry"])["ts"], 6))
            except ValueError:
                row["LogEntry"] = "a part"
        if "TimeGenerated" in row:
            # to the millisecond: laid at a start, a line's microseconds are rounded once, not twice
            row["TimeGenerated"] = row["TimeGenerated"].isoformat(timespec="milliseconds")
        rows.append(json.dumps(row, sort_keys=True, default=str))
    return sorted(rows)


@pytest.mark.parametrize("configmap", [settings(), LEGACY, MULTILINE], ids=["v2", "v1", "v2 multi-line"])
def test_a_past_in_bulk_is_the_rows_the_agent_writes_run_by_run(configmap):
    starts = [time.time() - days * 86400 for days in (21, 14, 7)]
    runs = [(f"eraser-{node}-{number}", node, at) for number, at in enumerate(starts) for node in ("n0", "n1")]
    template = one_run(candidates=90, vulnerable=85)  # a collector and a scanner line past 16 KB
    bulk, by_run = LogStore(), LogStore()
    bulk.collect_past(doc(1), configmap, runs, template)
    for pod, node, at in runs:
        by_run.collect(doc(1), configmap, pod, node, one_run(candidates=90, vulnerable=85, start=at), at)
    by_run.database.flush()
    for table in ("ContainerLogV2", "ContainerLog", "KubePodInventory"):
        assert table_rows(bulk, table) == table_rows(by_run, table), table
    assert table_rows(bulk, "ContainerLogV2" if configmap is not LEGACY else "ContainerLog")


def test_a_line_past_16_kb_is_kept_in_parts_as_text_and_multi_line_logging_stitches_it():
    line = json.dumps({"level": "info", "ts": 1.0, "logger": "collector", "msg": "images collected", "x": "y" * 40000})
    assert len(line.encode()) > 2 * agent.PART_BYTES
    parts = agent.entries(line + "\n", multiline=False)
    assert [len(p.encode()) for p in parts] == [16384, 16384, len(line.encode()) - 32768]
    assert "".join(parts) == line and all(agent._json_object(p) is None for p in parts)
    (stitched,) = agent.entries(line + "\n", multiline=True)
    assert stitched == line  # whole: under 64 KB
    (cut,) = agent.entries(line.replace("y" * 40000, "y" * 70000) + "\n", multiline=True)
    assert len(cut.encode()) == agent.STITCHED_BYTES and agent._json_object(cut) is None


def test_multi_line_logging_keeps_a_panic_s_dump_as_one_entry():
    text = "\n".join(["{}", "panic: boom", "[signal SIGSEGV]", "", "goroutine 1 [running]:", "main.main()"]) + "\n"
    assert agent.entries(text, multiline=True) == [
        "{}",
        "panic: boom\n[signal SIGSEGV]\ngoroutine 1 [running]:\nmain.main()",
    ]
    assert agent.entries(text, multiline=False) == [
        "{}",
        "panic: boom",
        "[signal SIGSEGV]",
        "goroutine 1 [running]:",
        "main.main()",
    ]


def test_multi_line_logging_needs_the_new_schema():
    assert agent.settings(MULTILINE)["multiline"] is True
    legacy = {"data": {agent.SETTINGS_KEY: LEGACY["data"][agent.SETTINGS_KEY] + MULTILINE_ON}}
    assert agent.settings(legacy)["multiline"] is False
    assert agent.settings(settings())["multiline"] is False


def query_answer(store, limits, text="ContainerLogV2 | project TimeGenerated, PodName, LogMessage"):
    customer = store.workspace(WORKSPACE)["properties"]["customerId"]
    return endpoint.answer(store, f"/v1/workspaces/{customer}/query", {"query": text, "timespan": "P30D"}, limits)


@pytest.fixture
def filled():
    store = LogStore()
    runs = [(f"eraser-n{n}-x", f"n{n}", time.time() - 3600) for n in range(20)]
    store.collect_past(doc(1), settings(), runs, one_run(candidates=30, vulnerable=20))
    return store


def test_an_answer_within_the_limits_is_whole(filled):
    answer = query_answer(filled, endpoint.Limits())
    assert "error" not in answer and len(answer["tables"][0]["rows"]) > 2000


@pytest.mark.parametrize("limits, said", [
    (endpoint.Limits(records=1000), "record count limit 1000"),
    (endpoint.Limits(bytes=200_000), "data size limit 200000"),
])  # fmt: skip
def test_past_a_limit_the_answer_is_the_rows_that_fit_and_a_partial_error(filled, limits, said):
    whole = query_answer(filled, endpoint.Limits())["tables"][0]["rows"]
    answer = query_answer(filled, limits)
    kept = answer["tables"][0]["rows"]
    assert 0 < len(kept) < len(whole) and kept == whole[: len(kept)]
    assert len(kept) <= (limits.records or len(whole))
    assert sum(len(json.dumps(row)) + 1 for row in kept) <= limits.bytes  # the rows' JSON, a separator each
    error = answer["error"]
    assert error["code"] == "PartialError"
    inner = error["details"][0]["innererror"]
    assert said in inner["message"] and "E_QUERY_RESULT_SET_TOO_LARGE" in inner["message"]
