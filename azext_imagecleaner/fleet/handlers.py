"""`az aks image-cleaner list | set`: Image Cleaner across many clusters and subscriptions.

The clusters are found with one Azure Resource Graph query (`azure.resource_graph`). `set` applies the same rules as
`az aks update` to each cluster, skipping clusters already in the wanted state, on a fixed pool of workers
(--max-parallel) that take clusters from each subscription as its pace allows (`fleet.pacing`: ARM's remaining-budget
headers and 429s), round robin across subscriptions. Each cluster gets the guarded update of `aks update`:
If-Match with the ETag it read (when the service returns one), a fresh read on 412, Retry-After honoured on 429
and 5xx within the retry budget of each request; a busy cluster (409) is waited for, within --busy-timeout,
then tried again. A worker moves on once its cluster's PUT is accepted: every accepted operation is then waited
for from one place (`fleet.operations`), side by side as AKS runs them, until --timeout. A cluster is reported
failed only when its change did not happen: a write that was accepted but whose end could not be read is
"changed, not confirmed", and one still running at --timeout is "still running".
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
# As `az aks wait --timeout`: an hour for the operations, from the command's start.
DEFAULT_TIMEOUT = 3600
# A write the service accepted whose end could not be read: not a failure.
UNCONFIRMED = "changed, not confirmed"
# A write the service accepted whose operation had not ended at --timeout: neither done nor failed.
STILL_RUNNING = "still running"
# --no-wait: the PUT was accepted, and its operation is left running.
ACCEPTED = "accepted"
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
    return_when_accepted=False,
    timeout=DEFAULT_TIMEOUT,
):
    from azext_imagecleaner.fleet.pacing import Pacer

    deadline = time.monotonic() + timeout
    flags = Flags(enable=enable, disable=disable, interval_hours=interval_hours)
    targets = _targets(cmd, cluster_ids, resource_group_name, all_clusters, subscriptions, management_group, flags)
    if not targets:
        logger.warning("No cluster needs this change: nothing to do.")
        _write_failures(output_failures, [])
        return []
    pacer = Pacer(ceiling=max_parallel)
    rows = _run_paced(
        cmd,
        targets,
        pacer,
        lambda clients, t: _apply_one(cmd, clients, t, flags, dry_run, busy_timeout),
        wait_until=None if (return_when_accepted or dry_run) else deadline,
        timeout=timeout,
    )
    rows.sort(key=lambda r: (r["subscription"], r["resourceGroup"], r["name"]))
    not_done = [r for r in rows if r["result"] in ("failed", STILL_RUNNING)]
    _write_failures(output_failures, not_done)
    _summarize(cmd, rows, not_done, output_failures, timeout)
    return rows


def _summarize(cmd, rows, not_done, output_failures, timeout):
    """What a CI log needs beside the rows; exit 1 after them when a cluster failed or is still running."""
    unconfirmed = [r for r in rows if r["result"] == UNCONFIRMED]
    if unconfirmed:
        logger.warning(
            "%d cluster(s) accepted the change but their final state could not be read; see 'az aks image-cleaner "
            "list' in a while.",
            len(unconfirmed),
        )
    if any(r["result"] == ACCEPTED for r in rows):
        logger.warning(
            "The changes were accepted and are running (--no-wait). Follow them with 'az aks image-cleaner list "
            "--query \"[?provisioningState!='Succeeded']\"', or wait for one with 'az aks wait --updated -g RG -n "
            "NAME'."
        )
    if not not_done:
        return
    failed = [r for r in not_done if r["result"] == "failed"]
    running = [r for r in not_done if r["result"] == STILL_RUNNING]
    if failed:
        logger.error(
            "%d of %d clusters failed: %s.",
            len(failed),
            len(rows),
            "; ".join(f"{r['name']}: {r['error']}" for r in failed[:5]),
        )
    if running:
        logger.error(
            "%d of %d clusters were still running their operation at --timeout (%d s): %s. Follow them with 'az "
            "aks wait --updated -g RG -n NAME'.",
            len(running),
            len(rows),
            timeout,
            ", ".join(r["name"] for r in running[:5]) + (", ..." if len(running) > 5 else ""),
        )
    if output_failures:
        logger.error("Their IDs are in %s: run again with --ids @%s.", output_failures, output_failures)
    selection.exit_non_zero_after_output(cmd.cli_ctx)


class _Progress:
    """n of N done on stderr, with az's progress indicator: on a terminal only, and never with
    --only-show-errors. A CI log gets the summary, not a line per cluster."""

    def __init__(self, cmd, total):
        self.total = total
        shown = sys.stderr.isatty() and not getattr(cmd.cli_ctx, "only_show_errors", False)
        self.controller = cmd.cli_ctx.get_progress_controller(det=True) if shown else None

    def begin(self):
        if self.controller:
            self.controller.begin()

    def show(self, done, sent, failed, running, waiting, throttled):
        if self.controller:
            self.controller.add(
                message=f"{done}/{self.total} done, {sent} sent, {running} running, {waiting} waiting, "
                f"{failed} failed, {throttled} throttled",
                value=done,
                total_val=self.total,
            )

    def end(self):
        if self.controller:
            self.controller.end()


def _run_paced(cmd, targets, pacer, apply, wait_until=None, timeout=DEFAULT_TIMEOUT):
    """Apply `apply` to every target on min(--max-parallel, targets) workers, taking clusters round robin from
    the subscriptions whose pace allows one more; rows as they finish. `apply` gives (row, polling), polling
    being an accepted operation's; with `wait_until`, each is waited for until then, all from one Waiter."""
    from azext_imagecleaner.azure.arm import resolve_models

    resolve_models()  # before the workers share the SDK's model classes
    return _FleetRun(cmd, targets, pacer, apply, timeout).run(wait_until)


