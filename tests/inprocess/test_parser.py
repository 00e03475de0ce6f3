"""The real az parser and validators, in process: bad input is refused before any network call.

No account is logged in to the profile these tests use, so input that gets
past the validators ends at "Please run 'az login'": seeing that message
proves a value was accepted, and not seeing it proves nothing was sent.
"""

import pytest

NOT_LOGGED_IN = "Please run 'az login'"


@pytest.mark.parametrize("value", ["0", "-1", "23", "2161", "99999"])
@pytest.mark.parametrize("command", ["create", "update"])
def test_out_of_range_interval_is_refused_naming_flag_value_and_range(az, command, value):
    extra = ["--enable-image-cleaner", "--no-ssh-key"] if command == "create" else []
    code, out, err = az("aks", command, "-g", "rg", "-n", "c", *extra, f"--image-cleaner-interval-hours={value}")
    assert code != 0
    assert f"--image-cleaner-interval-hours {value} is out of range" in err
    assert "from 24 to 2160" in err
    assert NOT_LOGGED_IN not in err
    assert "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize("value", ["1.5", "abc", "24.0"])
def test_non_integer_interval_is_refused(az, value):
    code, _, err = az("aks", "update", "-g", "rg", "-n", "c", "--image-cleaner-interval-hours", value)
    assert code != 0
    assert f"--image-cleaner-interval-hours {value} is not a whole number of hours" in err
    assert NOT_LOGGED_IN not in err


def test_zero_alone_on_update_does_not_prompt(az, monkeypatch):
    # Core asks "No argument specified to update..." here; a prompt would need a TTY.
    code, _, err = az("aks", "update", "-g", "rg", "-n", "c", "--image-cleaner-interval-hours", "0")
    assert code != 0
    assert "No argument specified" not in err
    assert "out of range" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["update", "--enable-image-cleaner", "--disable-image-cleaner"],
            "--enable-image-cleaner and --disable-image-cleaner cannot be used together",
        ),
        (
            ["update", "--disable-image-cleaner", "--image-cleaner-interval-hours", "48"],
            "--disable-image-cleaner cannot be used with --image-cleaner-interval-hours",
        ),
        (
            ["create", "--no-ssh-key", "--image-cleaner-interval-hours", "48"],
            "--image-cleaner-interval-hours on a new cluster needs --enable-image-cleaner",
        ),
    ],
)
def test_flag_combinations_are_refused_before_login(az, args, message):
    code, _, err = az("aks", args[0], "-g", "rg", "-n", "c", *args[1:])
    assert code != 0
    assert message in err
    assert NOT_LOGGED_IN not in err


def test_create_has_no_disable_flag(az):
    code, _, err = az("aks", "create", "-g", "rg", "-n", "c", "--disable-image-cleaner")
    assert code == 2
    assert "unrecognized arguments: --disable-image-cleaner" in err


@pytest.mark.parametrize(
    "args",
    [
        ["update", "--image-cleaner-interval-hours", "24"],
        ["update", "--image-cleaner-interval-hours", "2160"],
        ["update", "--enable-image-cleaner"],
        ["update", "--enable-image-cleaner", "--image-cleaner-interval-hours", "72"],
        ["update", "--disable-image-cleaner"],
        ["update", "--tags", "team=platform"],
        ["update", "--ca-certs", "/dev/null"],
        ["create", "--no-ssh-key", "--enable-image-cleaner"],
        ["create", "--no-ssh-key", "--enable-image-cleaner", "--image-cleaner-interval-hours", "48"],
        ["create", "--no-ssh-key", "--tags", "a=b", "--enable-managed-identity"],
    ],
)
def test_good_input_passes_the_validators(az, args):
    code, _, err = az("aks", args[0], "-g", "rg", "-n", "c", *args[1:])
    assert code != 0
    assert NOT_LOGGED_IN in err, err


def test_core_validators_still_run(az):
    # Core's validator of --nodepool-labels (a core flag) must still refuse bad input.
    code, _, err = az("aks", "update", "-g", "rg", "-n", "c", "--nodepool-labels", "bad label=x")
    assert code != 0
    assert NOT_LOGGED_IN not in err
