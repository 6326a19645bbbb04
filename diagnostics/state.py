"""What the bot remembers between requests, behind small interfaces: seen keys, stored investigations, feedback,
the audit trail, alert storms, the job journal and posting slots.

The implementations here live in the process and are bounded in age and size. `diagnostics.state_sqlite`
(the embedded default: a file, for one container) and `diagnostics.state_redis` (several replicas) implement
the same Protocols; `open_state` picks one from IAMWHY_STATE_URL.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Generic, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
# A finished job is remembered this long, so that the same event journaled again is recognised and not redone.
JOB_TTL = 24 * 3600.0
# A storm's record outlives its window by this much, so that the last count can still reach its thread.
STORM_GRACE = 3600.0


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


class JobKind(StrEnum):
    # Investigate the text and answer it (in a thread, through a response_url or privately).
    ANSWER = "answer"
    # Point a repeated alert's thread at the thread where the same denial was investigated.
    POINTER = "pointer"


class JobStatus(StrEnum):
    # Journaled and leased to the replica that will run it, waiting for a free investigation slot.
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


FINISHED = frozenset({JobStatus.DONE, JobStatus.FAILED})


@dataclass(frozen=True)
class Job:
    """One acknowledged request's work: the redacted input, where its answer goes, and how far it got.

    The progress fields (`placeholder_ts`, `ref`, `sent`) are written as each step is done, so that whoever
    finishes a job after a crash updates the placeholder already posted and never posts an answer twice.
    """

    id: str
    kind: JobKind
    trigger: str
    # The input, credentials already redacted ('' for a pointer).
    text: str
    created_at: float
    channel: str | None = None
    # The thread the answer goes to, and the message that carried the error (for reactions).
    thread_ts: str | None = None
    message_ts: str | None = None
    # Who asked: the only reader of a private answer.
    user: str | None = None
    # A private answer's destination (slash command, shortcut); for a thread answer, where to fall back to
    # when the bot cannot post in the channel.
    response_url: str | None = None
    # Fingerprints of the denials to answer; None: every denial in the text.
    only: tuple[str, ...] | None = None
    # ANSWER: the alert storm each denial of `only` starts (same order); POINTER: the storm pointed to.
    storms: tuple[str, ...] = ()
    react: bool = False
    # Notices sent before a private answer, by name ("credentials": the pasted-credentials warning).
    notices: tuple[str, ...] = ()
    # How many messages a private answer may take (a response_url accepts five).
    limit: int = 5
    placeholder_ts: str | None = None
    ref: str | None = None
    # Messages of the answer already delivered.
    sent: int = 0
    status: JobStatus = JobStatus.QUEUED
    owner: str | None = None
    lease_until: float = 0.0
    attempts: int = 0
    # Seconds since the epoch when it finished.
    finished_at: float | None = None
    # The Slack request it answers: its log lines and AWS calls carry the same id.
    correlation_id: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class JobJournal(Protocol):
    """Every acknowledged request's work, written before the work starts: the queue that survives a crash.

    A job is leased to one owner (a replica) at a time. Its owner renews the lease while it lives; when the lease
    expires, `take_over` hands the job to another owner, which carries on from the recorded progress. Writes by
    an owner that lost its lease are refused, so a job never has two writers.
    """

    async def add(self, job: Job) -> bool:
        """Journal `job` (its owner and lease set); False, and nothing changes, when its id is already known."""
        ...

    async def get(self, job_id: str) -> Job | None: ...

    async def save(self, job: Job) -> bool:
        """Record `job`'s progress and status; False when `job.owner` no longer holds it (or it is finished)."""
        ...

    async def renew(self, job_ids: Collection[str], *, owner: str, lease: float) -> frozenset[str]:
        """Extend the leases `owner` holds by `lease` seconds from now; the ids it still holds."""
        ...

    async def release(self, job_ids: Collection[str], *, owner: str) -> None:
        """End `owner`'s leases now (a clean stop), so that another owner takes the jobs over at once."""
        ...

    async def take_over(self, *, owner: str, lease: float, limit: int) -> tuple[Job, ...]:
        """Unfinished jobs whose lease has expired, oldest first, now leased to `owner` (one more attempt each)."""
        ...

    async def pending(self) -> int:
        """Jobs journaled and not finished, whoever holds them."""
        ...


