"""What the extension costs commands it does not own: nothing beyond its loader and its command table.

Each case runs az in a fresh Python process (so sys.modules starts empty) and invokes it in that process, as
the az executable does, then lists the extension's modules that were imported. Not a timing: the benchmark
rows in benchmarks/ measure the time; this guards the structure that keeps it low.
"""

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from azure.cli.core import get_default_cli
try:
    get_default_cli().invoke(sys.argv[1:], out_file=open("/dev/null", "w"))
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("azext_imagecleaner", "kubernetes"))))
"""
LOADER_ONLY = ["azext_imagecleaner", "azext_imagecleaner.commands"]


def imported_by(*args):
    # Run outside the checkout, so that `azext_imagecleaner` can only come from the installed extension.
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.environ["AZURE_CONFIG_DIR"] if os.path.isdir(os.environ["AZURE_CONFIG_DIR"]) else "/",
        stdin=subprocess.DEVNULL,
    )
    return json.loads(completed.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["aks", "show", "--help"],
        ["aks", "show", "-g", "rg", "-n", "cluster"],  # not logged in: fails after parsing, before any request
        ["aks", "list", "--help"],
        ["aks", "nodepool", "list", "--help"],
        ["aks", "get-credentials", "--help"],
    ],
    ids=" ".join,
)
def test_commands_the_extension_does_not_own_load_only_its_loader_and_table(installed_extension, args):
    assert imported_by(*args) == LOADER_ONLY


def test_update_help_loads_no_handler_machinery(installed_extension):
    modules = imported_by("aks", "update", "--help")
    assert "azext_imagecleaner.aks.adapter" in modules  # adapts the help of core's command
    for heavy in (
        "aks.handlers",
        "azure.errors",
        "aks.decorators",
        "azure.arm",
        "_format",
        "cluster.handlers",
        "fleet.handlers",
        "eraser.report",
    ):
        assert f"azext_imagecleaner.{heavy}" not in modules
    assert not [m for m in modules if m.startswith("kubernetes")]


def test_the_cluster_side_help_does_not_import_the_kubernetes_client(installed_extension):
    modules = imported_by("aks", "image-cleaner", "report", "--help")
    assert not [m for m in modules if m.startswith("kubernetes")]
    assert "azext_imagecleaner._help" in modules
