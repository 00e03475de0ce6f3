"""Waiting for many clusters' long-running operations from one place, once their PUTs are accepted.

AKS runs each cluster's operation by itself, side by side, in about 2 minutes (azure-cli's recording
test_aks_update_with_image_cleaner: 12:02:53 to 12:04:54), so a fleet waits about one operation, not one after
another. ARM's read budget (a bucket of 250, refilled at 25 a second per subscription) admits a poll of each of
1,000 operations every 30 s many times over; polls still pause with their subscription after a 429
(`fleet.pacing`). AKS's operation status carries no Retry-After, so polls follow POLL_INTERVALS: shorter at
first, then azure-core's default of 30 s. Where a Retry-After is sent, it is honoured.
"""

import heapq
import itertools
import threading
import time

from azure.mgmt.core.polling.arm_polling import ARMPolling

# Seconds between one operation's polls when the service sends no Retry-After: a change that ends in seconds is
# seen in seconds, one of AKS's 2 minutes is polled 6 times.
POLL_INTERVALS = (5, 10, 15, 30)
# A poll whose answer could not be read is tried again; this many in a row, or unread for longer than the retry
# budget, and the end is "not confirmed".
MAX_UNREADABLE_POLLS = 3
POLL_THREADS = 8


def poll_delay(polls_done, retry_after=None):
    """Seconds until an operation's next poll, after `polls_done` polls (pure). azure-core treats a Retry-After of
    0 as absent (../shared/offline-az.md), and so does this."""
    if retry_after is not None and retry_after > 0:
        return float(retry_after)
    return float(POLL_INTERVALS[min(polls_done, len(POLL_INTERVALS) - 1)])


def retry_after_of(headers):
    """Retry-After in seconds, when the answer gives it in seconds (as ARM does), else None (pure)."""
    try:
        return float(headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


class SteppedPolling(ARMPolling):
    """ARM's polling of one operation, stepped by the Waiter instead of by a thread of its own.

    The SDK's LROPoller calls `run` in a thread it starts for the operation; here `run` returns at once, and
    `Waiter` calls `update_status` (one poll) when the operation is due. ARM's own rules still read the answers:
    which header to follow, what each status means.
    """

    def __init__(self):
        super().__init__(timeout=POLL_INTERVALS[-1])
        self.status_url = None
        self.last_answer = None

    def initialize(self, client, initial_response, deserialization_callback):
        super().initialize(client, initial_response, deserialization_callback)
        headers = initial_response.http_response.headers
        self.status_url = headers.get("Azure-AsyncOperation") or headers.get("Location")
        self.last_answer = initial_response

    def run(self):
        """The LROPoller's thread ends here; the Waiter polls."""

    def request_status(self, status_link):
        self.last_answer = super().request_status(status_link)
        return self.last_answer

    def retry_after(self):
        return retry_after_of(self.last_answer.http_response.headers) if self.last_answer else None

    def error(self):
        """The operation's {code, message} from its last answer, when it ended Failed or Canceled."""
        try:
            body = self.last_answer.http_response.json()
        except (AttributeError, ValueError):
            return {}
        return (body.get("error") or {}) if isinstance(body, dict) else {}


class Operation:
    """One accepted PUT being waited for: its cluster, its polling, and the row to finish."""

    def __init__(self, target, polling, row):
        self.target, self.polling, self.row = target, polling, row
        self.polls, self.unreadable = 0, 0
        self.unreadable_since = None


class Waiter:  # pylint: disable=too-many-instance-attributes  # the schedule's state, under one condition
    """Polls every added operation when it is due, on a few threads, until each ends or `deadline` passes.

    `finish(operation, status, error)` is called once per operation: status is the operation's end ("succeeded",
    "failed", "canceled"), "unreadable" (its end could not be read) or "running" (still running at the deadline).
    """

    def __init__(self, pacer, deadline, finish, threads=POLL_THREADS, clock=time.monotonic, budget=None):
        """`budget`: seconds an operation's end may stay unreadable (the retry budget), None for no bound."""
        self.pacer, self.deadline, self.finish, self.clock = pacer, deadline, finish, clock
        self.budget = budget
        self.condition = threading.Condition()
        self.due = []  # heap of (when, sequence, operation)
        self.sequence = itertools.count()
        self.closed = False
        self.polling_now = 0
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def add(self, operation):
        with self.condition:
            delay = poll_delay(0, operation.polling.retry_after())
            heapq.heappush(self.due, (self.clock() + delay, next(self.sequence), operation))
            self.condition.notify()

    def close(self):
        """No more operations will be added: the threads end once every one has ended."""
        with self.condition:
            self.closed = True
            self.condition.notify_all()

    def join(self):
        for thread in self.threads:
            thread.join()

    def _next(self):
        """The next operation due, waiting for it; None once closed and all done, or at the deadline."""
        with self.condition:
            while True:
                now = self.clock()
                if now >= self.deadline:
                    return None
                if not self.due:
                    if self.closed and not self.polling_now:
                        return None
                    self.condition.wait(min(1.0, self.deadline - now))
                    continue
                when, _, operation = self.due[0]
                # A subscription paused by a 429 is not polled until its pause ends.
                when = max(when, self.pacer.paused_until(operation.target.subscription))
                if when <= now:
                    heapq.heappop(self.due)
                    self.polling_now += 1
                    return operation
                self.condition.wait(min(when, self.deadline) - now)

    def _work(self):
        while True:
            operation = self._next()
            if operation is None:
                break
            status, error = self._poll(operation)
            with self.condition:
                self.polling_now -= 1
                if status is None:
                    delay = poll_delay(operation.polls, operation.polling.retry_after())
                    heapq.heappush(self.due, (self.clock() + delay, next(self.sequence), operation))
                self.condition.notify_all()
            if status is not None:
                self.finish(operation, status, error)
        self._end_running()

    def _poll(self, operation):
        """One poll: (end, error) once the operation has ended or cannot be read, else (None, None)."""
        polling = operation.polling
        operation.polls += 1
        try:
            polling.update_status()
        except Exception as ex:  # noqa: BLE001 - a poll that fails is tried again, and then reported in the row
            return ("unreadable", ex) if self._gives_up(operation) else (None, None)
        operation.unreadable, operation.unreadable_since = 0, None
        status = (polling.status() or "").lower()
        if status in ("succeeded", "failed", "canceled"):
            return status, polling.error() if status != "succeeded" else None
        return None, None

    def _gives_up(self, operation):
        """After a poll that failed: whether its end stays unread (MAX_UNREADABLE_POLLS in a row, or a next poll,
        paused by a 429's Retry-After, past the retry budget)."""
        now = self.clock()
        operation.unreadable += 1
        operation.unreadable_since = operation.unreadable_since or now
        if operation.unreadable >= MAX_UNREADABLE_POLLS:
            return True
        next_poll = max(now + poll_delay(operation.polls), self.pacer.paused_until(operation.target.subscription))
        return self.budget is not None and next_poll - operation.unreadable_since > self.budget

    def _end_running(self):
        """At the deadline: whatever is still due is still running (one thread takes them all)."""
        with self.condition:
            left, self.due = self.due, []
        for _, _, operation in sorted(left):
            self.finish(operation, "running", None)
