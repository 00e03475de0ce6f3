"""Starting the emulator from the checkout, as tests, the sandbox and the benchmarks do (standard library only)."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(args, **popen):
    """`python -m armemulator *args` from the checkout, as a `subprocess.Popen` (`popen`: its other arguments).

    The emulator's modules come from the checkout's folder, which `python -m` puts on sys.path only without
    PYTHONSAFEPATH. The sandbox's env.sh exports that variable for az (az run from the checkout would import its
    azext_imagecleaner instead of the installed extension: azprofile.az_environment), so a shell that sourced it
    passes it on; the emulator's own environment goes without it.
    """
    env = {k: v for k, v in (popen.pop("env", None) or os.environ).items() if k != "PYTHONSAFEPATH"}
    return subprocess.Popen([sys.executable, "-m", "armemulator", *args], cwd=REPO, env=env, **popen)