@dataclass(frozen=True)
class Storm:
    """One denial repeating within a window: where it was first posted and investigated, and how often since."""

    id: str
    # The post that started it: its thread holds the investigation.
    channel: str
    ts: str
    started_at: float
    # The end of the window: a post after it starts a new storm.
    until: float
    # Posts so far, the first included.
    count: int
    last_at: float
    # The first answer, once posted: its message, the stored investigation and which diagnosis.
    answer_ts: str | None = None
    ref: str | None = None
    index: int | None = None
    # Channels that already got their one pointer in this window.
    pointed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sighting:
    storm: Storm
    # This post starts the storm: investigate it.
    first: bool
    # This post is the first repeat in its channel within the window: point it at the first thread.
    pointer: bool


class StormLog(Protocol):
    """Alert storms: the same denial posted again within a window is counted, not investigated again."""

    async def sight(self, key: str, *, channel: str, ts: str, window: float) -> Sighting:
        """Count a post of the denial `key` (atomically: of concurrent first posts, one starts the storm)."""
        ...

    async def alias(self, storm_id: str, key: str) -> None:
        """Let posts of `key` count towards the storm too (its blocking layer, learnt from the investigation)."""
        ...

    async def attach(self, storm_id: str, *, answer_ts: str, ref: str, index: int) -> Storm | None:
        """Record the storm's first answer; None when the storm is gone."""
        ...

    async def get(self, storm_id: str) -> Storm | None: ...

    async def end(self, storm_id: str) -> None:
        """Close the window now (its investigation failed): the next post starts afresh."""
        ...


class PostingSlots(Protocol):
    """Rate limits shared by every replica, as a schedule of slots (the generic cell rate algorithm)."""

    async def reserve(self, key: str, *, interval: float, burst: int) -> float:
        """Seconds to wait before the next action under `key`; the action is counted as done then.

        On average one action per `interval`, with up to `burst` at once after a quiet spell.
        """
        ...


@dataclass(frozen=True)
class State:
    """Everything the Slack app keeps, in one bundle handed to the handlers."""

    seen: SeenKeys
    investigations: InvestigationStore
    feedback: FeedbackLog
    audit: AuditLog
    storms: StormLog
    jobs: JobJournal
    slots: PostingSlots
    # How it is stored, for the logs ("memory", "sqlite:/var/lib/iamwhy/state.db", "redis://cache:6379/0").
    where: str = "memory"
    closer: Callable[[], object] | None = None

    @classmethod
    def in_memory(cls, *, clock: Clock = time.time) -> State:
        return cls(
            seen=MemorySeenKeys(clock=clock),
            investigations=MemoryInvestigationStore(clock=clock),
            feedback=MemoryFeedbackLog(),
            audit=MemoryAuditLog(),
            storms=MemoryStormLog(clock=clock),
            jobs=MemoryJobJournal(clock=clock),
            slots=MemoryPostingSlots(clock=clock),
        )

    @property
    def shared(self) -> bool:
        """True when other processes see the same state (several replicas may run)."""
        return not self.where.startswith("memory")

    async def close(self) -> None:
        if self.closer is not None:
            result = self.closer()
            if asyncio.iscoroutine(result):
                await result


# ---------------------------------------------------------------------------------------------------------------
# Choosing a backend: IAMWHY_STATE_URL.

STATE_FILE = "state.db"
DEFAULT_KEY_PREFIX = "iamwhy:"


class StateUrlError(ValueError):
    """IAMWHY_STATE_URL names no backend iamwhy has, or a file it cannot use."""


@dataclass(frozen=True)
class StateUrl:
    """A parsed IAMWHY_STATE_URL: `memory:`, `sqlite:///path` (the default, a file) or `redis[s]://...`.

    A Redis URL may end in `?key_prefix=...` (default `iamwhy:`), so that several installations share one server.
    """

    scheme: str
    target: str
    # Redis: what every key starts with (several installations may share one server).
    key_prefix: str = ""

    @classmethod
    def parse(cls, value: str | None, environ: Mapping[str, str] | None = None) -> StateUrl:
        if value is None or not value.strip():
            return cls("sqlite", str(default_state_path(os.environ if environ is None else environ)))
        value = value.strip()
        if value == "memory:":
            return cls("memory", "")
        parts = urlsplit(value)
        if parts.scheme == "sqlite":
            # As SQLAlchemy writes it: sqlite:///relative/path, sqlite:////absolute/path.
            path = value.removeprefix("sqlite:///") if value.startswith("sqlite:///") else ""
            if not path or parts.query or parts.fragment:
                raise StateUrlError(f"{value!r} names no file: use sqlite:////absolute/path/state.db")
            return cls("sqlite", path)
        if parts.scheme in ("redis", "rediss"):
            if not parts.hostname:
                raise StateUrlError(f"{value!r} names no Redis host: use redis://host:6379/0")
            try:
                parts.port  # noqa: B018 - urlsplit raises ValueError for a port that is not a number
            except ValueError:
                raise StateUrlError(f"{value!r} has a port that is not a number") from None
            query = parse_qsl(parts.query, keep_blank_values=True)
            prefixes = [v for k, v in query if k == "key_prefix"]
            rest = urlencode([(k, v) for k, v in query if k != "key_prefix"])
            prefix = prefixes[-1] if prefixes else DEFAULT_KEY_PREFIX
            if not prefix:
                raise StateUrlError(f"{value!r}: key_prefix is empty")
            return cls(parts.scheme, urlunsplit(parts._replace(query=rest)), prefix)
        raise StateUrlError(f"{value!r} is not memory:, sqlite:///path or redis://host:port/db")

    def describe(self) -> str:
        """Where the state lives, without a password."""
        if self.scheme == "memory":
            return "memory"
        if self.scheme == "sqlite":
            return f"sqlite:{self.target}"
        parts = urlsplit(self.target)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path or ''}"


