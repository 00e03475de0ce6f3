"""Bad input fails before any network call: not even a token request reaches the emulator."""

import pytest

BAD_INTERVALS = ["0", "-1", "23", "2161", "99999", "1.5", "abc", "24.0", ""]


def assert_refused_before_network(result, emulator, *expected):
    assert result.code != 0
    for text in expected:
        assert text in result.err
    assert "Traceback" not in result.err
    assert "No argument specified" not in result.err  # core's reconcile prompt
    assert result.out == ""
    assert emulator.requests() == []


@pytest.mark.parametrize("value", BAD_INTERVALS)
def test_bad_interval_on_update(az, emulator, make_cluster, value):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", "update", *cluster.args, f"--image-cleaner-interval-hours={value}")
    assert_refused_before_network(result, emulator, f"--image-cleaner-interval-hours {value} is", "from 24 to 2160")


@pytest.mark.parametrize("value", ["0", "23", "2161", "1.5"])
def test_bad_interval_on_create(az, emulator, value):
    result = az(
        "aks",
        "create",
        "-g",
        "e2e-rg",
        "-n",
        "never-created",
        "--no-ssh-key",
        "--enable-image-cleaner",
        f"--image-cleaner-interval-hours={value}",
    )
    assert_refused_before_network(result, emulator, f"--image-cleaner-interval-hours {value} is", "from 24 to 2160")


@pytest.mark.parametrize(
    "command, flags, message",
    [
        (
            "update",
            ["--enable-image-cleaner", "--disable-image-cleaner"],
            "--enable-image-cleaner and --disable-image-cleaner cannot be used together",
        ),
        (
            "update",
            ["--disable-image-cleaner", "--image-cleaner-interval-hours", "48"],
            "--disable-image-cleaner cannot be used with --image-cleaner-interval-hours",
        ),
        (
            "create",
            ["--no-ssh-key", "--image-cleaner-interval-hours", "48"],
            "--image-cleaner-interval-hours on a new cluster needs --enable-image-cleaner",
        ),
    ],
)
def test_bad_combinations(az, emulator, make_cluster, command, flags, message):
    cluster = make_cluster(image_cleaner=(True, 48))
    result = az("aks", command, *cluster.args, *flags)
    assert_refused_before_network(result, emulator, message)


def test_exit_code_is_non_zero_and_stable_for_scripts(az, emulator, make_cluster):
    cluster = make_cluster(image_cleaner=(True, 48))
    codes = {az("aks", "update", *cluster.args, "--image-cleaner-interval-hours", v).code for v in ("0", "abc")}
    assert codes == {1}
    assert emulator.requests() == []
