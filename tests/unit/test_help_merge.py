"""Folding the extension's help into core's help text."""

import yaml

from azext_imagecleaner._help import EXAMPLES, merge_help

CORE_TEXT = """
type: command
short-summary: Update a managed Kubernetes cluster.
parameters:
  - name: --tags
    short-summary: The tags of the managed cluster.
  - name: --image-cleaner-interval-hours
    type: int
    short-summary: ImageCleaner scanning interval.
  - name: --enable-image-cleaner
    short-summary: Enable ImageCleaner Service.
examples:
  - name: Update tags
    text: az aks update -g rg -n c --tags a=b
"""


def test_core_entries_are_kept_and_its_image_cleaner_texts_dropped():
    entries = {"aks update": CORE_TEXT}
    merge_help("aks update", entries)
    data = yaml.safe_load(entries["aks update"])
    assert data["short-summary"] == "Update a managed Kubernetes cluster."
    assert [p["name"] for p in data["parameters"]] == ["--tags"]
    assert data["examples"][0]["name"] == "Update tags"
    assert data["examples"][1:] == EXAMPLES["aks update"]


def test_merging_twice_adds_the_examples_once():
    entries = {"aks update": CORE_TEXT}
    merge_help("aks update", entries)
    merge_help("aks update", entries)
    assert len(yaml.safe_load(entries["aks update"])["examples"]) == 1 + len(EXAMPLES["aks update"])


def test_a_command_without_core_help_gets_the_examples():
    entries = {}
    merge_help("aks create", entries)
    assert yaml.safe_load(entries["aks create"])["examples"] == EXAMPLES["aks create"]


def test_other_commands_are_left_alone():
    entries = {"aks show": "type: command"}
    merge_help("aks show", entries)
    assert entries == {"aks show": "type: command"}


def test_every_example_runs_the_command_it_documents():
    for command, examples in EXAMPLES.items():
        for example in examples:
            assert example["text"].startswith(f"az {command} ")
