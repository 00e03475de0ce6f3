"""Help for the overridden `aks create` and `aks update`.

Core's help for these commands is kept whole (its parameter texts and
examples); the extension replaces only the entries of its own three flags,
whose texts come from `_params.py`, and adds its examples. The merge runs
only when help is asked for. The `aks image-cleaner` groups' help is below.
"""

import json
import re
import textwrap

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


def merge_help(command, help_entries=None):
    """Fold the extension's examples into `command`'s help and drop core's texts of its flags.

    Works on the YAML text with two regular expressions: parsing and dumping core's long help costs more than
    az's whole help output for these commands, and so does a Python loop over its lines.
    """
    help_entries = helps if help_entries is None else help_entries
    examples = EXAMPLES.get(command)
    text = help_entries.get(command) or "type: command\n"
    if examples is None or _MERGED_MARK in text:
        return
    # Core writes its top-level keys at column 0, aks-preview indents its whole text by 4 spaces (and its examples'
    # items by 6 in `aks update`, 8 in `aks create`): its top level is brought to column 0 first.
    text = textwrap.dedent(text)
    text = _IMAGE_CLEANER_PARAMETER.sub("", text)
    found = _EXAMPLES_SECTION.search(text)
    # The owner's examples' items are indented as they are; ours join them at the same indentation.
    item = _FIRST_ITEM.search(found.group()) if found else None
    indent = item.group("indent") if item else "  "
    example_lines = "".join(
        f"{indent}- name: {json.dumps(example['name'])}\n{indent}  text: {json.dumps(example['text'])}\n"
        for example in examples
    )
    if found:  # append to the owner's examples, before whatever top-level key follows them
        text = text[: found.end()].rstrip("\n") + "\n" + example_lines + text[found.end() :]
    else:
        text = text.rstrip("\n") + "\nexamples:\n" + example_lines
    help_entries[command] = f"# {_MERGED_MARK}\n{text.rstrip()}\n"


# A `parameters:` entry of one of the three flags: its `- name:` line and the more-indented lines under it.
_IMAGE_CLEANER_PARAMETER = re.compile(
    r"^(?P<indent>[ \t]*)- name: [\"']?[^\n]*?(?:"
    + "|".join(re.escape(option) for option in IMAGE_CLEANER_OPTIONS)
    + r")(?![\w-])[^\n]*\n(?:(?P=indent)[ \t]+(?!- )[^\n]*\n|[ \t]*\n)*",
    re.MULTILINE,
)
# The top-level `examples:` key and every line up to the next top-level key (or the end).
_EXAMPLES_SECTION = re.compile(r"^examples:[ \t]*\n(?:(?:[ \t]+[^\n]*|[ \t]*)(?:\n|$))*", re.MULTILINE)
# The first item of a sequence, with its indentation.
_FIRST_ITEM = re.compile(r"^(?P<indent>[ \t]*)- ", re.MULTILINE)


helps["aks image-cleaner"] = """
type: group
short-summary: Run Image Cleaner by hand, manage its exclusion lists, and read its logs and status.
long-summary: >-
    These commands reach the cluster's Kubernetes API with credentials fetched from Azure (kept in memory,
    never written to ~/.kube/config), or with --kubeconfig/--context. On a cluster with managed Azure AD they
    sign in with your az login (user, service principal or managed identity), without kubelogin, and work with
    local accounts disabled; Azure RBAC denials name the role to assign. When the API server cannot be reached
    from here, as for a private cluster outside its network, they go through AKS run command (--transport).
    Image Cleaner must be enabled on the cluster (az aks update --enable-image-cleaner).
"""

