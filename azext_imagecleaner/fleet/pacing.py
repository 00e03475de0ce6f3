"""How many clusters of each subscription a fleet command works on at once, paced by ARM's own signals.

ARM budgets requests per subscription (reads: a bucket of 250 refilled at 25 a second; writes: 200 at 10 a
second, under its token-bucket throttling) and says on every answer what is left
(`x-ms-ratelimit-remaining-subscription-reads`/`-writes`, and the `-global-` forms). Each subscription gets its
own limit, moved as TCP moves its window: a slow start (one more cluster at once for each one that finishes, so
the limit doubles each round) until the first sign of pressure, then additive increase (one more after a
limit's worth finished) and multiplicative decrease (half as many after a 429, one fewer when the budget left
runs low), with a pause for as long as a 429's Retry-After asks. A throttled subscription therefore slows only
itself. `--max-parallel` caps every limit. The rules are pure (a clock is passed in); `PacingPolicy` feeds them
from the pipeline.
"""

import threading
import time

START = 4
# Under this many requests left in the subscription's budget, its limit stops growing and shrinks by one.
LOW_REMAINING = 25
_REMAINING = (
    "x-ms-ratelimit-remaining-subscription-global-reads",
    "x-ms-ratelimit-remaining-subscription-reads",
    "x-ms-ratelimit-remaining-subscription-global-writes",
    "x-ms-ratelimit-remaining-subscription-writes",
)


class _Subscription:
    def __init__(self, limit):
        self.limit, self.in_flight, self.finished_at_limit = limit, 0, 0
        self.paused_until, self.last_decrease = 0.0, -1e9
        self.slow_start = True


class Pacer:
    def __init__(self, ceiling, start=START, clock=time.monotonic):
        self.ceiling, self.start, self.clock = ceiling, min(start, ceiling), clock
        self.lock = threading.Lock()
        self.subscriptions = {}
        self.throttled = 0  # 429s seen, for the progress line

    def _of(self, subscription):
        key = (subscription or "").lower()
        if key not in self.subscriptions:
            self.subscriptions[key] = _Subscription(self.start)
        return self.subscriptions[key]

    def try_start(self, subscription):
        """Take a place for one more cluster of the subscription, if its limit and pause allow."""
        with self.lock:
            state = self._of(subscription)
            if state.in_flight >= state.limit or self.clock() < state.paused_until:
                return False
            state.in_flight += 1
            return True

    def finish(self, subscription):
        """A cluster is done: in slow start one more at once; after it, one more once a limit's worth finished."""
        with self.lock:
            state = self._of(subscription)
            state.in_flight -= 1
            state.finished_at_limit += 1
            if state.limit < self.ceiling and (state.slow_start or state.finished_at_limit >= state.limit):
                state.limit += 1
                state.finished_at_limit = 0

    def observe(self, subscription, status, remaining=None, retry_after=None):
        """One answer of ARM for the subscription: its status, what is left of its budget, Retry-After."""
        with self.lock:
            state = self._of(subscription)
            now = self.clock()
            if status == 429:
                self.throttled += 1
                state.paused_until = max(state.paused_until, now + (retry_after or 1))
                self._decrease(state, now, halve=True)
            elif remaining is not None and remaining < LOW_REMAINING:
                self._decrease(state, now, halve=False)

    @staticmethod
    def _decrease(state, now, halve):
        # One decrease per second: a burst of answers from the same moment is one signal, not many.
        if now - state.last_decrease < 1:
            return
        state.limit = max(1, state.limit // 2 if halve else state.limit - 1)
        state.finished_at_limit = 0
        state.slow_start = False
        state.last_decrease = now

    def paused_until(self, subscription):
        """When the subscription's pause after a 429 ends (a time of `clock`; in the past when not paused)."""
        with self.lock:
            return self._of(subscription).paused_until

    def limit(self, subscription):
        with self.lock:
            return self._of(subscription).limit


def remaining_from(headers):
    """The smallest budget left that the answer reports, or None."""
    values = []
    for name in _REMAINING:
        try:
            values.append(int(headers.get(name)))
        except (TypeError, ValueError):
            continue
    return min(values) if values else None


def subscription_of(url):
    parts = url.split("/subscriptions/", 1)
    return parts[1].split("/", 1)[0].split("?", 1)[0] if len(parts) == 2 else None


def pacing_policy(pacer):
    """An azure-core policy that tells `pacer` about every try's answer (429s included)."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class PacingPolicy(SansIOHTTPPolicy):
        def on_response(self, request, response):
            subscription = subscription_of(request.http_request.url)
            if subscription is None:
                return
            http = response.http_response
            retry_after = None
            try:
                retry_after = float(http.headers.get("Retry-After"))
            except (TypeError, ValueError):
                pass
            pacer.observe(subscription, http.status_code, remaining_from(http.headers), retry_after)

    return PacingPolicy()
