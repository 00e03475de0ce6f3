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