helps["aks image-cleaner run"] = """
type: command
short-summary: Start a manual Image Cleaner run that removes the given unused images from every Linux node.
long-summary: >-
    Writes the ImageList named 'imagelist', the only one Eraser acts on. Eraser reacts only to a new list, so an
    existing one is deleted and created again: running the same images twice really runs twice. Running images
    and excluded images are never removed.
examples:
  - name: Remove two images from every node where no container uses them.
    text: >-
        az aks image-cleaner run -g MyResourceGroup -n MyManagedCluster --images docker.io/library/alpine:3.7.3
        docker.io/library/redis:6.0.5
  - name: Remove every unused image and wait for the node counts.
    text: az aks image-cleaner run -g MyResourceGroup -n MyManagedCluster --all --wait
  - name: Run with the admin credentials and give up waiting after five minutes.
    text: >-
        az aks image-cleaner run -g MyResourceGroup -n MyManagedCluster --images myregistry.azurecr.io/app:1.0
        --wait --timeout 300 --admin
  - name: Run on a private cluster from outside its network, through AKS run command.
    text: >-
        az aks image-cleaner run -g MyResourceGroup -n MyPrivateCluster --all --wait --transport run-command
"""

helps["aks image-cleaner exclusion"] = """
type: group
short-summary: Manage the images Image Cleaner never removes.
long-summary: >-
    Eraser reads ConfigMaps in kube-system labelled eraser.sh/exclude.list=true, from their first key ending in
    .json. These commands manage one such list, 'imagecleaner-exclusions', and show every other list, including
    AKS's read-only 'eraser-system-exclusion'.
"""

helps["aks image-cleaner exclusion list"] = """
type: command
short-summary: Show the system exclusion list and every user list, and warn about lists Eraser would ignore.
examples:
  - name: Show every exclusion list of the cluster.
    text: az aks image-cleaner exclusion list -g MyResourceGroup -n MyManagedCluster -o table
"""

helps["aks image-cleaner exclusion add"] = """
type: command
short-summary: Add exclusion patterns to the extension's user list (created when missing).
examples:
  - name: Never remove any image of a registry path, nor any tag of one image.
    text: >-
        az aks image-cleaner exclusion add -g MyResourceGroup -n MyManagedCluster --images 'docker.io/library/*'
        'myregistry.azurecr.io/app:*'
  - name: Never remove one exact image.
    text: >-
        az aks image-cleaner exclusion add -g MyResourceGroup -n MyManagedCluster --images
        docker.io/library/alpine:3.7.3
"""

helps["aks image-cleaner exclusion remove"] = """
type: command
short-summary: Remove exclusion patterns from the extension's user list.
examples:
  - name: Let Image Cleaner remove an image again.
    text: >-
        az aks image-cleaner exclusion remove -g MyResourceGroup -n MyManagedCluster --images
        docker.io/library/alpine:3.7.3
"""

helps["aks image-cleaner logs"] = """
type: command
short-summary: Collect the logs of Image Cleaner's worker pods before they are deleted.
long-summary: >-
    Worker pods are deleted about 10 minutes after a run, and their logs with them. With no worker pod, the
    command says so and points to 'az aks image-cleaner report --since', which reads what Container Insights kept.
examples:
  - name: Save every worker pod's logs to a folder.
    text: az aks image-cleaner logs -g MyResourceGroup -n MyManagedCluster --output-dir ./eraser-logs
  - name: Show the remover's log on one node.
    text: az aks image-cleaner logs -g MyResourceGroup -n MyManagedCluster --node aks-nodepool1-0 --container remover
"""

helps["aks image-cleaner status"] = """
type: command
short-summary: Show Image Cleaner's setting, Eraser's version, the last manual run and the worker pods now running.
examples:
  - name: Show the status as a table.
    text: az aks image-cleaner status -g MyResourceGroup -n MyManagedCluster -o table
  - name: Show the status of a private cluster, giving each AKS run command two minutes.
    text: az aks image-cleaner status -g MyResourceGroup -n MyPrivateCluster --transport run-command --timeout 120
  - name: Use a kubeconfig you already have (for example one converted with kubelogin) and one of its contexts.
    text: >-
        az aks image-cleaner status -g MyResourceGroup -n MyManagedCluster --kubeconfig ./kubeconfig
        --context my-context
"""

