"""`az aks image-cleaner check`: Image Cleaner's known faults, as checks with their evidence and fixes."""
