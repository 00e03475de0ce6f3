"""Fleets: az aks image-cleaner list and set, the selection of clusters, and ARM's pace per subscription."""
