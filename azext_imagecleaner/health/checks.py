"""Image Cleaner's known faults as checks (pure: facts in, a row per check out).

Each check names the source that documents its fault (../shared/image-cleaner-health.md gathers them) and, where there
is one, the command or edit that fixes it. Where a check cannot tell (its facts could not be read, or the caller lacks
a role), it is `skip` and says why. The facts come from `health.handlers`, through the extension's seams.
"""

import re
from typing import NamedTuple

from azext_imagecleaner.cluster import exclusions
from azext_imagecleaner.eraser import coverage, statements
from azext_imagecleaner.monitor.check_query import LEGACY, V2

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
STATUSES = (PASS, WARN, FAIL, SKIP)
_RANK = {PASS: 0, SKIP: 1, WARN: 2, FAIL: 3}

SETTING, NODE_POOLS, ACCESS, CONTROLLER, IMAGE_JOBS, WORKERS, SCANNER, HISTORY, EXCLUSION_LISTS, VERSION = (
    "setting",
    "node-pools",
    "access",
    "controller",
    "image-jobs",
    "workers",
    "scanner",
    "history",
    "exclusion-lists",
    "version",
)
# What each check reads; a fleet row makes those that need no per-cluster Kubernetes access.
ORDER = (SETTING, NODE_POOLS, ACCESS, CONTROLLER, IMAGE_JOBS, WORKERS, SCANNER, HISTORY, EXCLUSION_LISTS, VERSION)
CLUSTER_SIDE = (ACCESS, CONTROLLER, IMAGE_JOBS, WORKERS, EXCLUSION_LISTS, VERSION)

CONTROLLER_PREFIX = "eraser-controller-manager"
FILTER_LABEL = "eraser.sh/cleanup.filter"
# A run's removals this much "scan failed" or more: the scanner, not the images, is the cause (a vulnerability DB it
# could not download fails every scan: aquasecurity/trivy-db#442).
SCAN_FAILED_FAIL_SHARE = 0.5
# The image-cleaner (Eraser) version AKS documents per Kubernetes minor version (MicrosoftDocs/azure-aks-docs,
# supported-kubernetes-versions.md, "AKS components breaking changes by version"); 1.34 is not listed there.
AKS_ERASER_VERSIONS = {
    "1.30": "v1.2.3",
    "1.31": "v1.3.1",
    "1.32": "v1.3.1",
    "1.33": "v1.3.1",
    "1.35": "v1.4.0-10",
    "1.36": "v1.4.1-3",
}


class Check(NamedTuple):
    name: str
    status: str
    detail: str
    fix: str | None = None


def skipped(name, why):
    return Check(name, SKIP, why)


def result(checks):
    """{"checks": [...], "summary": {status: count}}, the checks in ORDER."""
    ordered = sorted(checks, key=lambda c: ORDER.index(c.name) if c.name in ORDER else len(ORDER))
    return {
        "checks": [c._asdict() for c in ordered],
        "summary": {status: sum(1 for c in ordered if c.status == status) for status in STATUSES},
    }


def worst(statuses):
    return max(statuses, key=_RANK.get, default=PASS)


def _names(items, limit=5):
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# --- from ARM ------------------------------------------------------------------------------------------------


def setting(enabled, interval_hours, resource_group, name):
    """The cluster's `securityProfile.imageCleaner` (../shared/image-cleaner.md)."""
    if not enabled:
        return Check(
            SETTING,
            FAIL,
            "Image Cleaner is off"
            + (f" (its interval, {interval_hours} hours, is kept for when it is on)." if interval_hours else "."),
            f"az aks update -g {resource_group} -n {name} --enable-image-cleaner",
        )
    return Check(SETTING, PASS, f"Image Cleaner is on, every {interval_hours} hours.")


