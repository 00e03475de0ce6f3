"""The emulator's KQL engine (armemulator/kusto.py) where the history query relies on Kusto's documented behaviour."""

import datetime
import json
import random

from armemulator import kusto

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
