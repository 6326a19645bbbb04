"""What the bot remembers between requests (seen keys, stored investigations, feedback), behind small interfaces.

The implementations here live in the process and are bounded in age and size; a shared backend for
several replicas implements the same Protocols.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from diagnostics.model import Diagnosis

feedback_logger = logging.getLogger("iamwhy.feedback")

Clock = Callable[[], float]
V = TypeVar("V")

# Slack retries an event for about an hour at most; alert storms and edits are judged within minutes.
SEEN_TTL = 3600.0
SEEN_MAX = 100_000
# Buttons of an answer keep working for a day; older answers ask for the error to be pasted again.
INVESTIGATION_TTL = 24 * 3600.0
INVESTIGATIONS_MAX = 10_000
FEEDBACK_MAX = 100_000
AUDIT_MAX = 10_000


class Vote(StrEnum):
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class StoredInvestigation:
    """What a button needs to act on an answer: the input (credentials already redacted) and its diagnoses."""

    text: str
    diagnoses: tuple[Diagnosis, ...]


@dataclass(frozen=True)
class Feedback:
    """One person's vote on one diagnosis; a later vote by the same person replaces it."""

    ref: str
    index: int
    user: str
    vote: Vote
    decision: str
    confidence: str
    layers: tuple[str, ...]
    at: float


class SeenKeys(Protocol):
    async def first_sight(self, key: str, *, ttl: float | None = None) -> bool:
        """True the first time `key` is offered (within its time to live), False every later time."""
        ...


class InvestigationStore(Protocol):
    async def save(self, stored: StoredInvestigation) -> str:
        """Keep `stored` and return its short reference (safe to put in a button value)."""
        ...

    async def load(self, ref: str) -> StoredInvestigation | None:
        """The investigation behind `ref`, or None when it is unknown or has expired."""
        ...

    async def replace(self, ref: str, stored: StoredInvestigation) -> None:
        """Store a newer answer (a re-run) under an existing reference."""
        ...


class FeedbackLog(Protocol):
    async def record(self, feedback: Feedback) -> None: ...

    async def for_diagnosis(self, ref: str, index: int) -> tuple[Feedback, ...]: ...

    async def totals(self) -> tuple[int, int]:
        """(👍, 👎) over every diagnosis, counting each person's latest vote once."""
        ...


@dataclass(frozen=True)
class AuditRead:
    """One AWS read an investigation made."""

    service: str
    operation: str
    account: str | None
    outcome: str
    cached: bool


@dataclass(frozen=True)
class AuditedDiagnosis:
    """The outcome of one diagnosis, as the audit trail keeps it (no policy documents, no pasted text)."""

    action: str | None
    principal_arn: str | None
    resource_arn: str | None
    account_id: str | None
    decision: str
    confidence: str
    blocked_by: tuple[str, ...]


@dataclass(frozen=True)
class AuditEntry:
    """One investigation: who asked, where, which accounts were read and how, and what came out."""

    id: str
    # Seconds since the epoch.
    at: float
    trigger: str
    user: str | None
    channel: str | None
    # The thread the answer went to (None for private answers).
    thread_ts: str | None
    accounts: tuple[str, ...]
    diagnoses: tuple[AuditedDiagnosis, ...]
    reads: tuple[AuditRead, ...]
    outcome: str
    correlation_id: str | None = None


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...

    async def query(
        self,
        *,
        since: float | None = None,
        user: str | None = None,
        channels: Collection[str] | None = None,
        limit: int = 100,
    ) -> tuple[AuditEntry, ...]:
        """Newest first. With both `user` and `channels`, entries matching either (asked by the user, or in one of
        those channels)."""
        ...


@dataclass(frozen=True)
class State:
    """Everything the Slack app keeps, in one bundle handed to the handlers."""

    seen: SeenKeys
    investigations: InvestigationStore
    feedback: FeedbackLog
    audit: AuditLog

    @classmethod
    def in_memory(cls, *, clock: Clock = time.monotonic) -> State:
        return cls(
            seen=MemorySeenKeys(clock=clock),
            investigations=MemoryInvestigationStore(clock=clock),
            feedback=MemoryFeedbackLog(),
            audit=MemoryAuditLog(),
        )