helps["aks image-cleaner report"] = """
type: command
short-summary: Show what Image Cleaner removed, from which node, when and why, from its worker logs or its history.
long-summary: >-
    One row per node and image: the outcome (removed, excluded, running, not on node, removal failed, other),
    whether the scanner found it vulnerable (yes, no, or - when no scan ran, as in manual runs), and the time.
    A footer gives the totals per node and outcome. Lines that are not Eraser's are skipped and counted.
    Without --since, the rows come from the worker pods running now (AKS deletes them about 10 minutes after a run)
    or from logs saved with 'az aks image-cleaner logs --output-dir'. With --since, they come from Container
    Insights, which keeps them in the cluster's Log Analytics workspace, for every run in the window, oldest
    first: one query on the cluster's own resource ID (reading the cluster is enough), on the Log Analytics
    endpoint of az's cloud. For a fleet (--all or --ids), one query per workspace, each for at most 100 clusters,
    and a row per cluster: its summary (images removed, vulnerable ones among them, failures, the last run) and
    its images, one entry per image and outcome over the window (on how many nodes, in how many node runs, first
    and last time, whether a scan found it vulnerable, the latest detail), or why there is no history; a query
    that fails costs only its own clusters their history, and the command then exits 1 after printing every row.
    Where nothing was kept, the command says why and how to start keeping it: no monitoring add-on, or an agent
    that leaves kube-system out (ConfigMap kube-system/container-azm-ms-agentconfig).
examples:
  - name: Report on the worker pods running now.
    text: az aks image-cleaner report -g MyResourceGroup -n MyManagedCluster -o table
  - name: Report on logs saved earlier, as JSON rows for a script.
    text: az aks image-cleaner report -g MyResourceGroup -n MyManagedCluster --from-dir ./eraser-logs -o json
  - name: Every run of the last 30 days, after the pods are gone, from Container Insights.
    text: az aks image-cleaner report -g MyResourceGroup -n MyManagedCluster --since 30d -o table
  - name: The last 12 hours, in four figures.
    text: az aks image-cleaner report -g MyResourceGroup -n MyManagedCluster --since 12h --query summary
  - name: Every cluster the login can see over the last 30 days, a row per cluster.
    text: az aks image-cleaner report --all --since 30d -o table
  - name: The clusters of one subscription's resource group, over two weeks, as JSON rows per cluster and image.
    text: az aks image-cleaner report --all --subscriptions Prod -g MyResourceGroup --since P14D -o json
  - name: The vulnerable images each cluster removed in the last 30 days.
    text: >-
        az aks image-cleaner report --all --since 30d
        --query "[].{cluster: name, removed: images[?vulnerable && outcome=='removed'].image}"
  - name: Some clusters by ID, from a file with one ID a line.
    text: az aks image-cleaner report --ids @clusters.txt --since 7d -o table
  - name: Print the Log Analytics query --since runs, to run it yourself in the portal.
    text: >-
        az aks image-cleaner report -g MyResourceGroup -n MyManagedCluster --since 7d --show-query --query query
        -o tsv
"""

