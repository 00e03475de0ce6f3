"""Properties of the rule function for any current profile and any flags (hypothesis)."""

from azure.cli.core.azclierror import AzCLIError
from hypothesis import given
from hypothesis import strategies as st

from azext_imagecleaner.aks.rules import MAX_INTERVAL_HOURS, MIN_INTERVAL_HOURS, Flags, Profile, decide, in_range

hours = st.one_of(st.none(), st.integers(min_value=-10, max_value=3000))
profiles = st.one_of(st.none(), st.builds(Profile, enabled=st.booleans(), interval_hours=hours))
flags = st.builds(Flags, enable=st.booleans(), disable=st.booleans(), interval_hours=hours)


def outcome(current, given_flags, creating):
    try:
        return decide(current, given_flags, creating=creating)
    except AzCLIError:
        return None


@given(profiles, flags, st.booleans())
def test_result_is_an_error_or_an_interval_in_range(current, given_flags, creating):
    decision = outcome(current, given_flags, creating)
    if decision is not None and decision.profile is not None:
        assert MIN_INTERVAL_HOURS <= decision.profile.interval_hours <= MAX_INTERVAL_HOURS


@given(profiles, hours)
def test_disable_never_loses_a_stored_interval(current, interval):
    decision = outcome(current, Flags(disable=True, interval_hours=interval), creating=False)
    if decision is not None and current is not None and in_range(current.interval_hours):
        assert decision.profile == Profile(False, current.interval_hours)


@given(profiles)
def test_enable_without_an_interval_never_changes_a_stored_one(current):
    decision = decide(current, Flags(enable=True), creating=False)
    if current is not None and in_range(current.interval_hours):
        assert decision.profile.interval_hours == current.interval_hours
    assert decision.profile.enabled


@given(profiles, flags)
def test_flags_that_fail_without_a_cluster_fail_with_any_cluster(current, given_flags):
    # What the validators refuse before the GET, the rules refuse after it too.
    if outcome(None, given_flags, creating=False) is None and given_flags.interval_hours is not None:
        if not in_range(given_flags.interval_hours) or given_flags.disable:
            assert outcome(current, given_flags, creating=False) is None


@given(profiles, flags, st.booleans())
def test_no_flags_never_changes_anything(current, given_flags, creating):
    if not given_flags.given:
        assert decide(current, given_flags, creating=creating).profile is None
