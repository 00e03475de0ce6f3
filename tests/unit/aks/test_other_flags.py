"""Which updates take the Image-Cleaner-only path (the document sent back as read, but for imageCleaner)."""

from azext_imagecleaner.aks.handlers import core_update_defaults, other_flags_given

CORE_UPDATE_DEFAULTS = core_update_defaults()


def params(**given):
    values = dict(CORE_UPDATE_DEFAULTS)
    values.update(resource_group_name="rg", name="c1")
    values.update(given)
    return values


def test_image_cleaner_flags_and_how_to_send_are_not_other_flags():
    given = params(enable_image_cleaner=True, image_cleaner_interval_hours=72, no_wait=True, if_match="e", yes=True)
    assert other_flags_given(given, CORE_UPDATE_DEFAULTS) == []


def test_any_core_flag_counts():
    assert other_flags_given(params(tags={"a": "b"}, enable_image_cleaner=True), CORE_UPDATE_DEFAULTS) == ["tags"]
    assert other_flags_given(params(disable_disk_driver=True), CORE_UPDATE_DEFAULTS) == ["disable_disk_driver"]


def test_the_defaults_come_from_core_s_own_signature():
    assert "tags" in CORE_UPDATE_DEFAULTS
    assert "image_cleaner_interval_hours" in CORE_UPDATE_DEFAULTS
    assert len(CORE_UPDATE_DEFAULTS) > 100
