"""Keeps every test away from the user's own az profile.

az reads AZURE_CONFIG_DIR and AZURE_EXTENSION_DIR when azure.cli.core is first
imported, so they are set here, before any test module imports it.
"""

import os
import tempfile

_SCRATCH = tempfile.mkdtemp(prefix="imagecleaner-tests-")
os.environ["AZURE_CONFIG_DIR"] = os.path.join(_SCRATCH, "azconfig")
os.environ["AZURE_EXTENSION_DIR"] = os.path.join(_SCRATCH, "azext")
os.environ["AZURE_CORE_COLLECT_TELEMETRY"] = "false"
os.environ["AZURE_CORE_NO_COLOR"] = "true"
os.environ["AZURE_CORE_SURVEY_MESSAGE"] = "false"
