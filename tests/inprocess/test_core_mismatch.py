"""On a core whose acs internals do not fit, az says so in one line instead of a traceback."""

import pytest

import azext_imagecleaner.aks.core as core_module


@pytest.fixture
def unfit_core(monkeypatch):
    needs = dict(core_module.CORE_NEEDS)
    needs["azure.cli.command_modules.acs.managed_cluster_decorator"] += ("AKSManagedClusterUpdateDecorator.gone",)
    monkeypatch.setattr(core_module, "CORE_NEEDS", needs)
    core_module.core.cache_clear()
    yield
    core_module.core.cache_clear()


@pytest.mark.parametrize(
    "args", [["update", "--enable-image-cleaner"], ["create", "--enable-image-cleaner", "--no-ssh-key"]]
)
def test_one_clear_line(az, unfit_core, args):
    code, out, err = az("aks", args[0], "-g", "rg", "-n", "c", *args[1:])
    assert code != 0
    assert "does not fit azure-cli" in err
    assert "AKSManagedClusterUpdateDecorator.gone" in err
    assert "az extension remove -n imagecleaner" in err
    assert "Traceback" not in err
    assert out == ""


def test_other_aks_commands_are_not_affected(az, unfit_core):
    code, out, _ = az("aks", "show", "--help")
    assert code == 0 and "az aks show" in out
