"""The guarded update that `az aks update` and `az aks image-cleaner set` both make, through core's own pipeline.

Core's update decorator is given core's own defaults for every argument, so that only the Image Cleaner step
changes anything; a write answered 412 (someone changed the cluster since it was read, where the service gives an
ETag) is read, decided and written again.
"""

import functools
import inspect

from knack.log import get_logger

from azext_imagecleaner.aks.core import core

logger = get_logger(__name__)

# An update re-reads the cluster and re-applies the rules when someone else changed it in between.
MAX_UPDATE_ATTEMPTS = 3


def retry_on_concurrent_change(attempt, resource_group_name, name, user_condition=False):
    """Run `attempt` (read, apply the rules, write with If-Match) again while the write is answered 412.

    With the user's own --if-match/--if-none-match a 412 is final: they asked for exactly that ETag.
    """
    from azure.core.exceptions import HttpResponseError

    from azext_imagecleaner.azure import errors

    for number in range(1, MAX_UPDATE_ATTEMPTS + 1):
        try:
            return attempt()
        except HttpResponseError as ex:
            if ex.status_code != 412 or user_condition:
                raise
            if number == MAX_UPDATE_ATTEMPTS:
                raise errors.concurrent_change(resource_group_name, name, number) from ex
            logger.warning(
                "The cluster %s changed since it was read (412 Precondition Failed); reading it again (try %d of %d).",
                name,
                number + 1,
                MAX_UPDATE_ATTEMPTS,
            )
    return None


def resource_type():
    from azure.cli.core.profiles import ResourceType

    return ResourceType.MGMT_CONTAINERSERVICE


@functools.cache
def core_update_defaults():
    """Core's `aks update` parameters and their defaults, from its own signature."""
    parameters = inspect.signature(core().aks_update).parameters
    return {name: p.default for name, p in parameters.items() if p.default is not p.empty}