def default_state_path(environ: Mapping[str, str]) -> Path:
    """$XDG_STATE_HOME/iamwhy/state.db, else ~/.local/state/iamwhy/state.db (the XDG default)."""
    base = environ.get("XDG_STATE_HOME", "").strip()
    if base:
        return Path(base) / "iamwhy" / STATE_FILE
    home = environ.get("HOME", "").strip()
    return (Path(home) if home else Path.home()) / ".local" / "state" / "iamwhy" / STATE_FILE


async def open_state(url: StateUrl) -> State:
    """The state `url` names, ready to use; StateUrlError when it cannot be opened (one line, for the operator)."""
    if url.scheme == "memory":
        return State.in_memory()
    if url.scheme == "sqlite":
        from diagnostics.state_sqlite import open_sqlite_state

        return await open_sqlite_state(Path(url.target))
    from diagnostics.state_redis import open_redis_state

    return await open_redis_state(url.target, where=url.describe(), prefix=url.key_prefix)


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
        ref = new_reference()
        while ref in self._items:
            ref = new_reference()
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
        log_feedback(feedback)

    async def for_diagnosis(self, ref: str, index: int) -> tuple[Feedback, ...]:
        return tuple(f for (r, i, _), f in self._votes.items() if r == ref and i == index)

    async def totals(self) -> tuple[int, int]:
        up = sum(1 for f in self._votes.values() if f.vote is Vote.UP)
        return up, len(self._votes) - up


def log_feedback(feedback: Feedback) -> None:
    """One JSON log line per vote, whichever backend keeps it."""
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


def audit_matches(
    entry: AuditEntry, *, since: float | None, user: str | None, channels: Collection[str] | None
) -> bool:
    """Whether `entry` answers an AuditLog.query (the same rule for every backend)."""
    if since is not None and entry.at < since:
        return False
    if user is None and channels is None:
        return True
    return (user is not None and entry.user == user) or (channels is not None and entry.channel in channels)


def newest_matching(
    newest_first: Iterable[AuditEntry],
    *,
    since: float | None,
    user: str | None,
    channels: Collection[str] | None,
    limit: int,
) -> tuple[AuditEntry, ...]:
    """The answer to an AuditLog.query from entries newest first (read lazily: no more than the answer needs)."""
    matching = (e for e in newest_first if audit_matches(e, since=since, user=user, channels=channels))
    return tuple(itertools.islice(matching, limit))


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
        return newest_matching(reversed(self._entries), since=since, user=user, channels=channels, limit=limit)


def new_id() -> str:
    """A short random identifier (storms)."""
    return secrets.token_urlsafe(9)


def new_reference() -> str:
    """A stored investigation's reference: short enough for a button value, never containing ':'."""
    return secrets.token_urlsafe(8)


