"""`az aks image-cleaner list | set`: Image Cleaner across many clusters and subscriptions.

The clusters are found with one Azure Resource Graph query (`azure.resource_graph`). `set` applies the same rules as
`az aks update` to each cluster, skipping clusters already in the wanted state, on a fixed pool of workers
(--max-parallel) that take clusters from each subscription as its pace allows (`fleet.pacing`: ARM's remaining-budget
headers and 429s), round robin across subscriptions. Each cluster gets the guarded update of `aks update`:
If-Match with the ETag it read (when the service returns one), a fresh read on 412, Retry-After honoured on 429
and 5xx within the retry budget of each request; a busy cluster (409) is waited for, within --busy-timeout,
then tried again. A cluster is reported failed only when its change did not happen: a write that was accepted
but whose end could not be read is "changed, not confirmed".
"""

import sys
import threading
import time
from collections import deque

from knack.log import get_logger

from azext_imagecleaner.aks.rules import FLEET_FLAGS, Flags, decide, describe
from azext_imagecleaner.azure import errors
from azext_imagecleaner.fleet import selection

logger = get_logger(__name__)

DEFAULT_MAX_PARALLEL = 100
DEFAULT_BUSY_TIMEOUT = 600
# A write the service accepted whose end could not be read: not a failure.
UNCONFIRMED = "changed, not confirmed"
BUSY_POLL_SECONDS = 2
_TERMINAL = {"succeeded", "failed", "canceled"}


# --- clients, one per subscription and thread ---------------------------------------------------------


class _Clients:
    """One managedClusters client per subscription, shared by the workers (Azure SDK clients are thread-safe),
    over one connection pool sized for them: memory does not grow with the workers or the clusters."""

    def __init__(self, cli_ctx, pacer=None, connections=DEFAULT_MAX_PARALLEL):
        self.cli_ctx, self.pacer, self.connections = cli_ctx, pacer, connections
        self.lock = threading.Lock()
        self.by_subscription = {}
        self.transport = None

    def get(self, subscription):
        with self.lock:
            if subscription not in self.by_subscription:
                from azext_imagecleaner.azure.arm import managed_clusters_client, shared_transport

                if self.transport is None:
                    self.transport = shared_transport(self.connections)
                self.by_subscription[subscription] = managed_clusters_client(
                    self.cli_ctx, subscription, self.pacer, transport=self.transport
                )
            return self.by_subscription[subscription]


# --- list ------------------------------------------------------------------------------------------------


def list_clusters(cmd, subscriptions=None, resource_group_name=None, management_group=None):
    from azext_imagecleaner.azure.resource_graph import discover

    rows = discover(cmd.cli_ctx, selection.scope(cmd.cli_ctx, subscriptions, management_group), resource_group_name)
    return sorted(rows, key=lambda r: (r["subscription"], r["resourceGroup"] or "", r["name"]))


# --- set -------------------------------------------------------------------------------------------------


def set_clusters(
    cmd,
    enable=False,
    disable=False,
    interval_hours=None,
    cluster_ids=None,
    resource_group_name=None,
    all_clusters=False,
    subscriptions=None,
    management_group=None,
    max_parallel=DEFAULT_MAX_PARALLEL,
    busy_timeout=DEFAULT_BUSY_TIMEOUT,
    dry_run=False,
    output_failures=None,
):
    from azext_imagecleaner.fleet.pacing import Pacer

    flags = Flags(enable=enable, disable=disable, interval_hours=interval_hours)
    targets = _targets(cmd, cluster_ids, resource_group_name, all_clusters, subscriptions, management_group, flags)
    if not targets:
        logger.warning("No cluster needs this change: nothing to do.")
        _write_failures(output_failures, [])
        return []
    pacer = Pacer(ceiling=max_parallel)
    rows = _run_paced(cmd, targets, pacer, lambda clients, t: _apply_one(cmd, clients, t, flags, dry_run, busy_timeout))
    rows.sort(key=lambda r: (r["subscription"], r["resourceGroup"], r["name"]))
    failed = [r for r in rows if r["result"] == "failed"]
    _write_failures(output_failures, failed)
    unconfirmed = [r for r in rows if r["result"] == UNCONFIRMED]
    if unconfirmed:
        logger.warning(
            "%d cluster(s) accepted the change but their final state could not be read; see 'az aks image-cleaner "
            "list' in a while.",
            len(unconfirmed),
        )
    if failed:
        logger.error(
            "%d of %d clusters failed: %s.",
            len(failed),
            len(rows),
            "; ".join(f"{r['name']}: {r['error']}" for r in failed[:5]),
        )
        if output_failures:
            logger.error("Their IDs are in %s: run again with --ids @%s.", output_failures, output_failures)
        selection.exit_non_zero_after_output(cmd.cli_ctx)
    return rows


