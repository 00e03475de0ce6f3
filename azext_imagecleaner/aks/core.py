"""The one place that reaches into core az's acs module.

Overriding `aks create/update` means riding on acs internals, which change
between az releases. Everything the extension uses from them is listed in
`CORE_NEEDS` and checked before use, so that a core that does not fit gets one
clear line instead of a traceback from deep inside the pipeline.
"""

import functools
import importlib
from types import SimpleNamespace

_ACS = "azure.cli.command_modules.acs"

# module -> names it must have; "Class.method" names a method of a class.
CORE_NEEDS = {
    f"{_ACS}._consts": ("DecoratorEarlyExitException",),
    f"{_ACS}.custom": ("aks_create", "aks_update"),
    f"{_ACS}.managed_cluster_decorator": (
        "AKSManagedClusterCreateDecorator",
        "AKSManagedClusterCreateDecorator.construct_mc_profile_default",
        "AKSManagedClusterCreateDecorator.set_up_image_cleaner",
        "AKSManagedClusterCreateDecorator.create_mc",
        "AKSManagedClusterUpdateDecorator",
        "AKSManagedClusterUpdateDecorator.update_mc_profile_default",
        "AKSManagedClusterUpdateDecorator.update_image_cleaner",
        "AKSManagedClusterUpdateDecorator.fetch_mc",
        "AKSManagedClusterUpdateDecorator.update_mc",
        "AKSManagedClusterContext.get_if_match",
        "AKSManagedClusterContext.get_if_none_match",
        "AKSManagedClusterParamDict",
        "DecoratorMode.CREATE",
        "DecoratorMode.UPDATE",
    ),
}


def missing_core_features(import_module=importlib.import_module, needs=None):
    """Names from `needs` (default `CORE_NEEDS`) that the installed core lacks, as 'module:name'."""
    missing = []
    for module_name, names in (needs or CORE_NEEDS).items():
        try:
            module = import_module(module_name)
        except ImportError:
            missing.append(module_name)
            continue
        for name in names:
            target = module
            for part in name.split("."):
                target = getattr(target, part, None)
                if target is None:
                    missing.append(f"{module_name}:{name}")
                    break
    return missing


def incompatibility_message(missing, core_version):
    from azext_imagecleaner import EXTENSION_NAME, TESTED_CORE_TEXT

    return (
        f"The {EXTENSION_NAME} extension does not fit azure-cli {core_version}: its acs module lacks "
        f"{', '.join(missing[:3])}{' and more' if len(missing) > 3 else ''}. "
        f"It is tested with azure-cli {TESTED_CORE_TEXT}; install one of those, "
        f"or remove the extension with 'az extension remove -n {EXTENSION_NAME}'."
    )


@functools.cache
def core():
    """The core acs pieces the extension uses, or a CLIInternalError that says which are missing."""
    missing = missing_core_features()
    if missing:
        from azure.cli.core import __version__ as core_version
        from azure.cli.core.azclierror import CLIInternalError

        raise CLIInternalError(incompatibility_message(missing, core_version))
    consts = importlib.import_module(f"{_ACS}._consts")
    custom = importlib.import_module(f"{_ACS}.custom")
    decorators = importlib.import_module(f"{_ACS}.managed_cluster_decorator")
    return SimpleNamespace(
        DecoratorEarlyExitException=consts.DecoratorEarlyExitException,
        aks_create=custom.aks_create,
        aks_update=custom.aks_update,
        CreateDecorator=decorators.AKSManagedClusterCreateDecorator,
        UpdateDecorator=decorators.AKSManagedClusterUpdateDecorator,
        Context=decorators.AKSManagedClusterContext,
        ParamDict=decorators.AKSManagedClusterParamDict,
        DecoratorMode=decorators.DecoratorMode,
    )