class MemoryStormLog(StormLog):
    def __init__(self, *, clock: Clock = time.time):
        self._clock = clock
        # key -> storm id; storm id -> storm. Both expire with the storm's window (records a little later).
        self._keys: dict[str, str] = {}
        self._storms: dict[str, Storm] = {}

    def _live(self, storm_id: str | None, now: float) -> Storm | None:
        storm = self._storms.get(storm_id) if storm_id is not None else None
        return storm if storm is not None and storm.until > now else None

    def _sweep(self, now: float) -> None:
        for storm_id in [i for i, s in self._storms.items() if s.until + STORM_GRACE <= now]:
            del self._storms[storm_id]
        for key in [k for k, i in self._keys.items() if self._live(i, now) is None]:
            del self._keys[key]

    async def sight(self, key: str, *, channel: str, ts: str, window: float) -> Sighting:
        now = self._clock()
        self._sweep(now)
        storm = self._live(self._keys.get(key), now)
        if storm is None:
            storm = Storm(new_id(), channel, ts, now, now + window, 1, now)
            self._storms[storm.id] = storm
            self._keys[key] = storm.id
            return Sighting(storm, first=True, pointer=False)
        pointer = channel not in storm.pointed
        storm = replace(
            storm,
            count=storm.count + 1,
            last_at=now,
            pointed=tuple(sorted({*storm.pointed, channel})),
        )
        self._storms[storm.id] = storm
        return Sighting(storm, first=False, pointer=pointer)

    async def alias(self, storm_id: str, key: str) -> None:
        now = self._clock()
        if self._live(storm_id, now) is not None and self._live(self._keys.get(key), now) is None:
            self._keys[key] = storm_id

    async def attach(self, storm_id: str, *, answer_ts: str, ref: str, index: int) -> Storm | None:
        storm = self._storms.get(storm_id)
        if storm is None:
            return None
        storm = replace(storm, answer_ts=answer_ts, ref=ref, index=index)
        self._storms[storm_id] = storm
        return storm

    async def get(self, storm_id: str) -> Storm | None:
        return self._storms.get(storm_id)

    async def end(self, storm_id: str) -> None:
        storm = self._storms.get(storm_id)
        if storm is not None:
            self._storms[storm_id] = replace(storm, until=min(storm.until, self._clock()))
        for key in [k for k, i in self._keys.items() if i == storm_id]:
            del self._keys[key]


class MemoryJobJournal(JobJournal):
    def __init__(self, *, clock: Clock = time.time):
        self._clock = clock
        self._jobs: dict[str, Job] = {}

    def _sweep(self, now: float) -> None:
        for job_id, job in list(self._jobs.items()):
            if job.finished_at is not None and job.finished_at + JOB_TTL <= now:
                del self._jobs[job_id]

    async def add(self, job: Job) -> bool:
        self._sweep(self._clock())
        if job.id in self._jobs:
            return False
        self._jobs[job.id] = job
        return True

    async def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    async def save(self, job: Job) -> bool:
        stored = self._jobs.get(job.id)
        if stored is None or stored.finished or stored.owner != job.owner:
            return False
        finished_at = self._clock() if job.status in FINISHED else None
        self._jobs[job.id] = replace(job, lease_until=stored.lease_until, finished_at=finished_at)
        return True

    async def renew(self, job_ids: Collection[str], *, owner: str, lease: float) -> frozenset[str]:
        until = self._clock() + lease
        held = set()
        for job_id in job_ids:
            job = self._jobs.get(job_id)
            if job is not None and job.owner == owner and not job.finished:
                self._jobs[job_id] = replace(job, lease_until=until)
                held.add(job_id)
        return frozenset(held)

    async def release(self, job_ids: Collection[str], *, owner: str) -> None:
        for job_id in job_ids:
            job = self._jobs.get(job_id)
            if job is not None and job.owner == owner and not job.finished:
                self._jobs[job_id] = replace(job, lease_until=0.0)

    async def take_over(self, *, owner: str, lease: float, limit: int) -> tuple[Job, ...]:
        now = self._clock()
        expired = sorted(
            (j for j in self._jobs.values() if not j.finished and j.lease_until <= now),
            key=lambda j: (j.created_at, j.id),
        )[:limit]
        taken = []
        for job in expired:
            job = replace(job, owner=owner, lease_until=now + lease, attempts=job.attempts + 1)
            self._jobs[job.id] = job
            taken.append(job)
        return tuple(taken)

    async def pending(self) -> int:
        return sum(1 for j in self._jobs.values() if not j.finished)


class MemoryPostingSlots(PostingSlots):
    def __init__(self, *, clock: Clock = time.time):
        self._clock = clock
        # key -> theoretical arrival time of the next action.
        self._tat: dict[str, float] = {}

    async def reserve(self, key: str, *, interval: float, burst: int) -> float:
        now = self._clock()
        wait, tat = gcra(self._tat.get(key), now, interval, burst)
        self._tat[key] = tat
        if len(self._tat) > SEEN_MAX:
            for stale in [k for k, t in self._tat.items() if t <= now]:
                del self._tat[stale]
        return wait


def gcra(tat: float | None, now: float, interval: float, burst: int) -> tuple[float, float]:
    """(seconds to wait, the new theoretical arrival time) for one more action (the generic cell rate algorithm)."""
    start = max(tat if tat is not None else now, now)
    wait = max(0.0, start - (max(1, burst) - 1) * interval - now)
    return wait, start + interval
