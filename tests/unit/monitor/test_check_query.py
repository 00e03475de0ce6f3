"""`check`'s one query (monitor/check_query.py) answers what coverage's and the history's queries answer apart, and
the table Eraser's lines are in, run through the emulator's KQL engine over what its agent collected of a run."""

import pytest

from azext_imagecleaner.eraser import coverage as cv
from azext_imagecleaner.health import checks as hc
from azext_imagecleaner.monitor import check_query, history_rows
from azext_imagecleaner.monitor import coverage_query as cq
from azext_imagecleaner.monitor import history_query as hq
from tests.unit.eraser.test_coverage import one_run  # noqa: F401 - the fixture
from tests.unit.monitor.test_history import CLUSTER, answer, scheduled_run, settings, store, workspace_id  # noqa: F401

# No az in these tests: the az-release matrix (scripts/test-matrix.sh) leaves them out.
pytestmark = pytest.mark.same_on_every_az


def _rows(result):
    names = [name for name, _ in result.columns]
    return [dict(zip(names, row, strict=True)) for row in result.rows]


def test_one_query_answers_what_coverage_and_history_answer_apart(one_run):  # noqa: F811
    emulated, _, resource_id, now = one_run
    at = now.replace(tzinfo=None)

    def ask(text):
        return _rows(emulated.logs.query(text, "P30D", resource=resource_id, now=at))

    (together,) = check_query.read(ask(check_query.query(336))).values()
    assert together["coverage"] == cv.from_rows(ask(cq.query()))[resource_id.lower()]
    assert len(together["coverage"][1]) == 10  # the fixture's nodes: the comparison is not of two empty answers
    apart = history_rows.read(ask(hq.query()))[resource_id.lower()]
    assert together["history"] == apart and apart["rows"]
    lines = ask('ContainerLogV2 | where PodName startswith "eraser-" | count')[0]["Count"]
    assert together["tables"] == {check_query.V2: lines} and lines > 0


def test_the_history_part_keeps_only_the_latest_runs_lines(store):  # noqa: F811
    import time

    scheduled_run(store, 1, settings(), started=time.time() - 3 * 86400)
    # (this store holds logs, no inventory: nothing else answers)
    assert check_query.read(answer(store, check_query.query(48), "P30D", resource=CLUSTER.format(1))) == {}
    (found,) = check_query.read(answer(store, check_query.query(96), "P30D", resource=CLUSTER.format(1))).values()
    assert found["history"]["rows"] and found["tables"][check_query.V2] > 0


def test_lines_in_the_legacy_table_warn_that_its_support_ended(store):  # noqa: F811
    scheduled_run(store, 1, settings(schema="v1"))
    (found,) = check_query.read(answer(store, check_query.query(336), workspace=workspace_id(store))).values()
    assert set(found["tables"]) == {check_query.LEGACY}
    assert found["history"]["rows"]  # read from ContainerLog as from ContainerLogV2
    check = hc.history(True, None, 30, 168, "rg", "c1", tables=found["tables"], window_hours=336)
    assert check.status == hc.WARN and "legacy ContainerLog" in check.detail and "30 September 2026" in check.detail
    assert 'containerlog_schema_version = "v2"' in check.fix


@pytest.mark.parametrize(
    ("tables", "status", "said"),
    [
        ({check_query.V2: 40}, hc.PASS, "(in ContainerLogV2)"),
        ({check_query.V2: 40, check_query.LEGACY: 3}, hc.PASS, "(in ContainerLog and ContainerLogV2)"),
        ({check_query.LEGACY: 3}, hc.WARN, "legacy ContainerLog"),
        ({}, hc.PASS, "Kept in Container Insights for 30 days"),
        (None, hc.PASS, "Kept in Container Insights for 30 days"),
    ],
)
def test_the_history_check_names_the_table(tables, status, said):
    check = hc.history(True, None, 30, 168, "rg", "c1", tables=tables, window_hours=336)
    assert check.status == status and said in check.detail


def test_a_short_retention_outranks_the_legacy_table():
    check = hc.history(True, None, 7, 168, "rg", "c1", tables={check_query.LEGACY: 3}, window_hours=336)
    assert check.status == hc.WARN and "fewer than two intervals" in check.detail
