"""Which clusters a fleet command acts on, and how it ends: what `list`, `set`, `report --all` and `coverage --all`
share.

The selection is `--ids` (cluster resource IDs, or @FILE), or else every cluster the login can see, narrowed by
`-g`, `--subscriptions` (names or IDs) and `--management-group`, found with one Resource Graph query
(`azure.resource_graph`). A fleet command prints a row for every cluster, and exits 1 after them when some could not be
done (`exit_non_zero_after_output`).
"""

import re
from dataclasses import dataclass

from knack.log import get_logger

logger = get_logger(__name__)


@dataclass(frozen=True)
class Target:
    subscription: str
    resource_group: str
    name: str

    @property
    def id(self):
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.ContainerService/managedClusters/{self.name}"
        )


_CLUSTER_ID = re.compile(
    r"/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.ContainerService/managedClusters/(?P<name>[^/]+)/?",
    re.IGNORECASE,
)


def parse_cluster_id(resource_id):
    """(subscription, resource group, name) of a managedClusters resource ID, or None."""
    match = _CLUSTER_ID.fullmatch(resource_id or "")
    return Target(match["subscription"], match["group"], match["name"]) if match else None


def targets_of(cluster_ids):
    """The clusters `--ids` names, each once, in the order given (the validator refused any that is not an ID)."""
    return list(dict.fromkeys(parse_cluster_id(i) for i in cluster_ids))


def scope(cli_ctx, subscriptions, management_group):
    """Where to look: the subscriptions given (by name or ID), a management group, or every one of the login."""
    from azure.cli.core._profile import Profile

    from azext_imagecleaner.azure.resource_graph import Scope

    if not subscriptions:
        return Scope((), management_group)
    profile = Profile(cli_ctx=cli_ctx)
    return Scope(tuple(dict.fromkeys(profile.get_subscription(s)["id"] for s in subscriptions)), management_group)


def clusters(cmd, cluster_ids, resource_group_name, subscriptions, management_group, monitoring=True):
    """The `list` rows of the selection (with `id` and the `workspace` their monitoring add-on sends to): from
    Resource Graph, or read from ARM one by one for `--ids`."""
    from azext_imagecleaner.azure import errors
    from azext_imagecleaner.azure.arm import managed_clusters_client
    from azext_imagecleaner.azure.resource_graph import discover, row_from_arm

    if cluster_ids is None:
        found = scope(cmd.cli_ctx, subscriptions, management_group)
        return discover(cmd.cli_ctx, found, resource_group_name, monitoring=monitoring)
    rows = []
    for target in targets_of(cluster_ids):
        client = managed_clusters_client(cmd.cli_ctx, target.subscription)
        with errors.mapped(target.resource_group, target.name):
            mc = client.get(target.resource_group, target.name)
        rows.append(row_from_arm(target.subscription, mc, monitoring=monitoring))
    return rows


def say_failed_queries(cli_ctx, rows, column, consequence):
    """The rows whose `column` is "query failed": one error line with their first errors, then exit 1 after every
    row is printed, as `set` does for the clusters it could not change."""
    failed = [r for r in rows if r[column] == "query failed"]
    if failed:
        logger.error(
            "%d of %d cluster(s) %s because their query failed (see their 'error'): %s",
            len(failed),
            len(rows),
            consequence,
            "; ".join(sorted({r["error"] for r in failed})[:3]),
        )
        exit_non_zero_after_output(cli_ctx)


def exit_non_zero_after_output(cli_ctx):
    """Let az print the rows, then exit 1: some clusters could not be done.

    A handler's return value is printed only when it returns, and its exit code is 0 then; knack turns a
    SystemExit raised by a listener of its successful-execution event (fired after the output) into the
    exit code.
    """
    from knack.events import EVENT_CLI_SUCCESSFUL_EXECUTE

    def fail(_cli_ctx, **_kwargs):
        raise SystemExit(1)

    cli_ctx.register_event(EVENT_CLI_SUCCESSFUL_EXECUTE, fail)
