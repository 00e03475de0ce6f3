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

# No long description: az parses this package's METADATA (email-style, with pkginfo) about 15 times on every
# `az aks ...` command, so its length is paid on commands the extension does not own. README.md and
# HISTORY.rst are in the source repository.
setup(
    name="imagecleaner",
    version=VERSION,
    description="AKS Image Cleaner on az aks create and az aks update, with the rules checked before anything is sent.",
    license="MIT",
    author="imagecleaner developers",
    author_email="imagecleaner@example.invalid",
    url="https://github.com/imagecleaner/imagecleaner",
    classifiers=CLASSIFIERS,
    packages=find_packages(include=["azext_imagecleaner", "azext_imagecleaner.*"]),
    # kubernetes: 34 caps urllib3 below what az ships; 35 adds aiohttp. azure-mgmt-resourcegraph: what `az graph` uses.
    install_requires=["kubernetes>=29.0.0,<34", "azure-mgmt-resourcegraph>=8.0.0,<9"],
    package_data={"azext_imagecleaner": ["azext_metadata.json"]},
)
