"""Azure Resource Manager for AKS: managedClusters documents (clusters.py), their state, operations, ETags and
throttling (store.py), ARM's error bodies (errors.py), and documents recorded from the live service (recorded/).
The HTTPS routes are in ../server.py, which fronts every emulated service."""
