"""`az aks image-cleaner` in process: help, and bad input refused before login is even asked for.

The extension is installed here without its dependencies, so these also show that neither help nor
validation imports the kubernetes package.
"""

import pytest

NOT_LOGGED_IN = "Please run 'az login'"


def test_group_help_lists_the_commands(az):
    code, out, _ = az("aks", "image-cleaner", "--help")
    assert code == 0
    for command in ("run", "logs", "status", "exclusion"):
        assert command in out
    assert "Run Image Cleaner by hand" in out


@pytest.mark.parametrize(
    "command", [["run"], ["logs"], ["status"], ["exclusion", "list"], ["exclusion", "add"], ["exclusion", "remove"]]
)
def test_every_command_has_help_with_an_example(az, command):
    code, out, _ = az("aks", "image-cleaner", *command, "--help")
    assert code == 0
    assert "Examples" in out
    assert f"az aks image-cleaner {' '.join(command)} -g MyResourceGroup -n MyManagedCluster" in " ".join(out.split())


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--images", "Bad Image"], "is not an image reference"),
        (["run"], "Say which images to remove"),
        (["run", "--all", "--images", "a:1"], "cannot be used together"),
        (["run", "--all", "--wait", "--timeout", "0"], "--timeout 0 must be at least 1 second"),
        (["exclusion", "add", "--images", "*"], "would exclude every image"),
        (["exclusion", "remove", "--images", "UPPER/x:*"], "is not an exclusion pattern"),
        (["logs", "--container", "nope"], "'nope' is not a valid value for '--container'"),
    ],
)
def test_bad_input_is_refused_before_login(az, args, message):
    code, _, err = az("aks", "image-cleaner", *args, "-g", "rg", "-n", "c")
    assert code != 0
    assert message in err
    assert NOT_LOGGED_IN not in err


@pytest.mark.parametrize("args", [["run", "--all"], ["status"], ["exclusion", "list"], ["logs", "--node", "n1"]])
def test_good_input_reaches_login(az, args):
    code, _, err = az("aks", "image-cleaner", *args, "-g", "rg", "-n", "c")
    assert code != 0 and NOT_LOGGED_IN in err


@pytest.mark.parametrize("command", ["list", "set"])
def test_fleet_commands_have_help_with_examples(az, command):
    code, out, _ = az("aks", "image-cleaner", command, "--help")
    assert code == 0
    assert "Examples" in out
    assert f"az aks image-cleaner {command} -" in " ".join(out.split())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--enable", "--interval-hours", "23", "--all"], "--interval-hours 23 is out of range"),
        (["--disable", "--all", "--ids", "x"], "Choose the clusters one way only"),
    ],
)
def test_fleet_bad_input_is_refused_before_login(az, args, message):
    code, _, err = az("aks", "image-cleaner", "set", *args)
    assert code != 0 and message in err and NOT_LOGGED_IN not in err


def test_fleet_good_input_reaches_login(az):
    code, _, err = az("aks", "image-cleaner", "set", "--enable", "--all", "--dry-run")
    assert code != 0 and NOT_LOGGED_IN in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["-g", "rg", "-n", "c", "--since", "30"], "--since 30 is not a window of time"),
        (["-g", "rg", "-n", "c", "--since", "P1M"], "--since P1M is not a window of time"),
        (["--all"], "A fleet's report reads what Container Insights kept: add --since"),
        (["--all", "-n", "c", "--since", "7d"], "--name names one cluster"),
        (["--all", "--ids", "x", "--since", "7d"], "one way only"),
        (["--ids", "/subscriptions/s/resourceGroups/rg", "--since", "7d"], "is not a managed cluster resource ID"),
        (["--subscriptions", "Prod", "-g", "rg", "-n", "c"], "--subscriptions and --management-group narrow a fleet"),
        (["-g", "rg", "-n", "c", "--since", "7d", "--from-dir", "."], "--from-dir reads saved logs"),
        (["-g", "rg", "--since", "7d"], "Give the cluster with --resource-group and --name"),
    ],
)
def test_report_input_is_refused_before_login(az, args, message):
    code, _, err = az("aks", "image-cleaner", "report", *args)
    assert code != 0 and message in err and NOT_LOGGED_IN not in err


@pytest.mark.parametrize(
    "args",
    [
        ["-g", "rg", "-n", "c", "--since", "30d"],
        ["-g", "rg", "-n", "c", "--since", "P1DT12H", "--show-query"],
        ["--all", "--since", "2w", "-m", "Platform"],
        ["--ids", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
         "--since", "12h"],
    ],
)  # fmt: skip
def test_report_good_input_reaches_login(az, args):
    code, _, err = az("aks", "image-cleaner", "report", *args)
    assert code != 0 and NOT_LOGGED_IN in err, err


def test_report_help_shows_history_examples(az):
    code, out, _ = az("aks", "image-cleaner", "report", "--help")
    text = " ".join(out.split())
    assert code == 0 and "--since" in text and "--show-query" in text and "--history" not in text
    assert "az aks image-cleaner report --all --since 30d -o table" in text
