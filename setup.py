#!/usr/bin/env python
"""Packaging of the imagecleaner Azure CLI extension."""

from setuptools import find_packages, setup

VERSION = "1.0.0"

CLASSIFIERS = [
    "Development Status :: 4 - Beta",
    "Intended Audience :: Developers",
    "Intended Audience :: System Administrators",
    "Programming Language :: Python",
    "Programming Language :: Python :: 3",
    "License :: OSI Approved :: MIT License",
]

# Kept short on purpose: az parses this metadata (email-style) on every command that reaches the extension.
SUMMARY = (
    "AKS Image Cleaner from az: the --enable-image-cleaner, --disable-image-cleaner and "
    "--image-cleaner-interval-hours flags of az aks create/update with their rules checked before anything "
    "is sent, and az aks image-cleaner for manual runs, exclusions, logs, reports and fleets. "
    "See README.md in the source repository."
)
with open("HISTORY.rst", encoding="utf-8") as f:
    HISTORY = f.read()

setup(
    name="imagecleaner",
    version=VERSION,
    description="AKS Image Cleaner on az aks create and az aks update, with the rules checked before anything is sent.",
    long_description=SUMMARY + "\n\n" + HISTORY,
    long_description_content_type="text/x-rst",
    license="MIT",
    author="imagecleaner developers",
    author_email="imagecleaner@example.invalid",
    url="https://github.com/imagecleaner/imagecleaner",
    classifiers=CLASSIFIERS,
    packages=find_packages(include=["azext_imagecleaner", "azext_imagecleaner.*"]),
    install_requires=["kubernetes>=29.0.0,<34"],  # 34 caps urllib3 below what az ships; 35 adds aiohttp
    package_data={"azext_imagecleaner": ["azext_metadata.json"]},
)
