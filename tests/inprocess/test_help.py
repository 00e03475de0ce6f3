"""`az aks create/update --help` keep core's flags and texts and show the extension's."""

import pytest


@pytest.fixture(scope="module")
def help_text():
    texts = {}

    def get(az, command):
        if command not in texts:
            code, out, _ = az("aks", command, "--help")
            assert code == 0
            texts[command] = out
        return texts[command]

    return get


@pytest.mark.parametrize("command", ["create", "update"])
@pytest.mark.parametrize("flag", ["--tags", "--enable-managed-identity", "--attach-acr", "--resource-group"])
def test_core_flags_are_kept(az, help_text, command, flag):
    assert flag in help_text(az, command)


def test_core_aliases_and_texts_are_kept(az, help_text):
    text = help_text(az, "update")
    assert "--ca-certs --custom-ca-trust-certificates" in text
    assert "The tags of the managed cluster." in text


@pytest.mark.parametrize("command", ["create", "update"])
def test_interval_help_gives_unit_range_default(az, help_text, command):
    text = " ".join(help_text(az, command).split())
    assert "Hours between Image Cleaner runs: a whole number from 24 to 2160." in text
    assert "Default: 168 (one week)" in text
    assert "ImageCleaner scanning interval." not in text


def test_disable_help_says_the_interval_is_kept(az, help_text):
    text = " ".join(help_text(az, "update").split())
    assert "Turn off Image Cleaner. The stored interval is kept" in text


@pytest.mark.parametrize(
    "command, example",
    [
        ("create", "az aks create -g MyResourceGroup -n MyManagedCluster --enable-image-cleaner"),
        ("update", "az aks update -g MyResourceGroup -n MyManagedCluster --disable-image-cleaner"),
        ("update", "az aks update -g MyResourceGroup -n MyManagedCluster --image-cleaner-interval-hours 336"),
    ],
)
def test_examples_are_shown(az, help_text, command, example):
    assert example in " ".join(help_text(az, command).split())


def test_core_examples_are_kept(az, help_text):
    assert "az aks update -g MyResourceGroup -n MyManagedCluster --attach-acr acrName" in help_text(az, "update")


@pytest.mark.parametrize("command", [["aks", "image-cleaner", "set"], ["aks", "image-cleaner", "run"]])
def test_defaults_are_said_once(az, command):
    """az appends each argument's default to its help itself; the text must not say it a second time."""
    code, out, _ = az(*command, "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "Default: 600. Default: 600." not in text and "Default: 20. Default: 20." not in text
    assert "Default: 600." in text


def test_set_help_states_the_etag_condition(az):
    code, out, _ = az("aks", "image-cleaner", "set", "--help")
    text = " ".join(out.split())
    assert code == 0 and "Where the service returns an ETag" in text and "cannot be detected" in text