def node_pools(pools, virtual_node, filtered_nodes):
    """Nodes Image Cleaner never cleans: Windows pools, the virtual node, nodes labelled eraser.sh/cleanup.filter
    (../shared/image-cleaner-coverage.md). `pools`: [(name, os type)]; `filtered_nodes`: names, or None unread."""
    found, fix = [], None
    windows = [p for p, os_type in pools if (os_type or "").lower() == "windows"]
    if windows:
        found.append(f"the Windows node pool(s) {_names(windows)} (Eraser runs on Linux nodes only)")
    if virtual_node:
        found.append("the virtual node of the aciConnectorLinux add-on (no VM to clean)")
    if filtered_nodes:
        found.append(f"node(s) {_names(filtered_nodes)}, labelled {FILTER_LABEL}")
        fix = f"kubectl label node {' '.join(filtered_nodes)} {FILTER_LABEL}-"
    linux = len(pools) - len(windows)
    if found:
        return Check(NODE_POOLS, WARN, "Image Cleaner never cleans " + "; ".join(found) + ".", fix)
    unread = " (whether nodes are labelled to be left out could not be read)" if filtered_nodes is None else ""
    return Check(NODE_POOLS, PASS, f"Every node pool ({linux}) is Linux, and no node is left out{unread}.")


def fleet_node_pools(windows_pools):
    """`node_pools` as far as Resource Graph tells: whether any pool is Windows."""
    if windows_pools:
        return Check(
            NODE_POOLS, WARN, "Image Cleaner never cleans its Windows node pool(s): Eraser runs on Linux only."
        )
    return Check(NODE_POOLS, PASS, "Every node pool is Linux (nodes labelled to be left out show per cluster only).")


# --- from the cluster ------------------------------------------------------------------------------------------


def access(transport, private):
    """How the cluster's Kubernetes API was reached (../shared/aks-access.md)."""
    if transport == "run-command":
        why = "a private cluster" if private else "its API server cannot be reached from here"
        return Check(ACCESS, PASS, f"Reached through AKS run-command ({why}): one run-command for every read.")
    return Check(ACCESS, PASS, "Reached through the API server.")


def access_refused(error_message, recommendation):
    """The cluster could not be reached: the access seam's error, worded by `azure.errors`."""
    return Check(ACCESS, FAIL, error_message, recommendation)


def controller(pods, enabled, resource_group, name):
    """eraser-controller-manager: running, ready, restarts, last termination (OOMKilled: eraser-dev/eraser#487,
    #1169; each restart starts a new ImageJob). `pods`: kube-system's controller pods."""
    found = [p for p in pods if (p.get("metadata") or {}).get("name", "").startswith(CONTROLLER_PREFIX)]
    if not found:
        if not enabled:
            return skipped(CONTROLLER, "Image Cleaner is off: AKS removes the controller.")
        return Check(
            CONTROLLER,
            FAIL,
            f"No {CONTROLLER_PREFIX} pod in kube-system, although Image Cleaner is on: nothing schedules runs.",
            f"az aks update -g {resource_group} -n {name} --disable-image-cleaner, then --enable-image-cleaner "
            "(AKS deploys the controller again)",
        )
    pod = found[0]
    status = pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    restarts = sum(c.get("restartCount") or 0 for c in containers)
    ready = bool(containers) and all(c.get("ready") for c in containers)
    last = next((((c.get("lastState") or {}).get("terminated") or {}) for c in containers if c.get("lastState")), {})
    reason, when = last.get("reason"), last.get("finishedAt")
    pod_name = pod["metadata"]["name"]
    if status.get("phase") != "Running" or not ready:
        return Check(CONTROLLER, FAIL, f"{pod_name} is {status.get('phase') or 'in no phase'}, not ready.")
    if restarts and reason == "OOMKilled":
        return Check(
            CONTROLLER,
            FAIL,
            f"{pod_name} restarted {restarts} time(s), the last one OOMKilled at {when}: each restart starts a new "
            "ImageJob, with worker pods on every node again (eraser-dev/eraser#487, #1169). Its memory limit is "
            "AKS's to set.",
        )
    if restarts:
        return Check(
            CONTROLLER,
            WARN,
            f"{pod_name} restarted {restarts} time(s), the last one {reason or 'for no reason given'}.",
        )
    return Check(CONTROLLER, PASS, f"{pod_name} is running and ready, with no restart.")


