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


# aks-preview's shape (../shared/az-aks-command-lines.md, "Help"): the whole text indented by 4 spaces, parameter
# items at 8, examples' items at 8 in `aks create` and at 6 in `aks update`.
def _preview_text(example_indent):
    pad = " " * example_indent
    return (
        "\n    type: command\n"
        "    short-summary: Update a managed Kubernetes cluster.\n"
        "    long-summary: When called with no optional arguments this attempts to move the cluster to its goal\n"
        "                  state.\n"
        "    parameters:\n"
        "        - name: --tags\n"
        "          type: string\n"
        "          short-summary: The tags of the managed cluster.\n"
        "        - name: --enable-image-cleaner\n"
        "          type: bool\n"
        "          short-summary: Enable ImageCleaner Service.\n"
        "        - name: --image-cleaner-interval-hours\n"
        "          type: int\n"
        "          short-summary: ImageCleaner scanning interval.\n"
        "    examples:\n"
        f"{pad}- name: Reconcile the cluster back to its current state.\n"
        f"{pad}  text: az aks update -g MyResourceGroup -n MyManagedCluster\n"
        f"{pad}- name: Update tags.\n"
        f"{pad}  text: |\n"
        f"{pad}      az aks update -g rg -n c --tags a=b\n"
    )


def test_aks_preview_shaped_help_merges_into_valid_yaml():
    for command, example_indent in (("aks update", 6), ("aks create", 8)):
        entries = {command: _preview_text(example_indent)}
        yaml.safe_load(entries[command])  # the owner's text parses before the merge
        merge_help(command, entries)
        data = yaml.safe_load(entries[command])
        assert data["type"] == "command"
        assert data["long-summary"].startswith("When called with no optional arguments")
        assert [p["name"] for p in data["parameters"]] == ["--tags"]
        assert [e["name"] for e in data["examples"][:2]] == [
            "Reconcile the cluster back to its current state.",
            "Update tags.",
        ]
        assert data["examples"][1]["text"] == "az aks update -g rg -n c --tags a=b\n"
        assert data["examples"][2:] == EXAMPLES[command]
