"""Staying within what a teacher allows: token buckets for requests and tokens per minute, a cap on
concurrent requests, a pause when the teacher says 429, and a circuit breaker that stops sending
to a teacher that keeps failing instead of burning the budget on it."""

from __future__ import annotations

import asyncio
import logging
import random
import time

from shared.events import RateLimits

log = logging.getLogger(__name__)


class TokenBucket:
    """`rate` tokens a second, at most `capacity` saved up. A take larger than the capacity waits for
    a full bucket and leaves it in debt, so the long-run rate never exceeds `rate`. rate 0: unlimited."""

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        self.lock = asyncio.Lock()
        self.configure(rate, capacity)
        self.level = min(self.capacity, 1.0)  # no opening burst beyond one request's worth

    def configure(self, rate: float, capacity: float | None = None) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self.updated = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    async def take(self, amount: float = 1.0) -> None:
        if self.rate <= 0:
            return
        async with self.lock:  # first come, first served
            needed = min(amount, self.capacity)
            while True:
                self._refill()
                if self.level >= needed:
                    self.level -= amount
                    return
                await asyncio.sleep((needed - self.level) / self.rate)

    def give_back(self, amount: float) -> None:
        """Correct an estimate once the real figure is known (negative: take more)."""
        if self.rate > 0:
            self._refill()
            self.level = min(self.capacity, self.level + amount)


class CircuitBreaker:
    """Closed: requests go. After `threshold` failures in a row it opens: nothing is sent for
    `cooldown_s` (doubling while the teacher stays down, up to `max_cooldown_s`); then one trial
    request goes, and its success closes the circuit again."""

    def __init__(self, name: str, threshold: int = 5, cooldown_s: float = 2.0, max_cooldown_s: float = 60.0) -> None:
        self.name = name
        self.threshold = threshold
        self.base_cooldown_s = cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self.cooldown_s = cooldown_s
        self.failures = 0
        self.open_until = 0.0
        self.trial_running = False
        self.times_opened = 0

    @property
    def state(self) -> str:
        if self.failures < self.threshold:
            return "closed"
        return "open" if time.monotonic() < self.open_until else "half-open"

    async def wait_ready(self) -> None:
        while True:
            state = self.state
            if state == "closed":
                return
            if state == "half-open" and not self.trial_running:
                self.trial_running = True
                return
            await asyncio.sleep(max(0.05, min(1.0, self.open_until - time.monotonic())))

    def success(self) -> None:
        if self.failures >= self.threshold:
            log.warning("teacher %s answers again: circuit closed", self.name)
        self.failures = 0
        self.cooldown_s = self.base_cooldown_s
        self.trial_running = False

    def failure(self) -> None:
        was_trial = self.trial_running
        self.trial_running = False
        self.failures += 1
        if self.failures >= self.threshold and (was_trial or self.failures == self.threshold):
            if was_trial:
                self.cooldown_s = min(self.max_cooldown_s, self.cooldown_s * 2)
            self.open_until = time.monotonic() + self.cooldown_s
            self.times_opened += 1
            log.warning("teacher %s failed %d times in a row: circuit open, nothing sent for %.1f s",
                        self.name, self.failures, self.cooldown_s)


def backoff_s(attempt: int, base_s: float = 0.2, cap_s: float = 20.0) -> float:
    """Exponential backoff with full jitter (attempt 1 is the first retry)."""
    return random.uniform(0.5, 1.0) * min(cap_s, base_s * 2 ** (attempt - 1))


class TeacherGate:
    """Everything that paces requests to one teacher, shared by all jobs that use it in this replica.
    `share` is this replica's part of the teacher's limits (1/replicas when several replicas run)."""

    def __init__(self, name: str, limits: RateLimits, share: float = 1.0) -> None:
        self.name = name
        self.requests = TokenBucket(0)
        self.tokens = TokenBucket(0)
        self.breaker = CircuitBreaker(name)
        self.paused_until = 0.0
        self.configure(limits, share)

    def configure(self, limits: RateLimits, share: float = 1.0) -> None:
        requests_per_s = limits.requests_per_minute * share / 60
        tokens_per_s = limits.tokens_per_minute * share / 60
        # A request bucket holds one request: requests are spaced evenly and never burst past the
        # limit in any window. A token bucket holds a second's worth.
        self.requests.configure(requests_per_s, 1.0)
        self.tokens.configure(tokens_per_s, max(1.0, tokens_per_s))
        self.concurrency = asyncio.Semaphore(max(1, int(limits.max_concurrency * share) or 1))
        self.limits = limits

    def pause(self, seconds: float) -> None:
        """The teacher said 429: nothing more goes to it until Retry-After has passed."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    async def wait_unpaused(self) -> None:
        while (delay := self.paused_until - time.monotonic()) > 0:
            await asyncio.sleep(delay)


_gates: dict[str, TeacherGate] = {}


def gate_for(name: str, limits: RateLimits, share: float = 1.0) -> TeacherGate:
    gate = _gates.get(name)
    if gate is None:
        gate = _gates[name] = TeacherGate(name, limits, share)
    elif gate.limits != limits:
        gate.configure(limits, share)
    return gate
