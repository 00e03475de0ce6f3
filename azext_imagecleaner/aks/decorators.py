"""Core's create/update decorators with the Image Cleaner step replaced by the extension's rules.

They also guard against lost updates where the service makes that possible: an
update sends If-Match with the ETag of the document it read (only when the
service returned one: the live service's recorded answers carry none, and then
the PUT is unconditional, as core's always is), a create sends If-None-Match: *,
unless the user gave --if-match or --if-none-match, which core sends as given.
"""

from knack.log import get_logger

from azext_imagecleaner.aks.rules import Profile, decide, flags_from_raw, limitation_warnings

logger = get_logger(__name__)

VIRTUAL_NODE_ADDON = "aciconnectorlinux"


def profile_of(mc):
    """The cluster's Image Cleaner profile as rule data, or None when it has none."""
    security = mc.security_profile
    cleaner = security.image_cleaner if security else None
    if cleaner is None:
        return None
    return Profile(enabled=bool(cleaner.enabled), interval_hours=cleaner.interval_hours)


def _virtual_node_on(mc):
    addons = mc.addon_profiles or {}
    return any(key.lower() == VIRTUAL_NODE_ADDON and bool(addon.enabled) for key, addon in addons.items())


def decision_for(mc, flags, creating):
    """The rules' decision for the cluster `mc`, and every warning to give with it."""
    decision = decide(profile_of(mc), flags, creating=creating)
    os_types = [pool.os_type for pool in mc.agent_pool_profiles or []]
    return decision, decision.warnings + limitation_warnings(decision.profile, os_types, _virtual_node_on(mc))


def apply_image_cleaner(decorator, mc, creating):
    """Write the rules' decision into `mc`, touching nothing else in the document."""
    decision, warnings = decision_for(mc, flags_from_raw(decorator.context.raw_param), creating)
    if decision.profile is None:
        return mc
    for warning in warnings:
        logger.warning(warning)
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


_classes = {}


def decorator_classes(core):
    """Subclasses of core's decorators; built on first use because core's module is only imported then."""
    if "pair" not in _classes:
        _classes["pair"] = _build_decorator_classes(core)
    return _classes["pair"]


def _build_decorator_classes(core):

    class GuardedContext(core.Context):
        """Core's context, answering core's put_mc with the ETag condition the extension wants."""

        read_etag = None
        creating = False

        def user_gave_a_condition(self):
            return super().get_if_match() is not None or super().get_if_none_match() is not None

        def get_if_match(self):
            if self.user_gave_a_condition() or self.creating:
                return super().get_if_match()
            return self.read_etag

        def get_if_none_match(self):
            if self.user_gave_a_condition() or not self.creating:
                return super().get_if_none_match()
            return "*"

    def guarded_context(decorator, mode):
        context = GuardedContext(decorator.cmd, core.ParamDict(decorator.raw_parameters), decorator.models, mode)
        context.creating = mode == core.DecoratorMode.CREATE
        return context

    class ImageCleanerCreateDecorator(core.CreateDecorator):
        def __init__(self, cmd, client, raw_parameters, resource_type):
            self.raw_parameters = raw_parameters
            super().__init__(cmd, client, raw_parameters, resource_type)

        def init_context(self):
            # Core's decorators set their context here too, called from their __init__.
            # pylint: disable=attribute-defined-outside-init
            self.context = guarded_context(self, core.DecoratorMode.CREATE)

        def set_up_image_cleaner(self, mc):
            self._ensure_mc(mc)
            return apply_image_cleaner(self, mc, creating=True)

    class ImageCleanerUpdateDecorator(core.UpdateDecorator):
        def __init__(self, cmd, client, raw_parameters, resource_type):
            self.raw_parameters = raw_parameters
            super().__init__(cmd, client, raw_parameters, resource_type)

        def init_context(self):
            # Core's decorators set their context here too, called from their __init__.
            # pylint: disable=attribute-defined-outside-init
            self.context = guarded_context(self, core.DecoratorMode.UPDATE)

        def fetch_mc(self):
            mc = super().fetch_mc()
            self.context.read_etag = mc.e_tag
            if not mc.e_tag and not self.context.user_gave_a_condition():
                # Never an empty or invented If-Match: the PUT goes unconditional, as core's always does.
                logger.info(
                    "The service returned no ETag for cluster '%s', so the update is sent without If-Match: a "
                    "change someone else makes between this command's read and its write cannot be detected and "
                    "would be overwritten.",
                    mc.name,
                )
            return mc

        def update_image_cleaner(self, mc):
            self._ensure_mc(mc)
            return apply_image_cleaner(self, mc, creating=False)

    return ImageCleanerCreateDecorator, ImageCleanerUpdateDecorator