def image_jobs(jobs, templates):
    """ImageJobs at once (a controller restart starts another: eraser#1169) and PodTemplates whose ImageJob is gone
    (eraser#912; "PodTemplate not found" follows: #868, #1051). `jobs` None: the resource type is not installed."""
    if jobs is None:
        return skipped(IMAGE_JOBS, "The ImageJob resource is not installed: Image Cleaner is not on.")
    names = {(j.get("metadata") or {}).get("name") for j in jobs}
    running = sorted(
        (j.get("metadata") or {}).get("name") for j in jobs if ((j.get("status") or {}).get("phase")) == "Running"
    )
    orphans = sorted(
        t["metadata"]["name"]
        for t in templates or []
        if any(
            o.get("kind") == "ImageJob" and o.get("name") not in names
            for o in t["metadata"].get("ownerReferences") or []
        )
    )
    problems, fix = [], None
    if len(running) > 1:
        problems.append(
            f"{len(running)} ImageJobs run at once ({_names(running)}): a controller restart starts another"
        )
    if orphans:
        problems.append(
            f"{len(orphans)} PodTemplate(s) in kube-system outlived their ImageJob ({_names(orphans)}): Eraser then "
            "fails with 'PodTemplate not found' (eraser-dev/eraser#912, #868)"
        )
        fix = f"kubectl delete podtemplate -n kube-system {' '.join(orphans)}"
    if problems:
        return Check(IMAGE_JOBS, WARN, "; ".join(problems) + ".", fix)
    return Check(IMAGE_JOBS, PASS, f"{len(jobs)} ImageJob(s), {len(running)} running; no PodTemplate left behind.")


def workers(judged):
    """The worker pods of the latest run, and whether runs are overdue: `coverage`'s judgement
    (eraser.coverage.report's summary and nodes)."""
    summary, nodes = judged["summary"], judged["nodes"]
    if not summary.get("latestRun") and not any(n["status"] in coverage.GAPS for n in nodes):
        return skipped(
            WORKERS,
            f"No run to judge ({summary.get('evidence')}): without Container Insights only a run in progress or just "
            "finished shows.",
        )
    failed = [f"{n['node']} ({n['reason']})" for n in nodes if n["status"] == coverage.FAILED]
    missed = [n["node"] for n in nodes if n["status"] == coverage.MISSED]
    overdue = [n["node"] for n in nodes if n["status"] == coverage.OVERDUE]
    parts = []
    if failed:
        parts.append(f"worker pods failed on {_names(failed)}")
    if missed:
        parts.append(f"no worker pod reached {_names(missed)}")
    if overdue:
        parts.append(f"no run reached {_names(overdue)} within its interval")
    if summary.get("preemptedPods"):
        pods = [f"{p['namespace']}/{p['pod']}" for p in summary.get("preempted") or []]
        parts.append(
            f"{summary['preemptedPods']} workload pod(s) preempted to admit them ({_names(pods)}; Azure/AKS#4175)"
        )
    latest = f"the latest run (began {summary.get('latestRun')}, {summary.get('evidence')})"
    if not parts:
        return Check(WORKERS, PASS, f"Every eligible node ({summary.get('covered', 0)}) was cleaned in {latest}.")
    status = FAIL if failed else WARN
    return Check(WORKERS, status, f"In {latest}: " + "; ".join(parts) + ".", None)


def scanner(rows, source, resource_group="RG", name="NAME"):
    """The share of the latest runs' removals whose verdict was "scan failed" (Eraser's deleteFailedImages removes
    what trivy could not scan), and the scanner's own failures; `rows`: `report`'s rows."""
    removed = [r for r in rows if r.get("outcome") == statements.REMOVED]
    unscanned = [r for r in removed if r.get("scan") == statements.SCAN_FAILED]
    crashed = sorted(
        {
            r.get("node") or "?"
            for r in rows
            if r.get("outcome") == statements.RUN_FAILED and "scanner" in (r.get("detail") or "")
        }
    )
    if not rows:
        return skipped(SCANNER, f"No Eraser line in {source}.")
    parts = []
    share = len(unscanned) / len(removed) if removed else 0.0
    if unscanned:
        images = sorted({r.get("image") or "?" for r in unscanned})
        parts.append(
            f"{len(unscanned)} of {len(removed)} removal(s) ({share:.0%}) were of images the scanner could not scan, "
            f"not found vulnerable ({_names(images, 3)}): Eraser removes those too (deleteFailedImages)"
        )
    if crashed:
        parts.append(f"the scanner failed on {_names(crashed)}")
    if not parts:
        return Check(SCANNER, PASS, f"{len(removed)} removal(s) in {source}, none of an image whose scan failed.")
    status = FAIL if share >= SCAN_FAILED_FAIL_SHARE else WARN
    fix = None
    if unscanned:
        fix = f"az aks image-cleaner exclusion add -g {resource_group} -n {name} --images <the images to keep>"
    return Check(SCANNER, status, f"In {source}: " + "; ".join(parts) + ".", fix)


