"""The release's index and its checks (release/index.py), on a wheel built here: each check azure-cli-extensions'
own index tests make fails on an index that breaks it (../shared/az-extension-release.md)."""

import json
import os
import zipfile

import pytest

from release import index

HISTORY = """.. :changelog:

Release History
===============

1.2.0
+++++
* Something new.

1.1.0
+++++
* Older.
"""


@pytest.fixture
def wheel(tmp_path):
    """A small universal wheel of an extension `sample`, its azext_metadata.json with a minimum az."""
    path = tmp_path / "sample-1.2.0-py3-none-any.whl"
    metadata = "\n".join(
        [
            "Metadata-Version: 2.1",
            "Name: sample",
            "Version: 1.2.0",
            "Summary: A sample extension.",
            "Home-page: https://example.invalid/sample",
            "Author: Sample developers",
            "Author-email: sample@example.invalid",
            "License: MIT",
            "Classifier: License :: OSI Approved :: MIT License",
            "Requires-Dist: kubernetes<34,>=29.0.0",
            "Requires-Dist: azure-monitor-query (<3,>=1.2.0)",
            'Requires-Dist: tomli>=1.1.0; python_version < "3.11"',
            "",
        ]
    )
    with zipfile.ZipFile(path, "w") as f:
        f.writestr("azext_sample/__init__.py", "")
        f.writestr("azext_sample/azext_metadata.json", json.dumps({"azext.minCliCoreVersion": "2.76.0"}))
        f.writestr("sample-1.2.0.dist-info/METADATA", metadata)
        f.writestr("sample-1.2.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    return str(path)


def built(wheel):
    return index.with_entry(None, index.entry(wheel, "https://releases.example.invalid/sample/"))


def found(written, wheel, versions=None):
    return index.problems(written, {os.path.basename(wheel): wheel}, versions)


def test_an_entry_is_the_wheels_metadata_with_azext_metadata_over_it(wheel):
    (entry,) = built(wheel)["extensions"]["sample"]
    assert entry["downloadUrl"] == "https://releases.example.invalid/sample/sample-1.2.0-py3-none-any.whl"
    assert entry["filename"] == "sample-1.2.0-py3-none-any.whl"
    assert entry["sha256Digest"] == index.sha256_of(wheel)
    metadata = entry["metadata"]
    assert {k: metadata[k] for k in ("name", "version", "summary", "license", "azext.minCliCoreVersion")} == {
        "name": "sample",
        "version": "1.2.0",
        "summary": "A sample extension.",
        "license": "MIT",
        "azext.minCliCoreVersion": "2.76.0",
    }
    # azdev's shape: each requirement twice, sorted by name; the author as a contact; the home page as Home.
    assert metadata["run_requires"] == [
        {
            "requires": [
                "azure-monitor-query (<3,>=1.2.0)",
                "azure-monitor-query<3,>=1.2.0",
                "kubernetes (<34,>=29.0.0)",
                "kubernetes<34,>=29.0.0",
                'tomli (>=1.1.0; python_version < "3.11")',
                'tomli>=1.1.0; python_version < "3.11"',
            ]
        }
    ]
    assert metadata["extensions"]["python.details"] == {
        "contacts": [{"role": "author", "name": "Sample developers", "email": "sample@example.invalid"}],
        "project_urls": {"Home": "https://example.invalid/sample"},
    }
    assert found(built(wheel), wheel, {"setup.py": "1.2.0"}) == []


def test_a_release_is_appended_and_a_rebuilt_one_replaces_its_entry(wheel):
    older = {"formatVersion": "1", "extensions": {"sample": [{"filename": "sample-1.1.0-py3-none-any.whl"}]}}
    entry = index.entry(wheel, "https://r.example.invalid")
    once = index.with_entry(older, entry)
    assert [e["filename"] for e in once["extensions"]["sample"]] == [
        "sample-1.1.0-py3-none-any.whl",
        "sample-1.2.0-py3-none-any.whl",
    ]
    assert index.with_entry(once, dict(entry, sha256Digest="0" * 64))["extensions"]["sample"][1]["sha256Digest"] == (
        "0" * 64
    )
    assert older["extensions"]["sample"] == [{"filename": "sample-1.1.0-py3-none-any.whl"}]  # not changed in place


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda i, e: i.update(formatVersion="2"), "formatVersion is '2', not '1'"),
        (lambda i, e: i["extensions"].update(my_sample=i["extensions"].pop("sample")), "has an underscore"),
        (lambda i, e: e["metadata"].update(name="other"), "metadata.name 'other' is not the key 'sample'"),
        (lambda i, e: e.update(downloadUrl="https://r.example.invalid/latest.whl"), "last segment is not the file"),
        (lambda i, e: e.update(sha256Digest="0" * 64), "sha256Digest does not match the file"),
        (lambda i, e: e["metadata"].pop("azext.minCliCoreVersion"), "azext.minCliCoreVersion is missing"),
        (lambda i, e: e["metadata"].update(summary="edited"), "the metadata is not the wheel's own"),
        (lambda i, e: i["extensions"]["sample"].append(dict(e)), "listed more than once"),
    ],
)
def test_each_check_of_the_index_fails_on_an_index_that_breaks_it(wheel, change, problem):
    written = built(wheel)
    change(written, written["extensions"].get("sample", [None])[0])
    assert any(problem in p for p in found(written, wheel)), found(written, wheel)


def test_a_platform_wheel_is_not_an_extension_release(wheel, tmp_path):
    platform = tmp_path / "sample-1.2.0-cp311-cp311-linux_x86_64.whl"
    os.rename(wheel, platform)
    written = index.with_entry(None, index.entry(str(platform), "https://r.example.invalid"))
    assert any("not a universal wheel" in p for p in found(written, str(platform)))


def test_the_version_must_be_the_same_in_setup_history_and_the_wheel(wheel):
    assert index.setup_version('from x import y\n\nVERSION = "1.2.0"\n') == "1.2.0"
    assert index.history_version(HISTORY) == "1.2.0"
    assert index.history_version(HISTORY.replace("1.2.0\n+++++", "Unreleased\n++++++++++")) == "Unreleased"
    assert found(built(wheel), wheel, {"setup.py": "1.2.0", "HISTORY.rst": "1.2.0"}) == []
    assert found(built(wheel), wheel, {"setup.py": "1.2.0", "HISTORY.rst": "Unreleased"}) == [
        "sample-1.2.0-py3-none-any.whl: version 1.2.0 but 'Unreleased' in HISTORY.rst"
    ]


def test_sha256sums_lists_each_file_as_sha256sum_writes_it(wheel):
    assert index.sha256sums({"sample-1.2.0-py3-none-any.whl": wheel}) == (
        f"{index.sha256_of(wheel)}  sample-1.2.0-py3-none-any.whl\n"
    )
