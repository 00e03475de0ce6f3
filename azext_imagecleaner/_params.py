"""Arguments of the `aks image-cleaner` commands, and the help of the Image Cleaner flags that `aks.adapter`
gives `aks create` and `aks update` (whose other arguments are their owner's, untouched)."""

from azext_imagecleaner.aks.rules import DEFAULT_INTERVAL_HOURS, MAX_INTERVAL_HOURS, MIN_INTERVAL_HOURS

ENABLE_HELP = (
    "Turn on Image Cleaner, which removes unused vulnerable images from every Linux node. "
    "Keeps the interval already stored on the cluster, or uses "
    f"{DEFAULT_INTERVAL_HOURS} hours when there is none."
)
DISABLE_HELP = (
    "Turn off Image Cleaner. The stored interval is kept, so enabling it again later runs on the same schedule."
)
RANGE_HELP = f"a whole number from {MIN_INTERVAL_HOURS} to {MAX_INTERVAL_HOURS}"
INTERVAL_HELP = (
    f"Hours between Image Cleaner runs: a whole number from {MIN_INTERVAL_HOURS} to {MAX_INTERVAL_HOURS}. "
    f"Default: {DEFAULT_INTERVAL_HOURS} (one week) when enabling a cluster that has no interval stored. "
    "Needs --enable-image-cleaner unless Image Cleaner is already on."
)


def load_arguments(self, _command):
    # az calls this for the extension's own commands only (and with '' when it loads everything: docs, linters).
    load_cluster_arguments(self)
    load_fleet_arguments(self)


def load_cluster_arguments(self):
    """Arguments of the `aks image-cleaner` group."""
    from azure.cli.core.commands.parameters import get_enum_type

    from azext_imagecleaner._validators import (
        validate_check,
        validate_coverage,
        validate_exclusion_patterns,
        validate_report,
        validate_run_images,
    )
    from azext_imagecleaner.access import PROBE_SECONDS, TRANSPORTS
    from azext_imagecleaner.access.run_command import DEFAULT_TIMEOUT as RUN_COMMAND_TIMEOUT
    from azext_imagecleaner.cluster.handlers import CONTAINERS

    with self.argument_context("aks image-cleaner") as c:
        c.argument("name", options_list=["--name", "-n"], help="Name of the managed cluster.")
        c.argument(
            "admin",
            action="store_true",
            arg_group="Kubernetes access",
            help="Use the cluster's admin credentials (listClusterAdminCredential) instead of the user's.",
        )
        c.argument(
            "kubeconfig",
            arg_group="Kubernetes access",
            help="Use this kubeconfig file instead of fetching credentials from Azure.",
        )
        c.argument("context", arg_group="Kubernetes access", help="The kubeconfig context to use.")
        c.argument(
            "transport",
            arg_type=get_enum_type(TRANSPORTS),
            arg_group="Kubernetes access",
            help="How to reach the cluster's Kubernetes API: api-server (directly), run-command (AKS run command, "
            "through Azure Resource Manager: the way into a private cluster from outside its network), or auto: "
            f"the API server when a connection to it opens within {PROBE_SECONDS} seconds, else run-command.",
        )
        c.argument(
            "timeout",
            type=int,
            arg_group="Kubernetes access",
            help=f"Seconds to wait for each AKS run command before giving up. Default: {RUN_COMMAND_TIMEOUT}.",
        )
    with self.argument_context("aks image-cleaner run") as c:
        c.argument(
            "images",
            nargs="+",
            options_list=["--images"],
            validator=validate_run_images,
            help="Images to remove from every Linux node where they are unused, as full references "
            "(docker.io/library/alpine:3.7.3). Space-separated.",
        )
        c.argument(
            "run_all",
            options_list=["--all"],
            action="store_true",
            help="Remove every unused image, vulnerable or not (ImageList '*').",
        )
        c.argument(
            "wait",
            action="store_true",
            help="Wait for the run to finish and show how many nodes succeeded, failed or were skipped.",
        )
        c.argument(
            "timeout",
            type=int,
            help="Seconds to wait before giving up: for the run to finish with --wait (the run goes on), and for "
            "each AKS run command.",
        )
    for scope in ("aks image-cleaner exclusion add", "aks image-cleaner exclusion remove"):
        with self.argument_context(scope) as c:
            c.argument(
                "images",
                nargs="+",
                options_list=["--images"],
                validator=validate_exclusion_patterns,
                help="Exclusion patterns: an exact reference (docker.io/library/alpine:3.7.3), a repository "
                "prefix (docker.io/library/*) or every tag of an image (myregistry.azurecr.io/app:*).",
            )
    with self.argument_context("aks image-cleaner logs") as c:
        c.argument("node", help="Only the worker pod on this node.")
        c.argument("container", arg_type=get_enum_type(CONTAINERS), help="Only this container's log.")
        c.argument("output_dir", help="Save each log to `DIR/<pod>.<container>.log`, with an index.json.")

    with self.argument_context("aks image-cleaner report") as c:
        c.argument(
            "name",
            options_list=["--name", "-n"],
            validator=validate_report,
            help="Name of the managed cluster. Leave it out with --all or --ids, for a fleet's history.",
        )
        _group_without_default(c, "The cluster's resource group; with --all, only the clusters of this group.")
        c.argument("from_dir", help="Read logs saved by 'az aks image-cleaner logs --output-dir' instead of live pods.")
        c.argument(
            "since",
            arg_group="History",
            help="Read what Image Cleaner did over this window from Container Insights (Log Analytics), after the "
            "worker pods are gone: 12h, 7d, 2w, or an ISO 8601 duration such as P30D.",
        )
        c.argument(
            "show_query",
            options_list=["--show-query", c.deprecate(target="--history", redirect="--show-query", hide=True)],
            action="store_true",
            arg_group="History",
            help="Print the Log Analytics (KQL) query that --since runs, and do not run it (--since 7d when not "
            "given).",
        )
    with self.argument_context("aks image-cleaner report", arg_group="Fleet history") as c:
        _fleet_choice(c, ", with --since")

    with self.argument_context("aks image-cleaner coverage") as c:
        _cluster_or_fleet(c, validate_coverage)
        c.argument(
            "since",
            help="Judge against the latest run in this window of Container Insights: 12h, 7d, 2w, or an ISO 8601 "
            "duration such as P30D. Default: 30 days, or two intervals where they are longer.",
        )
        c.argument(
            "show_query",
            action="store_true",
            help="Print the Log Analytics (KQL) query the command runs, and do not run it.",
        )
    with self.argument_context("aks image-cleaner coverage", arg_group="Fleet") as c:
        _fleet_choice(c)

    with self.argument_context("aks image-cleaner check") as c:
        _cluster_or_fleet(c, validate_check)
    with self.argument_context("aks image-cleaner check", arg_group="Fleet") as c:
        _fleet_choice(c)


