"""aks create and aks update of the stand-in: core's decorators (whose Image Cleaner step aks-preview inherits),
plus a preview field, written with a preview api-version."""

import inspect
import json
import time

from azure.cli.command_modules.acs import custom as core_custom

PREVIEW_API_VERSION = "2026-07-02-preview"
PREVIEW_PARAMETERS = {"enable_imds_restriction": False}


def _with_preview_parameters(core_handler):
    """Core's signature plus the preview parameters: what az offers and forwards."""
    parameters = list(inspect.signature(core_handler).parameters.values())
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in PREVIEW_PARAMETERS.items()
    ]
    return inspect.Signature(parameters + extra)


def aks_create(cmd, client, **params):
    _explicit(aks_create, cmd, client, params)
    from azure.cli.command_modules.acs.managed_cluster_decorator import AKSManagedClusterCreateDecorator
    from azure.cli.core.profiles import ResourceType

    decorator = AKSManagedClusterCreateDecorator(
        cmd, client, dict(params, cmd=cmd, client=client), ResourceType.MGMT_CONTAINERSERVICE
    )
    mc = decorator.construct_mc_profile_default()
    return _put(cmd, mc, params, if_none_match=params.get("if_none_match") or "*")


def aks_update(cmd, client, **params):
    _explicit(aks_update, cmd, client, params)
    from azure.cli.command_modules.acs.managed_cluster_decorator import AKSManagedClusterUpdateDecorator
    from azure.cli.core.profiles import ResourceType

    decorator = AKSManagedClusterUpdateDecorator(
        cmd, client, dict(params, cmd=cmd, client=client), ResourceType.MGMT_CONTAINERSERVICE
    )
    mc = decorator.update_mc_profile_default()
    return _put(cmd, mc, params, if_match=params.get("if_match"))


def _explicit(handler, cmd, client, params):
    """aks-preview's handlers name each of their parameters (no **kwargs: raw_parameters = locals()), so an argument
    they do not take is a TypeError, as it is there."""
    handler.__signature__.bind(cmd, client, **params)


aks_create.__signature__ = _with_preview_parameters(core_custom.aks_create)
aks_update.__signature__ = _with_preview_parameters(core_custom.aks_update)


def _document(mc):
    """The cluster as the REST API spells it, from either SDK generation."""
    return mc.serialize() if hasattr(mc, "serialize") else mc.as_dict()


def _put(cmd, mc, params, if_match=None, if_none_match=None):
    from azure.cli.core.util import send_raw_request

    document = _document(mc)
    if params.get("enable_imds_restriction"):
        document.setdefault("properties", {}).setdefault("networkProfile", {})["podLinkLocalAccess"] = "None"
    arm = cmd.cli_ctx.cloud.endpoints.resource_manager.rstrip("/")
    url = (
        f"{arm}/subscriptions/{_subscription(cmd)}/resourceGroups/{params['resource_group_name']}/providers/"
        f"Microsoft.ContainerService/managedClusters/{params['name']}?api-version={PREVIEW_API_VERSION}"
    )
    headers = ["Content-Type=application/json"]
    if if_match:
        headers.append(f"If-Match={if_match}")
    if if_none_match:
        headers.append(f"If-None-Match={if_none_match}")
    answer = send_raw_request(cmd.cli_ctx, "PUT", url, body=json.dumps(document), headers=headers)
    operation = answer.headers.get("Azure-AsyncOperation")
    while operation and not params.get("no_wait"):
        status = send_raw_request(cmd.cli_ctx, "GET", operation).json().get("status")
        if status not in ("InProgress", None):
            break
        time.sleep(1)
    return send_raw_request(cmd.cli_ctx, "GET", url).json()


def _subscription(cmd):
    from azure.cli.core.commands.client_factory import get_subscription_id

    return get_subscription_id(cmd.cli_ctx)
