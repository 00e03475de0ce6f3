"""Managed cluster documents as AKS shapes them: pure functions, no I/O."""

import copy
import json
import os
import uuid

from armemulator.arm.errors import ArmError

PROVIDER = "Microsoft.ContainerService"
TYPE = f"{PROVIDER}/managedClusters"
IMAGE_CLEANER_MIN, IMAGE_CLEANER_MAX = 24, 2160

# Fields the service owns: a PUT cannot change them, and they are kept from the stored document.
_READ_ONLY_PROPERTIES = (
    "provisioningState",
    "powerState",
    "fqdn",
    "azurePortalFQDN",
    "maxAgentPools",
    "currentKubernetesVersion",
    "privateFQDN",
    "resourceUID",
)


_READ_ONLY_POOL_PROPERTIES = ("currentOrchestratorVersion", "nodeImageVersion", "powerState")


def cluster_id(subscription, resource_group, name):
    return f"/subscriptions/{subscription}/resourcegroups/{resource_group}/providers/{TYPE}/{name}"


def new_etag():
    return str(uuid.uuid4())


def _fake_guid(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def validate_put(body, existing):
    """The checks AKS makes on a managedClusters PUT body, as the service words them."""
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
    if existing is None and not body.get("location"):
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid: 'properties' is not an object.")
    cleaner = (properties.get("securityProfile") or {}).get("imageCleaner")
    if cleaner is not None:
        hours = cleaner.get("intervalHours")
        if hours is not None and (not isinstance(hours, int) or isinstance(hours, bool)):
            raise ArmError(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: "
                f"Error converting value \"{hours}\" to type 'System.Int32'. "
                "Path 'properties.securityProfile.imageCleaner.intervalHours'.",
            )
        hours = hours or 0
        if not IMAGE_CLEANER_MIN <= hours <= IMAGE_CLEANER_MAX:
            raise ArmError(
                400,
                "InvalidParameter",
                f"ImageCleaner intervalHours {hours} is out of range "
                f"[{IMAGE_CLEANER_MIN} - {IMAGE_CLEANER_MAX}], please correct it.",
            )


def image_cleaner_enabled(body):
    cleaner = ((body.get("properties") or {}).get("securityProfile") or {}).get("imageCleaner") or {}
    return bool(cleaner.get("enabled"))


def stored_document(subscription, resource_group, name, body, *, existing, provisioning_state, tenant=None):
    """The document the service keeps after a PUT of `body` (existing: the stored one, or None; tenant: the
    subscription's)."""
    doc = copy.deepcopy(body)
    doc.pop("eTag", None)
    properties = doc.setdefault("properties", {})
    if existing is not None:
        old_properties = existing.get("properties", {})
        for key in _READ_ONLY_PROPERTIES:
            if key in old_properties:
                properties[key] = old_properties[key]
        doc["location"] = existing["location"]
        if "nodeResourceGroup" in old_properties:
            properties["nodeResourceGroup"] = old_properties["nodeResourceGroup"]
    doc["id"] = cluster_id(subscription, resource_group, name)
    doc["name"] = name
    doc["type"] = TYPE
    version = properties.get("kubernetesVersion") or "1.33.2"
    properties.setdefault("kubernetesVersion", version)
    properties.setdefault("currentKubernetesVersion", version)
    properties.setdefault("dnsPrefix", f"{name}-dns")
    properties.setdefault("fqdn", f"{properties['dnsPrefix']}-{_fake_guid(name)[:8]}.hcp.{doc['location']}.azmk8s.io")
    properties.setdefault("azurePortalFQDN", properties["fqdn"].replace(".hcp.", ".portal.hcp."))
    properties.setdefault("nodeResourceGroup", f"MC_{resource_group}_{name}_{doc['location']}")
    # "If not specified, will use the tenant of the deployment subscription" (aadProfile.tenantID in the spec).
    aad = properties.get("aadProfile")
    if isinstance(aad, dict) and aad.get("managed") and not aad.get("tenantID") and tenant:
        aad["tenantID"] = tenant
    # A private cluster's API server has a private FQDN under privatelink (spec example, aks-access.md §4).
    if (properties.get("apiServerAccessProfile") or {}).get("enablePrivateCluster") and not properties.get(
        "privateFQDN"
    ):
        properties["privateFQDN"] = (
            f"{properties['dnsPrefix']}-{_fake_guid(name, 'private')[:8]}.{_fake_guid(name, 'zone')}"
            f".privatelink.{doc['location']}.azmk8s.io"
        )
    properties.setdefault("maxAgentPools", 100)
    properties.setdefault("networkProfile", {})
    properties.setdefault("powerState", {"code": "Running"})
    properties["provisioningState"] = provisioning_state
    identity = doc.get("identity")
    if identity and identity.get("type") == "SystemAssigned":
        identity.setdefault("principalId", _fake_guid(name, "principal"))
        identity.setdefault("tenantId", _fake_guid("tenant"))
        properties.setdefault("servicePrincipalProfile", {"clientId": "msi"})
        node_rg = properties["nodeResourceGroup"]
        properties.setdefault("identityProfile", {}).setdefault(
            "kubeletidentity",
            {
                "resourceId": f"/subscriptions/{subscription}/resourcegroups/{node_rg}/providers/"
                f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool",
                "clientId": _fake_guid(name, "kubelet-client"),
                "objectId": _fake_guid(name, "kubelet-object"),
            },
        )
    old_pools = {p.get("name"): p for p in ((existing or {}).get("properties") or {}).get("agentPoolProfiles") or []}
    for pool in properties.get("agentPoolProfiles") or []:
        # A pool's read-only fields are the service's: the SDK drops them from a PUT (recorded-arm README).
        for key in _READ_ONLY_POOL_PROPERTIES:
            if key in old_pools.get(pool.get("name"), {}):
                pool[key] = old_pools[pool["name"]][key]
        pool["provisioningState"] = provisioning_state
        pool.setdefault("currentOrchestratorVersion", pool.get("orchestratorVersion") or version)
        pool.setdefault("powerState", {"code": "Running"})
        pool.setdefault("osType", "Linux")
    return doc


def sample_cluster(location="eastus", image_cleaner=None, windows_pool=False, virtual_node=False, tags=None):
    """A PUT body shaped like what `az aks create` sends, for seeding demo and test clusters."""
    pools = [
        {
            "name": "nodepool1",
            "count": 3,
            "vmSize": "Standard_DS2_v2",
            "osType": "Linux",
            "osSKU": "Ubuntu",
            "mode": "System",
            "type": "VirtualMachineScaleSets",
            "orchestratorVersion": "1.33.2",
            "maxPods": 110,
        }
    ]
    if windows_pool:
        pools.append(
            {
                "name": "win1",
                "count": 2,
                "vmSize": "Standard_D4s_v3",
                "osType": "Windows",
                "mode": "User",
                "type": "VirtualMachineScaleSets",
                "orchestratorVersion": "1.33.2",
            }
        )
    properties = {
        "kubernetesVersion": "1.33.2",
        "agentPoolProfiles": pools,
        "enableRBAC": True,
        "networkProfile": {
            "networkPlugin": "azure",
            "networkPluginMode": "overlay",
            "podCidr": "10.244.0.0/16",
            "serviceCidr": "10.0.0.0/16",
            "dnsServiceIP": "10.0.0.10",
            "loadBalancerSku": "standard",
            "outboundType": "loadBalancer",
        },
        "securityProfile": {},
        "addonProfiles": {},
        "oidcIssuerProfile": {"enabled": False},
    }
    if image_cleaner is not None:
        enabled, hours = image_cleaner
        properties["securityProfile"]["imageCleaner"] = {"enabled": enabled, "intervalHours": hours}
    if virtual_node:
        # Virtual nodes need the cluster in a custom VNet, with a subnet of their own.
        vnet = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/net/providers/Microsoft.Network"
        pools[0]["vnetSubnetID"] = f"{vnet}/virtualNetworks/aks-vnet/subnets/nodes"
        properties["addonProfiles"]["aciConnectorLinux"] = {"enabled": True, "config": {"SubnetName": "virtual-node"}}
    return {
        "location": location,
        "tags": dict(tags or {}),
        "sku": {"name": "Base", "tier": "Free"},
        "identity": {"type": "SystemAssigned"},
        "properties": properties,
    }


def with_monitoring(doc, workspace_id):
    """`doc` with the monitoring add-on (Container Insights) sending to `workspace_id`, shaped as az writes it
    (acs/_consts.py: CONST_MONITORING_ADDON_NAME "omsagent", CONST_MONITORING_LOG_ANALYTICS_WORKSPACE_RESOURCE_ID,
    CONST_MONITORING_USING_AAD_MSI_AUTH)."""
    properties = doc.setdefault("properties", {})
    properties["addonProfiles"] = dict(properties.get("addonProfiles") or {})
    properties["addonProfiles"]["omsagent"] = {
        "enabled": True,
        "config": {"logAnalyticsWorkspaceResourceID": workspace_id, "useAADAuth": "true"},
    }
    return doc


RECORDED = ("automatic-aad-2025", "windows-service-principal-2023", "image-cleaner-2023")
_RECORDED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recorded")


def recorded_cluster(which, image_cleaner="as-recorded", tags=None, linux_nodes=None, private=False):
    """A cluster document recorded from the live service (recorded/README.md), to seed the emulator with.

    image_cleaner: "as-recorded", None (no imageCleaner profile), or (enabled, hours); linux_nodes: the first
    pool's node count, where a demo needs more nodes than the recording had; private: a private API server.
    Everything else is as recorded, `null`s and unknown profiles included."""
    with open(os.path.join(_RECORDED_DIR, f"{which}.json"), encoding="utf-8") as f:
        doc = json.load(f)
    properties = doc["properties"]
    security = properties.get("securityProfile")
    if image_cleaner is None and isinstance(security, dict):
        security.pop("imageCleaner", None)
    elif image_cleaner != "as-recorded":
        enabled, hours = image_cleaner
        properties.setdefault("securityProfile", {})["imageCleaner"] = {"enabled": enabled, "intervalHours": hours}
    if tags is not None:
        doc["tags"] = dict(tags)
    if linux_nodes is not None:
        properties["agentPoolProfiles"][0]["count"] = linux_nodes
    if private:
        properties["apiServerAccessProfile"] = dict(properties.get("apiServerAccessProfile") or {})
        properties["apiServerAccessProfile"]["enablePrivateCluster"] = True
        properties["privateFQDN"] = None  # the service names it when the cluster is stored
    return doc