def _run_paced(cmd, targets, pacer, apply):
    """Apply `apply` to every target on min(--max-parallel, targets) workers, taking clusters round robin from
    the subscriptions whose pace allows one more; rows as they finish."""
    from azext_imagecleaner.azure.arm import resolve_models

    resolve_models()  # before the workers share the SDK's model classes
    queues = {}
    for target in targets:
        queues.setdefault(target.subscription, deque()).append(target)
    order = deque(queues)
    rows, condition = [], threading.Condition()
    clients = _Clients(cmd.cli_ctx, pacer, connections=pacer.ceiling)
    # A progress line on a terminal only: a CI log gets the summary, not a line per cluster.
    progress = cmd.cli_ctx.get_progress_controller(det=True) if sys.stderr.isatty() else None
    failed = [0]

    def next_target():
        with condition:
            while True:
                if not any(queues.values()):
                    return None
                for _ in range(len(order)):
                    subscription = order[0]
                    order.rotate(-1)
                    if queues[subscription] and pacer.try_start(subscription):
                        return queues[subscription].popleft()
                condition.wait(0.2)  # a pause ends or a place frees up

    def work():
        while True:
            target = next_target()
            if target is None:
                return
            try:
                row = apply(clients, target)
            finally:
                pacer.finish(target.subscription)
            with condition:
                rows.append(row)
                failed[0] += row["result"] == "failed"
                condition.notify_all()
                if progress:
                    progress.add(
                        message=f"{len(rows)}/{len(targets)} done, {failed[0]} failed, "
                        f"{sum(len(q) for q in queues.values())} waiting, {pacer.throttled} throttled",
                        value=len(rows),
                        total_val=len(targets),
                    )

    if progress:
        progress.begin()
    try:
        workers = [threading.Thread(target=work, daemon=True) for _ in range(min(pacer.ceiling, len(targets)))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        if progress:
            progress.end()
    return rows


def _write_failures(path, failed):
    """The failed clusters' IDs, one a line, for `--ids @FILE`; an empty file when none failed."""
    if not path:
        return
    with open(path, "w", encoding="utf-8") as f:
        for row in failed:
            f.write(
                f"/subscriptions/{row['subscription']}/resourceGroups/{row['resourceGroup']}"
                f"/providers/Microsoft.ContainerService/managedClusters/{row['name']}\n"
            )


def _targets(cmd, cluster_ids, resource_group_name, all_clusters, subscriptions, management_group, flags):
    from azext_imagecleaner.azure.resource_graph import discover

    if cluster_ids is not None:  # an empty --ids @FILE (no failures last time) names no cluster
        return selection.targets_of(cluster_ids)
    scope = selection.scope(cmd.cli_ctx, subscriptions, management_group)
    rows = discover(cmd.cli_ctx, scope, None if all_clusters else resource_group_name, flags)
    return [selection.Target(r["subscription"], r["resourceGroup"], r["name"]) for r in rows]


def _apply_one(cmd, clients, target, flags, dry_run, busy_timeout):
    """Bring one cluster to the wanted state; a summary row, never an exception."""
    row = {
        "name": target.name,
        "resourceGroup": target.resource_group,
        "subscription": target.subscription,
        "result": None,
        "before": None,
        "after": None,
        "error": None,
    }
    try:
        client = clients.get(target.subscription)
        result, before, after = _update_when_idle(cmd, client, target, flags, dry_run, busy_timeout)
        row.update(result=result, before=describe(before), after=describe(after))
    except Exception as ex:  # noqa: BLE001 - one cluster's failure is reported in its row, the rest go on
        mapped = errors.translate(ex, target.resource_group, target.name)
        row.update(result="failed", error=getattr(mapped, "error_msg", None) or str(ex))
    return row


def _update_when_idle(cmd, client, target, flags, dry_run, busy_timeout):
    from azure.core.exceptions import HttpResponseError

    from azext_imagecleaner.aks.updates import retry_on_concurrent_change

    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            return retry_on_concurrent_change(
                lambda: _attempt(cmd, client, target, flags, dry_run), target.resource_group, target.name
            )
        except HttpResponseError as ex:
            if not _is_busy(ex) or time.monotonic() >= deadline:
                raise
            logger.warning(
                "%s is busy with another operation; waiting for it (up to %d s more).",
                target.name,
                int(deadline - time.monotonic()),
            )
            _wait_until_idle(client, target, deadline)


def _attempt(cmd, client, target, flags, dry_run):
    """One read-decide-write of a cluster: (result, profile before, profile after)."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
    from azure.core.polling import LROPoller

    from azext_imagecleaner.aks.core import core
    from azext_imagecleaner.aks.decorators import decorator_classes, profile_of
    from azext_imagecleaner.aks.rules import needs_write
    from azext_imagecleaner.aks.updates import core_update_defaults, resource_type

    _, update_decorator = decorator_classes(core())
    raw = dict(
        core_update_defaults(),
        resource_group_name=target.resource_group,
        name=target.name,
        enable_image_cleaner=flags.enable,
        disable_image_cleaner=flags.disable,
        image_cleaner_interval_hours=flags.interval_hours,
        cmd=cmd,
        client=client,
    )
    decorator = update_decorator(cmd, client, raw, resource_type())
    mc = decorator.fetch_mc()
    before = profile_of(mc)
    wanted = decide(before, flags, names=FLEET_FLAGS).profile
    if not needs_write(before, wanted, mc.provisioning_state):
        return "unchanged", before, before
    if dry_run:
        return "would change", before, wanted
    result = decorator.update_mc(decorator.update_image_cleaner(mc))
    if isinstance(result, LROPoller):
        # The PUT was accepted: from here on, only a Failed or Canceled operation means the change did not happen.
        try:
            with errors.failed_operations(target.resource_group, target.name):
                result.result()
        except HttpResponseError as ex:
            if errors.operation_outcome(ex, target.resource_group, target.name) is not None:
                raise
            logger.warning("%s: the change was accepted, but its end could not be read: %s", target.name, ex)
            return UNCONFIRMED, before, wanted
        except (ServiceRequestError, ServiceResponseError) as ex:
            logger.warning("%s: the change was accepted, but its end could not be read: %s", target.name, ex)
            return UNCONFIRMED, before, wanted
    return "changed", before, wanted


def _is_busy(ex):
    code = getattr(getattr(ex, "error", None), "code", None) or ""
    return ex.status_code == 409 and code == "OperationNotAllowed"


def _wait_until_idle(client, target, deadline):
    while time.monotonic() < deadline:
        time.sleep(BUSY_POLL_SECONDS)
        state = (client.get(target.resource_group, target.name).provisioning_state or "").lower()
        if state in _TERMINAL:
            return
