"""Beside another owner of `aks create/update`: an extension shaped like aks-preview (tests/standin/README.md).

Each load order gets its own az profile: the session's (imagecleaner installed, logged in) copied, then the
stand-in installed from its own wheel into the same AZURE_EXTENSION_DIR, under a name az loads before
imagecleaner ("aks-preview") or after it ("zz-aks-preview"). Installing resets az's command index, so the first
call loads every extension and builds the index, and later calls load only what the index names: each test
makes several calls, and the first one of the module is the one right after the install.
"""

import json
import os
import shutil
import subprocess

import pytest

from tests.e2e.conftest import AZ, AzResult, _ref, image_cleaner_of
from tests.wheel import built_standin

PREVIEW_API_VERSION = "2026-07-02-preview"
NAMES = {"loaded before imagecleaner": "aks-preview", "loaded after imagecleaner": "zz-aks-preview"}


@pytest.fixture(scope="module", params=list(NAMES))
def preview(request, az_env, tmp_path_factory):
    """(az runner, the stand-in's extension name), the stand-in installed beside imagecleaner."""
    name = NAMES[request.param]
    work = tmp_path_factory.mktemp(name)
    env = dict(az_env, AZURE_CONFIG_DIR=str(work / "config"), AZURE_EXTENSION_DIR=str(work / "extensions"))
    shutil.copytree(az_env["AZURE_CONFIG_DIR"], env["AZURE_CONFIG_DIR"])
    shutil.copytree(az_env["AZURE_EXTENSION_DIR"], env["AZURE_EXTENSION_DIR"])
    wheel = built_standin(work, name)
    installed = subprocess.run(
        [AZ, "extension", "add", "--source", wheel, "--yes", "-o", "none"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    assert sorted(os.listdir(env["AZURE_EXTENSION_DIR"])) == sorted(["imagecleaner", name])

    def run(*args):
        completed = subprocess.run(
            [AZ, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=180, check=False
        )
        return AzResult(completed.returncode, completed.stdout, completed.stderr)

    return run, name


@pytest.fixture
def cluster(make_cluster):
    return make_cluster(image_cleaner=(False, 72))


def puts(emulator, cluster):
    suffix = f"/managedclusters/{cluster.name}".lower()
    return [r for r in emulator.requests() if r["method"] == "PUT" and r["path"].lower().endswith(suffix)]


def stored(emulator, cluster):
    return emulator.cluster(*_ref(cluster))


def test_a_preview_flag_alone_reaches_the_preview_handler_on_every_call(preview, emulator, cluster):
    az, name = preview
    for call in range(3):  # right after the install (index rebuilt), then from az's command index
        emulator.clear_requests()
        result = az("aks", "update", *cluster.args, "--enable-imds-restriction", "-o", "json")
        assert result.code == 0, f"call {call + 1}: {result.err}"
        (put,) = puts(emulator, cluster)
        assert put["query"]["api-version"] == PREVIEW_API_VERSION  # the stand-in's own write
        assert put["body"]["properties"]["networkProfile"]["podLinkLocalAccess"] == "None"
        assert f"altered by the following extension: {name}" in result.err
    assert stored(emulator, cluster)["properties"]["networkProfile"]["podLinkLocalAccess"] == "None"
    assert image_cleaner_of(stored(emulator, cluster)) == {"enabled": False, "intervalHours": 72}


def test_a_preview_flag_with_image_cleaner_flags_stores_what_the_rules_decide(preview, emulator, cluster):
    az, _ = preview
    result = az("aks", "update", *cluster.args, "--enable-imds-restriction", "--enable-image-cleaner", "-o", "json")
    assert result.code == 0, result.err
    (put,) = puts(emulator, cluster)
    assert put["query"]["api-version"] == PREVIEW_API_VERSION
    # Enabling keeps the stored interval; the preview field goes in the same write.
    assert image_cleaner_of(put["body"]) == {"enabled": True, "intervalHours": 72}
    assert put["body"]["properties"]["networkProfile"]["podLinkLocalAccess"] == "None"
    assert image_cleaner_of(stored(emulator, cluster)) == {"enabled": True, "intervalHours": 72}


def test_create_with_a_preview_flag_and_image_cleaner_flags(preview, emulator, make_cluster):
    az, _ = preview
    name = make_cluster().name + "-new"
    result = az(
        "aks", "create", "-g", "e2e-rg", "-n", name, "--no-ssh-key", "--enable-image-cleaner",
        "--image-cleaner-interval-hours", "48", "--enable-imds-restriction", "-o", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    (put,) = [r for r in emulator.requests() if r["method"] == "PUT" and r["path"].lower().endswith(name)]
    assert put["query"]["api-version"] == PREVIEW_API_VERSION
    assert image_cleaner_of(put["body"]) == {"enabled": True, "intervalHours": 48}
    assert put["body"]["properties"]["networkProfile"]["podLinkLocalAccess"] == "None"


@pytest.mark.parametrize(
    "args, message",
    [
        (["update", "--enable-imds-restriction", "--image-cleaner-interval-hours", "0"], "0 is out of range"),
        (["update", "--image-cleaner-interval-hours", "2161"], "2161 is out of range"),
        (
            ["update", "--enable-image-cleaner", "--disable-image-cleaner"],
            "--enable-image-cleaner and --disable-image-cleaner cannot be used together",
        ),
        (["create", "--no-ssh-key", "--image-cleaner-interval-hours", "1.5"], "1.5 is not a whole number of hours"),
    ],
)
def test_bad_image_cleaner_input_is_refused_before_any_request(preview, emulator, cluster, args, message):
    az, _ = preview
    result = az("aks", args[0], *cluster.args, *args[1:])
    assert result.code != 0
    assert message in result.err
    assert "Traceback" not in result.err
    assert emulator.requests() == []


def test_an_interval_on_a_cluster_where_image_cleaner_is_off_is_refused_after_one_read(preview, emulator, cluster):
    az, _ = preview
    result = az("aks", "update", *cluster.args, "--image-cleaner-interval-hours", "48")
    assert result.code != 0
    assert "Image Cleaner is off on this cluster" in result.err and "--enable-image-cleaner" in result.err
    assert [r["method"] for r in emulator.requests() if r["path"] != "/msi/token"] == ["GET"]


def test_an_image_cleaner_update_that_changes_nothing_sends_nothing(preview, emulator, make_cluster):
    az, _ = preview
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "--image-cleaner-interval-hours", "48")
    assert result.code == 0, result.err
    assert json.loads(result.out)["name"] == cluster.name  # the cluster as read
    assert result.err.count("nothing to change") == 1
    assert puts(emulator, cluster) == []


def test_verbose_says_which_guarantees_are_the_owner_s(preview, emulator, cluster):
    az, name = preview
    result = az("aks", "update", *cluster.args, "--enable-image-cleaner", "--verbose", "-o", "none")
    assert result.code == 0, result.err
    text = " ".join(result.err.split())
    assert f"belongs to the {name} extension here" in text
    assert "whether it guards the write with If-Match, is" in text
    assert image_cleaner_of(stored(emulator, cluster)) == {"enabled": True, "intervalHours": 72}


def test_help_shows_the_owner_s_flags_and_the_image_cleaner_help(preview):
    az, _ = preview
    result = az("aks", "update", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    assert "--enable-imds-restriction" in text
    assert "Hours between Image Cleaner runs: a whole number from 24 to 2160." in text


def test_the_cluster_side_commands_are_unaffected(preview, emulator, make_cluster):
    az, _ = preview
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "image-cleaner", "status", *cluster.args, "-o", "json")
    assert result.code == 0, result.err
    assert result.json["enabled"] is True and result.json["intervalHours"] == 48
    assert "altered" not in result.err


def test_the_reconcile_is_the_owner_s(preview, emulator, make_cluster):
    """`aks update -g -n --yes`, no other flag: the owner's handler runs and sends its PUT, as without imagecleaner."""
    az, _ = preview
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "update", *cluster.args, "--yes", "--verbose", "-o", "json")
    assert result.code == 0, result.err
    assert "nothing to change" not in result.err
    assert "imagecleaner checked" not in " ".join(result.err.split())
    (put,) = puts(emulator, cluster)
    assert put["query"]["api-version"] == PREVIEW_API_VERSION  # the stand-in's own write
    assert image_cleaner_of(put["body"]) == {"enabled": True, "intervalHours": 48}


@pytest.mark.parametrize(
    ("command", "owner_example", "owner_flag"),
    [
        ("create", "Create a Kubernetes cluster with IMDS restriction.", "--enable-imds-restriction"),
        ("update", "Reconcile the cluster back to its current state.", "--enable-imds-restriction"),
    ],
)
def test_help_in_the_owner_s_shape_shows_both_examples(preview, command, owner_example, owner_flag):
    """aks-preview writes its help as YAML indented by 4 spaces, with examples' items at 8 (create) or 6
    (update): the extension's examples join them, and az parses the result."""
    from azext_imagecleaner._help import EXAMPLES

    az, _ = preview
    result = az("aks", command, "--help")
    assert result.code == 0, result.err
    assert "Traceback" not in result.err and "ParserError" not in result.err
    text = " ".join(result.out.split())
    assert owner_example in text and owner_flag in text
    for example in EXAMPLES[f"aks {command}"]:
        assert example["name"] in text
    assert "ImageCleaner scanning interval." not in text  # the owner's text of our flag gives way to ours
