"""Trials of many threads deserializing clusters at once in processes whose SDK model tables are unbuilt.

Run as a script by test_models_threads.py, so the parent that forks the trials is fresh too:
`python models_race.py TRIALS [--resolve]` prints how many trials had a thread fail.
"""

import json
import os
import sys
import threading

THREADS = 50
# The recorded cluster of test_aks_update_with_image_cleaner, trimmed to what the rules read.
CLUSTER = {
    "location": "westus2",
    "properties": {
        "provisioningState": "Succeeded",
        "securityProfile": {"imageCleaner": {"enabled": False, "intervalHours": 72}},
        "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "osType": "Linux"}],
        "addonProfiles": {"omsagent": {"enabled": True, "config": {}}},
    },
}


def fails_in_threads(models, deserialize):
    """How many of THREADS threads, started together, fail to read a freshly deserialized cluster's rules data."""
    failures, barrier = [], threading.Barrier(THREADS)

    def read_one():
        barrier.wait()
        try:
            mc = deserialize(models.ManagedCluster, json.loads(json.dumps(CLUSTER)))
            assert mc.security_profile.image_cleaner.enabled is False
            assert mc.agent_pool_profiles[0].os_type == "Linux"
            assert mc.addon_profiles["omsagent"].enabled is True
        except Exception as ex:  # noqa: BLE001 - counted
            failures.append(ex)

    threads = [threading.Thread(target=read_one) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(failures)


def main(trials, resolve):
    from azure.mgmt.containerservice import models
    from azure.mgmt.containerservice._utils.model_base import Model, _deserialize

    from azext_imagecleaner.azure.arm import resolve_models

    if any(name.startswith(models.__name__) for name in Model._calculated):
        sys.exit("the model tables were built before the trials: they would prove nothing")
    failed = 0
    for _ in range(trials):
        pid = os.fork()
        if pid == 0:
            sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race shows in few trials
            if resolve:
                resolve_models()
            os._exit(min(fails_in_threads(models, _deserialize), 1))
        _, status = os.waitpid(pid, 0)
        failed += os.waitstatus_to_exitcode(status)
    print(failed)


if __name__ == "__main__":
    main(int(sys.argv[1]), "--resolve" in sys.argv[2:])
