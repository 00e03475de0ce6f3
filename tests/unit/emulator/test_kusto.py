"""The emulator's KQL engine (armemulator/kusto.py) where the history query relies on Kusto's documented behaviour."""

import datetime
import json
import random

import pytest

from armemulator import kusto

# No az in these tests: the az-release matrix (scripts/test-matrix.sh) leaves them out.
pytestmark = pytest.mark.same_on_every_az

TABLES = {"T": [("TimeGenerated", "datetime"), ("K", "string"), ("D", "dynamic"), ("L", "string")]}


def test_make_list_keeps_the_order_of_sorted_input_across_row_groups():
    # "If the input to the summarize operator is sorted, the order of elements in the resulting array tracks that
    # of the input" (the make_list() reference). More rows than one DuckDB row group (122,880), in shuffled order:
    # on two threads DuckDB's list() loses the order here, which the emulator's one thread keeps.
    base = datetime.datetime(2026, 1, 1)
    rows = [
        {"TimeGenerated": base + datetime.timedelta(milliseconds=i), "K": f"k{i % 50}", "D": {"i": i}}
        for i in range(130_000)
    ]
    random.Random(1).shuffle(rows)
    database = kusto.Database(TABLES)
    database.add("T", rows)
    result = database.query("T | order by TimeGenerated asc | summarize Lines = make_list(D) by K")
    assert len(result.rows) == 50
    for _, lines in result.rows:
        found = [item["i"] for item in json.loads(lines)]
        assert found == sorted(found) and len(found) == 2_600


def test_lists_come_as_json_text_with_json_elements_kept_as_json():
    # A dynamic value comes as JSON text (the query API; ../shared/container-insights.md §4): a list of objects
    # holds objects, and a list of text holds the text, even text that looks like JSON.
    database = kusto.Database(TABLES)
    now = datetime.datetime(2026, 1, 1)
    database.add("T", [
        {"TimeGenerated": now, "K": "a", "D": {"x": 1}, "L": '{"y": 2}'},
        {"TimeGenerated": now + datetime.timedelta(seconds=1), "K": "a", "D": "plain", "L": "\tnot json"},
    ])  # fmt: skip
    result = database.query(
        "T | order by TimeGenerated asc | summarize Objects = make_list(D), Texts = make_list(pack_array(L)[0]) by K"
    )
    assert result.columns == [("K", "string"), ("Objects", "dynamic"), ("Texts", "dynamic")]
    ((_, objects, texts),) = result.rows
    assert json.loads(objects) == [{"x": 1}, "plain"]
    assert json.loads(texts) == ['{"y": 2}', "\tnot json"]


def test_leading_literal_lists_become_query_parameters_and_answer_the_same():
    text = 'let keys = dynamic(["a", "c"]);\nlet other = dynamic(["x"]);\nT | where K in (keys) | project K'
    lifted, values = kusto._lift_literal_lists(text)
    assert lifted == "declare query_parameters(keys:dynamic, other:dynamic);\nT | where K in (keys) | project K"
    assert values == {"keys": ["a", "c"], "other": ["x"]}
    # Not JSON text, not a list of strings, or not leading: left in the text for the parser.
    for kept in ("let keys = dynamic(['a']);\nT", "let n = dynamic([1, 2]);\nT", 'T | extend L = dynamic(["a"])'):
        assert kusto._lift_literal_lists(kept) == (kept, {})

    database = kusto.Database(TABLES)
    now = datetime.datetime(2026, 1, 1)
    database.add("T", [{"TimeGenerated": now, "K": k, "D": None, "L": None} for k in ("a", "b", "c")])
    kusto._TRANSLATIONS.clear()
    first = database.query(text)
    second = database.query(text.replace('["a", "c"]', '["b"]'))  # the kept translation, other values
    assert sorted(first.rows) == [["a"], ["c"]] and second.rows == [["b"]]
    assert len(kusto._TRANSLATIONS) == 1
    other = kusto.Database(TABLES)  # another workspace's database: the same translation
    other.add("T", [{"TimeGenerated": now, "K": "c", "D": None, "L": None}])
    assert other.query(text).rows == [["c"]] and len(kusto._TRANSLATIONS) == 1
