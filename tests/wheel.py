"""The extension's wheel, built once per test session unless CI already built it."""

import glob
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def built_wheel(scratch):
    """IMAGECLEANER_WHEEL if set (CI builds it once), else a wheel built from this checkout into `scratch`."""
    given = os.environ.get("IMAGECLEANER_WHEEL")
    if given:
        return given
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(scratch),
            REPO,
        ],
        check=True,
    )
    (wheel,) = glob.glob(os.path.join(str(scratch), "imagecleaner-*.whl"))
    return wheel


def built_standin(scratch, name):
    """The wheel of tests/standin (an extension shaped like aks-preview), under the extension name `name`.
    Built from a copy, so that the build leaves nothing in the checkout."""
    import shutil

    source = os.path.join(str(scratch), f"standin-{name}")
    shutil.copytree(os.path.join(REPO, "tests", "standin"), source)
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*build, "-w", str(scratch), source],
        check=True,
        env={**os.environ, "STANDIN_NAME": name},
    )
    (wheel,) = glob.glob(os.path.join(str(scratch), f"{name.replace('-', '_')}-*.whl"))
    return wheel
