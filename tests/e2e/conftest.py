"""End-to-end harness: the real az executable, the extension from the built wheel, the emulator.

One emulator and one logged-in az profile serve the whole session. Before
each test the emulator's request log, faults and throttling are reset, so a
test can assert on everything az sent during it. Tests run one at a time:
"no request was made" must mean no request from anybody.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import pytest

from armemulator import launch
from armemulator.arm.clusters import sample_cluster
from armemulator.azprofile import az_environment, install_extension, login
from armemulator.control import Emulator
from tests.wheel import built_wheel

AZ = os.environ.get("IMAGECLEANER_AZ") or os.path.join(os.path.dirname(sys.executable), "az")
RESOURCE_GROUP = "e2e-rg"


@dataclass
class AzResult:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


@dataclass(frozen=True)
class Cluster:
    subscription: str
    resource_group: str
    name: str

    @property
    def args(self):
        return ["-g", self.resource_group, "-n", self.name]


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    work = tmp_path_factory.mktemp("emulator")
    ready = work / "ready.json"
    with open(work / "emulator.log", "w") as log:
        process = launch.start(
            ["--ready-file", str(ready), "--certs", str(work / "certs"), "--subscriptions", "2"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 30
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the emulator did not start: {(work / 'emulator.log').read_text()}")
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    emulator = Emulator(info["url"], info["ca"])
    emulator.subscription = info["subscription"]
    yield emulator
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def az_env(emulator, tmp_path_factory):
    """The environment of an az profile, isolated from the user's, with the extension installed and logged in."""
    work = tmp_path_factory.mktemp("az")
    env = az_environment(os.environ, emulator.url, emulator.ca_path, str(work / "config"), str(work / "extensions"))
    install_extension(AZ, env, built_wheel(work))
    login(AZ, env, emulator.url)
    return env


@pytest.fixture(scope="session")
def core_env(az_env, tmp_path_factory):
    """The session's logged-in az profile without any extension: az as core runs it."""
    work = tmp_path_factory.mktemp("core-az")
    env = dict(az_env, AZURE_CONFIG_DIR=str(work / "config"), AZURE_EXTENSION_DIR=str(work / "extensions"))
    shutil.copytree(az_env["AZURE_CONFIG_DIR"], env["AZURE_CONFIG_DIR"])
    os.makedirs(env["AZURE_EXTENSION_DIR"])
    return env


@pytest.fixture
def core_az(core_env):
    """Run the real az without the extension (see `az`)."""
    return _runner(core_env)


@pytest.fixture
def az(az_env):
    """Run the real az; stdin is closed, as in CI, so any prompt fails instead of waiting."""
    return _runner(az_env)


def _runner(base_env):
    def run(*args, timeout=180, env=None):
        completed = subprocess.run(
            [AZ, *args],
            env={**base_env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return AzResult(completed.returncode, completed.stdout, completed.stderr)

    return run


# Whether clusters get ETags: "none" as the live service answers (../shared/recorded-arm), or "spec" as the API
# specification describes. scripts/test.sh runs the end-to-end suite in both; tests that are about one of them
# ask for it with make_cluster(etags=...).
ETAG_MODE = os.environ.get("IMAGECLEANER_E2E_ETAGS", "none")
assert ETAG_MODE in ("none", "spec"), f"IMAGECLEANER_E2E_ETAGS={ETAG_MODE}: use none or spec"


@pytest.fixture(autouse=True)
def fresh_emulator(emulator):
    """Reset the log, faults, throttling and settings before each test."""
    emulator.reset()
    emulator.configure(
        operation_seconds=0,
        operation_retry_after=1,
        feature_registered=True,
        page_size=100,
        kube_run_seconds=0.5,
        kube_pod_ttl_seconds=600,
        etags_default=ETAG_MODE == "spec",
        token_seconds=3600,
        # A run-command pod starts in seconds on AKS; here in a fraction of one, but not in none.
        run_command_start_seconds=0.2,
    )


@pytest.fixture
def make_cluster(emulator):
    """Seed a cluster with a fresh name; image_cleaner=(enabled, hours) or None for no profile."""

    def make(image_cleaner=None, body=None, resource_group=RESOURCE_GROUP, subscription=None, etags=None, **shape):
        cluster = Cluster(subscription or emulator.subscription, resource_group, f"c-{uuid.uuid4().hex[:10]}")
        emulator.put_cluster(*_ref(cluster), body or sample_cluster(image_cleaner=image_cleaner, **shape))
        if etags is not None:
            emulator.set_etags(*_ref(cluster), etags)
        emulator.clear_requests()
        return cluster

    return make


def _ref(cluster):
    return cluster.subscription, cluster.resource_group, cluster.name


def image_cleaner_of(doc):
    return ((doc.get("properties") or {}).get("securityProfile") or {}).get("imageCleaner")


def stored_image_cleaner(emulator, cluster):
    return image_cleaner_of(emulator.cluster(*_ref(cluster)))


def cluster_requests(emulator, cluster, method=None):
    """The requests az sent about `cluster` (its path, case-insensitively), optionally of one method."""
    suffix = f"/managedclusters/{cluster.name}".lower()
    return [
        r
        for r in emulator.requests()
        if r["path"].lower().endswith(suffix) and (method is None or r["method"] == method)
    ]


@pytest.fixture(scope="session")
def kubectl_path():
    """The real kubectl: the one on PATH (1.32 on the project's machines), else the pinned one scripts/setup.sh
    put into the virtualenv. Never skipped: a missing kubectl fails the tests that need it."""
    import shutil

    found = shutil.which("kubectl") or shutil.which("kubectl", path=os.path.dirname(sys.executable))
    if not found:
        pytest.fail("kubectl is not installed: scripts/setup.sh installs a pinned one into .venv when PATH has none")
    return found


@pytest.fixture
def kubectl(az, kubectl_path, tmp_path):
    """kubectl against a cluster, with the kubeconfig `az aks get-credentials` writes, as the AKS article does."""

    def for_cluster(cluster, admin=False):
        kubeconfig = tmp_path / f"{cluster.name}.kubeconfig"
        args = ["aks", "get-credentials", *cluster.args, "--file", str(kubeconfig), "--overwrite-existing"]
        got = az(*args, *(["--admin"] if admin else []))
        assert got.code == 0, got.err

        def run(*args, stdin=None, env=None):
            completed = subprocess.run(
                [kubectl_path, *args],
                env={**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path), **(env or {})},
                input=stdin or "",
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            return AzResult(completed.returncode, completed.stdout, completed.stderr)

        return run

    return for_cluster
