"""Warnings about nodes Image Cleaner does not clean."""

from azext_imagecleaner.aks.rules import Profile, limitation_warnings

ON, OFF = Profile(True, 168), Profile(False, 168)


def test_windows_pools_are_named_when_enabling():
    (warning,) = limitation_warnings(ON, ["Linux", "Windows"], virtual_node=False)
    assert "Windows node pools" in warning


def test_virtual_nodes_are_named_when_enabling():
    (warning,) = limitation_warnings(ON, ["Linux"], virtual_node=True)
    assert "virtual nodes" in warning


def test_both():
    assert len(limitation_warnings(ON, ["windows"], virtual_node=True)) == 2


def test_nothing_to_say_for_linux_only_or_when_off():
    assert limitation_warnings(ON, ["Linux", None], virtual_node=False) == ()
    assert limitation_warnings(OFF, ["Windows"], virtual_node=True) == ()
    assert limitation_warnings(None, ["Windows"], virtual_node=True) == ()