def fleet_scanner(images, source):
    """`scanner` from a fleet's history, a row per image: the removed images with no vulnerable verdict (their scan
    failed, or the scanner said nothing of them) against every removed image."""
    removed = [i for i in images if i.get("outcome") == statements.REMOVED]
    unverdicted = sorted({i.get("image") or "?" for i in removed if i.get("vulnerable") is None})
    if not removed:
        return Check(SCANNER, PASS, f"No removal in {source}.")
    share = len(unverdicted) / len({i.get("image") for i in removed})
    if not unverdicted:
        return Check(SCANNER, PASS, f"{len(removed)} image(s) removed in {source}, each found vulnerable or EOL.")
    status = FAIL if share >= SCAN_FAILED_FAIL_SHARE else WARN
    return Check(
        SCANNER,
        status,
        f"In {source}: {len(unverdicted)} removed image(s) ({share:.0%}) had no vulnerable verdict, most often a "
        f"failed scan ({_names(unverdicted, 3)}): Eraser removes those too (deleteFailedImages).",
        "az aks image-cleaner check -g RG -n NAME shows the scanner's words; keep images with: az aks image-cleaner "
        "exclusion add -g RG -n NAME --images ...",
    )


# The scanner's skip where `history` found Eraser's lines left out of Container Insights.
NOT_COLLECTED = "Eraser's lines are not collected (see 'history')."


def history(
    monitored, collection_gap, retention_days, interval_hours, resource_group, name, retention_unread=None,
    tables=None, window_hours=None, rule_gap=None, unknowns=(),
):  # fmt: skip
    """Whether Eraser's history is kept: the monitoring add-on, kube-system collected (the agent's ConfigMap:
    `monitor.history_rows.collection_gap`; the data collection rule: `rule_gap`), the workspace's retention
    (../shared/container-insights.md), and the table Eraser's lines are in (`tables`: {table: lines} over the last
    `window_hours`, None where unread). A pass says which of `unknowns` ((what, why it could not be read or None),
    ...) it could not tell."""
    found = _history(
        monitored, collection_gap, retention_days, interval_hours, resource_group, name, retention_unread, tables,
        window_hours, rule_gap,
    )  # fmt: skip
    said = "".join(f" Whether {what} could not be read: {why.rstrip('.')}." for what, why in unknowns if why)
    return found._replace(detail=found.detail + said) if said and found.status == PASS else found


def _history(
    monitored, collection_gap, retention_days, interval_hours, resource_group, name, retention_unread, tables,
    window_hours, rule_gap,
):  # fmt: skip
    if not monitored:
        return Check(
            HISTORY,
            WARN,
            "No monitoring add-on: Eraser's logs go with its worker pods, minutes after each run.",
            f"az aks enable-addons -a monitoring -g {resource_group} -n {name}",
        )
    if collection_gap or rule_gap:
        fixes = []
        if collection_gap:
            fixes.append(
                "Remove kube-system from exclude_namespaces under [log_collection_settings.stdout] and .stderr in "
                "ConfigMap kube-system/container-azm-ms-agentconfig, then: kubectl apply -f <that file>"
            )
        if rule_gap:
            fixes.append(
                "Let kube-system through the data collection rule (the cluster's Monitor settings in the portal), or "
                f"re-create it: az aks disable-addons -a monitoring -g {resource_group} -n {name}, then az aks "
                f"enable-addons -a monitoring -g {resource_group} -n {name} --data-collection-settings <a file whose "
                "namespaceFilteringMode and namespaces keep kube-system>"
            )
        gaps = "; and ".join(g for g in (collection_gap, rule_gap) if g)
        return Check(HISTORY, FAIL, f"Container Insights does not keep Eraser's logs: {gaps}.", " Also: ".join(fixes))
    legacy = legacy_table(tables, window_hours)
    if retention_days is None:
        return legacy or Check(
            HISTORY,
            PASS,
            f"Kept in Container Insights{_in_table(tables)}; the workspace's retention could not be read: "
            f"{retention_unread}.",
        )
    two_runs = 2 * (interval_hours or 0) / 24
    if retention_days < two_runs:
        return Check(
            HISTORY,
            WARN,
            f"The workspace keeps {retention_days} days, fewer than two intervals ({two_runs:g} days): the history "
            "cannot hold two runs.",
            "az monitor log-analytics workspace update --ids <workspace> --retention-time <days>",
        )
    return legacy or Check(
        HISTORY, PASS, f"Kept in Container Insights{_in_table(tables)} for {retention_days} days (the workspace's "
        "retention).",
    )  # fmt: skip


