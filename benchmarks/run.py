"""Benchmarks of the extension side by side with core az, in one run, on the local emulator.

    .venv/bin/python benchmarks/run.py [--repeat 7] [--fleet-size 200]
        [--skip-fleet | --only-fleet | --only-scale | --only-private | --only-history] [--wheel WHEEL]

1. Start-up: `az aks show` and `az aks update --help` with the extension installed vs without it.
2. One update: `az aks update --enable-image-cleaner` with the extension vs core az alone, same cluster
   state, same emulator; wall time and HTTP requests.
   With --instructions, the same commands once more under valgrind's callgrind: instructions executed, for core,
   the extension, and an extension that registers nothing (what az itself costs for any installed extension).
3. Fleet: N clusters, each operation taking 2 s, ARM's documented throttling (writes: bucket 200, 10/s;
   reads: bucket 250, 25/s): `az aks image-cleaner set --enable --all` vs a shell loop of core
   `az aks update --enable-image-cleaner`.
4. Fleet at scale: 1,000 clusters in 10 subscriptions (the same operations and throttling, per subscription):
   `set --enable --all` vs core's shell loop measured on a sample and extrapolated; discovery time, requests,
   429s, the az process's CPU time and peak memory, and every stored setting checked.
5. Private cluster (AKS run-command, a 10 s pod start): status, exclusion add, logs, report, each beside one
   `az aks command invoke` running the same kubectl by hand; run --wait against the run's duration plus one pod
   start; the run-commands each sent (--only-private).
6. The fleet's history: `report --all --since 30d` over 1,000 clusters in 10 workspaces with 30 days of runs, on 3
   nodes with the emulator's nine images, and on 20 nodes at real sizes (30 candidates, 20 vulnerable: about 9
   million lines): queries, answers' sizes, cut answers, time, the az process's CPU time and peak memory, the
   emulator's CPU time; on the 20-node fleet, `coverage --all --since 30d` beside it (--only-history).
Prints a table of medians and ratios, and writes benchmarks/results.json. Not a test: nothing here passes or fails.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from armemulator import launch  # noqa: E402
from armemulator.arm.clusters import sample_cluster  # noqa: E402
from armemulator.azprofile import az_environment, install_extension, login  # noqa: E402
from armemulator.control import Emulator  # noqa: E402

AZ = os.path.join(os.path.dirname(sys.executable), "az")
GROUP = "bench-rg"


def start_emulator(work, *extra):
    os.makedirs(work, exist_ok=True)
    ready = os.path.join(work, "ready.json")
    log = open(os.path.join(work, "emulator.log"), "w")  # lives as long as the emulator
    process = launch.start(
        ["--ready-file", ready, "--certs", os.path.join(work, "certs"), *extra], stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while not os.path.exists(ready):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit("the emulator did not start")
        time.sleep(0.05)
    with open(ready) as f:
        info = json.load(f)
    emulator = Emulator(info["url"], info["ca"])
    emulator.subscription = info["subscription"]
    return process, emulator


def profile(emulator, work, name, wheel=None):
    env = az_environment(
        os.environ,
        emulator.url,
        emulator.ca_path,
        os.path.join(work, name, "config"),
        os.path.join(work, name, "extensions"),
    )
    if wheel:
        install_extension(AZ, env, wheel)
    login(AZ, env, emulator.url)
    subprocess.run([AZ, "aks", "show", "--help"], env=env, capture_output=True, check=True)  # build the index
    return env


def run_az(args, env):
    """(the finished az process, its wall time in seconds)."""
    start = time.perf_counter()
    completed = subprocess.run(
        [AZ, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    return completed, time.perf_counter() - start


def run_az_measured(args, env, work):
    """(the finished az process, its wall time, its own rusage): os.wait4 gives the rusage of this process alone,
    where RUSAGE_CHILDREN would fold in every child reaped so far (an emulator of an earlier row among them)."""
    out, err = os.path.join(work, "az.out"), os.path.join(work, "az.err")
    start = time.perf_counter()
    with open(out, "w") as stdout, open(err, "w") as stderr:
        process = subprocess.Popen([AZ, *args], env=env, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    with open(out) as f, open(err) as g:
        completed = subprocess.CompletedProcess(args, process.returncode, f.read(), g.read())
    return completed, elapsed, usage


def timed(args, env):
    completed, elapsed = run_az(args, env)
    if completed.returncode != 0:
        sys.exit(f"az {' '.join(args)} failed: {completed.stderr}")
    return elapsed


def side_by_side(label, args, envs, repeat, before=None, emulator=None):
    """Median wall time of `az ARGS` per profile, runs interleaved so drift hits both alike."""
    times = {name: [] for name in envs}
    requests = {name: [] for name in envs}
    for _ in range(repeat):
        for name, env in envs.items():
            if before:
                before()
            if emulator:
                emulator.clear_requests()
            times[name].append(timed(args, env))
            if emulator:
                requests[name].append(len(emulator.requests()))
    medians = {name: statistics.median(t) for name, t in times.items()}
    row = {
        "benchmark": label,
        "core_s": round(medians["core"], 3),
        "extension_s": round(medians["extension"], 3),
        "ratio": round(medians["extension"] / medians["core"], 3),
        "runs": repeat,
    }
    if emulator:
        row["core_requests"] = max(requests["core"])
        row["extension_requests"] = max(requests["extension"])
    print(json.dumps(row), flush=True)
    return row


def fleet(work, wheel, size):
    process, emulator = start_emulator(os.path.join(work, "fleet"), "--operation-seconds", "2")
    try:
        envs = {"core": profile(emulator, work, "fleet-core"), "extension": profile(emulator, work, "fleet-ext", wheel)}

        def seed():
            for i in range(size):
                emulator.put_cluster(
                    emulator.subscription, GROUP, f"fleet-{i:03d}", sample_cluster(image_cleaner=(False, 24 + i % 2000))
                )

        emulator.throttle("write", rate=10, burst=200)
        emulator.throttle("read", rate=25, burst=250)
        seed()
        completed, extension_s = run_az(
            ["aks", "image-cleaner", "set", "--enable", "--all", "-o", "json"], envs["extension"]
        )
        results = json.loads(completed.stdout or "[]")
        throttled = sum(1 for r in emulator.requests() if r["status"] == 429)
        lost = sum(
            1
            for i in range(size)
            if emulator.cluster(emulator.subscription, GROUP, f"fleet-{i:03d}")["properties"]["securityProfile"][
                "imageCleaner"
            ]
            != {"enabled": True, "intervalHours": 24 + i % 2000}
        )
        seed()
        emulator.clear_requests()
        loop = " ".join(
            f"{AZ} aks update -g {GROUP} -n fleet-{i:03d} --enable-image-cleaner -o none || exit 1;"
            for i in range(size)
        )
        start = time.perf_counter()
        subprocess.run(
            ["bash", "-c", loop], env=envs["core"], check=True, capture_output=True, stdin=subprocess.DEVNULL
        )
        core_s = time.perf_counter() - start
        row = {
            "benchmark": f"fleet of {size}: set --enable --all vs shell loop of core aks update",
            "core_s": round(core_s, 1),
            "extension_s": round(extension_s, 1),
            "speedup": round(core_s / extension_s, 1),
            "exit_code": completed.returncode,
            "failed_clusters": sum(1 for r in results if r.get("result") == "failed"),
            "changed_clusters": sum(1 for r in results if r.get("result") == "changed"),
            "lost_updates": lost,
            "throttled_requests": throttled,
        }
        print(json.dumps(row), flush=True)
        return row
    finally:
        process.terminate()


# AKS's own pace: an update of Image Cleaner took about 2 minutes from PUT to Succeeded (12:02:53 to 12:04:54), and
# neither the PUT nor the operation's status carried a Retry-After (azure-cli's recording
# test_aks_update_with_image_cleaner), so az polls every 30 s, azure-core's default.
AKS_OPERATION_SECONDS = 120
AKS_RETRY_AFTER = None


def fleet_at_scale(
    work, wheel, subscriptions, per_subscription, sample, max_parallel=None, operation_seconds=2, retry_after=1
):
    """`set --enable --all` on subscriptions x per_subscription clusters (operations of `operation_seconds`, their
    answers with `retry_after` or none; ARM's throttling per subscription), against core's shell loop measured on
    `sample` clusters and extrapolated; then `set --no-wait` on the fleet seeded afresh."""
    import resource

    process, emulator = start_emulator(
        os.path.join(work, f"scale-{operation_seconds:g}"),
        "--operation-seconds",
        str(operation_seconds),
        "--subscriptions",
        str(subscriptions),
    )
    try:
        subs = [f"00000000-0000-0000-0000-{n:012d}" for n in range(1, subscriptions + 1)]
        envs = {"core": profile(emulator, work, "scale-core"), "extension": profile(emulator, work, "scale-ext", wheel)}
        emulator.configure(operation_retry_after=retry_after)
        emulator.throttle("write", rate=10, burst=200)
        emulator.throttle("read", rate=25, burst=250)
        emulator.seed_fleet(subs, per_subscription, image_cleaner=(False, 72))
        total = subscriptions * per_subscription

        listed, list_s = run_az(["aks", "image-cleaner", "list", "-o", "json"], envs["extension"])
        emulator.clear_requests()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        parallel = ["--max-parallel", str(max_parallel)] if max_parallel else []
        completed, extension_s = run_az(
            ["aks", "image-cleaner", "set", "--enable", "--all", "-o", "json", "--verbose", *parallel],
            envs["extension"],
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        requests = emulator.requests()
        results = json.loads(completed.stdout or "[]")
        found = [line for line in completed.stderr.splitlines() if "Found " in line and "cluster(s) in" in line]

        def lost_updates():
            lost = 0
            for sub in subs:
                for number in range(per_subscription):
                    doc = emulator.cluster(sub, f"fleet-rg-{number % 5}", f"fleet-{number:04d}")
                    lost += doc["properties"]["securityProfile"].get("imageCleaner") != {
                        "enabled": True,
                        "intervalHours": 72,
                    }
            return lost

        lost = lost_updates()
        throttled_reads = [r for r in requests if r["status"] == 429 and r["method"] == "GET"]
        # A throttled read recovered when the same URL was read again and answered 200 later.
        recovered = sum(
            1
            for t in throttled_reads
            if any(r["path"] == t["path"] and r["status"] == 200 and r["time"] > t["time"] for r in requests)
        )

        # --no-wait on the fleet seeded afresh: once every PUT is accepted.
        emulator.seed_fleet(subs, per_subscription, image_cleaner=(False, 72))
        emulator.clear_requests()
        no_wait, no_wait_s = run_az(["aks", "image-cleaner", "set", "--enable", "--all", "--no-wait", "-o", "json"],
                                    envs["extension"])  # fmt: skip
        accepted = sum(1 for r in json.loads(no_wait.stdout or "[]") if r.get("result") == "accepted")
        time.sleep(operation_seconds + 1)  # the accepted operations end before core's loop is measured

        # Core: a shell loop of `az aks update`, one cluster after another, on a sample, extrapolated.
        emulator.seed_fleet(subs[:1], sample, prefix="sample", group="sample-rg", image_cleaner=(False, 72))
        loop = " ".join(
            f"{AZ} aks update -g sample-rg-{n % 5} -n sample-{n:04d} --subscription {subs[0]} "
            "--enable-image-cleaner -o none || exit 1;"
            for n in range(sample)
        )
        start = time.perf_counter()
        subprocess.run(
            ["bash", "-c", loop], env=envs["core"], check=True, capture_output=True, stdin=subprocess.DEVNULL
        )
        per_cluster = (time.perf_counter() - start) / sample
        core_s = per_cluster * total
        row = {
            "benchmark": f"fleet of {total} in {subscriptions} subscriptions, {operation_seconds:g} s operations"
            f"{'' if retry_after else ' without Retry-After'}: set --enable --all vs core loop"
            + (f" (--max-parallel {max_parallel})" if max_parallel else ""),
            "core_s": round(core_s, 1),
            "core_note": f"{sample} clusters measured ({per_cluster:.2f} s each), extrapolated to {total}",
            "extension_s": round(extension_s, 1),
            "speedup": round(core_s / extension_s, 1),
            "exit_code": completed.returncode,
            "changed_clusters": sum(1 for r in results if r.get("result") == "changed"),
            "failed_clusters": sum(1 for r in results if r.get("result") == "failed"),
            "unconfirmed_clusters": sum(1 for r in results if r.get("result") == "changed, not confirmed"),
            "lost_updates": lost,
            "still_running_clusters": sum(1 for r in results if r.get("result") == "still running"),
            "operation_seconds": operation_seconds,
            "operation_retry_after": retry_after,
            "requests": len(requests),
            "operation_polls": sum(1 for r in requests if "/operations/" in r["path"].lower()),
            "throttled_requests": sum(1 for r in requests if r["status"] == 429),
            "throttled_reads": len(throttled_reads),
            "throttled_reads_recovered": recovered,
            "no_wait_s": round(no_wait_s, 1),
            "no_wait_accepted": accepted,
            "no_wait_exit_code": no_wait.returncode,
            "discovery_in_command": found[-1].split("Found ", 1)[-1] if found else None,
            "list_command_s": round(list_s, 2),
            "listed_clusters": len(json.loads(listed.stdout or "[]")),
            "az_cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
            "az_peak_rss_mib": round(after.ru_maxrss / 1024, 1),
        }
        print(json.dumps(row), flush=True)
        return row
    finally:
        process.terminate()


# --- private clusters: each command against core's `az aks command invoke` running the same kubectl by hand ------

# What a user types into `az aks command invoke --command` for what each command does (one invoke each).
BY_HAND = {
    "status": "kubectl get configmap eraser-manager-config -n kube-system -o yaml; "
    "kubectl get imagelists.eraser.sh imagelist -o yaml; kubectl get pods -n kube-system -o wide",
    "exclusion add": "kubectl create configmap imagecleaner-exclusions -n kube-system "
    '--from-literal=excluded.json=\'{"excluded": ["docker.io/library/redis:*"]}\' '
    "--dry-run=client -o yaml | kubectl apply -f - && "
    "kubectl label configmap imagecleaner-exclusions -n kube-system eraser.sh/exclude.list=true --overwrite",
    "logs": "for p in $(kubectl get pods -n kube-system -o name | grep eraser-aks); do "
    "kubectl logs -n kube-system $p --all-containers; done",
    "report": "for p in $(kubectl get pods -n kube-system -o name | grep eraser-aks); do "
    "kubectl logs -n kube-system $p --all-containers; done",
}


def private_cluster(work, wheel, start_seconds=10, run_seconds=5, repeat=3):
    """Each cluster-side command on a private cluster (through AKS run-command, `start_seconds` for each pod to
    start, as the emulator models it) beside one `az aks command invoke` running the same kubectl by hand."""
    from tests.e2e.test_enterprise_access import body as cluster_body

    process, emulator = start_emulator(os.path.join(work, "private"))
    try:
        envs = {
            "core": profile(emulator, work, "private-core"),
            "extension": profile(emulator, work, "private-ext", wheel),
        }
        emulator.configure(run_command_start_seconds=start_seconds, kube_run_seconds=run_seconds)
        emulator.put_cluster(emulator.subscription, GROUP, "private", cluster_body(private=True))
        emulator.scheduled_run(emulator.subscription, GROUP, "private")
        target = ["-g", GROUP, "-n", "private"]
        rows = []
        commands = {
            "status": ["status"],
            "exclusion add": ["exclusion", "add", "--images", "docker.io/library/redis:*"],
            "logs": ["logs"],
            "report": ["report"],
        }

        def posts():
            return sum(1 for r in emulator.requests() if r["path"].lower().endswith("/runcommand"))

        for label, args in commands.items():
            times = {"core": [], "extension": []}
            counts = {"core": 0, "extension": 0}
            for _ in range(repeat):
                emulator.clear_requests()
                times["extension"].append(
                    timed(["aks", "image-cleaner", *args, *target, "-o", "none"], envs["extension"])
                )
                counts["extension"] = posts()
                emulator.clear_requests()
                invoke = ["aks", "command", "invoke", *target, "--command", BY_HAND[label], "-o", "none"]
                times["core"].append(timed(invoke, envs["core"]))
                counts["core"] = posts()
            core, extension = statistics.median(times["core"]), statistics.median(times["extension"])
            row = {
                "benchmark": f"private cluster, {start_seconds} s pod start: {label} vs one `az aks command invoke`",
                "core_s": round(core, 2),
                "extension_s": round(extension, 2),
                "ratio": round(extension / core, 3),
                "run_commands": {"core": counts["core"], "extension": counts["extension"]},
                "runs": repeat,
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
        times = []
        run_wait = ["aks", "image-cleaner", "run", *target, "--images", "docker.io/library/alpine:3.7.3", "--wait"]
        for _ in range(repeat):
            emulator.clear_requests()
            times.append(timed([*run_wait, "-o", "none"], envs["extension"]))
        row = {
            "benchmark": f"private cluster, {start_seconds} s pod start: run --wait of a {run_seconds} s run",
            "extension_s": round(statistics.median(times), 2),
            "target_s": run_seconds + start_seconds,
            "run_commands": posts(),
            "runs": repeat,
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
        return rows
    finally:
        process.terminate()


# --- the fleet's history -----------------------------------------------------------------------------------------


def process_cpu_seconds(pid):
    """User and system CPU time of a running process (Linux /proc), or None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fleet_history(
    work, wheel, subscriptions=10, per_subscription=100, workspaces=10, days=30, nodes=3, candidates=None,
    vulnerable=None, faults=None, commands=("report",),
):  # fmt: skip
    """`report --all --since 30d` (and `coverage --all --since 30d`, with "coverage" in `commands`, against the same
    emulator) over subscriptions x per_subscription clusters whose monitoring add-ons send to `workspaces`
    workspaces (in the first subscription, as a central logging subscription would hold them), each with `days` of
    its weekly schedule logged and sampled on `nodes` nodes: with the emulator's nine node images, or at real sizes,
    `candidates` images a node and run of which `vulnerable` are (../shared/container-insights.md §6); `faults`
    ({node: fault}) in every cluster's latest run. A row per command."""
    process, emulator = start_emulator(os.path.join(work, f"history-{nodes}"), "--subscriptions", str(subscriptions))
    try:
        env = profile(emulator, work, f"history-ext-{nodes}", wheel)
        subs = [f"00000000-0000-0000-0000-{n:012d}" for n in range(1, subscriptions + 1)]
        started = time.perf_counter()
        for sub in subs:
            emulator.seed_fleet(
                [sub], per_subscription, image_cleaner=(True, 168), workspaces=workspaces, history_days=days,
                linux_nodes=nodes, workspace_subscription=subs[0], candidates=candidates, vulnerable=vulnerable,
                faults=faults,
            )  # fmt: skip
        seeded_s = time.perf_counter() - started
        held = emulator.logs()
        size = (
            "the emulator's nine node images"
            if candidates is None
            else f"{candidates} candidates, {vulnerable} vulnerable"
        )
        fleet_text = (
            f"{subscriptions * per_subscription} clusters in {workspaces} workspaces ({nodes} nodes each, {size})"
        )
        rows = []
        for command in commands:
            emulator.clear_requests()
            emulator_before = process_cpu_seconds(process.pid)
            completed, elapsed, usage = run_az_measured(
                ["aks", "image-cleaner", command, "--all", "--since", f"{days}d", "-o", "json"], env, work
            )
            emulator_after = process_cpu_seconds(process.pid)
            if completed.returncode != 0:
                sys.exit(f"{command} --all failed: {completed.stderr[-2000:]}")
            result = json.loads(completed.stdout)
            requests = emulator.requests()
            queries = [r for r in requests if r["path"].lower().startswith("/v1/")]
            row = {
                "benchmark": f"fleet {command}: {command} --all --since {days}d over {fleet_text}",
                "extension_s": round(elapsed, 2),
                "log_analytics_queries": len(queries),
                "cut_answers": sum(1 for r in queries if r.get("cut")),
                "answer_mib_max": round(max((r["answer_bytes"] or 0) for r in queries) / 2**20, 2) if queries else 0,
                "answer_mib_total": round(sum((r["answer_bytes"] or 0) for r in queries) / 2**20, 2),
                "query_seconds": sorted(round(r["seconds"], 2) for r in queries),
                "resource_graph_queries": sum(1 for r in requests if r["path"].lower().endswith("/resources")),
                "clusters": len(result),
                **(_report_figures(result, held) if command == "report" else _coverage_figures(result, held)),
                "az_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                "az_peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
                # The emulator answers on the same two cores: its CPU time is time az could not have.
                "emulator_cpu_s": round(emulator_after - emulator_before, 1) if emulator_before is not None else None,
                "seeding_s": round(seeded_s, 1),
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
        return rows
    finally:
        process.terminate()


def check_fleet(work, wheel, subscriptions=10, per_subscription=100, workspaces=10, days=14, nodes=3):
    """`check --all` over subscriptions x per_subscription clusters whose monitoring add-ons send to `workspaces`
    workspaces, each with `days` of its weekly schedule logged (two intervals: the window `check` reads)."""
    process, emulator = start_emulator(os.path.join(work, "check-fleet"), "--subscriptions", str(subscriptions))
    try:
        env = profile(emulator, work, "check-fleet-ext", wheel)
        subs = [f"00000000-0000-0000-0000-{n:012d}" for n in range(1, subscriptions + 1)]
        started = time.perf_counter()
        for sub in subs:
            emulator.seed_fleet(
                [sub], per_subscription, image_cleaner=(True, 168), workspaces=workspaces, history_days=days,
                linux_nodes=nodes, workspace_subscription=subs[0],
            )  # fmt: skip
        seeded_s = time.perf_counter() - started
        emulator.clear_requests()
        completed, elapsed, usage = run_az_measured(["aks", "image-cleaner", "check", "--all", "-o", "json"], env, work)
        rows = json.loads(completed.stdout or "[]")
        requests = emulator.requests()
        row = {
            "benchmark": f"fleet check: check --all over {subscriptions * per_subscription} clusters in {workspaces} "
            f"workspaces ({nodes} nodes each, {days} days of runs)",
            "extension_s": round(elapsed, 2),
            "exit_code": completed.returncode,
            "clusters": len(rows),
            "log_analytics_queries": sum(1 for r in requests if r["path"].lower().startswith("/v1/")),
            "resource_graph_queries": sum(1 for r in requests if r["path"].lower().endswith("/resources")),
            "arm_requests": sum(1 for r in requests if r["path"].lower().startswith("/subscriptions")),
            "clusters_failing": sum(1 for r in rows if r["fail"]),
            "clusters_warning": sum(1 for r in rows if r["warn"]),
            "az_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "az_peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "seeding_s": round(seeded_s, 1),
        }
        print(json.dumps(row), flush=True)
        return row
    finally:
        process.terminate()


def check_private(work, wheel, start_seconds=10, repeat=3):
    """`check` on a private, monitored cluster (every Kubernetes read through AKS run-command, a pod start of
    `start_seconds`): run-commands and Log Analytics queries it sends, and its time."""
    from tests.e2e.test_coverage import cluster_body

    process, emulator = start_emulator(os.path.join(work, "check-private"))
    try:
        env = profile(emulator, work, "check-private-ext", wheel)
        emulator.configure(run_command_start_seconds=start_seconds)
        emulator.put_cluster(emulator.subscription, GROUP, "private", cluster_body(private=True, windows=False))
        from armemulator.seed import agent_configmap

        emulator.put_configmap(emulator.subscription, GROUP, "private", agent_configmap("v2"))
        emulator.history(emulator.subscription, GROUP, "private", days=30, candidates=10, vulnerable=4)
        times, counts = [], []
        for _ in range(repeat):
            emulator.clear_requests()
            completed, elapsed = run_az(["aks", "image-cleaner", "check", "-g", GROUP, "-n", "private", "-o", "json"],
                                        env)  # fmt: skip
            requests = emulator.requests()
            times.append(elapsed)
            counts.append(
                (
                    sum(1 for r in requests if r["method"] == "POST" and r["path"].lower().endswith("/runcommand")),
                    sum(1 for r in requests if r["path"].lower().startswith("/v1/")),
                    completed.returncode,
                    # ARM: the cluster, the run-command's result polls, the workspace, the data collection rule
                    sum(1 for r in requests if r["path"].lower().startswith("/subscriptions/")),
                )
            )
        row = {
            "benchmark": f"private cluster, {start_seconds} s pod start: check",
            "extension_s": round(statistics.median(times), 2),
            "run_commands": max(c[0] for c in counts),
            "log_analytics_queries": max(c[1] for c in counts),
            "exit_codes": sorted({c[2] for c in counts}),
            "arm_requests": max(c[3] for c in counts),
            "runs": repeat,
        }
        print(json.dumps(row), flush=True)
        return row
    finally:
        process.terminate()


def _report_figures(result, held):
    return {
        "log_lines": sum(t.get("ContainerLogV2", {}).get("rows", 0) for t in held.values()),
        "log_lines_mib": round(sum(t.get("ContainerLogV2", {}).get("bytes", 0) for t in held.values()) / 2**20, 1),
        "clusters_with_history": sum(1 for r in result if r["history"] == "kept"),
        "image_rows": sum(len(r["images"]) for r in result),
        "images_removed": sum((r["summary"] or {}).get("imagesRemoved", 0) for r in result),
    }


def _coverage_figures(result, held):
    judged = [r for r in result if r["coverage"] == "judged"]
    tables = ("KubeNodeInventory", "KubePodInventory", "KubeEvents")
    return {
        "inventory_rows": {t: sum(w.get(t, {}).get("rows", 0) for w in held.values()) for t in tables},
        "clusters_judged": len(judged),
        "nodes": sum(r["summary"]["nodes"] for r in judged),
        "covered_nodes": sum(r["summary"]["covered"] for r in judged),
        "gaps": sum(r["summary"]["gaps"] for r in judged),
        "gap_nodes_listed": sum(len(r["gapNodes"]) for r in judged),
    }


def fleet_histories(work, wheel):
    """The fleet's history at the emulator's three nodes (the row of earlier runs), and at real sizes, where the
    fleet's coverage is measured beside it (one node of each cluster down when its latest run began)."""
    return [
        *fleet_history(work, wheel),
        *fleet_history(
            work,
            wheel,
            nodes=20,
            candidates=30,
            vulnerable=20,
            faults={"aks-nodepool1-3": "down"},
            commands=("report", "coverage"),
        ),
    ]


EMPTY_EXTENSION = {
    "setup.py": (
        "from setuptools import setup\n"
        "setup(name='emptyext', version='1.0.0', packages=['azext_emptyext'],\n"
        "      install_requires=['kubernetes>=29.0.0,<34'])\n"  # the same dependencies, so the same folder
    ),
    "azext_emptyext/__init__.py": (
        "from azure.cli.core import AzCommandsLoader\n"
        "class EmptyLoader(AzCommandsLoader):\n"
        "    def load_command_table(self, args):\n"
        "        return self.command_table\n"
        "    def load_arguments(self, command):\n"
        "        pass\n"
        "COMMAND_LOADER_CLS = EmptyLoader\n"
    ),
}


def empty_extension_wheel(work):
    """An extension that registers nothing, with this one's dependencies: what az costs for any extension."""
    source = os.path.join(work, "emptyext")
    for name, text in EMPTY_EXTENSION.items():
        os.makedirs(os.path.dirname(os.path.join(source, name)), exist_ok=True)
        with open(os.path.join(source, name), "w") as f:
            f.write(text)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", source, source],
        check=True,
        capture_output=True,
    )
    return os.path.join(source, next(f for f in os.listdir(source) if f.endswith(".whl")))


def instructions(args, env):
    """Instructions the whole az process executes (valgrind's callgrind): the same figure run after run,
    whatever else the machine is doing, where wall time moves by several per cent."""
    completed = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m", "azure.cli", *args],
        env=env,
        cwd=tempfile.gettempdir(),  # not the checkout: `azext_imagecleaner` must come from the installed copy
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    found = [line for line in completed.stderr.splitlines() if "Collected :" in line]
    if completed.returncode != 0 or not found:
        sys.exit(f"az {' '.join(args)} under callgrind failed: {completed.stderr[-2000:]}")
    return int(found[-1].split(":")[-1])


def instruction_rows(commands, envs, before=None):
    rows = []
    for label, args in commands:
        counts = {}
        for name, env in envs.items():
            if before:
                before()
            counts[name] = instructions(args, env)
        row = {"benchmark": label, **{f"{n}_instructions": c for n, c in counts.items()}}
        row["ratio"] = round(counts["extension"] / counts["core"], 4)
        row["empty_extension_ratio"] = round(counts["empty"] / counts["core"], 4)
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def fleet_at_scales(work, wheel, args):
    """The fleet at scale at AKS's real operation time (120 s, no Retry-After), then at 2 s as before."""
    size = (args.scale_subscriptions, args.scale_per_subscription)
    return [
        fleet_at_scale(
            work, wheel, *size, args.aks_sample, operation_seconds=AKS_OPERATION_SECONDS, retry_after=AKS_RETRY_AFTER
        ),
        fleet_at_scale(work, wheel, *size, args.scale_sample),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--fleet-size", type=int, default=200)
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--scale-subscriptions", type=int, default=10)
    parser.add_argument("--scale-per-subscription", type=int, default=100)
    parser.add_argument("--scale-sample", type=int, default=10, help="clusters core's loop is measured on")
    parser.add_argument("--only-scale", action="store_true", help="run the fleet-at-scale rows alone")
    parser.add_argument(
        "--aks-sample", type=int, default=2, help="clusters core's loop is measured on at AKS's 2-minute operations"
    )
    parser.add_argument("--only-fleet", action="store_true", help="run the two fleet rows alone")
    parser.add_argument("--only-private", action="store_true", help="run the private-cluster rows alone")
    parser.add_argument("--only-history", action="store_true", help="run the fleet-history row alone")
    parser.add_argument("--only-check", action="store_true", help="run the two check rows alone")
    parser.add_argument("--wheel", help="the extension's wheel (default: the newest in dist/)")
    parser.add_argument("--private-start-seconds", type=float, default=10)
    parser.add_argument("--scale-max-parallel", type=int, help="--max-parallel for the fleet-at-scale row")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions under valgrind (core, extension, and an extension that registers nothing)",
    )
    args = parser.parse_args()
    wheels = sorted(f for f in os.listdir(os.path.join(REPO, "dist")) if f.endswith(".whl"))
    wheel = args.wheel or os.path.join(REPO, "dist", wheels[-1])
    work = tempfile.mkdtemp(prefix="imagecleaner-bench-")
    alone = {
        "only_private": ("results-private.json", lambda: private_cluster(work, wheel, args.private_start_seconds)),
        "only_history": ("results-history.json", lambda: fleet_histories(work, wheel)),
        "only_check": ("results-check.json", lambda: [check_private(work, wheel), check_fleet(work, wheel)]),
        "only_scale": (
            "results-scale.json",
            lambda: fleet_at_scales(work, wheel, args),
        ),
        "only_fleet": (
            "results-fleet.json",
            lambda: [
                fleet(work, wheel, args.fleet_size),
                fleet_at_scale(
                    work,
                    wheel,
                    args.scale_subscriptions,
                    args.scale_per_subscription,
                    args.scale_sample,
                    args.scale_max_parallel,
                ),
            ],
        ),
    }
    for flag, (name, run) in alone.items():
        if getattr(args, flag):
            _write(run(), name)
            return
    process, emulator = start_emulator(work)
    rows = []
    try:
        envs = {"core": profile(emulator, work, "core"), "extension": profile(emulator, work, "ext", wheel)}
        emulator.put_cluster(emulator.subscription, GROUP, "one", sample_cluster(image_cleaner=(False, 72)))
        rows.append(
            side_by_side(
                "start-up: az aks show", ["aks", "show", "-g", GROUP, "-n", "one", "-o", "none"], envs, args.repeat
            )
        )
        rows.append(side_by_side("start-up: az aks update --help", ["aks", "update", "--help"], envs, args.repeat))

        def reset():
            emulator.put_cluster(emulator.subscription, GROUP, "one", sample_cluster(image_cleaner=(False, 72)))

        rows.append(
            side_by_side(
                "one update: az aks update --enable-image-cleaner",
                ["aks", "update", "-g", GROUP, "-n", "one", "--enable-image-cleaner", "-o", "none"],
                envs,
                args.repeat,
                before=reset,
                emulator=emulator,
            )
        )
        if args.instructions:
            envs["empty"] = profile(emulator, work, "empty", empty_extension_wheel(work))
            commands = [
                ("instructions: az aks show", ["aks", "show", "-g", GROUP, "-n", "one", "-o", "none"]),
                ("instructions: az aks update --help", ["aks", "update", "--help"]),
            ]
            rows += instruction_rows(commands, envs)
            update = [
                (
                    "instructions: az aks update --enable-image-cleaner",
                    ["aks", "update", "-g", GROUP, "-n", "one", "--enable-image-cleaner", "-o", "none"],
                )
            ]
            rows += instruction_rows(update, envs, before=reset)
    finally:
        process.terminate()
    rows += private_cluster(work, wheel, start_seconds=args.private_start_seconds)
    if not args.skip_fleet:
        rows.append(fleet(work, wheel, args.fleet_size))
        rows += fleet_at_scales(work, wheel, args)
        rows += fleet_histories(work, wheel)
        rows += [check_private(work, wheel), check_fleet(work, wheel)]
    _write(rows, "results.json")


def _write(rows, name):
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}
    with open(os.path.join(REPO, "benchmarks", name), "w") as f:
        json.dump(
            {"machine": machine, "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": rows}, f, indent=2
        )
    print("\nbenchmark".ljust(62), "core".rjust(9), "extension".rjust(10), "ratio".rjust(7))
    for row in rows:
        ratio = row.get("ratio") or (f"{row['speedup']}x faster" if row.get("speedup") else "-")
        core, extension = row.get("core_s", row.get("core_instructions")), row.get("extension_s")
        extension = extension if extension is not None else row.get("extension_instructions")
        print(row["benchmark"][:60].ljust(61), str(core).rjust(9), str(extension).rjust(10), str(ratio).rjust(7))


if __name__ == "__main__":
    main()
