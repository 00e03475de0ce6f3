"""The sandbox: the emulator with demo clusters and an isolated az profile, and a short demo.

    python -m armemulator.sandbox up     start (or reuse) the emulator, log az in, run the demo
    python -m armemulator.sandbox env    print the shell lines that point az at the sandbox
    python -m armemulator.sandbox down   stop the emulator

Everything lives under .sandbox/ in the checkout; the user's ~/.azure is never read or written.
"""

import argparse
import contextlib
import glob
import json
import os
import shlex
import signal
import subprocess
import sys
import time

from armemulator import launch
from armemulator.arm.clusters import recorded_cluster, with_monitoring
from armemulator.azprofile import AzStepError, az_environment, install_extension, login
from armemulator.control import Emulator
from armemulator.kubernetes.auth import CLUSTER_ADMIN
from armemulator.seed import (
    AGENT_SETTINGS,
    DEMO_CLUSTERS,
    DEMO_GROUP,
    DEMO_WORKSPACE,
    ENTERPRISE_CLUSTERS,
    agent_configmap,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CLUSTER = "demo-cleaner"
# The cluster `check` finds faults on; seeded afresh by each demo.
FAULT_CLUSTER = "ops-faulty"


class Sandbox:
    def __init__(self, directory):
        self.dir = os.path.abspath(directory)
        self.ready_file = os.path.join(self.dir, "emulator.json")
        self.az = os.path.join(os.path.dirname(sys.executable), "az")

    # --- the emulator ----------------------------------------------------------------------------

    def running(self):
        """The running emulator's info, or None."""
        try:
            with open(self.ready_file, encoding="utf-8") as f:
                info = json.load(f)
            os.kill(info["pid"], 0)
            Emulator(info["url"], info["ca"]).health()
            return info
        except (OSError, ValueError, KeyError):
            return None

    def start(self):
        info = self.running()
        if info:
            print(f"sandbox: the emulator is already running at {info['url']}")
            return info
        os.makedirs(self.dir, exist_ok=True)
        if os.path.exists(self.ready_file):
            os.remove(self.ready_file)
        with open(os.path.join(self.dir, "emulator.log"), "a", encoding="utf-8") as log:
            launch.start(
                [
                    "--seed",
                    "demo",
                    "--operation-seconds",
                    "1",
                    "--state",
                    os.path.join(self.dir, "state.json"),
                    "--certs",
                    os.path.join(self.dir, "certs"),
                    "--ready-file",
                    self.ready_file,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            info = self.running()
            if info:
                print(f"sandbox: started the emulator at {info['url']} (log: {self.dir}/emulator.log)")
                return info
            time.sleep(0.1)
        sys.exit(f"sandbox: the emulator did not start; see {self.dir}/emulator.log")

    def stop(self):
        info = self.running()
        if not info:
            print("sandbox: no emulator is running")
            return
        os.kill(info["pid"], signal.SIGTERM)
        os.remove(self.ready_file)
        print(f"sandbox: stopped the emulator (pid {info['pid']}); clusters are kept in {self.dir}/state.json")

    # --- the az profile --------------------------------------------------------------------------

    def env(self, info):
        return az_environment(
            os.environ,
            info["url"],
            info["ca"],
            os.path.join(self.dir, "azconfig"),
            os.path.join(self.dir, "azextensions"),
        )

    def exports(self, info, env=None):
        env = env or self.env(info)
        names = [
            "AZURE_CONFIG_DIR",
            "AZURE_EXTENSION_DIR",
            "REQUESTS_CA_BUNDLE",
            "AZURE_CORE_COLLECT_TELEMETRY",
            "AZURE_CORE_INSTANCE_DISCOVERY",
            "IDENTITY_ENDPOINT",
            "IDENTITY_HEADER",
            "PYTHONSAFEPATH",
        ]
        lines = [f"export {name}={shlex.quote(env[name])}" for name in names]
        lines.append(f'export PATH={shlex.quote(os.path.dirname(self.az))}:"$PATH"')
        return "\n".join(lines) + "\n"

    def prepare_profile(self, info, wheel):
        env = self.env(info)
        with _step("install the extension into the sandbox's az"):
            install_extension(self.az, env, wheel, replace=True)
        with _step("log the sandbox's az in to the emulator"):
            login(self.az, env, info["url"])
        with open(os.path.join(self.dir, "env.sh"), "w", encoding="utf-8") as f:
            f.write("# source this file to point az at the sandbox\n" + self.exports(info, env))
        print("sandbox: az profile logged in to the emulator, extension installed from", os.path.basename(wheel))
        return env


@contextlib.contextmanager
def _step(title):
    """A failed set-up step ends the sandbox with one line: the step, the command and its error, and how to
    retry; never a traceback."""
    try:
        yield
    except AzStepError as ex:
        sys.exit(f"sandbox: could not {title}: {ex}. Fix that, then run scripts/sandbox.sh again.")


def run_demo(sandbox, info, env):
    emulator = Emulator(info["url"], info["ca"])
    subscription = info["subscription"]
    emulator.delete_cluster(subscription, DEMO_GROUP, DEMO_CLUSTER)

    def stored():
        doc = emulator.cluster(subscription, DEMO_GROUP, DEMO_CLUSTER)
        return ((doc.get("properties") or {}).get("securityProfile") or {}).get("imageCleaner")

    def step(title, *args, check=True):
        print(f"\n== {title}\n$ az {' '.join(shlex.quote(a) for a in args)}", flush=True)
        emulator.clear_requests()
        result = subprocess.run(
            [sandbox.az, *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        shown = [line for line in result.stderr.splitlines() if "altered by the following extension" not in line]
        print(result.stdout.rstrip() or "(no output)")
        if shown:
            print("\n".join(shown))
        # The calls a run-command pod's kubectl makes inside the cluster are not az's.
        sent = [
            _describe(r)
            for r in emulator.requests()
            if r["path"] != "/msi/token" and not r["headers"].get("user-agent", "").startswith("kubectl")
        ]
        print(f"-> exit code {result.returncode}; requests sent: {', '.join(sent) or 'none'}")
        if check and result.returncode != 0:
            sys.exit(f"sandbox: the demo step failed: {title}")
        return result

    g = ["-g", DEMO_GROUP, "-n", DEMO_CLUSTER]
    query = ["--query", "securityProfile.imageCleaner", "-o", "json"]
    step(
        "The demo clusters",
        "aks",
        "list",
        "-g",
        DEMO_GROUP,
        "--query",
        "[].{name:name, enabled:securityProfile.imageCleaner.enabled, "
        "intervalHours:securityProfile.imageCleaner.intervalHours}",
        "-o",
        "table",
    )
    step(
        "Create a cluster with Image Cleaner on (168 hours, one week, by default)",
        "aks",
        "create",
        *g,
        "--enable-image-cleaner",
        "--no-ssh-key",
        *query,
    )
    step("Run it every 72 hours instead", "aks", "update", *g, "--image-cleaner-interval-hours", "72", *query)
    step("Turn it off: the interval stays stored", "aks", "update", *g, "--disable-image-cleaner", *query)
    step("Turn it on again: the 72 hours come back", "aks", "update", *g, "--enable-image-cleaner", *query)
    step("Show the cluster's setting", "aks", "show", *g, *query)
    step(
        "A bad interval is refused before anything is sent",
        "aks",
        "update",
        *g,
        "--image-cleaner-interval-hours",
        "0",
        check=False,
    )
    final = stored()
    print(f"\nsandbox: {DEMO_CLUSTER} stores imageCleaner = {json.dumps(final)}")

    # The cluster side, on the demo cluster that has Image Cleaner on.
    b = ["-g", DEMO_GROUP, "-n", "batch-dev"]
    step("Image Cleaner's status on batch-dev", "aks", "image-cleaner", "status", *b, "-o", "table")
    step(
        "Never remove any redis image",
        "aks",
        "image-cleaner",
        "exclusion",
        "add",
        *b,
        "--images",
        "docker.io/library/redis:*",
        "-o",
        "table",
    )
    step("Every exclusion list Eraser reads", "aks", "image-cleaner", "exclusion", "list", *b, "-o", "table")
    step(
        "Remove three images now and wait for the node counts",
        "aks",
        "image-cleaner",
        "run",
        *b,
        "--images",
        "docker.io/library/alpine:3.7.3",
        "docker.io/library/redis:6.0.5",
        "docker.io/library/nginx:1.19.0",
        "--wait",
        "-o",
        "table",
    )
    step(
        "Save the worker pods' logs before they vanish",
        "aks",
        "image-cleaner",
        "logs",
        *b,
        "--output-dir",
        os.path.join(sandbox.dir, "logs"),
        "-o",
        "table",
    )
    step("What the run did, node by node", "aks", "image-cleaner", "report", *b, "-o", "table")

    # Image Cleaner's own schedule: collector, trivy-scanner and remover on every node, as Eraser v1.4.1 logs
    # them. One node's container runtime cannot be reached, as happens to real nodes (eraser-dev/eraser#594).
    print("\n== The schedule fires (the emulator starts a scheduled run; aks-nodepool1-2's runtime is down)")
    emulator.node_fault(subscription, DEMO_GROUP, "batch-dev", "aks-nodepool1-2", "runtime-unreachable")
    emulator.scheduled_run(subscription, DEMO_GROUP, "batch-dev")
    step(
        "What the scheduled run did: names, the scanner's verdicts, the failed node",
        "aks",
        "image-cleaner",
        "report",
        *b,
        "-o",
        "table",
    )
    emulator.node_fault(subscription, DEMO_GROUP, "batch-dev", "aks-nodepool1-2", None)
    _enterprise_demo(emulator, subscription, step)


ALPINE = "docker.io/library/alpine:3.7.3"


def _enterprise_demo(emulator, subscription, step):
    """The hardened kinds of cluster: managed AAD + Azure RBAC without local accounts, and a private one."""
    for name in ENTERPRISE_CLUSTERS:
        emulator.put_cluster(subscription, DEMO_GROUP, name, DEMO_CLUSTERS[name])
    a = ["-g", DEMO_GROUP, "-n", "aad-prod"]
    print(
        "\n== aad-prod: managed Azure AD with Azure RBAC, local accounts disabled. The commands sign in with your az "
        "login (no kubelogin). First with no role on the cluster:"
    )
    emulator.role_assignments(subscription, DEMO_GROUP, "aad-prod")
    step(
        "A manual run, denied by Azure RBAC: the error names the role",
        "aks",
        "image-cleaner",
        "run",
        *a,
        "--images",
        ALPINE,
        check=False,
    )
    step("--admin has no credentials to use here", "aks", "image-cleaner", "status", *a, "--admin", check=False)
    print(
        "\n== An owner assigns 'Azure Kubernetes Service RBAC Cluster Admin' (the emulator does it, as "
        "'az role assignment create' would)"
    )
    emulator.role_assignments(subscription, DEMO_GROUP, "aad-prod", (CLUSTER_ADMIN, None))
    step("Status on aad-prod", "aks", "image-cleaner", "status", *a, "-o", "table")
    step("A manual run on aad-prod", "aks", "image-cleaner", "run", *a, "--images", ALPINE, "--wait", "-o", "table")
    p = ["-g", DEMO_GROUP, "-n", "private-dev"]
    print(
        "\n== private-dev: a private cluster. Its API server's name resolves only inside its VNet, so the commands "
        "go through AKS run command (kubectl in a pod in the cluster, through Azure Resource Manager)"
    )
    step("Status on private-dev", "aks", "image-cleaner", "status", *p, "-o", "table")
    step("A manual run on private-dev", "aks", "image-cleaner", "run", *p, "--images", ALPINE, "--wait", "-o", "table")
    _history_demo(emulator, subscription, step)
    _check_demo(emulator, subscription, step)


def _check_demo(emulator, subscription, step):
    """`check` on a cluster with two faults users report: an OOMKilled controller that left PodTemplates behind
    (eraser-dev/eraser#1169, #912), and a team's exclusion list Eraser ignores (its key is no .json)."""
    body = with_monitoring(
        recorded_cluster("image-cleaner-2023", image_cleaner=(True, 168), tags={"env": "prod"}, linux_nodes=3),
        DEMO_WORKSPACE,
    )
    emulator.put_cluster(subscription, DEMO_GROUP, FAULT_CLUSTER, body)
    emulator.put_configmap(subscription, DEMO_GROUP, FAULT_CLUSTER, agent_configmap("v2"))
    emulator.history(subscription, DEMO_GROUP, FAULT_CLUSTER, days=30, candidates=10, vulnerable=4)
    emulator.restart_controller(subscription, DEMO_GROUP, FAULT_CLUSTER, restarts=4, reason="OOMKilled", orphans=2)
    team_list = {"excluded": ["myregistry.azurecr.io/payments/*"]}
    emulator.put_configmap(
        subscription,
        DEMO_GROUP,
        FAULT_CLUSTER,
        {
            "metadata": {
                "name": "payments-keep",
                "namespace": "kube-system",
                "labels": {"eraser.sh/exclude.list": "true"},
            },
            "data": {"excluded": json.dumps(team_list)},
        },
    )
    print(
        f"\n== Health: {FAULT_CLUSTER}'s controller was OOMKilled four times and left PodTemplates behind, and a "
        "team's exclusion list is ignored by Eraser; check finds both, with the fix, and exits 1"
    )
    check = ["aks", "image-cleaner", "check", "-g", DEMO_GROUP]
    step(f"Every check on {FAULT_CLUSTER}", *check, "-n", FAULT_CLUSTER, "-o", "table", check=False)
    step("What fails, and how to fix it", *check, "-n", FAULT_CLUSTER, "--query", "checks[?status=='fail']",
         check=False)  # fmt: skip
    step("Every cluster of the group, a row each", *check, "--all", "-o", "table", check=False)


def _history_demo(emulator, subscription, step):
    """What Image Cleaner did over 30 days, long after its pods are gone: Container Insights keeps it."""
    for name, schema in AGENT_SETTINGS.items():
        emulator.put_configmap(subscription, DEMO_GROUP, name, agent_configmap(schema))
    for name in (*AGENT_SETTINGS, "aad-prod"):
        # On private-dev the latest run left a node out: it was down when the run began (Azure/AKS#5580).
        faults = {"aks-nodepool1-1": "down"} if name == "private-dev" else None
        emulator.history(subscription, DEMO_GROUP, name, days=30, faults=faults)
    print(
        "\n== History: batch-dev, private-dev and aad-prod send their logs to Container Insights (batch-dev in the new "
        "schema, private-dev in the legacy one, aad-prod without kube-system); their past runs are there"
    )
    report = ["aks", "image-cleaner", "report", "-g", DEMO_GROUP, "--since", "30d"]
    step("batch-dev over the last 30 days, in four figures", *report, "-n", "batch-dev", "--query", "summary")
    step("Every cluster of the group over the last 30 days: one query per workspace", *report, "--all", "-o", "table")
    step("aad-prod kept nothing: why", *report, "-n", "aad-prod", check=False)
    print(
        "\n== Coverage: did Image Cleaner reach every node? From the nodes and pods Container Insights sampled, each "
        "node against the latest run (on private-dev, a node was down when it began)"
    )
    coverage = ["aks", "image-cleaner", "coverage", "-g", DEMO_GROUP]
    step("Every node of private-dev", *coverage, "-n", "private-dev", "-o", "table")
    step("A CI gate: how many nodes the latest run left out", *coverage, "-n", "private-dev", "--query",
         "summary.gaps", "-o", "tsv")  # fmt: skip
    step("Every cluster of the group: one query per workspace", *coverage, "--all", "-o", "table")


def _describe(request):
    """A request in a few words: 'PUT demo-cleaner', 'poll operation'."""
    if "/operations/" in request["path"]:
        return "poll operation"
    if "/commandresults/" in request["path"].lower():
        return "poll run-command"
    if request["path"].lower().startswith("/v1/"):
        return "Log Analytics query"
    return f"{request['method']} {request['path'].rsplit('/', 1)[-1]}"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m armemulator.sandbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=("up", "env", "down"), nargs="?", default="up")
    parser.add_argument("--dir", default=os.path.join(REPO, ".sandbox"), help="where the sandbox keeps its files")
    parser.add_argument("--wheel", help="the extension's wheel (default: the newest in dist/)")
    parser.add_argument("--no-demo", action="store_true", help="set up only; do not run the demo")
    args = parser.parse_args(argv)
    sandbox = Sandbox(args.dir)

    if args.action == "down":
        sandbox.stop()
        return
    if args.action == "env":
        info = sandbox.running()
        if not info:
            sys.exit("sandbox: not running; start it with scripts/sandbox.sh")
        sys.stdout.write(sandbox.exports(info))
        return

    wheels = sorted(glob.glob(os.path.join(REPO, "dist", "imagecleaner-*.whl")), key=os.path.getmtime)
    wheel = args.wheel or (wheels[-1] if wheels else None)
    if not wheel:
        sys.exit("sandbox: no wheel in dist/; run scripts/setup.sh first")
    info = sandbox.start()
    env = sandbox.prepare_profile(info, wheel)
    if not args.no_demo:
        run_demo(sandbox, info, env)
    here = os.path.relpath(sandbox.dir, os.getcwd())
    print(f"""
The sandbox is running. To use it from your shell:
    source {here}/env.sh
    az aks list -o table
    az aks update -g {DEMO_GROUP} -n web-prod --enable-image-cleaner
To use kubectl on a sandbox cluster (the AKS article's commands work against it):
    az aks get-credentials -g {DEMO_GROUP} -n batch-dev --file {here}/batch-dev.kubeconfig
    export KUBECONFIG={sandbox.dir}/batch-dev.kubeconfig
    kubectl get pods -n kube-system
This az profile lives in {sandbox.dir}; your own ~/.azure is not touched.
Stop it with: scripts/sandbox.sh down   (clusters are kept for next time)""")


if __name__ == "__main__":
    main()
