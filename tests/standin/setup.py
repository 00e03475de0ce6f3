"""The stand-in's wheel; its extension name comes from STANDIN_NAME (az orders extensions by this name)."""

import os

from setuptools import setup

setup(
    name=os.environ.get("STANDIN_NAME", "aks-preview"),
    version="99.0.0b1",
    description="A stand-in for aks-preview, for imagecleaner's tests.",
    packages=["azext_aks_preview"],
    package_data={"azext_aks_preview": ["azext_metadata.json"]},
)
