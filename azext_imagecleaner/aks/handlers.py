"""Handlers of `aks create` and `aks update`: core's pipeline with the extension's Image Cleaner step.

Where core owns these commands, `aks.adapter` hands them to `aks_create`/`aks_update` here, with every argument
core's command parsed. They wait for the long-running operation themselves, so that every failure, from the first
GET to the end of the operation, is mapped in `azure.errors`. Where another extension owns them, `settle_for_owner`
applies the rules that need the cluster before that extension's handler runs.
"""

from knack.log import get_logger

from azext_imagecleaner.aks.core import core
from azext_imagecleaner.aks.updates import (
    core_update_defaults,
    resource_type,
    retry_on_concurrent_change,
)

logger = get_logger(__name__)


def aks_create(cmd, client, **params):
    from azext_imagecleaner.aks.decorators import decorator_classes
    from azext_imagecleaner.azure import errors

    acs = core()
    resource_group_name, name = params["resource_group_name"], params["name"]
    create_decorator, _ = decorator_classes(acs)
    with errors.mapped(resource_group_name, name):
        _refuse_existing_cluster(client, resource_group_name, name)
        decorator = create_decorator(cmd, client, dict(params, cmd=cmd, client=client), resource_type())
        try:
            mc = decorator.construct_mc_profile_default()
        except acs.DecoratorEarlyExitException:
            return None
        return _finish(cmd, decorator.create_mc(mc), params)


def aks_update(cmd, client, **params):
    from azext_imagecleaner.aks.decorators import decorator_classes
    from azext_imagecleaner.azure import errors

    acs = core()
    resource_group_name, name = params["resource_group_name"], params["name"]
    _, update_decorator = decorator_classes(acs)
    user_condition = params.get("if_match") is not None or params.get("if_none_match") is not None
    only_image_cleaner = not other_flags_given(params, core_update_defaults())

    def attempt():
        from azext_imagecleaner.aks.decorators import profile_of
        from azext_imagecleaner.aks.rules import needs_write

        decorator = update_decorator(cmd, client, dict(params, cmd=cmd, client=client), resource_type())
        try:
            if only_image_cleaner:
                # Send back the document as read with only imageCleaner changed: core's full pipeline
                # rewrites profiles it was not asked about (it blanks storageProfile drivers, for one).
                mc = decorator.fetch_mc()
                before = profile_of(mc)
                mc = decorator.update_image_cleaner(mc)
                if not needs_write(before, profile_of(mc), mc.provisioning_state):
                    nothing_to_change(resource_group_name, name, before)
                    return mc
            else:
                mc = decorator.update_mc_profile_default()
        except acs.DecoratorEarlyExitException:
            return None
        return _finish(cmd, decorator.update_mc(mc), params)

    with errors.mapped(resource_group_name, name):
        return retry_on_concurrent_change(attempt, resource_group_name, name, user_condition)


def nothing_to_change(resource_group_name, name, profile):
    """An update that would store what the cluster already has is not sent: a PUT reconciles the whole cluster
    (minutes on AKS, and a 409 while another operation runs)."""
    from azext_imagecleaner.aks.rules import describe
    from azext_imagecleaner.azure import errors

    logger.warning(
        "Image Cleaner on the %s is already %s and its last operation succeeded: nothing to change, so no update "
        "was sent.",
        errors.cluster_text(resource_group_name, name),
        describe(profile),
    )


def settle_for_owner(cmd, command_args, defaults, owner):
    """Before another extension's `aks update` runs with Image Cleaner flags: the rules that need the cluster, on the
    cluster as read.

    Returns the cluster as read when nothing would change (no update is sent), else None, with the Image Cleaner
    arguments in `command_args` set to exactly what the rules decided, so that the owner's own Image Cleaner step
    (core's, which aks-preview inherits) stores that.
    """
    from azext_imagecleaner.aks.decorators import decision_for, profile_of
    from azext_imagecleaner.aks.rules import flags_from_raw, needs_write
    from azext_imagecleaner.azure import errors
    from azext_imagecleaner.azure.arm import cf_managed_clusters

    flags = flags_from_raw(command_args)
    resource_group_name, name = command_args["resource_group_name"], command_args["name"]
    with errors.mapped(resource_group_name, name):
        mc = cf_managed_clusters(cmd.cli_ctx).get(resource_group_name, name)
    decision, warnings = decision_for(mc, flags, creating=False)
    for warning in warnings:
        logger.warning(warning)
    before, after = profile_of(mc), decision.profile
    if not other_flags_given(command_args, defaults) and not needs_write(before, after, mc.provisioning_state):
        nothing_to_change(resource_group_name, name, before)
        return mc
    logger.debug("imagecleaner: %s stores Image Cleaner as %s", owner, after)
    command_args.update(
        enable_image_cleaner=after.enabled,
        disable_image_cleaner=not after.enabled,
        # Core's step refuses an interval with --disable-image-cleaner, and keeps the stored one on disable.
        image_cleaner_interval_hours=after.interval_hours if after.enabled else None,
    )
    return None


# Arguments that shape how the update is sent, not what it changes.
_NOT_CHANGES = frozenset(
    {
        "cmd",
        "resource_group_name",
        "name",
        "no_wait",
        "yes",
        "if_match",
        "if_none_match",
        "aks_custom_headers",
        "enable_image_cleaner",
        "disable_image_cleaner",
        "image_cleaner_interval_hours",
    }
)


def other_flags_given(params, defaults):
    """Names of the arguments, other than Image Cleaner's, whose value is not core's default."""
    return sorted(k for k, v in params.items() if k not in _NOT_CHANGES and k in defaults and v != defaults[k])


def _finish(cmd, result, params):
    """Wait for the operation unless --no-wait, as az would after the handler."""
    from azure.cli.core.commands import LongRunningOperation
    from azure.core.polling import LROPoller

    from azext_imagecleaner.azure import errors

    if params.get("no_wait") or not isinstance(result, LROPoller):
        return result
    with errors.failed_operations(params["resource_group_name"], params["name"]):
        return LongRunningOperation(cmd.cli_ctx, f"Starting {cmd.name}")(result)


def _refuse_existing_cluster(client, resource_group_name, name):
    """As core does: `aks create` on an existing cluster is an error, not an update."""
    from azure.cli.core.azclierror import ClientRequestError
    from azure.core.exceptions import ResourceNotFoundError

    try:
        client.get(resource_group_name, name)
    except ResourceNotFoundError:
        return
    except Exception as ex:  # noqa: BLE001 - like core: any other failure here is left to the PUT to report
        logger.debug("failed to get cluster, error: %s", ex)
        return
    raise ClientRequestError(
        f"The cluster '{name}' under resource group '{resource_group_name}' already exists.",
        "Use 'az aks update' to change it, or choose another name.",
    )
