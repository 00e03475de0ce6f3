"""Image references and exclusion patterns: checked before anything is sent (pure)."""

import re

from azure.cli.core.azclierror import InvalidArgumentValueError

# The grammar of github.com/distribution/reference, as Eraser and the container runtimes use it.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
# As docker normalises names: a first part is a registry only with a dot, a port, or as localhost.
_HOST = rf"(?:localhost|{_DOMAIN_PART}(?:\.{_DOMAIN_PART})+|\[[0-9a-fA-F:]+\])"
_DOMAIN = rf"(?:{_HOST}(?::[0-9]+)?|{_DOMAIN_PART}:[0-9]+)"
_NAME = rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}"
REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?")
NAME = re.compile(_NAME)
MAX_NAME_LENGTH = 255


def check_reference(text, flag="--images"):
    """A full image reference such as docker.io/library/alpine:3.7.3 or repo/app@sha256:<hex>."""
    match = REFERENCE.fullmatch(text or "")
    if not match or len(match.group("name")) > MAX_NAME_LENGTH:
        raise InvalidArgumentValueError(
            f"{flag} {text!r} is not an image reference.",
            "Give references such as docker.io/library/alpine:3.7.3, myregistry.azurecr.io/app:1.2 "
            "or myregistry.azurecr.io/app@sha256:<digest>.",
        )
    return text


def check_pattern(text, flag="--images"):
    """An exclusion pattern as Eraser reads them: an exact reference, `repo/*` or `name:*`."""
    text = text or ""
    if text == "*":
        raise InvalidArgumentValueError(
            f"{flag} '*' would exclude every image, so Image Cleaner would remove nothing.",
            "To stop Image Cleaner, run 'az aks update --disable-image-cleaner' instead.",
        )
    if text.endswith("/*"):
        if NAME.fullmatch(text[:-2]):
            return text
    elif text.endswith(":*"):
        if NAME.fullmatch(text[:-2]):
            return text
    elif REFERENCE.fullmatch(text):
        return text
    raise InvalidArgumentValueError(
        f"{flag} {text!r} is not an exclusion pattern.",
        "Give an exact reference (docker.io/library/alpine:3.7.3), every image under a repository prefix "
        "(docker.io/library/*) or every tag of an image (myregistry.azurecr.io/app:*).",
    )


def run_images(images, run_all):
    """The `spec.images` of a manual run: the given references, or ["*"] for every unused image."""
    if run_all and images:
        raise InvalidArgumentValueError("--images and --all cannot be used together.", "Give one of them.")
    if run_all:
        return ["*"]
    if not images:
        raise InvalidArgumentValueError(
            "Say which images to remove: --images IMAGE [IMAGE ...], or --all for every unused image.",
            "For example: --images docker.io/library/alpine:3.7.3",
        )
    return list(dict.fromkeys(check_reference(image) for image in images))
