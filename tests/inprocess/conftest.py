"""az run in this process, with the extension installed as `az extension add` would install it."""

import os
import subprocess
import sys

import pytest

from tests.wheel import built_wheel


@pytest.fixture(scope="session")
def installed_extension(tmp_path_factory):
    """Install the built wheel into the AZURE_EXTENSION_DIR set by tests/conftest.py."""
    target = os.path.join(os.environ["AZURE_EXTENSION_DIR"], "imagecleaner")
    wheel = built_wheel(tmp_path_factory.mktemp("wheel"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, wheel],
        check=True,
    )
    return target


@pytest.fixture
def az(installed_extension, capfd, caplog):
    """Run `az ARGS` in this process; return (exit code, stdout, stderr with az's log records)."""
    from azure.cli.core import get_default_cli

    def run(*args):
        capfd.readouterr()
        caplog.clear()
        cli = get_default_cli()
        try:
            code = cli.invoke(list(args))
        except SystemExit as ex:  # argparse errors and --help exit
            code = ex.code
        out, err = capfd.readouterr()
        # az's log handlers keep the stream of the first run, so its messages are read from the records.
        logged = "".join(f"{r.levelname}: {r.getMessage()}\n" for r in caplog.records)
        return code, out, logged + err

    return run
