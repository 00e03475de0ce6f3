"""Handlers of `az aks image-cleaner run | exclusion | logs | status | report`: the cluster side of Image Cleaner.

Each handler reaches the cluster's Kubernetes API through the access seam (`access.connect`), which chooses
the credential and the transport (the API server, or AKS run-command) and maps every failure on the way to one
az error; the handlers do their work and return data for az to print.
"""

import os
import time
from contextlib import contextmanager

from knack.log import get_logger

from azext_imagecleaner.access import not_found
from azext_imagecleaner.azure import errors
from azext_imagecleaner.cluster import exclusions
from azext_imagecleaner.cluster import images as image_refs
from azext_imagecleaner.eraser import statements

logger = get_logger(__name__)

IMAGELIST_NAME = "imagelist"
CONTAINERS = ("collector", "trivy-scanner", "remover")
NOT_INSTALLED = (
    "Image Cleaner's ImageList resource is not on the {cluster}: Image Cleaner is not enabled there.",
    "Enable it first: az aks update -g {rg} -n {name} --enable-image-cleaner",
)


@contextmanager
def _cluster(cmd, client, resource_group_name, name, options, mc=None):
    """The cluster's Kubernetes API through the access seam, every failure on the way mapped to one az error.
    `mc`: the cluster as the handler already read it from ARM, so that it is not read twice."""
    from azext_imagecleaner.access import connect

    with connect(cmd, client, resource_group_name, name, options, mc) as kube:
        yield kube


def _options(admin, kubeconfig, context, transport, timeout):
    from azext_imagecleaner.access import AccessOptions

    return AccessOptions(admin, kubeconfig, context, transport or "auto", timeout)


def _not_installed(resource_group_name, name):
    from azure.cli.core.azclierror import ResourceNotFoundError

    message, hint = NOT_INSTALLED
    cluster = errors.cluster_text(resource_group_name, name)
    return ResourceNotFoundError(message.format(cluster=cluster), hint.format(rg=resource_group_name, name=name))


# --- run ---------------------------------------------------------------------------------------------


def run(
    cmd,
    client,
    resource_group_name,
    name,
    images=None,
    run_all=False,
    wait=False,
    timeout=600,
    admin=False,
    kubeconfig=None,
    context=None,
    transport="auto",
):
    from azure.cli.core.azclierror import AzureResponseError

    from azext_imagecleaner.access import steps

    spec_images = image_refs.run_images(images, run_all)
    options = _options(admin, kubeconfig, context, transport, timeout)
    body = {
        "apiVersion": "eraser.sh/v1",
        "kind": "ImageList",
        "metadata": {"name": IMAGELIST_NAME},
        "spec": {"images": spec_images},
    }
    # Eraser acts on a new spec only: the list is deleted and created again, so the same images really run again.
    # With --wait, the wait happens in the same plan: one AKS run-command for the whole run on a private cluster.
    recreate = steps.Recreate("imagelists", body, wait_seconds=timeout if wait else None)
    with _cluster(cmd, client, resource_group_name, name, options) as kube, _progress(cmd, wait):
        try:
            (outcome,) = kube.run([recreate])
        except Exception as ex:
            if not_found(ex) and "could not find the requested resource" in (getattr(ex, "body", None) or ""):
                raise _not_installed(resource_group_name, name) from ex
            raise
    created = outcome["created"]
    logger.warning(
        "Started a manual Image Cleaner run for %s (%s).",
        ", ".join(spec_images),
        "replaced the previous ImageList" if outcome["replaced"] else "new ImageList",
    )
    result = {
        "imageList": IMAGELIST_NAME,
        "images": spec_images,
        "replacedPrevious": outcome["replaced"],
        "uid": created["metadata"].get("uid"),
        "status": created.get("status"),
    }
    if not wait:
        return result
    state = outcome["state"]
    if state == "waiting":
        raise AzureResponseError(
            f"The manual run did not finish within {timeout} s; it goes on in the cluster.",
            f"Follow it with 'az aks image-cleaner status -g {resource_group_name} -n {name}'.",
        )
    if state in ("replaced", "gone"):
        raise AzureResponseError(
            f"The ImageList was {'replaced' if state == 'replaced' else 'deleted'} by someone else while this run was "
            "waited for.",
            f"See 'az aks image-cleaner status -g {resource_group_name} -n {name}'.",
        )
    result["status"] = outcome["final"].get("status") or {}
    if result["status"].get("failed"):
        logger.warning(
            "The run failed on %s node(s): see 'az aks image-cleaner logs -g %s -n %s'.",
            result["status"]["failed"],
            resource_group_name,
            name,
        )
    return result


@contextmanager
def _progress(cmd, shown):
    """az's progress indicator while a run is waited for (on a terminal only, as az shows it)."""
    if not shown:
        yield
        return
    progress = cmd.cli_ctx.get_progress_controller()
    progress.begin()
    progress.add(message="Waiting for the run on every Linux node")
    try:
        yield
    finally:
        progress.end()


# --- exclusion lists ---------------------------------------------------------------------------------


