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


def test_examples_in_the_middle_and_quoted_names():
    text = (
        "type: command\n"
        "examples:\n"
        "  - name: Core example\n"
        "    text: >\n"
        "        az aks update -g rg -n c\n"
        "\n"
        "parameters:\n"
        '  - name: "--image-cleaner-interval-hours"\n'
        "    short-summary: >\n"
        "        ImageCleaner scanning interval.\n"
        "  - name: --enable-image-cleaner-extra --other\n"
        "    short-summary: Not ours, the option only starts like ours.\n"
        "  - name: --ca-certs --custom-ca-trust-certificates\n"
        "    short-summary: Kept.\n"
        "long-summary: Last key.\n"
    )
    entries = {"aks update": text}
    merge_help("aks update", entries)
    data = yaml.safe_load(entries["aks update"])
    assert [p["name"] for p in data["parameters"]] == [
        "--enable-image-cleaner-extra --other",
        "--ca-certs --custom-ca-trust-certificates",
    ]
    assert data["examples"][0]["name"] == "Core example" and data["examples"][1:] == EXAMPLES["aks update"]
    assert data["long-summary"] == "Last key."


def test_merged_into_the_installed_core_help_every_other_parameter_stays():
    import importlib

    import azure.cli.command_modules.acs._help as core_help
    from knack.help_files import helps

    # Registered afresh: an az run earlier in this process may have merged the shared texts already.
    importlib.reload(core_help)
    for command in ("aks create", "aks update"):
        before = yaml.safe_load(helps[command])
        entries = {command: helps[command]}
        merge_help(command, entries)
        after = yaml.safe_load(entries[command])
        ours = {"--enable-image-cleaner", "--disable-image-cleaner", "--image-cleaner-interval-hours"}
        assert [p for p in after["parameters"]] == [p for p in before["parameters"] if p["name"] not in ours]
        assert after["examples"] == before["examples"] + EXAMPLES[command]
        assert {k: v for k, v in after.items() if k not in ("parameters", "examples")} == {
            k: v for k, v in before.items() if k not in ("parameters", "examples")
        }
