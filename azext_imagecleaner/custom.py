"""Handlers of `aks create` and `aks update`: core's pipeline with the extension's Image Cleaner step.

The handlers take core's own signature, so az offers and forwards every core
argument of the installed release without the extension listing them.
"""

import inspect

from knack.log import get_logger

from azext_imagecleaner._core import core
from azext_imagecleaner._decorators import decorator_classes

logger = get_logger(__name__)


def _resource_type():
    from azure.cli.core.profiles import ResourceType

    return ResourceType.MGMT_CONTAINERSERVICE


def aks_create(cmd, client, **params):
    acs = core()
    resource_group_name, name = params["resource_group_name"], params["name"]
    raw_parameters = dict(params, cmd=cmd, client=client)
    _refuse_existing_cluster(client, resource_group_name, name)
    create_decorator, _ = decorator_classes(acs)
    decorator = create_decorator(cmd=cmd, client=client, raw_parameters=raw_parameters, resource_type=_resource_type())
    try:
        mc = decorator.construct_mc_profile_default()
    except acs.DecoratorEarlyExitException:
        return None
    return decorator.create_mc(mc)


def aks_update(cmd, client, **params):
    acs = core()
    raw_parameters = dict(params, cmd=cmd, client=client)
    _, update_decorator = decorator_classes(acs)
    decorator = update_decorator(cmd=cmd, client=client, raw_parameters=raw_parameters, resource_type=_resource_type())
    try:
        mc = decorator.update_mc_profile_default()
    except acs.DecoratorEarlyExitException:
        return None
    return decorator.update_mc(mc)


def _refuse_existing_cluster(client, resource_group_name, name):
    """As core does: `aks create` on an existing cluster is an error, not an update."""
    from azure.cli.core.azclierror import ClientRequestError
    from azure.core.exceptions import ResourceNotFoundError

    try:
        client.get(resource_group_name, name)
    except ResourceNotFoundError:
        return
    except Exception as ex:  # noqa: BLE001 - core ignores any failure here and lets the PUT report it
        logger.debug("failed to get cluster, error: %s", ex)
        return
    raise ClientRequestError(
        f"The cluster '{name}' under resource group '{resource_group_name}' already exists.",
        "Use 'az aks update' to change it, or choose another name.",
    )


aks_create.__signature__ = inspect.signature(core().aks_create)
aks_update.__signature__ = inspect.signature(core().aks_update)
