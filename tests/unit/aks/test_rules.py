"""The rules table of image-cleaner.md, row by row, on the pure rule function."""

import pytest
from azure.cli.core.azclierror import (
    InvalidArgumentValueError,
    MutuallyExclusiveArgumentError,
    RequiredArgumentMissingError,
)

from azext_imagecleaner.aks.rules import (
    DEFAULT_INTERVAL_HOURS,
    Decision,
    Flags,
    Profile,
    check_flags,
    decide,
    describe,
    needs_write,
    parse_interval_hours,
)


def profile(enabled, hours):
    return Profile(enabled=enabled, interval_hours=hours)


# --- the rules table -------------------------------------------------------------------------


def test_create_enable_uses_the_cli_default_of_one_week():
    assert decide(None, Flags(enable=True), creating=True) == Decision(profile(True, 168))


def test_create_enable_with_interval():
    assert decide(None, Flags(enable=True, interval_hours=48), creating=True).profile == profile(True, 48)


def test_create_without_flags_leaves_the_profile_alone():
    assert decide(None, Flags(), creating=True) == Decision(None)


def test_update_enable_keeps_the_stored_interval():
    assert decide(profile(False, 72), Flags(enable=True)).profile == profile(True, 72)


def test_update_enable_with_no_profile_uses_168():
    assert decide(None, Flags(enable=True)).profile == profile(True, 168)


def test_update_enable_with_profile_missing_interval_uses_168():
    assert decide(profile(False, None), Flags(enable=True)).profile == profile(True, 168)


def test_update_disable_keeps_the_interval():
    assert decide(profile(True, 48), Flags(disable=True)).profile == profile(False, 48)


def test_disable_then_enable_round_trip_keeps_the_interval():
    disabled = decide(profile(True, 48), Flags(disable=True)).profile
    assert decide(disabled, Flags(enable=True)).profile == profile(True, 48)


def test_update_disable_with_no_profile_stores_the_default_for_a_later_enable():
    assert decide(None, Flags(disable=True)).profile == profile(False, 168)


def test_update_interval_on_an_enabled_cluster():
    assert decide(profile(True, 168), Flags(interval_hours=72)).profile == profile(True, 72)


def test_update_enable_with_interval_replaces_the_stored_one():
    assert decide(profile(False, 72), Flags(enable=True, interval_hours=500)).profile == profile(True, 500)


@pytest.mark.parametrize("current", [None, profile(False, 72), profile(False, None)])
def test_interval_on_a_cluster_where_image_cleaner_is_off_needs_enable(current):
    with pytest.raises(RequiredArgumentMissingError) as err:
        decide(current, Flags(interval_hours=72))
    assert "--image-cleaner-interval-hours 72" in err.value.error_msg
    assert "--enable-image-cleaner" in err.value.recommendations[0]


def test_enable_and_disable_are_exclusive():
    with pytest.raises(MutuallyExclusiveArgumentError, match="--enable-image-cleaner and --disable-image-cleaner"):
        decide(profile(True, 48), Flags(enable=True, disable=True))


def test_disable_with_an_interval_is_an_error():
    with pytest.raises(MutuallyExclusiveArgumentError, match="keeps the stored interval"):
        decide(profile(True, 48), Flags(disable=True, interval_hours=72))


def test_interval_on_create_needs_enable():
    with pytest.raises(RequiredArgumentMissingError, match="needs --enable-image-cleaner"):
        decide(None, Flags(interval_hours=48), creating=True)


def test_disable_on_create_is_an_error():
    with pytest.raises(InvalidArgumentValueError, match="does not apply to a new cluster"):
        check_flags(Flags(disable=True), creating=True)


def test_no_flags_on_update_changes_nothing():
    assert decide(profile(True, 48), Flags()) == Decision(None)


def test_a_stored_interval_the_service_would_refuse_is_replaced_with_a_warning():
    decision = decide(profile(False, 0), Flags(enable=True))
    assert decision.profile == profile(True, DEFAULT_INTERVAL_HOURS)
    assert "stored Image Cleaner interval 0" in decision.warnings[0]


def test_a_bad_stored_interval_replaced_by_the_given_one_needs_no_warning():
    assert decide(profile(True, 5000), Flags(interval_hours=72)) == Decision(profile(True, 72))


# --- the interval's text ---------------------------------------------------------------------


@pytest.mark.parametrize("text, hours", [("24", 24), ("2160", 2160), ("168", 168), ("+48", 48), ("048", 48)])
def test_whole_hours_in_range_are_accepted(text, hours):
    assert parse_interval_hours(text) == hours


@pytest.mark.parametrize("text", ["23", "2161", "0", "-1", "99999", "-0024"])
def test_out_of_range_names_flag_value_and_range(text):
    with pytest.raises(InvalidArgumentValueError) as err:
        parse_interval_hours(text)
    message = err.value.error_msg
    assert message.startswith(f"--image-cleaner-interval-hours {text} is out of range")
    assert "from 24 to 2160" in message


@pytest.mark.parametrize("text", ["1.5", "24.0", "abc", "", " 48", "4_8", "\u0664\u0668", "1e2", "0x30"])
def test_non_integers_name_flag_value_and_range(text):
    with pytest.raises(InvalidArgumentValueError) as err:
        parse_interval_hours(text)
    message = err.value.error_msg
    assert message.startswith(f"--image-cleaner-interval-hours {text} is not a whole number of hours")
    assert "from 24 to 2160" in message


def test_absent_interval_is_none():
    assert parse_interval_hours(None) is None


@pytest.mark.parametrize("hours", [23, 2161, 0, -1])
def test_rule_function_checks_the_range_too(hours):
    with pytest.raises(InvalidArgumentValueError, match="out of range"):
        decide(profile(True, 48), Flags(interval_hours=hours))


def test_bool_is_not_an_interval():
    with pytest.raises(InvalidArgumentValueError):
        parse_interval_hours(True)


@pytest.mark.parametrize(
    "before, after, state, expected",
    [
        (Profile(True, 48), Profile(True, 48), "Succeeded", False),
        (Profile(False, 48), Profile(False, 48), "succeeded", False),
        # The last operation failed: AKS reconciles on the next PUT, so it is sent though nothing changes.
        (Profile(True, 48), Profile(True, 48), "Failed", True),
        (Profile(True, 48), Profile(True, 48), "Canceled", True),
        (Profile(True, 48), Profile(True, 48), None, True),
        (Profile(True, 48), Profile(True, 72), "Succeeded", True),
        (Profile(True, None), Profile(True, 168), "Succeeded", True),  # a profile without an interval gets one
        (None, Profile(False, 168), "Succeeded", True),
    ],
)
def test_an_update_is_sent_only_when_it_changes_something_or_the_cluster_failed(before, after, state, expected):
    assert needs_write(before, after, state) is expected


def test_describe():
    assert describe(Profile(True, 48)) == "on, 48 h"
    assert describe(Profile(False, 72)) == "off, 72 h"
    assert describe(None) == "none"