def exclusion_list(
    cmd, client, resource_group_name, name, admin=False, kubeconfig=None, context=None, transport="auto", timeout=None
):
    from azext_imagecleaner.access import steps

    options = _options(admin, kubeconfig, context, transport, timeout)
    plan = [
        steps.ListConfigMaps(exclusions.NAMESPACE, exclusions.SELECTOR),
        steps.Read("configmaps", exclusions.NAMESPACE, exclusions.SYSTEM_LIST),
    ]
    with _cluster(cmd, client, resource_group_name, name, options) as kube:
        configmaps, system = kube.run(plan)
    if system is not None and not any(c["metadata"]["name"] == exclusions.SYSTEM_LIST for c in configmaps):
        configmaps.append(system)
    rows = exclusions.read_lists(configmaps)
    for row in rows:
        if row["problem"]:
            logger.warning("ConfigMap %s/%s is %s.", exclusions.NAMESPACE, row["configMap"], row["problem"])
    return rows


def exclusion_add(
    cmd,
    client,
    resource_group_name,
    name,
    images,
    admin=False,
    kubeconfig=None,
    context=None,
    transport="auto",
    timeout=None,
):
    patterns = [image_refs.check_pattern(p) for p in images]
    options = _options(admin, kubeconfig, context, transport, timeout)
    return _edit_user_list(cmd, client, resource_group_name, name, options, add=patterns)


def exclusion_remove(
    cmd,
    client,
    resource_group_name,
    name,
    images,
    admin=False,
    kubeconfig=None,
    context=None,
    transport="auto",
    timeout=None,
):
    patterns = [image_refs.check_pattern(p) for p in images]
    options = _options(admin, kubeconfig, context, transport, timeout)
    return _edit_user_list(cmd, client, resource_group_name, name, options, remove=patterns)


def _edit_user_list(cmd, client, resource_group_name, name, options, add=(), remove=()):
    """Read, change and write the extension's user list in one step (one run-command on a private cluster)."""
    from azext_imagecleaner.access import steps

    namespace = exclusions.NAMESPACE
    edit = steps.EditJsonList(
        namespace,
        exclusions.USER_LIST,
        exclusions.USER_KEY,
        "excluded",
        labels=((exclusions.LABEL, "true"),),
        add=tuple(add),
        remove=tuple(remove),
    )
    with _cluster(cmd, client, resource_group_name, name, options) as kube:
        (edited,) = kube.run([edit])
    for pattern in edited["missing"]:
        logger.warning("%s is not in %s/%s; nothing to remove.", pattern, namespace, exclusions.USER_LIST)
    return exclusions.read_list(edited["configmap"])


# --- logs --------------------------------------------------------------------------------------------


def _collect_worker_logs(kube, node=None, container=None):
    """Every worker pod's container logs, as entries: pod, node, container, phase, lines, cut, log."""
    from azext_imagecleaner.access import steps

    (found,) = kube.run([steps.PodLogs(exclusions.NAMESPACE, statements.WORKER_PREFIXES, node, container)])
    entries = []
    for entry in found:
        lines = len(entry["log"].splitlines())
        if entry["cut"]:
            logger.warning(
                "The log of %s/%s is longer than AKS run-command can return in a few commands: these are its first "
                "%s lines. From inside the cluster's network, --transport api-server reads it whole.",
                entry["pod"],
                entry["container"],
                lines,
            )
        entries.append(dict(entry, lines=lines))
    return entries


def _warn_no_workers(resource_group_name, name, node=None):
    where = f" on node {node}" if node else ""
    logger.warning(
        "No Eraser worker pod is running%s on the %s: worker pods are deleted about 10 minutes after a run, "
        "and their logs with them. Earlier runs are in Container Insights where the cluster's monitoring add-on "
        "keeps them: 'az aks image-cleaner report --since 30d'; 'az aks image-cleaner run' starts a new run.",
        where,
        errors.cluster_text(resource_group_name, name),
    )


def logs(
    cmd,
    client,
    resource_group_name,
    name,
    node=None,
    container=None,
    output_dir=None,
    admin=False,
    kubeconfig=None,
    context=None,
    transport="auto",
    timeout=None,
):
    options = _options(admin, kubeconfig, context, transport, timeout)
    with _cluster(cmd, client, resource_group_name, name, options) as kube:
        entries = _collect_worker_logs(kube, node, container)
    if not entries:
        _warn_no_workers(resource_group_name, name, node)
        return []
    if output_dir:
        return _save_logs(entries, output_dir)
    return entries


