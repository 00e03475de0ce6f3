"""Azure Resource Graph: the resources query endpoint and the KQL subset it evaluates."""