helps["aks image-cleaner coverage"] = """
type: command
short-summary: Show whether Image Cleaner is cleaning every node on schedule, and where it is not.
long-summary: >-
    A status for every node, judged against the cluster's latest scheduled run in the window: covered (its worker
    pod completed), missed (it was there when the run began and got no worker pod), failed (its worker pod failed,
    with the reason: OutOfcpu, OOMKilled, ImagePullBackOff, stuck Pending...), overdue (no run reached it within
    the interval plus 2 hours), new (it joined after the run began, less than one interval ago), running,
    unsupported (a Windows node, a virtual node, one the node filter eraser.sh/cleanup.filter leaves out) or
    unknown (the evidence cannot tell). Each node gives its last completed run and how many runs reached it. The
    summary counts each status and the gaps (missed, failed, overdue), gives the latest run and when the next is
    due, and the workload pods the kubelet preempted to admit Image Cleaner's pods. The evidence is Container
    Insights' inventory (nodes, pods and Warning events, sampled every interval, and the workers' logs where
    kube-system is collected), computed in Log Analytics: one query for a cluster, one per workspace for a fleet.
    Where the inventory's interval is long enough for a run to fall between samples, a node without a worker pod is
    unknown, not missed, and the command says so. Without the monitoring add-on, the live cluster gives the run
    in progress or just finished only, and the command says that past runs cannot be judged. The command exits 0
    whenever it could judge, whatever the gaps: a CI gate reads them with --query.
examples:
  - name: Every node of a cluster over the last 30 days.
    text: az aks image-cleaner coverage -g MyResourceGroup -n MyManagedCluster -o table
  - name: The nodes that were not cleaned, with why.
    text: >-
        az aks image-cleaner coverage -g MyResourceGroup -n MyManagedCluster
        --query "nodes[?status=='missed' || status=='failed' || status=='overdue'].[node, status, reason]" -o tsv
  - name: A CI gate that fails when any node was not cleaned.
    text: >-
        test "$(az aks image-cleaner coverage -g MyResourceGroup -n MyManagedCluster --query summary.gaps -o tsv)" = 0
  - name: The workload pods Image Cleaner's pods preempted in the last two weeks.
    text: az aks image-cleaner coverage -g MyResourceGroup -n MyManagedCluster --since 14d --query summary.preempted
  - name: Every cluster the login can see, a row per cluster.
    text: az aks image-cleaner coverage --all -o table
  - name: The clusters of a management group with gaps, and their gap nodes.
    text: >-
        az aks image-cleaner coverage --all --management-group Platform
        --query "[?summary.gaps > `0`].{cluster: name, nodes: gapNodes[].node}"
  - name: Print the Log Analytics query, to run it yourself in the portal.
    text: az aks image-cleaner coverage -g MyResourceGroup -n MyManagedCluster --show-query --query query -o tsv
"""

helps["aks image-cleaner check"] = """
type: command
short-summary: Check Image Cleaner's health on a cluster or a fleet, and say what to run where it is not healthy.
long-summary: >-
    Runs every check it can, each with a status (pass, warn, fail, or skip when it cannot tell, saying why), the
    evidence, and the command or edit that fixes it: the setting; the node pools Image Cleaner never cleans
    (Windows, the virtual node, nodes labelled eraser.sh/cleanup.filter); the way into the cluster (the API server,
    or AKS run-command on a private cluster); the eraser-controller-manager pod (running, ready, restarts, OOMKilled);
    ImageJobs at once and PodTemplates left behind; the worker pods of the latest run (the judgement of 'coverage');
    the scanner (removals of images whose scan failed, which Eraser's deleteFailedImages removes too); Eraser's
    history in Container Insights (the monitoring add-on, kube-system collected by the agent's ConfigMap and by the
    add-on's data collection rule, ContainerLogV2 rather than the retired ContainerLog table, the workspace's
    retention); every exclusion list readable by Eraser; and Eraser's version against the one AKS documents for the
    cluster's Kubernetes version. One cluster takes one read from ARM, one plan of Kubernetes reads (one run-command
    on a private cluster), the workspace and the data collection rule from ARM, and one Log Analytics query (asked
    again in parts only where the service cuts its answer); a read the caller's role does not allow
    makes its checks 'skip', naming the role. With --all or --ids, a row per cluster with its failing and warning
    checks, from Azure Resource Graph (the clusters, their workspaces and their data collection rules) and one Log
    Analytics query per workspace; the checks that need each
    cluster's Kubernetes API are not made there ('notChecked'). The exit code is 1 after the output when any check
    fails; warnings alone exit 0.
examples:
  - name: Check one cluster, a row per check.
    text: az aks image-cleaner check -g MyResourceGroup -n MyManagedCluster -o table
  - name: Only what needs fixing, with the fix.
    text: az aks image-cleaner check -g MyResourceGroup -n MyManagedCluster --query "checks[?status!='pass']"
  - name: A private cluster, through AKS run-command (one run-command for every Kubernetes read).
    text: az aks image-cleaner check -g MyResourceGroup -n MyPrivateCluster --transport run-command
  - name: Every cluster of two subscriptions, a row per cluster with its failing and warning checks.
    text: az aks image-cleaner check --all --subscriptions Prod Dev -o table
  - name: A CI gate that fails the job on any failing check (exit code 1), printing only the errors.
    text: az aks image-cleaner check -g MyResourceGroup -n MyManagedCluster --only-show-errors -o none
  - name: A CI gate that also fails on warnings.
    text: >-
        test "$(az aks image-cleaner check -g MyResourceGroup -n MyManagedCluster --query "summary.warn" -o tsv)" = 0
"""

