"""The README's sandbox from a shell that sourced `.sandbox/env.sh`, which exports PYTHONSAFEPATH for az: the
sandbox script and the emulator it starts still find their own modules."""

import json
import os
import subprocess
import sys
import time

from armemulator import launch
from armemulator.control import Emulator


def test_sandbox_sh_runs_in_a_shell_that_sourced_env_sh(tmp_path):
    env = dict(os.environ, PYTHONSAFEPATH="1", IMAGECLEANER_VENV=os.path.dirname(os.path.dirname(sys.executable)))
    completed = subprocess.run(
        [os.path.join(launch.REPO, "scripts", "sandbox.sh"), "down", "--dir", str(tmp_path / "sandbox")],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "no emulator is running" in completed.stdout and "ModuleNotFoundError" not in completed.stderr


def test_the_emulator_starts_from_a_shell_that_sourced_env_sh(tmp_path):
    ready = tmp_path / "ready.json"
    with open(tmp_path / "emulator.log", "w") as log:
        process = launch.start(
            ["--ready-file", str(ready), "--certs", str(tmp_path / "certs")],
            env=dict(os.environ, PYTHONSAFEPATH="1"),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), (tmp_path / "emulator.log").read_text()
        info = json.loads(ready.read_text())
        assert Emulator(info["url"], info["ca"]).health()
    finally:
        process.terminate()
        process.wait(timeout=10)
