"""A local emulator of Azure Resource Manager for Microsoft.ContainerService/managedClusters.

It serves HTTPS on 127.0.0.1 with a throwaway CA, a managed-identity token
endpoint, subscriptions, resource groups, managed clusters with long-running
operations, ETags, the service's own validation, throttling and fault
injection, and keeps a log of the requests it was sent. Tests and the sandbox
drive it through `python -m armemulator` and `armemulator.control`.
"""
