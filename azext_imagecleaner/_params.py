"""Arguments of the overridden `aks create` and `aks update`.

Core's own registrations are loaded first, so every other flag keeps its
type, aliases and validators; only the three Image Cleaner flags are replaced.
"""

from azext_imagecleaner._rules import DEFAULT_INTERVAL_HOURS, MAX_INTERVAL_HOURS, MIN_INTERVAL_HOURS

IMAGE_CLEANER_GROUP = "Image Cleaner"

ENABLE_HELP = (
    "Turn on Image Cleaner, which removes unused vulnerable images from every Linux node. "
    "Keeps the interval already stored on the cluster, or uses "
    f"{DEFAULT_INTERVAL_HOURS} hours when there is none."
)
DISABLE_HELP = (
    "Turn off Image Cleaner. The stored interval is kept, so enabling it again later runs on the same schedule."
)
INTERVAL_HELP = (
    f"Hours between Image Cleaner runs: a whole number from {MIN_INTERVAL_HOURS} to {MAX_INTERVAL_HOURS}. "
    f"Default: {DEFAULT_INTERVAL_HOURS} (one week) when enabling a cluster that has no interval stored. "
    "Needs --enable-image-cleaner unless Image Cleaner is already on."
)


def load_arguments(self, _):
    from azext_imagecleaner._core import core
    from azext_imagecleaner._validators import validate_image_cleaner_flags

    core().load_arguments(self, _)

    for scope in ("aks create", "aks update"):
        with self.argument_context(scope, arg_group=IMAGE_CLEANER_GROUP) as c:
            c.argument("enable_image_cleaner", action="store_true", help=ENABLE_HELP)
            # No argparse type: the validator parses the text so the error names the flag, value and range.
            c.argument("image_cleaner_interval_hours", help=INTERVAL_HELP, validator=validate_image_cleaner_flags)
    with self.argument_context("aks update", arg_group=IMAGE_CLEANER_GROUP) as c:
        c.argument("disable_image_cleaner", action="store_true", help=DISABLE_HELP)