def _cluster_or_fleet(c, validator):
    """-n and -g of a command that reads one cluster, or a fleet with --all or --ids (`_fleet_choice`)."""
    c.argument(
        "name",
        options_list=["--name", "-n"],
        validator=validator,
        help="Name of the managed cluster. Leave it out with --all or --ids, for a fleet.",
    )
    _group_without_default(c, "The cluster's resource group; with --all, only the clusters of this group.")


def _fleet_choice(c, condition=""):
    """--all and --ids, and what narrows --all, as the commands that read a fleet take them."""
    c.argument(
        "all_clusters",
        options_list=["--all"],
        action="store_true",
        help=f"Every cluster the login can see (narrowed by --subscriptions, --management-group, -g){condition}.",
    )
    c.argument(
        "cluster_ids",
        nargs="+",
        options_list=["--ids"],
        help=f"Managed cluster resource IDs, space-separated, or @FILE with one a line{condition}.",
    )
    _where_to_look(c, "With --all: ")


def _group_without_default(c, text):
    # No configured default: `az configure --defaults group=` must not quietly narrow a fleet command.
    c.argument(
        "resource_group_name",
        options_list=["--resource-group", "-g"],
        configured_default=None,
        required=False,
        help=text,
    )


def _where_to_look(c, condition=""):
    """--subscriptions and --management-group, as every fleet command takes them."""
    c.argument(
        "subscriptions",
        nargs="+",
        help=f"{condition}Subscriptions (names or IDs) to look in. Default: every subscription the login can see.",
    )
    c.argument(
        "management_group",
        options_list=["--management-group", "-m"],
        help=f"{condition}Look in every subscription under this management group (needs Azure Resource Graph).",
    )


def load_fleet_arguments(self):
    """Arguments of `aks image-cleaner list | set`."""
    from azext_imagecleaner._validators import validate_fleet_set

    for scope in ("aks image-cleaner list", "aks image-cleaner set"):
        with self.argument_context(scope) as c:
            _where_to_look(c)
            _group_without_default(c, "Only the clusters of this resource group.")
    with self.argument_context("aks image-cleaner set", arg_group="Image Cleaner") as c:
        c.argument(
            "enable",
            action="store_true",
            validator=validate_fleet_set,
            help="Turn Image Cleaner on; each cluster keeps its stored interval (168 hours if none).",
        )
        c.argument("disable", action="store_true", help="Turn Image Cleaner off; each cluster keeps its interval.")
        c.argument("interval_hours", help=f"With --enable: hours between runs, {RANGE_HELP}.")
    with self.argument_context("aks image-cleaner set", arg_group="Clusters") as c:
        c.argument(
            "cluster_ids",
            nargs="+",
            options_list=["--ids"],
            help="Managed cluster resource IDs, space-separated, or @FILE with one a line (as --output-failures "
            "writes them).",
        )
        c.argument(
            "all_clusters",
            options_list=["--all"],
            action="store_true",
            help="Every cluster of the subscriptions (see --subscriptions).",
        )
    with self.argument_context("aks image-cleaner set") as c:
        c.argument(
            "max_parallel",
            type=int,
            help="At most this many clusters updated at the same time; each subscription's own pace, set by Azure "
            "Resource Manager's throttling headers, may keep it lower.",
        )
        c.argument(
            "output_failures",
            help="Write the IDs of the clusters that failed to this file, one a line, to run again with --ids @FILE.",
        )
        c.argument(
            "busy_timeout",
            type=int,
            help="Seconds to wait for a cluster busy with another operation before it counts as failed.",
        )
        c.argument(
            "timeout",
            type=int,
            help="Seconds, from the start, to wait for the clusters' operations; one still running then is listed "
            "as 'still running' and the exit code is 1.",
        )
        # Not az's supports_no_wait (whose `no_wait` az keeps out of a handler's arguments otherwise): az prints
        # nothing after its --no-wait, and here each row carries its operation.
        c.argument(
            "return_when_accepted",
            options_list=["--no-wait"],
            action="store_true",
            help="Return once every change is accepted, with each cluster's operation URL, instead of waiting for "
            "the operations to end.",
        )
        c.argument("dry_run", action="store_true", help="Show what would change, and change nothing.")
