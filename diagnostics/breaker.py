"""Circuit breakers per AWS identity: after repeated failures to reach an account, its reads pause instead of piling up.

Thread-safe (outcomes are recorded by the adapter's worker threads) and driven by an injectable clock. A breaker
opens after `threshold` consecutive failures, lets one trial call through once `cooldown` has passed (the others
wait for its outcome), closes when that call gets an answer from AWS and opens again when it does not.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from enum import StrEnum


class FailureKind(StrEnum):
    """Failures that say the account cannot be reached, as opposed to an answer the account gave."""

    # The read role could not be assumed (missing, not trusting the bot, another ExternalId expected).
    ASSUME_ROLE = "assume_role"
    # A timeout, an unreachable endpoint or a server error.
    UNAVAILABLE = "unavailable"


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Paused:
    """Why calls are refused right now: the failures that opened the breaker and how long the pause lasts."""

    failures: int
    kinds: frozenset[FailureKind]
    last_reason: str
    # Seconds until a trial call is let through.
    remaining: float


@dataclass(frozen=True)
class Ticket:
    """Permission for one call; `trial` is set for the one call let through to test an open breaker."""

    key: Hashable
    trial: concurrent.futures.Future[None] | None = None


@dataclass
class _Breaker:
    state: BreakerState = BreakerState.CLOSED
    # Consecutive failures, and their kinds, since the last answer.
    failures: int = 0
    kinds: set[FailureKind] = field(default_factory=set)
    last_reason: str = ""
    reopen_at: float = 0.0
    # Set while a trial call runs: callers arriving meanwhile wait for its outcome.
    trial: concurrent.futures.Future[None] | None = None


# What admit() answers: go ahead, wait for the trial call to end and ask again, or refuse.
Admission = Ticket | concurrent.futures.Future[None] | Paused

# Called with (key, Paused) when a breaker opens and (key, None) when it closes again.
Listener = Callable[[Hashable, Paused | None], None]


class Breakers:
    """One breaker per key (the adapter uses the identity a call runs as: read role and account, or org role)."""

    def __init__(
        self,
        *,
        threshold: int,
        cooldown: float,
        clock: Callable[[], float],
        on_change: Listener | None = None,
    ) -> None:
        if threshold < 1 or cooldown < 0:
            raise ValueError("threshold must be at least 1 and cooldown not negative")
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._breakers: dict[Hashable, _Breaker] = {}

    def admit(self, key: Hashable) -> Admission:
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None or breaker.state is BreakerState.CLOSED:
                return Ticket(key)
            if breaker.state is BreakerState.HALF_OPEN:
                assert breaker.trial is not None
                return breaker.trial
            now = self._clock()
            if now < breaker.reopen_at:
                return self._paused(breaker, breaker.reopen_at - now)
            breaker.state = BreakerState.HALF_OPEN
            breaker.trial = concurrent.futures.Future()
            return Ticket(key, breaker.trial)

    def succeeded(self, key: Hashable) -> None:
        """The account answered (whatever the answer): a closed breaker forgets its failures, a trial closes it."""
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                return
            if breaker.state is BreakerState.OPEN:
                # A call admitted before the breaker opened: only a trial decides when to resume.
                return
            reopened = breaker.state is BreakerState.HALF_OPEN
            trial = breaker.trial
            del self._breakers[key]
        _resolve(trial)
        if reopened and self._on_change is not None:
            self._on_change(key, None)

    def failed(self, key: Hashable, kind: FailureKind, reason: str) -> None:
        opened: Paused | None = None
        with self._lock:
            breaker = self._breakers.setdefault(key, _Breaker())
            breaker.failures += 1
            breaker.kinds.add(kind)
            breaker.last_reason = reason
            trial = breaker.trial
            if breaker.state is BreakerState.HALF_OPEN or (
                breaker.state is BreakerState.CLOSED and breaker.failures >= self._threshold
            ):
                breaker.state = BreakerState.OPEN
                breaker.reopen_at = self._clock() + self._cooldown
                breaker.trial = None
                opened = self._paused(breaker, self._cooldown)
            else:
                trial = None
        _resolve(trial)
        if opened is not None and self._on_change is not None:
            self._on_change(key, opened)

    def release(self, ticket: Ticket) -> None:
        """The call behind `ticket` is over. A trial that ended without an outcome (it never reached AWS, or it
        failed in a way that says nothing about the account) hands the trial to the next caller."""
        if ticket.trial is None:
            return
        with self._lock:
            breaker = self._breakers.get(ticket.key)
            if breaker is None or breaker.trial is not ticket.trial:
                return
            breaker.state = BreakerState.OPEN
            breaker.reopen_at = self._clock()
            breaker.trial = None
        _resolve(ticket.trial)

    def paused(self) -> dict[Hashable, Paused]:
        """The breakers that refuse calls right now."""
        now = self._clock()
        with self._lock:
            return {
                key: self._paused(b, b.reopen_at - now)
                for key, b in self._breakers.items()
                if b.state is BreakerState.OPEN and b.reopen_at > now
            }

    @staticmethod
    def _paused(breaker: _Breaker, remaining: float) -> Paused:
        return Paused(breaker.failures, frozenset(breaker.kinds), breaker.last_reason, max(remaining, 0.0))


def _resolve(trial: concurrent.futures.Future[None] | None) -> None:
    """Wake the callers waiting on a trial call (a waiter that gave up may have cancelled the future)."""
    if trial is not None and not trial.done():
        trial.set_result(None)
