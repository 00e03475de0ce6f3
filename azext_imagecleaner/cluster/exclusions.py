"""Exclusion lists as Eraser reads them (pure).

Eraser reads ConfigMaps in kube-system labelled `eraser.sh/exclude.list=true`,
and of each the first data key ending in `.json`, holding
`{"excluded": [patterns]}`. A ConfigMap whose key does not end in `.json` is
silently ignored by Eraser: here it is reported. `eraser-system-exclusion` is
AKS's own list and read-only. The extension's own list is edited by `access.steps.EditJsonList`, in the same
plan (and the same AKS run-command) as the read it depends on.
"""

import json

NAMESPACE = "kube-system"
LABEL = "eraser.sh/exclude.list"
SELECTOR = f"{LABEL}=true"
SYSTEM_LIST = "eraser-system-exclusion"
USER_LIST = "imagecleaner-exclusions"
USER_KEY = "excluded.json"


def read_list(configmap):
    """One ConfigMap as a row: which list it is, the key Eraser reads, its patterns, and any problem."""
    meta = configmap.get("metadata") or {}
    data = configmap.get("data") or {}
    name = meta.get("name")
    system = name == SYSTEM_LIST
    row = {
        "configMap": name,
        "kind": "system" if system else ("user (this extension)" if name == USER_LIST else "user"),
        "readOnly": system,
        "key": None,
        "excluded": [],
        "problem": None,
    }
    # AKS's own list is read whatever its key; user lists only through a key ending in .json.
    keys = sorted(data) if system else [k for k in sorted(data) if k.endswith(".json")][:1]
    if not keys:
        row["problem"] = f"ignored by Eraser: no data key ends in '.json' (keys: {', '.join(sorted(data)) or 'none'})"
        return row
    row["key"] = keys[0]
    for key in keys:
        try:
            patterns = json.loads(data[key]).get("excluded")
        except (ValueError, AttributeError):
            patterns = None
        if not isinstance(patterns, list):
            row["problem"] = f"ignored by Eraser: key '{key}' does not hold {{\"excluded\": [...]}}"
            return row
        row["excluded"] += [p for p in patterns if isinstance(p, str)]
    return row


def read_lists(configmaps):
    """Rows for the system list and every labelled user list, system first."""
    rows = [read_list(c) for c in configmaps]
    return sorted(rows, key=lambda r: (not r["readOnly"], r["configMap"] or ""))
