"""Exclusion ConfigMaps as Eraser reads them."""

from azext_imagecleaner.cluster.exclusions import read_list, read_lists


def configmap(name, data, labels=None):
    return {
        "metadata": {"name": name, "labels": labels or {"eraser.sh/exclude.list": "true"}, "resourceVersion": "7"},
        "data": data,
    }


def test_first_json_key_is_read():
    row = read_list(configmap("team", {"b.json": '{"excluded": ["b/*"]}', "a.json": '{"excluded": ["a/*"]}'}))
    assert (row["key"], row["excluded"], row["problem"]) == ("a.json", ["a/*"], None)


def test_a_key_without_json_is_ignored_by_eraser_and_said_so():
    row = read_list(configmap("team", {"excluded": '{"excluded": ["a/*"]}'}))
    assert row["excluded"] == [] and "no data key ends in '.json' (keys: excluded)" in row["problem"]


def test_a_json_key_without_the_excluded_list():
    row = read_list(configmap("team", {"x.json": '["a/*"]'}))
    assert "does not hold" in row["problem"]


def test_system_list_is_read_only_and_first():
    rows = read_lists(
        [
            configmap("zeta", {"x.json": '{"excluded": []}'}),
            configmap("eraser-system-exclusion", {"excluded": '{"excluded": ["mcr.microsoft.com/*"]}'}),
        ]
    )
    assert [r["configMap"] for r in rows] == ["eraser-system-exclusion", "zeta"]
    assert rows[0]["readOnly"] and rows[0]["excluded"] == ["mcr.microsoft.com/*"]