def _save_logs(entries, output_dir):
    """Write each log to OUTPUT_DIR/<pod>.<container>.log and an index.json that says what each file is."""
    import json

    os.makedirs(output_dir, exist_ok=True)
    index = []
    for entry in entries:
        path = os.path.join(output_dir, f"{entry['pod']}.{entry['container']}.log")
        with open(path, "w", encoding="utf-8") as f:
            f.write(entry["log"])
        saved = {k: v for k, v in entry.items() if k != "log"}
        saved["file"] = path
        index.append(saved)
    with open(os.path.join(output_dir, "index.json"), "w", encoding="utf-8") as f:
        json.dump({"collectedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "logs": index}, f, indent=2)
    return index


# --- status ------------------------------------------------------------------------------------------


def status(
    cmd, client, resource_group_name, name, admin=False, kubeconfig=None, context=None, transport="auto", timeout=None
):
    from azext_imagecleaner.access import steps
    from azext_imagecleaner.cluster.status import cluster_status

    with errors.mapped(resource_group_name, name):
        mc = client.get(resource_group_name, name)
    cleaner = mc.security_profile.image_cleaner if mc.security_profile else None
    options = _options(admin, kubeconfig, context, transport, timeout)
    plan = [
        steps.Read("configmaps", exclusions.NAMESPACE, "eraser-manager-config"),
        steps.Read("imagelists", None, IMAGELIST_NAME),
        steps.Pods(exclusions.NAMESPACE, statements.WORKER_PREFIXES),
    ]
    with _cluster(cmd, client, resource_group_name, name, options, mc) as kube:
        config, imagelist, workers = kube.run(plan)
    return cluster_status(
        name,
        resource_group_name,
        bool(cleaner and cleaner.enabled),
        cleaner.interval_hours if cleaner else None,
        config,
        imagelist,
        workers,
    )


# --- report ------------------------------------------------------------------------------------------


def report(
    cmd,
    client,
    resource_group_name=None,
    name=None,
    from_dir=None,
    since=None,
    show_query=False,
    all_clusters=False,
    cluster_ids=None,
    subscriptions=None,
    management_group=None,
    admin=False,
    kubeconfig=None,
    context=None,
    transport="auto",
    timeout=None,
):
    from azext_imagecleaner.eraser import report as eraser_report

    if since is not None:  # the validator made it a timedelta
        from azext_imagecleaner.monitor import history

        if all_clusters or cluster_ids is not None:
            return history.fleet_report(
                cmd, since, show_query, cluster_ids, resource_group_name, subscriptions, management_group
            )
        options = _options(admin, kubeconfig, context, transport, timeout)
        return history.cluster_report(
            cmd,
            client,
            resource_group_name,
            name,
            since,
            show_query,
            lambda mc: _cluster(cmd, client, resource_group_name, name, options, mc),
        )
    if from_dir:
        entries = _read_saved_logs(from_dir)
    else:
        options = _options(admin, kubeconfig, context, transport, timeout)
        with _cluster(cmd, client, resource_group_name, name, options) as kube:
            entries = _collect_worker_logs(kube)
    if not entries:
        if from_dir:
            logger.warning("No Eraser log found in %s.", from_dir)
        else:
            _warn_no_workers(resource_group_name, name)
    parsed = eraser_report.Parsed()
    for entry in entries:
        eraser_report.parse_lines(
            entry["log"].splitlines(), entry["node"], entry["container"], into=parsed, pod=entry["pod"]
        )
    result = eraser_report.report(parsed)
    # report still exits 0: what Eraser did, failures included, is the answer. The detail names the container.
    for node, detail in eraser_report.run_failures(result):
        logger.warning("The run failed on node %s: %s", node or "(unknown)", detail)
    if result["skippedLines"]:
        logger.warning("Skipped %s line(s) that are not Eraser's JSON log lines.", result["skippedLines"])
    return result


# --- coverage ----------------------------------------------------------------------------------------------


def coverage(
    cmd,
    client,
    resource_group_name=None,
    name=None,
    since=None,
    show_query=False,
    all_clusters=False,
    cluster_ids=None,
    subscriptions=None,
    management_group=None,
    admin=False,
    kubeconfig=None,
    context=None,
    transport="auto",
    timeout=None,
):
    from azext_imagecleaner.monitor import coverage as cover

    if all_clusters or cluster_ids is not None:
        return cover.fleet_coverage(cmd, since, show_query, cluster_ids, resource_group_name, subscriptions,
                                    management_group)  # fmt: skip
    options = _options(admin, kubeconfig, context, transport, timeout)
    return cover.cluster_coverage(
        cmd, client, resource_group_name, name, since, show_query,
        lambda mc: _cluster(cmd, client, resource_group_name, name, options, mc),
    )  # fmt: skip


def _read_saved_logs(folder):
    """Logs saved by `logs --output-dir`: index.json says which node and container each file is."""
    import glob
    import json

    from azure.cli.core.azclierror import FileOperationError

    if not os.path.isdir(folder):
        raise FileOperationError(
            f"--from-dir {folder} is not a folder.",
            "Give the folder written by 'az aks image-cleaner logs --output-dir'.",
        )
    index_path = os.path.join(folder, "index.json")
    if os.path.exists(index_path):
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f).get("logs", [])
        items = [
            (e["pod"], e.get("node"), e["container"], os.path.join(folder, os.path.basename(e["file"]))) for e in index
        ]
    else:
        items = []
        for path in sorted(glob.glob(os.path.join(folder, "*.log"))):
            pod, _, container = os.path.basename(path)[: -len(".log")].rpartition(".")
            items.append((pod or container, None, container, path))
    entries = []
    for pod, node, container, path in items:
        with open(path, encoding="utf-8", errors="replace") as f:
            entries.append({"pod": pod, "node": node, "container": container, "log": f.read()})
    return entries
