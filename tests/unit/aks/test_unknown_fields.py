"""Keeping fields an older, msrest-style SDK does not know (pure parts)."""

from azext_imagecleaner.aks.unknown_fields import known_paths, restore_unknown


class Model:
    pass


def model(**attribute_map):
    cls = type("M", (Model,), {})
    cls._attribute_map = {name: {"key": key, "type": kind} for name, (key, kind) in attribute_map.items()}
    return cls


MODELS = {
    "ManagedCluster": model(
        id=("id", "str"),
        tags=("tags", "{str}"),
        security_profile=("properties.securityProfile", "SecurityProfile"),
        agent_pool_profiles=("properties.agentPoolProfiles", "[Pool]"),
        addon_profiles=("properties.addonProfiles", "{Addon}"),
        extra=("properties.anything", "object"),
    ),
    "SecurityProfile": model(image_cleaner=("imageCleaner", "ImageCleaner")),
    "ImageCleaner": model(enabled=("enabled", "bool"), interval_hours=("intervalHours", "int")),
    "Pool": model(name=("name", "str"), count=("count", "int")),
    "Addon": model(enabled=("enabled", "bool"), config=("config", "{str}")),
}
KNOWN = known_paths("ManagedCluster", MODELS)


def test_known_paths_follow_flattening_lists_and_maps():
    assert ("properties", "securityProfile", "imageCleaner", "intervalHours") in KNOWN
    assert ("properties", "agentPoolProfiles", "[]", "count") in KNOWN
    assert ("properties", "addonProfiles", "{}", "config", "{}", "*") in KNOWN
    assert ("properties", "futureProfile") not in KNOWN


def test_unknown_fields_come_back_at_every_level():
    read = {
        "id": "x",
        "kind": "Base",
        "tags": {"a": "1"},
        "properties": {
            "futureProfile": {"enabled": True},
            "securityProfile": {"imageCleaner": {"enabled": False, "intervalHours": 72, "futureKnob": "k"}},
            "agentPoolProfiles": [{"name": "p1", "count": 3, "futurePoolField": 1}],
            "addonProfiles": {"omsagent": {"enabled": True, "futureAddonField": 2}},
            "anything": {"free": "form"},
        },
    }
    sent = {
        "tags": {"a": "1"},
        "properties": {
            "securityProfile": {"imageCleaner": {"enabled": True, "intervalHours": 72}},
            "agentPoolProfiles": [{"name": "p1", "count": 3}],
            "addonProfiles": {"omsagent": {"enabled": True}},
            "anything": {"free": "form"},
        },
    }
    restored = restore_unknown(read, sent, KNOWN)
    assert restored["kind"] == "Base"
    assert restored["properties"]["futureProfile"] == {"enabled": True}
    assert restored["properties"]["securityProfile"]["imageCleaner"] == {
        "enabled": True,
        "intervalHours": 72,
        "futureKnob": "k",
    }
    assert restored["properties"]["agentPoolProfiles"][0]["futurePoolField"] == 1
    assert restored["properties"]["addonProfiles"]["omsagent"]["futureAddonField"] == 2


def test_known_fields_the_sdk_left_out_stay_out():
    read = {"id": "/subscriptions/x", "tags": {"a": "1", "b": "2"}, "properties": {"anything": {"x": 1}}}
    sent = {"tags": {"a": "1"}, "properties": {}}
    assert restore_unknown(read, sent, KNOWN) == {"tags": {"a": "1"}, "properties": {}}


def test_lists_of_another_length_are_left_as_sent():
    read = {"properties": {"agentPoolProfiles": [{"name": "p1", "x": 1}, {"name": "p2", "x": 2}]}}
    sent = {"properties": {"agentPoolProfiles": [{"name": "p1"}]}}
    assert restore_unknown(read, sent, KNOWN) == sent