helps["aks image-cleaner list"] = """
type: command
short-summary: Show every cluster's Image Cleaner setting, across resource groups and subscriptions.
long-summary: >-
    Finds the clusters with one Azure Resource Graph query: in every subscription the login can see, the ones
    given with --subscriptions, or a management group's with --management-group. Where Resource Graph is
    refused, it lists them through Azure Resource Manager, one subscription at a time, and says so.
examples:
  - name: Every cluster the login can see.
    text: az aks image-cleaner list -o table
  - name: The clusters of one resource group in two subscriptions.
    text: az aks image-cleaner list --subscriptions Prod Dev --resource-group MyResourceGroup -o table
  - name: The clusters of a management group where Image Cleaner is off.
    text: az aks image-cleaner list --management-group Platform --query "[?!enabled].name" -o tsv
"""

helps["aks image-cleaner set"] = """
type: command
short-summary: Turn Image Cleaner on or off, or change its interval, on many clusters at once.
long-summary: >-
    Finds the clusters that need the change with one Azure Resource Graph query, then applies the rules of 'az aks
    update' to each, after reading it from Azure Resource Manager. Each subscription is paced by ARM's throttling
    headers and 429s, at most --max-parallel clusters at a time in all. Where the service returns an ETag, each
    update sends If-Match with it and reads the cluster again if someone else changed it (without one, as the live
    service mostly answers, a concurrent change cannot be detected); throttling (429) and 5xx are retried as
    Retry-After asks, within a time budget for each request; a cluster busy with another operation is waited for
    (--busy-timeout). Once a cluster's change is accepted, the next cluster is sent, and every accepted operation
    is waited for at once, as AKS runs them side by side: the whole fleet takes about one operation (about two
    minutes) plus the time to send the changes, until --timeout. With --no-wait the command returns once every
    change is accepted, each row with its operation's URL. A table at the end says what happened to each cluster
    ("changed, not confirmed" when the change was accepted but its end could not be read, "still running" when its
    operation had not ended at --timeout); the exit code is 1 if any cluster failed or is still running, and
    --output-failures writes their IDs. On a terminal, progress (n of N done) is shown on stderr, except with
    --only-show-errors.
examples:
  - name: Turn Image Cleaner on for every cluster the login can see.
    text: az aks image-cleaner set --enable --all
  - name: See what would change in a resource group, without changing anything.
    text: az aks image-cleaner set --enable --interval-hours 72 --resource-group MyResourceGroup --dry-run -o table
  - name: Turn it off on two clusters given by ID.
    text: >-
        az aks image-cleaner set --disable --ids
        /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/c1
        /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/c2
  - name: Every cluster of a management group, keeping the IDs of those that fail or are still running.
    text: az aks image-cleaner set --enable --all --management-group Platform --output-failures failed.txt
  - name: Only the clusters that failed last time, from the file --output-failures wrote.
    text: az aks image-cleaner set --enable --ids @failed.txt
  - name: Every cluster of two subscriptions, at most ten at a time.
    text: az aks image-cleaner set --enable --all --subscriptions Prod Dev --max-parallel 10
  - name: Send the changes and return; later, list the clusters whose operation has not succeeded yet.
    text: |
        az aks image-cleaner set --enable --all --no-wait -o table
        az aks image-cleaner list --query "[?provisioningState!='Succeeded']" -o table
  - name: In CI, give the operations 15 minutes at most, and fail the job if any cluster failed or is still running.
    text: az aks image-cleaner set --enable --all --timeout 900 --only-show-errors -o none
"""
