"""Argument validators: they run before the client factory, so bad input never reaches the network."""

from azext_imagecleaner._rules import Flags, check_flags, parse_interval_hours


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

    from azext_imagecleaner._images import run_images

    run_images(namespace.images, namespace.run_all)
    if namespace.timeout is not None and namespace.timeout < 1:
        raise InvalidArgumentValueError(f"--timeout {namespace.timeout} must be at least 1 second.")


def validate_exclusion_patterns(namespace):
    from azext_imagecleaner._images import check_pattern

    for pattern in namespace.images or []:
        check_pattern(pattern)
