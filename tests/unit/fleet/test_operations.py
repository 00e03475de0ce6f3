"""The fleet's waiting for accepted operations (`fleet.operations`): the poll schedule, and the Waiter's endings."""

import threading
import time

from azext_imagecleaner.fleet.operations import POLL_INTERVALS, Operation, Waiter, poll_delay, retry_after_of
from azext_imagecleaner.fleet.pacing import Pacer
from azext_imagecleaner.fleet.selection import Target


def test_without_retry_after_polls_start_short_and_settle_at_azure_cores_30_seconds():
    assert [poll_delay(n) for n in range(6)] == [5.0, 10.0, 15.0, 30.0, 30.0, 30.0]
    assert POLL_INTERVALS[-1] == 30
    assert sum(poll_delay(n) for n in range(6)) == 120  # AKS's 2 minutes are seen at the 6th poll


def test_retry_after_is_honoured_and_zero_counts_as_none():
    assert poll_delay(0, 2) == 2.0
    assert poll_delay(4, 0) == 30.0
    assert retry_after_of({"Retry-After": "7"}) == 7.0
    assert retry_after_of({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}) is None
    assert retry_after_of({}) is None


class ScriptedPolling:
    """An operation's polling that answers a script of statuses, one per poll (an Exception is raised)."""

    def __init__(self, script, retry_after=0.02, error=None):
        self.script, self.after, self.err = list(script), retry_after, error
        self.current, self.polled_at = "InProgress", []

    def update_status(self):
        self.polled_at.append(time.monotonic())
        answer = self.script.pop(0) if self.script else self.current
        if isinstance(answer, Exception):
            raise answer
        self.current = answer

    def status(self):
        return self.current

    def retry_after(self):
        return self.after

    def error(self):
        return self.err or {}


def wait_for(operations, deadline_in=5.0, pacer=None):
    ended, lock = {}, threading.Lock()

    def finish(operation, status, error):
        with lock:
            ended[operation.target.name] = (status, error)

    waiter = Waiter(pacer or Pacer(ceiling=10), time.monotonic() + deadline_in, finish, threads=2)
    for name, polling in operations.items():
        waiter.add(Operation(Target("sub", "rg", name), polling, {"name": name}))
    waiter.close()
    waiter.join()
    return ended


def test_each_operation_ends_as_its_status_says():
    failed = {"code": "VMExtensionProvisioningError", "message": "no"}
    ended = wait_for(
        {
            "ok": ScriptedPolling(["InProgress", "Succeeded"]),
            "bad": ScriptedPolling(["Failed"], error=failed),
            "stopped": ScriptedPolling(["InProgress", "Canceled"]),
        }
    )
    assert ended == {"ok": ("succeeded", None), "bad": ("failed", failed), "stopped": ("canceled", {})}


def test_a_poll_that_fails_is_tried_again_and_three_in_a_row_leave_the_end_unread():
    broken = OSError("connection reset")
    ended = wait_for(
        {
            "recovers": ScriptedPolling([broken, broken, "Succeeded"]),
            "lost": ScriptedPolling([broken, broken, broken]),
        }
    )
    assert ended["recovers"] == ("succeeded", None)
    assert ended["lost"] == ("unreadable", broken)


def test_a_poll_paused_past_the_retry_budget_leaves_the_end_unread_at_once():
    pacer = Pacer(ceiling=10)
    throttled = OSError("429 Too Many Requests")

    class Throttled(ScriptedPolling):
        def update_status(self):
            # ARM answers the poll 429 with a Retry-After of 20 s, which pauses the subscription (fleet.pacing)
            pacer.observe("sub", 429, retry_after=20)
            super().update_status()

    ended, lock = {}, threading.Lock()

    def finish(operation, status, error):
        with lock:
            ended[operation.target.name] = (status, error, time.monotonic())

    started = time.monotonic()
    waiter = Waiter(pacer, started + 30, finish, threads=2, budget=1.0)
    waiter.add(Operation(Target("sub", "rg", "paused"), Throttled([throttled, "Succeeded"]), {"name": "paused"}))
    waiter.close()
    waiter.join()
    status, error, when = ended["paused"]
    assert (status, error) == ("unreadable", throttled)
    assert when - started < 5  # not held for the 20 s pause


def test_what_still_runs_at_the_deadline_is_reported_running_once():
    slow = ScriptedPolling([], retry_after=0.05)
    started = time.monotonic()
    ended = wait_for({"slow": slow, "fast": ScriptedPolling(["Succeeded"])}, deadline_in=0.5)
    assert ended == {"slow": ("running", None), "fast": ("succeeded", None)}
    assert 0.5 <= time.monotonic() - started < 2
    assert len(slow.polled_at) >= 3


def test_a_subscription_paused_by_a_429_is_not_polled_until_its_pause_ends():
    pacer = Pacer(ceiling=10)
    pacer.observe("sub", 429, retry_after=0.6)
    polling = ScriptedPolling(["Succeeded"])
    added = time.monotonic()
    assert wait_for({"held": polling}, pacer=pacer) == {"held": ("succeeded", None)}
    assert polling.polled_at[0] - added >= 0.5
