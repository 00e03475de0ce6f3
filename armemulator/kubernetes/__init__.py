"""Each emulated cluster's Kubernetes API server: the objects it keeps (objects.py) and its HTTP face, as kubectl
and the Python client see it (api.py)."""
