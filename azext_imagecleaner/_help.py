"""Help for the overridden `aks create` and `aks update`.

Core's help for these commands is kept whole (its parameter texts and
examples); the extension replaces only the entries of its own three flags,
whose texts come from `_params.py`, and adds its examples. The merge parses
YAML, so it runs only when help is asked for.
"""

from knack.help_files import helps

IMAGE_CLEANER_OPTIONS = ("--enable-image-cleaner", "--disable-image-cleaner", "--image-cleaner-interval-hours")

EXAMPLES = {
    "aks create": [
        {
            "name": "Create a cluster with Image Cleaner on, running every 168 hours (one week, the default).",
            "text": "az aks create -g MyResourceGroup -n MyManagedCluster --enable-image-cleaner",
        },
        {
            "name": "Create a cluster with Image Cleaner on, running every 48 hours.",
            "text": "az aks create -g MyResourceGroup -n MyManagedCluster --enable-image-cleaner "
            "--image-cleaner-interval-hours 48",
        },
    ],
    "aks update": [
        {
            "name": "Turn Image Cleaner on, keeping the interval stored on the cluster (168 hours if none).",
            "text": "az aks update -g MyResourceGroup -n MyManagedCluster --enable-image-cleaner",
        },
        {
            "name": "Turn Image Cleaner on with a 72-hour interval.",
            "text": "az aks update -g MyResourceGroup -n MyManagedCluster --enable-image-cleaner "
            "--image-cleaner-interval-hours 72",
        },
        {
            "name": "Change the interval of a cluster where Image Cleaner is already on.",
            "text": "az aks update -g MyResourceGroup -n MyManagedCluster --image-cleaner-interval-hours 336",
        },
        {
            "name": "Turn Image Cleaner off; the interval stays stored for the next enable.",
            "text": "az aks update -g MyResourceGroup -n MyManagedCluster --disable-image-cleaner",
        },
        {
            "name": "Turn Image Cleaner on and set tags in the same update.",
            "text": "az aks update -g MyResourceGroup -n MyManagedCluster --enable-image-cleaner --tags team=platform",
        },
    ],
}

_MERGED_MARK = "x-imagecleaner"


def merge_help(command, help_entries=helps):
    """Fold the extension's examples into `command`'s help and drop core's texts of its flags."""
    examples = EXAMPLES.get(command)
    text = help_entries.get(command)
    if examples is None or (text and _MERGED_MARK in text):
        return
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader) if text else {"type": "command"}
    data["parameters"] = [
        p for p in data.get("parameters") or [] if not _names_an_image_cleaner_option(p.get("name", ""))
    ]
    data["examples"] = list(data.get("examples") or []) + examples
    dumped = yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False, width=1000)
    help_entries[command] = f"# {_MERGED_MARK}\n{dumped}"


def _names_an_image_cleaner_option(name):
    return any(option in name.split() for option in IMAGE_CLEANER_OPTIONS)