class _FleetRun:  # pylint: disable=too-many-instance-attributes  # one run's state, under one condition
    def __init__(self, cmd, targets, pacer, apply, timeout):
        from azext_imagecleaner.azure.arm import retry_budget_seconds

        self.pacer, self.apply, self.timeout = pacer, apply, timeout
        self.retry_budget = retry_budget_seconds(cmd.cli_ctx)
        self.queues = {}
        for target in targets:
            self.queues.setdefault(target.subscription, deque()).append(target)
        self.order = deque(self.queues)
        self.rows, self.condition = [], threading.Condition()
        self.clients = _Clients(cmd.cli_ctx, pacer, connections=pacer.ceiling)
        self.progress = _Progress(cmd, len(targets))
        self.workers = min(pacer.ceiling, len(targets))
        self.sent = self.failed = self.running = 0
        self.waiter = None

    def run(self, wait_until):
        self.progress.begin()
        try:
            if wait_until is not None:
                from azext_imagecleaner.fleet.operations import Waiter

                self.waiter = Waiter(self.pacer, wait_until, self.operation_ended, budget=self.retry_budget)
            workers = [threading.Thread(target=self.work, daemon=True) for _ in range(self.workers)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            if self.waiter is not None:
                self.waiter.close()
                self.waiter.join()
        finally:
            self.progress.end()
        return self.rows

    def next_target(self):
        with self.condition:
            while True:
                if not any(self.queues.values()):
                    return None
                for _ in range(len(self.order)):
                    subscription = self.order[0]
                    self.order.rotate(-1)
                    if self.queues[subscription] and self.pacer.try_start(subscription):
                        return self.queues[subscription].popleft()
                self.condition.wait(0.2)  # a pause ends or a place frees up

    def work(self):
        from azext_imagecleaner.fleet.operations import Operation

        while True:
            target = self.next_target()
            if target is None:
                return
            try:
                row, polling = self.apply(self.clients, target)
            finally:
                self.pacer.finish(target.subscription)
            with self.condition:
                self.sent += polling is not None or row["result"] == "changed"
                if polling is not None and self.waiter is not None:
                    self.running += 1
            if polling is not None and self.waiter is not None:
                self.waiter.add(Operation(target, polling, row))
            else:
                self.finished(row)

    def operation_ended(self, operation, status, error):
        with self.condition:
            self.running -= 1
        self.finished(_ended(operation, status, error, self.timeout))

    def finished(self, row):
        with self.condition:
            self.rows.append(row)
            self.failed += row["result"] == "failed"
            self.condition.notify_all()
            waiting = sum(len(q) for q in self.queues.values())
            self.progress.show(len(self.rows), self.sent, self.failed, self.running, waiting, self.pacer.throttled)


def _ended(operation, status, error, timeout):
    """The row of an accepted operation, given how it ended (`fleet.operations.Waiter`)."""
    row, target = operation.row, operation.target
    if status == "succeeded":
        row["result"] = "changed"
    elif status in ("failed", "canceled"):
        failure = errors.operation_failed(
            status.capitalize(), error.get("code"), error.get("message"), target.resource_group, target.name
        )
        row.update(result="failed", error=failure.error_msg)
    elif status == "running":
        row.update(
            result=STILL_RUNNING,
            error=f"Its operation was still running at --timeout ({timeout} s); it may yet end either way.",
        )
    else:
        logger.warning("%s: the change was accepted, but its end could not be read: %s", target.name, error)
        row["result"] = UNCONFIRMED
    return row


def _write_failures(path, failed):
    """The IDs of the clusters that failed or were still running, one a line, for `--ids @FILE`; an empty file when
    there are none."""
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
    """Bring one cluster to the wanted state, or have its change accepted: (summary row, the accepted operation's
    polling or None), never an exception."""
    row = {
        "name": target.name,
        "resourceGroup": target.resource_group,
        "subscription": target.subscription,
        "result": None,
        "before": None,
        "after": None,
        "error": None,
        "operation": None,
    }
    polling = None
    try:
        client = clients.get(target.subscription)
        result, before, after, polling = _update_when_idle(cmd, client, target, flags, dry_run, busy_timeout)
        row.update(result=result, before=describe(before), after=describe(after))
        row["operation"] = polling.status_url if polling is not None else None
    except Exception as ex:  # noqa: BLE001 - one cluster's failure is reported in its row, the rest go on
        mapped = errors.translate(ex, target.resource_group, target.name)
        row.update(result="failed", error=getattr(mapped, "error_msg", None) or str(ex))
        polling = None
    return row, polling


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


class _Submitting:
    """The managedClusters client as core's update decorator sees it, except that its PUT's operation is left to
    the caller to follow (`fleet.operations.SteppedPolling`) instead of being waited for where it was sent."""

    def __init__(self, client):
        self._client = client
        self.polling = None

    def __getattr__(self, name):
        return getattr(self._client, name)

    def begin_create_or_update(self, *args, **kwargs):
        from azext_imagecleaner.fleet.operations import SteppedPolling

        self.polling = SteppedPolling()
        return self._client.begin_create_or_update(*args, polling=self.polling, **kwargs)


def _attempt(cmd, client, target, flags, dry_run):
    """One read-decide-write of a cluster: (result, profile before, profile after, the accepted operation's
    polling or None). The write returns once the service accepted it."""
    from azext_imagecleaner.aks.core import core
    from azext_imagecleaner.aks.decorators import decorator_classes, profile_of
    from azext_imagecleaner.aks.rules import needs_write
    from azext_imagecleaner.aks.updates import core_update_defaults, resource_type

    _, update_decorator = decorator_classes(core())
    submitting = _Submitting(client)
    raw = dict(
        core_update_defaults(),
        resource_group_name=target.resource_group,
        name=target.name,
        enable_image_cleaner=flags.enable,
        disable_image_cleaner=flags.disable,
        image_cleaner_interval_hours=flags.interval_hours,
        cmd=cmd,
        client=submitting,
    )
    decorator = update_decorator(cmd, submitting, raw, resource_type())
    mc = decorator.fetch_mc()
    before = profile_of(mc)
    wanted = decide(before, flags, names=FLEET_FLAGS).profile
    if not needs_write(before, wanted, mc.provisioning_state):
        return "unchanged", before, before, None
    if dry_run:
        return "would change", before, wanted, None
    decorator.update_mc(decorator.update_image_cleaner(mc))
    polling = submitting.polling
    if polling is None or polling.finished():
        # Answered at once (no operation to follow): a Failed end is the service's refusal.
        if polling is not None and (polling.status() or "").lower() != "succeeded":
            error = polling.error()
            raise errors.operation_failed(
                polling.status(), error.get("code"), error.get("message"), target.resource_group, target.name
            )
        return "changed", before, wanted, None
    return ACCEPTED, before, wanted, polling


def _is_busy(ex):
    code = getattr(getattr(ex, "error", None), "code", None) or ""
    return ex.status_code == 409 and code == "OperationNotAllowed"


def _wait_until_idle(client, target, deadline):
    while time.monotonic() < deadline:
        time.sleep(BUSY_POLL_SECONDS)
        state = (client.get(target.resource_group, target.name).provisioning_state or "").lower()
        if state in _TERMINAL:
            return
