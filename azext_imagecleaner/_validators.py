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
