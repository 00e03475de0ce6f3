"""Core's create/update decorators with the Image Cleaner step replaced by the extension's rules."""

from knack.log import get_logger

from azext_imagecleaner._rules import Flags, Profile, decide

logger = get_logger(__name__)


def flags_from_raw(raw_param) -> Flags:
    return Flags(
        enable=bool(raw_param.get("enable_image_cleaner")),
        disable=bool(raw_param.get("disable_image_cleaner")),
        interval_hours=raw_param.get("image_cleaner_interval_hours"),
    )


def profile_of(mc):
    """The cluster's Image Cleaner profile as rule data, or None when it has none."""
    security = mc.security_profile
    cleaner = security.image_cleaner if security else None
    if cleaner is None:
        return None
    return Profile(enabled=bool(cleaner.enabled), interval_hours=cleaner.interval_hours)


def apply_image_cleaner(decorator, mc, creating):
    """Write the rules' decision into `mc`, touching nothing else in the document."""
    decision = decide(profile_of(mc), flags_from_raw(decorator.context.raw_param), creating=creating)
    for warning in decision.warnings:
        logger.warning(warning)
    if decision.profile is None:
        return mc
    models = decorator.models
    if mc.security_profile is None:
        mc.security_profile = models.ManagedClusterSecurityProfile()
    cleaner = mc.security_profile.image_cleaner
    if cleaner is None:
        cleaner = mc.security_profile.image_cleaner = models.ManagedClusterSecurityProfileImageCleaner()
    # Set the fields on the existing object so anything else the service put there survives.
    cleaner.enabled = decision.profile.enabled
    cleaner.interval_hours = decision.profile.interval_hours
    return mc


def decorator_classes(core):
    """Subclasses of core's decorators; built on demand because core's module is only imported then."""

    class ImageCleanerCreateDecorator(core.CreateDecorator):
        def set_up_image_cleaner(self, mc):
            self._ensure_mc(mc)
            return apply_image_cleaner(self, mc, creating=True)

    class ImageCleanerUpdateDecorator(core.UpdateDecorator):
        def update_image_cleaner(self, mc):
            self._ensure_mc(mc)
            return apply_image_cleaner(self, mc, creating=False)

    return ImageCleanerCreateDecorator, ImageCleanerUpdateDecorator
