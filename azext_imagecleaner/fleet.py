"""`az aks image-cleaner list | set`: Image Cleaner across many clusters and subscriptions.

`set` applies the same rules as `az aks update` to each cluster, in parallel
(bounded), skipping clusters already in the wanted state. Each cluster gets
the guarded update of `aks update`: If-Match with the ETag it read, a fresh
read on 412, Retry-After honoured on 429 and 5xx within the retry budget;
a busy cluster (409) is waited for, within --busy-timeout, then tried again.
"""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from knack.log import get_logger

from azext_imagecleaner import _errors
from azext_imagecleaner._rules import FLEET_FLAGS, Flags, decide

logger = get_logger(__name__)

DEFAULT_MAX_PARALLEL = 20
DEFAULT_BUSY_TIMEOUT = 600
BUSY_POLL_SECONDS = 2
_TERMINAL = {"succeeded", "failed", "canceled"}


@dataclass(frozen=True)
class Target:
    subscription: str
    resource_group: str
    name: str


_CLUSTER_ID = re.compile(
    r"/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.ContainerService/managedClusters/(?P<name>[^/]+)/?",
    re.IGNORECASE,
)


def parse_cluster_id(resource_id):
    """(subscription, resource group, name) of a managedClusters resource ID, or None."""
    match = _CLUSTER_ID.fullmatch(resource_id or "")
    return Target(match["subscription"], match["group"], match["name"]) if match else None


def describe(profile):
    if profile is None:
        return "none"
    return f"{'on' if profile.enabled else 'off'}, {profile.interval_hours} h"


# --- clients, one per subscription and thread ---------------------------------------------------------


class _Clients(threading.local):
    def __init__(self, cli_ctx):
        super().__init__()
        self.cli_ctx = cli_ctx
        self.by_subscription = {}

    def get(self, subscription):
        if subscription not in self.by_subscription:
            from azext_imagecleaner._client import managed_clusters_client

            self.by_subscription[subscription] = managed_clusters_client(self.cli_ctx, subscription)
        return self.by_subscription[subscription]


def _subscriptions(cli_ctx, subscriptions):
    """Subscription IDs: the ones given (by name or ID), or the current one."""
    from azure.cli.core._profile import Profile

    profile = Profile(cli_ctx=cli_ctx)
    if not subscriptions:
        return [profile.get_subscription_id()]
    return list(dict.fromkeys(profile.get_subscription(s)["id"] for s in subscriptions))


def _resource_group_of(resource_id):
    parts = (resource_id or "").split("/")
    return parts[4] if len(parts) > 4 else None


# --- list ------------------------------------------------------------------------------------------------


def cluster_row(subscription, mc):
    cleaner = mc.security_profile.image_cleaner if mc.security_profile else None
    pools = mc.agent_pool_profiles or []
    return {
        "name": mc.name,
        "resourceGroup": _resource_group_of(mc.id),
        "subscription": subscription,
        "enabled": bool(cleaner and cleaner.enabled),
        "intervalHours": cleaner.interval_hours if cleaner else None,
        "windowsPools": any((p.os_type or "").lower() == "windows" for p in pools),
        "provisioningState": mc.provisioning_state,
    }


def list_clusters(cmd, subscriptions=None, resource_group_name=None):
    clients = _Clients(cmd.cli_ctx)
    rows = []
    for subscription in _subscriptions(cmd.cli_ctx, subscriptions):
        client = clients.get(subscription)
        with _errors.mapped(resource_group_name or "*", f"* in subscription {subscription}"):
            # The SDK's pager follows nextLink.
            pages = client.list_by_resource_group(resource_group_name) if resource_group_name else client.list()
            rows += [cluster_row(subscription, mc) for mc in pages]
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
    max_parallel=DEFAULT_MAX_PARALLEL,
    busy_timeout=DEFAULT_BUSY_TIMEOUT,
    dry_run=False,
):
    flags = Flags(enable=enable, disable=disable, interval_hours=interval_hours)
    clients = _Clients(cmd.cli_ctx)
    targets = _targets(cmd, cluster_ids, resource_group_name, all_clusters, subscriptions)
    if not targets:
        logger.warning("No cluster matched: nothing to do.")
        return []
    rows = []
    progress = cmd.cli_ctx.get_progress_controller(det=True)
    progress.begin()
    try:
        with ThreadPoolExecutor(max_workers=min(max_parallel, len(targets))) as pool:
            futures = [pool.submit(_apply_one, cmd, clients, t, flags, dry_run, busy_timeout) for t in targets]
            for done, future in enumerate(as_completed(futures), start=1):
                rows.append(future.result())
                progress.add(message=f"{done}/{len(targets)} clusters", value=done, total_val=len(targets))
    finally:
        progress.end()
    rows.sort(key=lambda r: (r["subscription"], r["resourceGroup"], r["name"]))
    failed = [r for r in rows if r["result"] == "failed"]
    if failed:
        logger.error(
            "%d of %d clusters failed: %s.",
            len(failed),
            len(rows),
            "; ".join(f"{r['name']}: {r['error']}" for r in failed[:5]),
        )
        _exit_non_zero_after_output(cmd.cli_ctx)
    return rows


def _targets(cmd, cluster_ids, resource_group_name, all_clusters, subscriptions):
    if cluster_ids:
        return list(dict.fromkeys(parse_cluster_id(i) for i in cluster_ids))
    targets = []
    for row in list_clusters(cmd, subscriptions, None if all_clusters else resource_group_name):
        targets.append(Target(row["subscription"], row["resourceGroup"], row["name"]))
    return targets


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
        mapped = _errors.translate(ex, target.resource_group, target.name)
        row.update(result="failed", error=getattr(mapped, "error_msg", None) or str(ex))
    return row


def _update_when_idle(cmd, client, target, flags, dry_run, busy_timeout):
    from azure.core.exceptions import HttpResponseError

    from azext_imagecleaner.custom import retry_on_concurrent_change

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
    from azure.core.polling import LROPoller

    from azext_imagecleaner._core import core
    from azext_imagecleaner._decorators import decorator_classes, profile_of
    from azext_imagecleaner.custom import CORE_UPDATE_DEFAULTS, resource_type

    _, update_decorator = decorator_classes(core())
    raw = dict(
        CORE_UPDATE_DEFAULTS,
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
    if wanted == before:
        return "unchanged", before, before
    if dry_run:
        return "would change", before, wanted
    result = decorator.update_mc(decorator.update_image_cleaner(mc))
    if isinstance(result, LROPoller):
        with _errors.failed_operations(target.resource_group, target.name):
            result.result()
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


def _exit_non_zero_after_output(cli_ctx):
    """Let az print the summary table, then exit 1: some clusters failed.

    A handler's return value is printed only when it returns, and its exit code is 0 then; knack turns a
    SystemExit raised by a listener of its successful-execution event (fired after the output) into the
    exit code.
    """
    from knack.events import EVENT_CLI_SUCCESSFUL_EXECUTE

    def fail(_cli_ctx, **_kwargs):
        raise SystemExit(1)

    cli_ctx.register_event(EVENT_CLI_SUCCESSFUL_EXECUTE, fail)
