"""Help of the stand-in's `aks create` and `aks update`, in the shape aks-preview writes its own (its
`azext_aks_preview/_help.py`, ../../../../shared/az-aks-command-lines.md "Help"): imported when the package loads,
writing into knack's `helps`; `aks create` an f-string; every top-level key indented by 4 spaces, parameters' items
by 8 with their keys at 10; examples' items at 8 in `aks create` and at 6 in `aks update`; entries of its own for the
Image Cleaner flags. The texts are the stand-in's own words; only the shape is aks-preview's."""

import os.path

from knack.help_files import helps

AKS_SERVICE_PRINCIPAL_CACHE = os.path.join("$HOME", ".azure", "aksServicePrincipal.json")

helps["aks create"] = f"""
    type: command
    short-summary: Create a new managed Kubernetes cluster.
    parameters:
        - name: --service-principal
          type: string
          short-summary: Service principal used for authentication to Azure APIs.
          long-summary: If not specified, a new service principal is created and cached at
                        {AKS_SERVICE_PRINCIPAL_CACHE} to be used by later `az aks` commands.
        - name: --kubernetes-version -k
          type: string
          short-summary: Version of Kubernetes to use for creating the cluster.
          populator-commands:
          - "`az aks get-versions`"
        - name: --node-count -c
          type: int
          short-summary: Number of nodes in the Kubernetes node pool.
        - name: --enable-image-cleaner
          type: bool
          short-summary: Enable ImageCleaner Service.
        - name: --image-cleaner-interval-hours
          type: int
          short-summary: ImageCleaner scanning interval.
        - name: --enable-imds-restriction
          type: bool
          short-summary: Enable IMDS restriction in the cluster.
          long-summary: Pods without host networking cannot reach the instance metadata endpoint.
    examples:
        - name: Create a Kubernetes cluster with an existing SSH public key.
          text: az aks create -g MyResourceGroup -n MyManagedCluster --ssh-key-value /path/to/publickey
        - name: Create a Kubernetes cluster with IMDS restriction.
          text: |
            az aks create -g MyResourceGroup -n MyManagedCluster --enable-imds-restriction
"""

helps["aks update"] = """
    type: command
    short-summary: Update a managed Kubernetes cluster.
    long-summary: When called with no optional arguments this attempts to move the cluster to its goal state without
                  changing the current cluster configuration. This can be used to move out of a non succeeded state.
    parameters:
        - name: --tags
          type: string
          short-summary: The tags of the managed cluster.
        - name: --enable-image-cleaner
          type: bool
          short-summary: Enable ImageCleaner Service.
        - name: --disable-image-cleaner
          type: bool
          short-summary: Disable ImageCleaner Service.
        - name: --image-cleaner-interval-hours
          type: int
          short-summary: ImageCleaner scanning interval.
        - name: --enable-imds-restriction
          type: bool
          short-summary: Enable IMDS restriction in the cluster.
    examples:
      - name: Reconcile the cluster back to its current state.
        text: az aks update -g MyResourceGroup -n MyManagedCluster
      - name: Enable IMDS restriction on an existing cluster.
        text: az aks update -g MyResourceGroup -n MyManagedCluster --enable-imds-restriction
"""
