"""The plan steps' rules, and their run-command script pieces run by the real jq, awk and sh of this machine.

Both transports must apply the same rules: the API-server one in Python (`steps`), the run-command one in the
script (`_kubectl`, with jq and awk in the pod). These tests run the script's own programs on the same inputs
and compare. jq, awk, sort and sh are installed by scripts/setup.sh where missing; a missing one fails here.
"""

import json
import shlex
import shutil
import subprocess

import pytest

from azext_imagecleaner.access import _kubectl, steps

LABEL = (("eraser.sh/exclude.list", "true"),)


def edit(add=(), remove=(), labels=LABEL):
    return steps.EditJsonList(
        "kube-system", "imagecleaner-exclusions", "excluded.json", "excluded", labels, add, remove
    )


def configmap(data, labels=None, version="7"):
    return {
        "metadata": {"name": "imagecleaner-exclusions", "namespace": "kube-system", "resourceVersion": version}
        | ({"labels": labels} if labels is not None else {}),
        "data": data,
    }


CASES = [
    (None, edit(add=("a/*", "b:*"))),
    (configmap({"excluded.json": '{"excluded": ["a/*", "c"]}'}, {"owner": "me"}), edit(add=("b", "a/*"))),
    (configmap({"excluded.json": '{"excluded": ["a/*", "c", "a/*"]}'}), edit(remove=("a/*", "zzz"))),
    (configmap({"excluded.json": "not json"}), edit(add=("x",))),
    (configmap({"excluded.json": '["a"]', "other": "kept?"}), edit(add=("y",), remove=("y",))),
    (configmap({"excluded.json": '{"excluded": [1, "s", null]}'}), edit(remove=("s",))),
    (configmap({}), edit(add=("registry.example.com/app:*",))),
]


@pytest.mark.parametrize(("current", "step"), CASES)
def test_jq_in_the_script_edits_the_list_as_the_python_rule_does(current, step):
    jq = shutil.which("jq")
    assert jq, "jq is missing: scripts/setup.sh installs it (the run-command image has it, aks-access.md §4)"
    body, missing = steps.edit_json_list(current, step)
    completed = subprocess.run(
        [
            jq, "-c",
            "--argjson", "add", json.dumps(list(step.add)),
            "--argjson", "remove", json.dumps(list(step.remove)),
            "--argjson", "labels", json.dumps(dict(step.labels)),
            "--arg", "key", step.key, "--arg", "field", step.field,
            "--arg", "name", step.name, "--arg", "ns", step.namespace,
            _kubectl._EDIT_JSON_LIST,
        ],
        input=json.dumps(current),
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    assert json.loads(completed.stdout) == {"configmap": body, "missing": missing}
    # Byte for byte: the stored JSON is the same whichever transport wrote it.
    assert json.loads(completed.stdout)["configmap"]["data"] == body["data"]


def test_edit_rule():
    body, missing = steps.edit_json_list(
        configmap({"excluded.json": '{"excluded": ["a", "b"]}'}), edit(("c",), ("a", "z"))
    )
    assert body["data"] == {"excluded.json": '{"excluded":["b","c"]}'}
    assert missing == ["z"]
    assert body["metadata"] == {
        "name": "imagecleaner-exclusions",
        "namespace": "kube-system",
        "labels": {"eraser.sh/exclude.list": "true"},
        "resourceVersion": "7",  # so that a concurrent change is a 409
    }
    created, _ = steps.edit_json_list(None, edit(("a",)))
    assert "resourceVersion" not in created["metadata"]


@pytest.mark.parametrize(
    ("sizes", "budget"),
    [([10, 20, 30], 100), ([10, 500, 600], 300), ([0, 0], 10), ([100, 100, 100, 100], 250), ([7], 3), ([], 5)],
)
def test_the_script_s_awk_shares_the_log_budget_as_the_python_rule_does(sizes, budget):
    limits = steps.log_limits(sizes, budget)
    assert sum(limits) <= budget and all(0 <= limit <= size for limit, size in zip(limits, sizes, strict=True))
    if sum(sizes) <= budget:
        assert limits == sizes
    index = "".join(f"{i}|pod|node|Running|c|{size}\n" for i, size in enumerate(sizes))
    completed = subprocess.run(
        [
            "sh", "-c",
            f'sort -t "|" -k6,6n -k1,1n | awk -F "|" -v left={budget} -v count={len(sizes)} '
            f"{shlex.quote(_kubectl.LOG_LIMITS_AWK)}",
        ],
        input=index,
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    from_awk = dict(line.split("|") for line in completed.stdout.splitlines())
    assert [int(from_awk[str(i)]) for i in range(len(sizes))] == limits


def test_log_limits_share_fairly():
    assert steps.log_limits([10, 500, 600], 300) == [10, 145, 145]
    assert steps.log_limits([100] * 4, 250) == [62, 62, 63, 63]


def test_wait_state():
    assert steps.wait_state(None, "u") == "gone"
    assert steps.wait_state({"metadata": {"uid": "v"}}, "u") == "replaced"
    assert steps.wait_state({"metadata": {"uid": "u"}, "status": {"timestamp": "t"}}, "u") == "finished"
    assert steps.wait_state({"metadata": {"uid": "u"}, "status": {}}, "u") is None


def test_split_output_reads_each_step_and_stops_at_a_cut():
    mark = "@@ic-n"
    logs = (
        f'{mark} out 0@@\n{{"a": 1}}\n{mark} err 0 rc=0@@\n\n{mark} end 0@@\n'
        f"{mark} out 1@@\n\n{mark} err 1 rc=1@@\nError from server (Forbidden): no\n{mark} end 1@@\n"
    )
    outputs, complete = _kubectl.split_output(logs, "n", 3)
    assert not complete
    assert outputs == [
        _kubectl.StepOutput('{"a": 1}', "", 0),
        _kubectl.StepOutput("", "Error from server (Forbidden): no", 1),
    ]
    cut, complete = _kubectl.split_output(logs[:30], "n", 1)
    assert (cut, complete) == ([], False)


def test_logs_and_chunks_are_read_between_their_markers():
    text = "@@ic-n log p1\tnode-0\tRunning\tremover\t12\t5@@\nabcde\n@@ic-n log p2\t\tPending\tcollector\t0\t0@@\n\n"
    assert _kubectl.read_logs(text, "n") == [
        {"pod": "p1", "node": "node-0", "phase": "Running", "container": "remover", "log": "abcde", "size": 12,
         "shown": 5},
        {"pod": "p2", "node": None, "phase": "Pending", "container": "collector", "log": "", "size": 0, "shown": 0},
    ]  # fmt: skip
    assert _kubectl.read_chunks("@@ic-n chunk p1\tremover\t5@@\nfghijkl\n", "n") == {("p1", "remover", 5): "fghijkl"}


def test_the_script_quotes_what_it_is_given_and_frames_each_step():
    text, manifests = _kubectl.script(
        [
            steps.Read("configmaps", "kube-system", "x'; rm -rf /"),
            steps.Recreate("imagelists", {"metadata": {"name": "imagelist"}}),
        ],
        "n0nce",
    )
    assert "'x'\"'\"'; rm -rf /'" in text
    assert 'emit 0 "$rc"' in text and 'emit 1 "$rc"' in text and "M=@@ic-n0nce" in text
    assert manifests == {"manifest-1.json": {"metadata": {"name": "imagelist"}}}
