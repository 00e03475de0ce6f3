"""Keep the fields an older SDK does not know when a cluster is written back.

azure-mgmt-containerservice 41+ (az 2.85+) keeps unknown fields in its
models. Older, msrest-style SDKs (az 2.76 ships 38) drop every field their
models do not declare, so a read-modify-write would silently delete newer
settings of the cluster. This pipeline policy remembers each managedClusters
document the client read and, on the PUT of the same cluster, adds back what
the SDK dropped because it did not know it. Read-only fields, which the SDK
drops on purpose, are declared and so are never added back.
"""

import copy
import json
import re

from azure.core.pipeline.policies import SansIOHTTPPolicy

ANY_KEY = "{}"  # a map of named entries (tags, addonProfiles)
ANY_ITEM = "[]"  # the items of a list
FREE_FORM = "*"  # an object the SDK keeps whole
_CLUSTER_PATH = re.compile(
    r"/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.containerservice/"
    r"managedclusters/[^/]+$",
    re.IGNORECASE,
)


def _key_parts(key):
    """msrest flattens with '.' and escapes a literal dot as '\\.'."""
    return tuple(part.replace("\\.", ".") for part in re.split(r"(?<!\\)\.", key))


def known_paths(model_name, models, prefix=(), visiting=()):
    """Every JSON path the SDK's models declare under `model_name` (msrest `_attribute_map`)."""
    model = models.get(model_name)
    paths = set()
    if model is None or model_name in visiting:
        return paths
    for description in getattr(model, "_attribute_map", {}).values():
        path = prefix + _key_parts(description["key"])
        paths.update(path[:i] for i in range(len(prefix) + 1, len(path) + 1))
        kind = description["type"]
        nested = ()
        while kind[:1] in "[{" and kind:
            nested += (ANY_ITEM if kind[0] == "[" else ANY_KEY,)
            kind = kind[1:-1]
        if kind in models:
            paths |= known_paths(kind, models, path + nested, (*visiting, model_name))
        elif kind == "object" or nested:
            paths.add(path + nested + (FREE_FORM,))
    return paths


def _known(path, known):
    if path in known:
        return True
    return any((*path[:i], FREE_FORM) in known for i in range(len(path) + 1))


def restore_unknown(read, sent, known, path=()):
    """Add to `sent` (in place) what `read` holds under paths the SDK does not know; returns `sent`."""
    if isinstance(read, dict) and isinstance(sent, dict):
        map_of_entries = (*path, ANY_KEY) in known or any(p[: len(path) + 1] == (*path, ANY_KEY) for p in known)
        for key, value in read.items():
            child = path + ((ANY_KEY,) if map_of_entries else (key,))
            if key not in sent:
                if not _known(child, known):
                    sent[key] = copy.deepcopy(value)
            else:
                restore_unknown(value, sent[key], known, child)
    elif isinstance(read, list) and isinstance(sent, list) and len(read) == len(sent):
        for old, new in zip(read, sent, strict=True):
            restore_unknown(old, new, known, (*path, ANY_ITEM))
    return sent


class KeepUnknownFields(SansIOHTTPPolicy):
    """Remember each cluster document read; put back what the SDK dropped when it is written."""

    def __init__(self):
        super().__init__()
        self.models = None  # set once the client exists: the SDK's model classes by name
        self._read = {}
        self._known = None

    def on_response(self, request, response):
        http_request = request.http_request
        path = http_request.url.split("?", 1)[0]
        if http_request.method == "GET" and _CLUSTER_PATH.search(path) and response.http_response.status_code == 200:
            try:
                self._read[path.lower()] = json.loads(response.http_response.text())
            except ValueError:
                pass

    def on_request(self, request):
        http_request = request.http_request
        path = http_request.url.split("?", 1)[0].lower()
        read = self._read.get(path)
        if http_request.method != "PUT" or read is None or not self.models:
            return
        if self._known is None:
            self._known = known_paths("ManagedCluster", self.models)
        body = json.loads(http_request.body)
        http_request.set_json_body(restore_unknown(read, body, self._known))
