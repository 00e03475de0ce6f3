"""Argument validators: they run before the client factory, so bad input never reaches the network."""

from azext_imagecleaner.aks.rules import Flags, check_flags, parse_interval_hours


def _flags(namespace) -> Flags:
    return Flags(
        enable=bool(getattr(namespace, "enable_image_cleaner", False)),
        # `aks create` has no --disable-image-cleaner.
        disable=bool(getattr(namespace, "disable_image_cleaner", False)),
        interval_hours=namespace.image_cleaner_interval_hours,
    )


def validate_image_cleaner_flags(cmd, namespace):
    """Parse --image-cleaner-interval-hours and check the rules that need no cluster."""
    namespace.image_cleaner_interval_hours = parse_interval_hours(namespace.image_cleaner_interval_hours)
    check_flags(_flags(namespace), creating=cmd.name.endswith("create"))


def validate_run_images(namespace):
    """--images/--all of `aks image-cleaner run`, and --timeout, checked before anything is sent."""
    from azure.cli.core.azclierror import InvalidArgumentValueError

    from azext_imagecleaner.cluster.images import run_images

    run_images(namespace.images, namespace.run_all)
    if namespace.timeout is not None and namespace.timeout < 1:
        raise InvalidArgumentValueError(f"--timeout {namespace.timeout} must be at least 1 second.")


def validate_exclusion_patterns(namespace):
    from azext_imagecleaner.cluster.images import check_pattern

    for pattern in namespace.images or []:
        check_pattern(pattern)


def validate_fleet_set(namespace):
    """`aks image-cleaner set`: the same rules as `aks update`, one way of choosing clusters, sane limits."""
    from azure.cli.core.azclierror import (
        InvalidArgumentValueError,
        MutuallyExclusiveArgumentError,
        RequiredArgumentMissingError,
    )

    from azext_imagecleaner.aks.rules import FLEET_FLAGS

    namespace.interval_hours = parse_interval_hours(namespace.interval_hours, FLEET_FLAGS.interval)
    flags = Flags(enable=namespace.enable, disable=namespace.disable, interval_hours=namespace.interval_hours)
    check_flags(flags, creating=False, names=FLEET_FLAGS)
    if not (flags.enable or flags.disable):
        raise RequiredArgumentMissingError(
            "Say what to do: --enable (optionally with --interval-hours N) or --disable.",
            "For example: az aks image-cleaner set --enable --all",
        )
    ways = (
        ("--ids", namespace.cluster_ids is not None),
        ("--resource-group", namespace.resource_group_name),
        ("--all", namespace.all_clusters),
    )
    chosen = [flag for flag, given in ways if given]
    if not chosen:
        raise RequiredArgumentMissingError(
            "Choose the clusters: --ids, --resource-group or --all.", "For example: --resource-group MyResourceGroup"
        )
    if len(chosen) > 1:
        raise MutuallyExclusiveArgumentError(
            f"Choose the clusters one way only: {' and '.join(chosen)} were given.", "Give one of them."
        )
    if namespace.cluster_ids:
        namespace.cluster_ids = _ids(namespace.cluster_ids)
    if not 1 <= namespace.max_parallel <= 100:
        raise InvalidArgumentValueError(f"--max-parallel {namespace.max_parallel} must be from 1 to 100.")
    if namespace.busy_timeout < 0:
        raise InvalidArgumentValueError(f"--busy-timeout {namespace.busy_timeout} must be 0 or more seconds.")
    if namespace.timeout < 1:
        raise InvalidArgumentValueError(f"--timeout {namespace.timeout} must be 1 or more seconds.")


def validate_coverage(namespace):
    """`aks image-cleaner coverage`: one cluster (-g -n) or a fleet (--all, --ids); --since parsed."""
    from azext_imagecleaner.monitor.history_rows import parse_since

    if namespace.since is not None:
        namespace.since = parse_since(namespace.since)
    if _fleet_chosen(namespace):
        namespace.cluster_ids = _ids(namespace.cluster_ids)
        return
    _one_cluster(namespace)


def validate_check(namespace):
    """`aks image-cleaner check`: one cluster (-g -n) or a fleet (--all, --ids)."""
    if _fleet_chosen(namespace):
        namespace.cluster_ids = _ids(namespace.cluster_ids)
        return
    _one_cluster(namespace)


def validate_report(namespace):
    """`aks image-cleaner report`: one cluster (-g -n) or a fleet (--all, --ids, with --since); --since parsed."""
    import datetime

    from azure.cli.core.azclierror import MutuallyExclusiveArgumentError, RequiredArgumentMissingError

    from azext_imagecleaner.monitor.history_rows import parse_since

    if namespace.since is not None:
        namespace.since = parse_since(namespace.since)
    elif namespace.show_query:
        namespace.since = datetime.timedelta(days=7)
    if namespace.since is not None and namespace.from_dir:
        raise MutuallyExclusiveArgumentError(
            "--from-dir reads saved logs; --since reads Container Insights.", "Give one of them."
        )
    fleet = _fleet_chosen(namespace)
    if fleet:
        if namespace.since is None:
            raise RequiredArgumentMissingError(
                "A fleet's report reads what Container Insights kept: add --since.", "For example: --all --since 30d"
            )
        namespace.cluster_ids = _ids(namespace.cluster_ids)
        return
    _one_cluster(namespace, fleet_needs_since=True)


def _one_cluster(namespace, fleet_needs_since=False):
    """Without --all or --ids: -g and -n, and nothing that only narrows a fleet."""
    from azure.cli.core.azclierror import RequiredArgumentMissingError

    since, example = (" and --since", " --since 30d") if fleet_needs_since else ("", "")
    if namespace.subscriptions or namespace.management_group:
        raise RequiredArgumentMissingError(
            f"--subscriptions and --management-group narrow a fleet: add --all{since}.",
            f"For example: --all{example} --subscriptions Prod",
        )
    if not (namespace.name and namespace.resource_group_name):
        raise RequiredArgumentMissingError(
            "Give the cluster with --resource-group and --name, or choose a fleet with --all or --ids"
            + (" (and --since)." if fleet_needs_since else "."),
            "For example: -g MyResourceGroup -n MyManagedCluster",
        )


def _fleet_chosen(namespace):
    """Whether --all or --ids chose a fleet, which --name cannot narrow, and only one of them."""
    from azure.cli.core.azclierror import MutuallyExclusiveArgumentError

    if not (namespace.all_clusters or namespace.cluster_ids is not None):
        return False
    if namespace.name:
        raise MutuallyExclusiveArgumentError(
            "--name names one cluster; --all and --ids choose a fleet.", "Leave out --name, or --all/--ids."
        )
    if namespace.all_clusters and namespace.cluster_ids is not None:
        raise MutuallyExclusiveArgumentError("Choose the clusters one way only: --all or --ids.", "Give one.")
    return True


def _ids(values):
    """Cluster resource IDs from --ids, where `@FILE` arrives as the file's text: one ID a line."""
    from azure.cli.core.azclierror import InvalidArgumentValueError

    from azext_imagecleaner.fleet.selection import parse_cluster_id

    if values is None:
        return None
    ids = [i for value in values for i in value.split()]
    for resource_id in ids:
        if parse_cluster_id(resource_id) is None:
            raise InvalidArgumentValueError(
                f"--ids {resource_id} is not a managed cluster resource ID.",
                "Give IDs like /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ContainerService/"
                "managedClusters/NAME (see az aks list --query [].id).",
            )
    return ids
