"""Which help texts the command table loads, by the arguments az passes (pure)."""

import pytest

from azext_imagecleaner.commands import _help_asked_for


@pytest.mark.parametrize(
    "args, asked",
    [
        (None, True),
        (["aks", "show", "-g", "rg", "-n", "c"], ()),
        (["aks", "show", "--help"], ()),
        (["aks", "nodepool", "list", "-h"], ()),
        (["aks", "update", "--enable-image-cleaner"], ()),
        (["aks", "update", "--help"], ("aks update",)),
        (["aks", "create", "-h"], ("aks create",)),
        (["aks", "--help"], ("aks image-cleaner",)),
        (["aks", "image-cleaner"], ("aks image-cleaner",)),
        (["aks", "image-cleaner", "run", "-g", "rg"], ("aks image-cleaner",)),
    ],
)
def test_help_is_loaded_only_where_it_can_be_shown(args, asked):
    assert _help_asked_for(args) == asked
