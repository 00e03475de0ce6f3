"""Image references and exclusion patterns."""

import pytest
from azure.cli.core.azclierror import InvalidArgumentValueError

from azext_imagecleaner.cluster.images import check_pattern, check_reference, run_images

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "reference",
    [
        "alpine",
        "alpine:3.7.3",
        "docker.io/library/alpine:3.7.3",
        "myregistry.azurecr.io/team/app:1.2.3-rc.1",
        f"myregistry.azurecr.io/app@{DIGEST}",
        f"localhost:5000/app:v1@{DIGEST}",
        "registry:5000/app",
        "ghcr.io/a_b/c__d/e-f:TAG_1",
    ],
)
def test_valid_references(reference):
    assert check_reference(reference) == reference


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "Alpine",
        "UPPER/case",
        "alpine:",
        "alpine:3.7.3:1",
        "-alpine",
        "a//b",
        "app@sha256:short",
        "a b",
        "docker.io/library/*",
        "x" * 256,
    ],
)
def test_invalid_references(reference):
    with pytest.raises(InvalidArgumentValueError, match="is not an image reference"):
        check_reference(reference)


@pytest.mark.parametrize(
    "pattern",
    [
        "docker.io/library/*",
        "myregistry.azurecr.io/app:*",
        "docker.io/library/alpine:3.7.3",
        "ghcr.io/*",
    ],
)
def test_valid_patterns(pattern):
    assert check_pattern(pattern) == pattern


@pytest.mark.parametrize("pattern", ["UPPER/case:*", "docker.io/library/alpine:3.7.3:*", "*/*", "docker.io/**", ""])
def test_invalid_patterns(pattern):
    with pytest.raises(InvalidArgumentValueError, match="is not an exclusion pattern"):
        check_pattern(pattern)


def test_star_alone_would_exclude_everything():
    with pytest.raises(InvalidArgumentValueError, match="would exclude every image"):
        check_pattern("*")


def test_run_images():
    assert run_images(["alpine:1", "alpine:1", "redis:6"], False) == ["alpine:1", "redis:6"]
    assert run_images(None, True) == ["*"]
    with pytest.raises(InvalidArgumentValueError, match="cannot be used together"):
        run_images(["alpine:1"], True)
    with pytest.raises(InvalidArgumentValueError, match="Say which images"):
        run_images([], False)
