"""The history query and its rows (azext_imagecleaner._history), run through the emulator's KQL engine (duckdb-kql)
over rows of both Container Insights schemas, and the rules around it: --since, chunks, the agent's settings."""

import datetime
import json
import time

import pytest
from azure.cli.core.azclierror import InvalidArgumentValueError

from armemulator.eraser import logs as eraser_logs
from armemulator.eraser.controller import NODE_IMAGES, matches
from armemulator.loganalytics import agent, endpoint
from armemulator.loganalytics.store import LogStore
from azext_imagecleaner import _history, _report

WORKSPACE = "/subscriptions/s/resourceGroups/logs/providers/Microsoft.OperationalInsights/workspaces/ws"
CLUSTER = "/subscriptions/s/resourcegroups/RG/providers/Microsoft.ContainerService/managedClusters/c{}"


def doc(number):
    return {
        "id": CLUSTER.format(number),
        "properties": {
            "addonProfiles": {"omsagent": {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": WORKSPACE}}}
        },
    }


def settings(schema=None, excluded=("gatekeeper-system",)):
    text = "".join(
        f"[log_collection_settings.{stream}]\nenabled = true\nexclude_namespaces = {json.dumps(list(excluded))}\n"
        for stream in ("stdout", "stderr")
    )
    if schema:
        text += f'[log_collection_settings.schema]\ncontainerlog_schema_version = "{schema}"\n'
    return {"data": {agent.SETTINGS_KEY: text}}


def scheduled_run(store, number, configmap, node="aks-nodepool1-0", started=None):
    started = started or time.time() - 3600
    ticks = iter(range(10_000))
    texts, _ = eraser_logs.scheduled_run(
        node,
        json.loads(json.dumps(NODE_IMAGES)),
        ["mcr.microsoft.com/*"],
        matches,
        lambda: started + next(ticks) / 1000,
    )
    store.collect(doc(number), configmap, f"eraser-aks-run{number}", node, texts, started)
    return texts


@pytest.fixture
def store():
    return LogStore()


def workspace_id(store):
    return store.workspace(WORKSPACE)["properties"]["customerId"]


def test_both_schemas_give_the_rows_the_live_logs_give(store):
    texts = scheduled_run(store, 1, settings())
    scheduled_run(store, 2, settings("v1"))
    result = store.query(_history.query(), "P1D", workspace=workspace_id(store))
    assert [name for name, _ in result.columns] == list(_history.COLUMNS)
    reports = _history.reports(result.rows)
    assert set(reports) == {CLUSTER.format(1).lower(), CLUSTER.format(2).lower()}

    from azext_imagecleaner._report import Parsed, parse_lines, report

    live = Parsed()
    for container, text in texts.items():
        parse_lines(text.splitlines(), "aks-nodepool1-0", container, into=live, pod="eraser-aks-run1")
    expected = report(live)
    for found in reports.values():
        assert sorted(found["rows"], key=lambda r: r["image"] or "") == sorted(
            [dict(r, pod=found["rows"][0]["pod"]) for r in expected["rows"]], key=lambda r: r["image"] or ""
        )
        assert found["totals"] == expected["totals"]


def test_a_row_is_a_container_whose_lines_come_as_json_text_v2_lines_as_objects(store):
    texts = scheduled_run(store, 1, settings())
    legacy = scheduled_run(store, 2, settings("v1"))
    rows = store.query(_history.query(), "P1D", workspace=workspace_id(store)).rows
    assert sorted((r[0][-2:], r[3]) for r in rows) == sorted(
        (f"c{n}", container) for n in (1, 2) for container in ("collector", "trivy-scanner", "remover")
    )
    lines = {(r[0][-2:], r[3]): json.loads(r[4]) for r in rows}  # a dynamic value comes as JSON text
    written = [json.loads(line) for line in texts["remover"].splitlines()]
    kept = [line for line in written if line["msg"] not in _report.IGNORED_MESSAGES]
    # ContainerLogV2 keeps a JSON line as an object, in the service's key order, not zap's (level, ts, ...).
    assert lines[("c1", "remover")] == kept and list(lines[("c1", "remover")][0]) == sorted(kept[0])
    # The legacy ContainerLog keeps the line's text as written; its lines all come (see `_history.query`).
    assert lines[("c2", "remover")] == legacy["remover"].splitlines()


def test_the_query_leaves_out_only_lines_that_no_reading_uses(store):
    texts = scheduled_run(store, 1, settings())
    rows = store.query(_history.query(), "P1D", workspace=workspace_id(store)).rows
    sent = sum(len(json.loads(r[4])) for r in rows)
    written = [json.loads(line) for text in texts.values() for line in text.splitlines()]
    assert sent == sum(1 for line in written if line["msg"] not in _report.IGNORED_MESSAGES) < len(written)
    # What is left out: context the report reads nothing from, whatever the container.
    assert {"remover starting", "trivy version", "scanning image with ref"} <= _report.IGNORED_MESSAGES
    assert not {"images collected", "scanning image with id", "Vulnerable"} & _report.IGNORED_MESSAGES


def _with_times(lines, start):
    """The lines with a millisecond between them, as a run writes them (Container Insights orders by time)."""
    out = []
    for number, line in enumerate(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        out.append(json.dumps(dict(entry, ts=start + number / 1000)))
    return out


@pytest.mark.parametrize("schema", ["v2", "v1"])
def test_every_eraser_statement_reads_from_history_as_it_reads_live(store, schema):
    """Each statement of Eraser v1.0 to v1.4.1, the real excerpts and a Go panic, written to the workspace by the
    agent: what the query leaves out or gathers changes no row, total or count of lines skipped."""
    from azext_imagecleaner._report import Parsed, parse_lines, report
    from tests.unit import test_report_statements as statements

    containers = {}
    for _, container, logger_name, level, msg, fields, _ in statements.STATEMENTS:
        containers.setdefault(container, []).append(statements.zap(logger_name, msg, level, **fields))
    pods = {
        "eraser-aks-statements": containers,
        "eraser-aks-real1107": {"remover": [statements.REAL_REMOVER_1107]},
        "eraser-aks-real594": {"collector": statements.REAL_COLLECTOR_594[1:]},  # [0] is kubectl's banner
        "eraser-aks-real760b": {"trivy-scanner": statements.REAL_SCANNER_760B},
    }
    ticks = iter(range(10_000))
    panic, _ = eraser_logs.scheduled_run(
        "aks-nodepool1-0", json.loads(json.dumps(NODE_IMAGES)), [], matches, lambda: 1.7e9 + next(ticks) / 1000,
        eraser_logs.SCANNER_PANIC,
    )  # fmt: skip
    pods["eraser-aks-panic"] = {c: text.splitlines() for c, text in panic.items()}
    live = Parsed()
    started = time.time() - 3600
    for pod, texts in pods.items():
        timed = {c: _with_times(lines, started) for c, lines in texts.items()}
        store.collect(doc(1), settings(None if schema == "v2" else "v1"), pod, "aks-nodepool1-0",
                      {c: "\n".join(lines) + "\n" for c, lines in timed.items()}, started)  # fmt: skip
        for container, lines in timed.items():
            parse_lines([line for line in lines if line.strip()], "aks-nodepool1-0", container, live, pod)
    expected = report(live)
    rows = store.query(_history.query(), "P1D", workspace=workspace_id(store)).rows
    (found,) = _history.reports(rows).values()

    def key(row):
        return json.dumps(row, sort_keys=True)

    assert sorted(found["rows"], key=key) == sorted(expected["rows"], key=key)
    assert len(found["rows"]) > 40 and {r["outcome"] for r in found["rows"]} >= {"other", "run failed", "removed"}
    assert (found["totals"], found["skippedLines"]) == (expected["totals"], expected["skippedLines"])


def test_the_fleet_query_names_its_clusters_in_lower_case_and_sees_only_them(store):
    scheduled_run(store, 1, settings())
    scheduled_run(store, 2, settings())
    text = _history.query([CLUSTER.format(2)])
    assert CLUSTER.format(2).lower() in text and CLUSTER.format(2) not in text
    rows = store.query(text, "P1D", workspace=workspace_id(store)).rows
    assert {r[0] for r in rows} == {CLUSTER.format(2).lower()}


def test_a_resource_centric_query_sees_only_its_resource_and_the_timespan_bounds_it(store):
    scheduled_run(store, 1, settings(), started=time.time() - 10 * 86400)
    scheduled_run(store, 2, settings())
    assert store.query(_history.query(), "P7D", resource=CLUSTER.format(1)).rows == []
    assert {r[0] for r in store.query(_history.query(), "P15D", resource=CLUSTER.format(1)).rows} == {
        CLUSTER.format(1).lower()
    }


def test_an_agent_that_leaves_kube_system_out_writes_nothing(store):
    scheduled_run(store, 1, settings(excluded=("kube-system",)))
    scheduled_run(store, 2, None)  # no ConfigMap: the template's default leaves kube-system out
    assert store.query(_history.query(), "P1D", workspace=workspace_id(store)).rows == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", datetime.timedelta(hours=12)),
        ("7d", datetime.timedelta(days=7)),
        ("2w", datetime.timedelta(weeks=2)),
        ("P30D", datetime.timedelta(days=30)),
        ("pt12h", datetime.timedelta(hours=12)),
        ("P1DT12H", datetime.timedelta(days=1, hours=12)),
    ],
)
def test_since(text, expected):
    assert _history.parse_since(text) == expected


@pytest.mark.parametrize("text", ["", "7", "0d", "P", "PT", "P1Y", "1.5d", "-7d", "P1M", "30 days"])
def test_a_bad_since_names_the_flag_and_the_value(text):
    with pytest.raises(InvalidArgumentValueError) as err:
        _history.parse_since(text)
    assert err.value.error_msg.startswith(f"--since {text} is not a window of time")


def test_chunks_hold_at_most_a_hundred_resources():
    assert [len(c) for c in _history.chunks(list(range(250)))] == [100, 100, 50]


@pytest.mark.parametrize(
    ("configmap", "gap"),
    [
        (None, "is absent"),
        (settings(excluded=("kube-system",)), "stderr.exclude_namespaces holds kube-system"),
        ({"data": {agent.SETTINGS_KEY: "[log_collection_settings.stdout]\nenabled = true\n"}}, "(by default"),
        ({"data": {agent.SETTINGS_KEY: "[[[ not toml"}}, "cannot be read as TOML"),
        (settings(), None),
        (
            {"data": {agent.SETTINGS_KEY: "[log_collection_settings.stderr]\nexclude_namespaces = []\n"}},
            None,  # one stream takes kube-system: Eraser's lines are collected
        ),
    ],
)
def test_collection_gap_names_the_setting(configmap, gap):
    found = _history.collection_gap(configmap)
    assert (found is None) if gap is None else (gap in found)


def test_the_extension_and_the_emulated_agent_agree_on_what_is_collected():
    for configmap in (None, settings(), settings(excluded=("kube-system",)), settings("v1")):
        assert (_history.collection_gap(configmap) is None) == agent.collects(agent.settings(configmap), "kube-system")


def test_the_query_api_takes_only_a_token_for_its_own_endpoint():
    endpoint.check_token({"aud": "https://127.0.0.1:1234/"}, "https://127.0.0.1:1234")
    for claims in (None, {"aud": "https://management.core.windows.net/"}, {"aud": "6dae42f8"}):
        with pytest.raises(endpoint.QueryError) as err:
            endpoint.check_token(claims, "https://127.0.0.1:1234")
        assert err.value.status == 401


def test_summary():
    rows = [
        {"outcome": "removed", "vulnerable": True, "time": "2026-11-02T00:00:00Z"},
        {"outcome": "removed", "vulnerable": None, "time": "2026-11-09T00:00:00Z"},
        {"outcome": "removal failed", "vulnerable": True, "time": "2026-11-01T00:00:00Z"},
        {"outcome": "excluded", "vulnerable": None, "time": None},
    ]
    assert _history.summary({"rows": rows}) == {
        "imagesRemoved": 2,
        "vulnerableRemoved": 1,
        "failures": 1,
        "lastRun": "2026-11-09T00:00:00Z",
    }


def test_a_fleet_gets_a_row_per_image_and_outcome():
    def row(node, image, outcome, when, vulnerable=None, detail=None):
        digest = f"sha256:{image}" if image else None
        return {"node": node, "image": image, "digest": digest, "outcome": outcome, "time": when,
                "vulnerable": vulnerable, "detail": detail}  # fmt: skip

    rows = [
        row("n1", "a", "removed", "2026-11-02T00:00:00Z", True),
        row("n2", "a", "removed", "2026-11-09T00:00:00Z", None),
        row("n1", "a", "removed", "2026-11-09T00:00:00Z", True),
        row("n1", "a", "removal failed", "2026-11-16T00:00:00Z", True, "in use"),
        row("n2", None, "run failed", "2026-11-01T00:00:00Z", None, "collector: failed to get image client"),
        row("n2", None, "run failed", "2026-11-08T00:00:00Z", None, "collector: failed to get image client"),
        row("n3", None, "run failed", "2026-11-08T00:00:00Z", None, "trivy-scanner: panic: boom"),
        row("n1", "b", "removed", "2026-11-02T00:00:00Z", False),
    ]
    found = _history.by_image(rows)
    assert [(g["image"], g["outcome"], g["nodes"], g["runs"], g["first"], g["last"]) for g in found] == [
        (None, "run failed", 1, 2, "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"),
        ("a", "removed", 2, 3, "2026-11-02T00:00:00Z", "2026-11-09T00:00:00Z"),
        ("b", "removed", 1, 1, "2026-11-02T00:00:00Z", "2026-11-02T00:00:00Z"),
        (None, "run failed", 1, 1, "2026-11-08T00:00:00Z", "2026-11-08T00:00:00Z"),
        ("a", "removal failed", 1, 1, "2026-11-16T00:00:00Z", "2026-11-16T00:00:00Z"),
    ]
    # Vulnerable in any run makes it vulnerable; a failure keeps its latest detail.
    assert [g["vulnerable"] for g in found] == [None, True, False, None, True]
    assert [g["detail"] for g in found] == [
        "collector: failed to get image client", None, None, "trivy-scanner: panic: boom", "in use"
    ]  # fmt: skip