# Support for the legacy ContainerLog table ended then (container-insights-logs-schema, "Table comparison").
LEGACY_TABLE_RETIRED = "30 September 2026"


def legacy_table(tables, window_hours):
    """A warning where Eraser's latest lines are in the legacy ContainerLog table only, else None."""
    tables = tables or {}
    if not tables.get(LEGACY) or tables.get(V2):
        return None
    return Check(
        HISTORY,
        WARN,
        f"Eraser's {tables[LEGACY]} line(s) of the last {window_hours} hours are in the legacy ContainerLog table, "
        f"whose support was retired on {LEGACY_TABLE_RETIRED}: the history may stop being kept.",
        'Set containerlog_schema_version = "v2" under [log_collection_settings.schema] in ConfigMap '
        "kube-system/container-azm-ms-agentconfig, then: kubectl apply -f <that file>",
    )


def _in_table(tables):
    """ " (in ContainerLogV2)" where Eraser's lines were found there."""
    found = [t for t, lines in sorted((tables or {}).items()) if lines]
    return f" (in {' and '.join(found)})" if found and V2 in found else ""


def exclusion_lists(configmaps, resource_group="RG", name="NAME"):
    """Every labelled exclusion list readable by Eraser (`cluster.exclusions.read_list`: a key ending in .json that
    holds {"excluded": [...]})."""
    rows = exclusions.read_lists(configmaps)
    broken = [f"{r['configMap']}: {r['problem']}" for r in rows if r["problem"]]
    if broken:
        return Check(
            EXCLUSION_LISTS,
            FAIL,
            f"Eraser ignores {len(broken)} exclusion list(s), and removes what they name: " + "; ".join(broken) + ".",
            "Put the patterns under a key ending in '.json' as {\"excluded\": [...]}, or use: az aks image-cleaner "
            f"exclusion add -g {resource_group} -n {name} --images ...",
        )
    return Check(EXCLUSION_LISTS, PASS, f"{len(rows)} exclusion list(s), each readable by Eraser.")


def _release(tag):
    """(major, minor, patch, build) of a tag like v1.4.0 or v1.4.0-10, or None."""
    found = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)(?:-(\d+))?", tag or "")
    return tuple(int(g or 0) for g in found.groups()) if found else None


def version(eraser_tags, kubernetes_version, resource_group, name):
    """Eraser's version (eraser-manager-config's component tags) against what AKS documents for the cluster's
    Kubernetes minor version (AKS_ERASER_VERSIONS)."""
    minor = ".".join((kubernetes_version or "").split(".")[:2])
    documented = AKS_ERASER_VERSIONS.get(minor)
    tags = sorted(set(eraser_tags))
    if not tags:
        return skipped(VERSION, "Eraser's version could not be read (no eraser-manager-config).")
    if documented is None:
        return skipped(
            VERSION, f"Eraser {_names(tags)}: AKS documents no image-cleaner version for Kubernetes {minor}."
        )
    behind = [t for t in tags if (_release(t) or (0,)) < (_release(documented) or (0,))]
    if behind:
        return Check(
            VERSION,
            WARN,
            f"Eraser {_names(behind)} is behind {documented}, which AKS ships with Kubernetes {minor} on "
            f"{resource_group}/{name}: AKS rolls Image Cleaner out with its releases, so this cluster has not had "
            "AKS's latest one.",
        )
    return Check(VERSION, PASS, f"Eraser {_names(tags)}, as AKS ships with Kubernetes {minor} ({documented}).")
