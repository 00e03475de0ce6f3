#!/usr/bin/env python
"""Packaging of the imagecleaner Azure CLI extension."""

from setuptools import find_packages, setup

VERSION = "1.2.1"

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
    # azure-monitor-query: Log Analytics queries; azure-cli 2.76 to 2.91 ship 1.2.0, whose LogsQueryClient is the one
    # imported (az's own site-packages come first); 2.0 is logs only, with the same calls. tomli: TOML before 3.11.
    install_requires=[
        "kubernetes>=29.0.0,<34",
        "azure-mgmt-resourcegraph>=8.0.0,<9",
        "azure-monitor-query>=1.2.0,<3",
        "tomli>=1.1.0; python_version < '3.11'",
    ],
    package_data={"azext_imagecleaner": ["azext_metadata.json"]},
)
