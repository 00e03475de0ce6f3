"""Commands on one cluster's Kubernetes side: their handlers, status, exclusion lists and image references."""
