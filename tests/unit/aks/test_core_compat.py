"""The check that the installed core's acs module has what the extension uses."""

from types import SimpleNamespace

from azext_imagecleaner.aks.core import CORE_NEEDS, incompatibility_message, missing_core_features


def fake_importer(modules):
    def import_module(name):
        if name not in modules:
            raise ImportError(name)
        return modules[name]

    return import_module


def test_nothing_missing_when_everything_is_there():
    decorator = SimpleNamespace(update_mc=object(), fetch_mc=object())
    modules = {"m": SimpleNamespace(load_arguments=object(), Decorator=decorator)}
    needs = {"m": ("load_arguments", "Decorator.update_mc", "Decorator.fetch_mc")}
    assert missing_core_features(fake_importer(modules), needs) == []


def test_missing_module_method_and_name_are_each_reported():
    modules = {"m": SimpleNamespace(Decorator=SimpleNamespace(update_mc=object()))}
    needs = {"m": ("load_arguments", "Decorator.update_mc", "Decorator.fetch_mc"), "gone": ("x",)}
    assert missing_core_features(fake_importer(modules), needs) == [
        "m:load_arguments",
        "m:Decorator.fetch_mc",
        "gone",
    ]


def test_the_installed_core_fits():
    assert missing_core_features() == []


def test_the_needs_cover_the_decorator_methods_the_extension_overrides():
    needs = CORE_NEEDS["azure.cli.command_modules.acs.managed_cluster_decorator"]
    assert "AKSManagedClusterCreateDecorator.set_up_image_cleaner" in needs
    assert "AKSManagedClusterUpdateDecorator.update_image_cleaner" in needs


def test_message_is_one_line_naming_the_core_version_and_the_way_out():
    message = incompatibility_message(["a:b", "c:d", "e", "f"], "2.50.0")
    assert "\n" not in message
    assert "azure-cli 2.50.0" in message
    assert "a:b, c:d, e and more" in message
    assert "az extension remove -n imagecleaner" in message