class _Expiring(Generic[V]):
    """A dict whose entries expire after their time to live and whose oldest entries go first when it is full."""

    def __init__(self, *, ttl: float, max_entries: int, clock: Clock):
        if ttl <= 0 or max_entries < 1:
            raise ValueError("ttl must be positive and max_entries at least 1")
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        # key -> (expires at, value), oldest insertion first.
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, key: str, value: V, ttl: float | None = None) -> None:
        now = self._clock()
        # Sweep expired entries from the old end; one with a longer ttl may shelter shorter-lived ones behind it
        # until it expires too, but those are still refused on read and the size bound holds regardless.
        while self._entries:
            oldest = next(iter(self._entries))
            if self._entries[oldest][0] > now:
                break
            del self._entries[oldest]
        self._entries.pop(key, None)
        self._entries[key] = (now + (ttl if ttl is not None else self._ttl), value)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        now = self._clock()
        return sum(1 for expires, _ in self._entries.values() if expires > now)


class MemorySeenKeys(SeenKeys):
    def __init__(self, *, ttl: float = SEEN_TTL, max_entries: int = SEEN_MAX, clock: Clock = time.monotonic):
        self._keys: _Expiring[bool] = _Expiring(ttl=ttl, max_entries=max_entries, clock=clock)

    async def first_sight(self, key: str, *, ttl: float | None = None) -> bool:
        if key in self._keys:
            return False
        self._keys.put(key, True, ttl)
        return True


class MemoryInvestigationStore(InvestigationStore):
    def __init__(
        self, *, ttl: float = INVESTIGATION_TTL, max_entries: int = INVESTIGATIONS_MAX, clock: Clock = time.monotonic
    ):
        self._items: _Expiring[StoredInvestigation] = _Expiring(ttl=ttl, max_entries=max_entries, clock=clock)

    async def save(self, stored: StoredInvestigation) -> str:
        ref = secrets.token_urlsafe(8)
        while ref in self._items:
            ref = secrets.token_urlsafe(8)
        self._items.put(ref, stored)
        return ref

    async def load(self, ref: str) -> StoredInvestigation | None:
        return self._items.get(ref)

    async def replace(self, ref: str, stored: StoredInvestigation) -> None:
        self._items.put(ref, stored)


class MemoryFeedbackLog(FeedbackLog):
    """Votes by (diagnosis, person); each vote is also logged (one JSON line once logging is configured)."""

    def __init__(self, *, max_entries: int = FEEDBACK_MAX):
        self._max = max_entries
        self._votes: OrderedDict[tuple[str, int, str], Feedback] = OrderedDict()

    async def record(self, feedback: Feedback) -> None:
        key = (feedback.ref, feedback.index, feedback.user)
        self._votes.pop(key, None)
        self._votes[key] = feedback
        while len(self._votes) > self._max:
            self._votes.popitem(last=False)
        feedback_logger.info(
            "feedback",
            extra={
                "fields": {
                    "ref": feedback.ref,
                    "index": feedback.index,
                    "user": feedback.user,
                    "vote": str(feedback.vote),
                    "decision": feedback.decision,
                    "confidence": feedback.confidence,
                    "layers": list(feedback.layers),
                }
            },
        )

    async def for_diagnosis(self, ref: str, index: int) -> tuple[Feedback, ...]:
        return tuple(f for (r, i, _), f in self._votes.items() if r == ref and i == index)

    async def totals(self) -> tuple[int, int]:
        up = sum(1 for f in self._votes.values() if f.vote is Vote.UP)
        return up, len(self._votes) - up


class MemoryAuditLog(AuditLog):
    """The newest entries, bounded in number; the JSON log line written beside each is the durable record."""

    def __init__(self, *, max_entries: int = AUDIT_MAX):
        self._entries: deque[AuditEntry] = deque(maxlen=max_entries)

    async def record(self, entry: AuditEntry) -> None:
        self._entries.append(entry)

    async def query(
        self,
        *,
        since: float | None = None,
        user: str | None = None,
        channels: Collection[str] | None = None,
        limit: int = 100,
    ) -> tuple[AuditEntry, ...]:
        found: list[AuditEntry] = []
        for entry in reversed(self._entries):
            if len(found) >= limit:
                break
            if since is not None and entry.at < since:
                continue
            if (user is not None or channels is not None) and not (
                (user is not None and entry.user == user) or (channels is not None and entry.channel in channels)
            ):
                continue
            found.append(entry)
        return tuple(found)
