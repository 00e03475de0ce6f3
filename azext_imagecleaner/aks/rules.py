"""The Image Cleaner rules, as pure functions.

Everything here is data in, data out: no az context, no SDK models, no I/O.
Validators call `parse_interval_hours` and `check_flags` before anything is
sent; the create/update pipeline calls `decide` once it has the cluster.
"""

import re
from typing import NamedTuple

from azure.cli.core.azclierror import (
    InvalidArgumentValueError,
    MutuallyExclusiveArgumentError,
    RequiredArgumentMissingError,
)

MIN_INTERVAL_HOURS = 24
MAX_INTERVAL_HOURS = 2160
DEFAULT_INTERVAL_HOURS = 168  # one week: the CLI's default, not the service's


# NamedTuples, not dataclasses: this module loads on every `aks create/update`, and a frozen dataclass costs
# about a millisecond to define.
class FlagNames(NamedTuple):
    """How the flags are spelled where the rules are applied, so messages name what the user typed."""

    enable: str = "--enable-image-cleaner"
    disable: str = "--disable-image-cleaner"
    interval: str = "--image-cleaner-interval-hours"


AKS_FLAGS = FlagNames()
FLEET_FLAGS = FlagNames("--enable", "--disable", "--interval-hours")

RANGE_TEXT = f"a whole number of hours from {MIN_INTERVAL_HOURS} to {MAX_INTERVAL_HOURS}"


# Only plain ASCII digits: int() would also take "4_8", "٤٨" and " 48 ".
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


class Profile(NamedTuple):
    """`securityProfile.imageCleaner` of a cluster."""

    enabled: bool
    interval_hours: int | None


class Flags(NamedTuple):
    """What the user asked for on the command line."""

    enable: bool = False
    disable: bool = False
    interval_hours: int | None = None

    @property
    def given(self) -> bool:
        return self.enable or self.disable or self.interval_hours is not None


def flags_from_raw(raw_param) -> Flags:
    """The flags as az parsed them (a command's arguments by name)."""
    return Flags(
        enable=bool(raw_param.get("enable_image_cleaner")),
        disable=bool(raw_param.get("disable_image_cleaner")),
        interval_hours=raw_param.get("image_cleaner_interval_hours"),
    )


class Decision(NamedTuple):
    """The profile to store (None: leave the cluster's as it is) and what to tell the user."""

    profile: Profile | None
    warnings: tuple[str, ...] = ()


def in_range(hours) -> bool:
    return isinstance(hours, int) and MIN_INTERVAL_HOURS <= hours <= MAX_INTERVAL_HOURS


def parse_interval_hours(value, flag: str = AKS_FLAGS.interval) -> int | None:
    """Turn the flag's text into hours, or raise naming the flag, the value and the range."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        hours = value
    elif isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        hours = int(value)
    else:
        raise InvalidArgumentValueError(
            f"{flag} {value!s} is not a whole number of hours: it must be {RANGE_TEXT}.",
            _example(flag),
        )
    if hours is not None and not in_range(hours):
        raise InvalidArgumentValueError(
            f"{flag} {value!s} is out of range: it must be {RANGE_TEXT}.",
            _example(flag),
        )
    return hours


def _example(flag):
    return f"For example: {flag} {DEFAULT_INTERVAL_HOURS} (one week, the default)."


def check_flags(flags: Flags, creating: bool, names: FlagNames = AKS_FLAGS) -> None:
    """The rules that need no cluster: they hold before anything is sent."""
    parse_interval_hours(flags.interval_hours, names.interval)
    if creating and flags.disable:
        raise InvalidArgumentValueError(
            f"{names.disable} does not apply to a new cluster.",
            f"Leave it out: Image Cleaner is off unless {names.enable} is given.",
        )
    if flags.enable and flags.disable:
        raise MutuallyExclusiveArgumentError(
            f"{names.enable} and {names.disable} cannot be used together.",
            "Give one of them.",
        )
    if flags.disable and flags.interval_hours is not None:
        raise MutuallyExclusiveArgumentError(
            f"{names.disable} cannot be used with {names.interval}: disabling keeps the stored interval.",
            f"Drop {names.interval}, or change the interval when you enable again with "
            f"{names.enable} {names.interval} N.",
        )
    if creating and flags.interval_hours is not None and not flags.enable:
        raise RequiredArgumentMissingError(
            f"{names.interval} on a new cluster needs {names.enable}.",
            f"Add {names.enable}, or drop {names.interval}.",
        )


def decide(current: Profile | None, flags: Flags, creating: bool = False, names: FlagNames = AKS_FLAGS) -> Decision:
    """The profile to store, given the cluster's current one (None: none stored) and the flags."""
    check_flags(flags, creating, names)
    if not flags.given:
        return Decision(None)

    stored = current.interval_hours if current else None
    warnings = ()
    if stored is not None and not in_range(stored):
        # The service refuses such a value, so keeping it would fail the whole update.
        if flags.interval_hours is None:
            warnings = (
                f"The stored Image Cleaner interval {stored} is outside {MIN_INTERVAL_HOURS}..{MAX_INTERVAL_HOURS} "
                f"hours; {DEFAULT_INTERVAL_HOURS} is stored instead.",
            )
        stored = None
    kept = stored if stored is not None else DEFAULT_INTERVAL_HOURS

    if flags.enable:
        hours = flags.interval_hours if flags.interval_hours is not None else kept
        return Decision(Profile(True, hours), warnings)
    if flags.disable:
        return Decision(Profile(False, kept), warnings)

    # Only an interval was given.
    if current is None or not current.enabled:
        raise RequiredArgumentMissingError(
            f"Image Cleaner is off on this cluster, so {names.interval} {flags.interval_hours} "
            "would be stored but never used.",
            f"Add {names.enable} to turn it on with this interval.",
        )
    return Decision(Profile(True, flags.interval_hours), warnings)


def needs_write(before: Profile | None, after: Profile | None, provisioning_state) -> bool:
    """Whether an update that changes only Image Cleaner must be sent: the profile changes, or the cluster's last
    operation did not succeed (a PUT of the same document makes AKS reconcile it again)."""
    return after != before or (provisioning_state or "").lower() != "succeeded"


def describe(profile: Profile | None) -> str:
    if profile is None:
        return "none"
    return f"{'on' if profile.enabled else 'off'}, {profile.interval_hours} h"


def limitation_warnings(profile: Profile | None, os_types, virtual_node: bool) -> tuple[str, ...]:
    """What Image Cleaner will not clean on this cluster, said when it is (left) on."""
    if profile is None or not profile.enabled:
        return ()
    warnings = []
    if any((os_type or "").lower() == "windows" for os_type in os_types):
        warnings.append(
            "This cluster has Windows node pools: Image Cleaner runs on Linux nodes only, "
            "so images on Windows nodes are not cleaned."
        )
    if virtual_node:
        warnings.append("The virtual-node add-on is on: Image Cleaner does not clean virtual nodes.")
    return tuple(warnings)
