"""The embedded state: one SQLite file (WAL), so a single container keeps everything across restarts with nothing else.

All SQL runs on one dedicated thread, never on the event loop. Several processes may share the file: writes
that read first take the write lock up front (BEGIN IMMEDIATE), and a busy file is waited for, not failed.
Records are JSON of the domain's dataclasses (diagnostics.codec), never pickles.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TypeVar

from diagnostics import codec
from diagnostics.state import (
    AUDIT_MAX,
    FEEDBACK_MAX,
    FINISHED,
    INVESTIGATION_TTL,
    JOB_TTL,
    SEEN_TTL,
    STORM_GRACE,
    AuditEntry,
    AuditLog,
    Clock,
    Feedback,
    FeedbackLog,
    InvestigationStore,
    Job,
    JobJournal,
    PostingSlots,
    SeenKeys,
    Sighting,
    State,
    StateUrlError,
    StoredInvestigation,
    Storm,
    StormLog,
    Vote,
    gcra,
    log_feedback,
    new_id,
    new_reference,
    newest_matching,
)

T = TypeVar("T")

# Expired rows are deleted at most this often.
PURGE_EVERY = 60.0
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS investigations (ref TEXT PRIMARY KEY, body TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    ref TEXT NOT NULL, idx INTEGER NOT NULL, user TEXT NOT NULL, vote TEXT NOT NULL, body TEXT NOT NULL,
    seq INTEGER NOT NULL, PRIMARY KEY (ref, idx, user));
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS storm_keys (key TEXT PRIMARY KEY, storm TEXT NOT NULL, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS storms (id TEXT PRIMARY KEY, body TEXT NOT NULL, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, owner TEXT, lease_until REAL NOT NULL, created_at REAL NOT NULL,
    finished_at REAL);
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (finished_at, lease_until, created_at);
CREATE TABLE IF NOT EXISTS slots (key TEXT PRIMARY KEY, tat REAL NOT NULL);
"""

_PUT_INVESTIGATION = "INSERT OR REPLACE INTO investigations (ref, body, expires) VALUES (?, ?, ?)"
_PUT_STORM_KEY = "INSERT OR REPLACE INTO storm_keys (key, storm, until) VALUES (?, ?, ?)"


class SqliteDatabase:
    """One connection on one thread; every call runs there, in order."""

    def __init__(self, path: Path, *, clock: Clock = time.time):
        self.path = path
        self.clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iamwhy-sqlite")
        self._connection: sqlite3.Connection | None = None
        self._purged_at = 0.0

    async def open(self) -> None:
        try:
            await self.run(self._open)
        except StateUrlError:
            self._executor.shutdown(wait=False)
            raise

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StateUrlError(f"cannot use {self.path} for the state: {exc}") from None
        self._connection = connection

    async def close(self) -> None:
        await self.run(self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    @property
    def db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("the state database is closed")
        return self._connection

    def write(self, fn: Callable[[sqlite3.Connection, float], T]) -> T:
        """Run `fn` in one write transaction (the lock taken before reading), expired rows purged now and then."""
        db = self.db
        now = self.clock()
        db.execute("BEGIN IMMEDIATE")
        try:
            if now - self._purged_at >= PURGE_EVERY:
                self._purge(db, now)
                self._purged_at = now
            result = fn(db, now)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    @staticmethod
    def _purge(db: sqlite3.Connection, now: float) -> None:
        db.execute("DELETE FROM seen WHERE expires <= ?", (now,))
        db.execute("DELETE FROM investigations WHERE expires <= ?", (now,))
        db.execute("DELETE FROM storm_keys WHERE until <= ?", (now,))
        db.execute("DELETE FROM storms WHERE until <= ?", (now - STORM_GRACE,))
        db.execute("DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at <= ?", (now - JOB_TTL,))
        db.execute("DELETE FROM slots WHERE tat <= ?", (now,))


class SqliteSeenKeys(SeenKeys):
    def __init__(self, database: SqliteDatabase, *, ttl: float = SEEN_TTL):
        self._db = database
        self._ttl = ttl

    async def first_sight(self, key: str, *, ttl: float | None = None) -> bool:
        life = ttl if ttl is not None else self._ttl

        def sight(db: sqlite3.Connection, now: float) -> bool:
            row = db.execute("SELECT expires FROM seen WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] > now:
                return False
            db.execute("INSERT OR REPLACE INTO seen (key, expires) VALUES (?, ?)", (key, now + life))
            return True

        return await self._db.run(self._db.write, sight)


class SqliteInvestigationStore(InvestigationStore):
    def __init__(self, database: SqliteDatabase, *, ttl: float = INVESTIGATION_TTL):
        self._db = database
        self._ttl = ttl

    async def save(self, stored: StoredInvestigation) -> str:
        body = codec.dumps(stored)

        def save(db: sqlite3.Connection, now: float) -> str:
            while True:
                ref = new_reference()
                row = db.execute("SELECT expires FROM investigations WHERE ref = ?", (ref,)).fetchone()
                if row is None or row[0] <= now:
                    break
            db.execute(_PUT_INVESTIGATION, (ref, body, now + self._ttl))
            return ref

        return await self._db.run(self._db.write, save)

    async def load(self, ref: str) -> StoredInvestigation | None:
        def load() -> str | None:
            row = self._db.db.execute(
                "SELECT body FROM investigations WHERE ref = ? AND expires > ?", (ref, self._db.clock())
            ).fetchone()
            return None if row is None else str(row[0])

        body = await self._db.run(load)
        return None if body is None else codec.loads(StoredInvestigation, body)

    async def replace(self, ref: str, stored: StoredInvestigation) -> None:
        body = codec.dumps(stored)

        def put(db: sqlite3.Connection, now: float) -> None:
            db.execute(_PUT_INVESTIGATION, (ref, body, now + self._ttl))

        await self._db.run(self._db.write, put)


class SqliteFeedbackLog(FeedbackLog):
    def __init__(self, database: SqliteDatabase, *, max_entries: int = FEEDBACK_MAX):
        self._db = database
        self._max = max_entries

    async def record(self, feedback: Feedback) -> None:
        body = codec.dumps(feedback)

        def record(db: sqlite3.Connection, now: float) -> None:
            (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM feedback").fetchone()
            db.execute(
                "INSERT OR REPLACE INTO feedback (ref, idx, user, vote, body, seq) VALUES (?, ?, ?, ?, ?, ?)",
                (feedback.ref, feedback.index, feedback.user, str(feedback.vote), body, seq),
            )
            db.execute("DELETE FROM feedback WHERE seq <= ?", (seq - self._max,))

        await self._db.run(self._db.write, record)
        log_feedback(feedback)

    async def for_diagnosis(self, ref: str, index: int) -> tuple[Feedback, ...]:
        def rows() -> list[str]:
            query = "SELECT body FROM feedback WHERE ref = ? AND idx = ? ORDER BY seq"
            return [str(r[0]) for r in self._db.db.execute(query, (ref, index))]

        return tuple(codec.loads(Feedback, body) for body in await self._db.run(rows))

    async def totals(self) -> tuple[int, int]:
        def count() -> tuple[int, int]:
            query = "SELECT COALESCE(SUM(vote = ?), 0), COUNT(*) FROM feedback"
            up, total = self._db.db.execute(query, (str(Vote.UP),)).fetchone()
            return int(up), int(total) - int(up)

        return await self._db.run(count)


class SqliteAuditLog(AuditLog):
    def __init__(self, database: SqliteDatabase, *, max_entries: int = AUDIT_MAX):
        self._db = database
        self._max = max_entries

    async def record(self, entry: AuditEntry) -> None:
        body = codec.dumps(entry)

        def record(db: sqlite3.Connection, now: float) -> None:
            seq = db.execute("INSERT INTO audit (at, body) VALUES (?, ?)", (entry.at, body)).lastrowid
            if seq is not None:
                db.execute("DELETE FROM audit WHERE seq <= ?", (seq - self._max,))

        await self._db.run(self._db.write, record)

    async def query(
        self,
        *,
        since: float | None = None,
        user: str | None = None,
        channels: Collection[str] | None = None,
        limit: int = 100,
    ) -> tuple[AuditEntry, ...]:
        def rows() -> list[str]:
            query = "SELECT body FROM audit WHERE at >= ? ORDER BY seq DESC"
            return [str(r[0]) for r in self._db.db.execute(query, (since if since is not None else float("-inf"),))]

        entries = (codec.loads(AuditEntry, body) for body in await self._db.run(rows))
        return newest_matching(entries, since=since, user=user, channels=channels, limit=limit)


class SqliteStormLog(StormLog):
    def __init__(self, database: SqliteDatabase):
        self._db = database

    @staticmethod
    def _live(db: sqlite3.Connection, key: str, now: float) -> Storm | None:
        row = db.execute(
            "SELECT s.body FROM storm_keys k JOIN storms s ON s.id = k.storm WHERE k.key = ? AND k.until > ?",
            (key, now),
        ).fetchone()
        storm = None if row is None else codec.loads(Storm, row[0])
        return storm if storm is not None and storm.until > now else None

    @staticmethod
    def _put(db: sqlite3.Connection, storm: Storm) -> None:
        db.execute(
            "INSERT OR REPLACE INTO storms (id, body, until) VALUES (?, ?, ?)",
            (storm.id, codec.dumps(storm), storm.until),
        )

    async def sight(self, key: str, *, channel: str, ts: str, window: float) -> Sighting:
        def sight(db: sqlite3.Connection, now: float) -> Sighting:
            storm = self._live(db, key, now)
            if storm is None:
                storm = Storm(new_id(), channel, ts, now, now + window, 1, now)
                self._put(db, storm)
                db.execute(_PUT_STORM_KEY, (key, storm.id, storm.until))
                return Sighting(storm, first=True, pointer=False)
            pointer = channel not in storm.pointed
            storm = replace(storm, count=storm.count + 1, last_at=now, pointed=tuple(sorted({*storm.pointed, channel})))
            self._put(db, storm)
            return Sighting(storm, first=False, pointer=pointer)

        return await self._db.run(self._db.write, sight)

    async def alias(self, storm_id: str, key: str) -> None:
        def alias(db: sqlite3.Connection, now: float) -> None:
            storm = self._get(db, storm_id)
            if storm is None or storm.until <= now or self._live(db, key, now) is not None:
                return
            db.execute(_PUT_STORM_KEY, (key, storm_id, storm.until))

        await self._db.run(self._db.write, alias)

    @staticmethod
    def _get(db: sqlite3.Connection, storm_id: str) -> Storm | None:
        row = db.execute("SELECT body FROM storms WHERE id = ?", (storm_id,)).fetchone()
        return None if row is None else codec.loads(Storm, row[0])

    async def attach(self, storm_id: str, *, answer_ts: str, ref: str, index: int) -> Storm | None:
        def attach(db: sqlite3.Connection, now: float) -> Storm | None:
            storm = self._get(db, storm_id)
            if storm is None:
                return None
            storm = replace(storm, answer_ts=answer_ts, ref=ref, index=index)
            self._put(db, storm)
            return storm

        return await self._db.run(self._db.write, attach)

    async def get(self, storm_id: str) -> Storm | None:
        return await self._db.run(lambda: self._get(self._db.db, storm_id))

    async def end(self, storm_id: str) -> None:
        def end(db: sqlite3.Connection, now: float) -> None:
            storm = self._get(db, storm_id)
            if storm is not None:
                self._put(db, replace(storm, until=min(storm.until, now)))
            db.execute("DELETE FROM storm_keys WHERE storm = ?", (storm_id,))

        await self._db.run(self._db.write, end)


class SqliteJobJournal(JobJournal):
    def __init__(self, database: SqliteDatabase):
        self._db = database

    async def add(self, job: Job) -> bool:
        body = codec.dumps(job)

        def add(db: sqlite3.Connection, now: float) -> bool:
            cursor = db.execute(
                "INSERT OR IGNORE INTO jobs (id, body, owner, lease_until, created_at, finished_at) "
                "VALUES (?, ?, ?, ?, ?, NULL)",
                (job.id, body, job.owner, job.lease_until, job.created_at),
            )
            return cursor.rowcount == 1

        return await self._db.run(self._db.write, add)

    @staticmethod
    def _get(db: sqlite3.Connection, job_id: str) -> Job | None:
        row = db.execute("SELECT body, owner, lease_until, finished_at FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        return replace(codec.loads(Job, row[0]), owner=row[1], lease_until=row[2], finished_at=row[3])

    async def get(self, job_id: str) -> Job | None:
        return await self._db.run(lambda: self._get(self._db.db, job_id))

    async def save(self, job: Job) -> bool:
        def save(db: sqlite3.Connection, now: float) -> bool:
            stored = self._get(db, job.id)
            if stored is None or stored.finished or stored.owner != job.owner:
                return False
            finished_at = now if job.status in FINISHED else None
            updated = replace(job, lease_until=stored.lease_until, finished_at=finished_at)
            db.execute(
                "UPDATE jobs SET body = ?, finished_at = ? WHERE id = ?", (codec.dumps(updated), finished_at, job.id)
            )
            return True

        return await self._db.run(self._db.write, save)

    async def renew(self, job_ids: Collection[str], *, owner: str, lease: float) -> frozenset[str]:
        ids = list(job_ids)

        def renew(db: sqlite3.Connection, now: float) -> frozenset[str]:
            held = set()
            for job_id in ids:
                cursor = db.execute(
                    "UPDATE jobs SET lease_until = ? WHERE id = ? AND owner = ? AND finished_at IS NULL",
                    (now + lease, job_id, owner),
                )
                if cursor.rowcount:
                    held.add(job_id)
            return frozenset(held)

        return await self._db.run(self._db.write, renew) if ids else frozenset()

    async def release(self, job_ids: Collection[str], *, owner: str) -> None:
        ids = list(job_ids)

        def release(db: sqlite3.Connection, now: float) -> None:
            db.executemany(
                "UPDATE jobs SET lease_until = 0 WHERE id = ? AND owner = ? AND finished_at IS NULL",
                [(job_id, owner) for job_id in ids],
            )

        if ids:
            await self._db.run(self._db.write, release)

    async def take_over(self, *, owner: str, lease: float, limit: int) -> tuple[Job, ...]:
        def take(db: sqlite3.Connection, now: float) -> tuple[Job, ...]:
            rows = db.execute(
                "SELECT id FROM jobs WHERE finished_at IS NULL AND lease_until <= ? ORDER BY created_at, id LIMIT ?",
                (now, limit),
            ).fetchall()
            taken = []
            for (job_id,) in rows:
                stored = self._get(db, job_id)
                if stored is None:
                    continue
                job = replace(stored, owner=owner, lease_until=now + lease, attempts=stored.attempts + 1)
                db.execute(
                    "UPDATE jobs SET body = ?, owner = ?, lease_until = ? WHERE id = ?",
                    (codec.dumps(job), owner, job.lease_until, job_id),
                )
                taken.append(job)
            return tuple(taken)

        return await self._db.run(self._db.write, take)

    async def pending(self) -> int:
        def count() -> int:
            (n,) = self._db.db.execute("SELECT COUNT(*) FROM jobs WHERE finished_at IS NULL").fetchone()
            return int(n)

        return await self._db.run(count)


class SqlitePostingSlots(PostingSlots):
    def __init__(self, database: SqliteDatabase):
        self._db = database

    async def reserve(self, key: str, *, interval: float, burst: int) -> float:
        def reserve(db: sqlite3.Connection, now: float) -> float:
            row = db.execute("SELECT tat FROM slots WHERE key = ?", (key,)).fetchone()
            wait, tat = gcra(None if row is None else float(row[0]), now, interval, burst)
            db.execute("INSERT OR REPLACE INTO slots (key, tat) VALUES (?, ?)", (key, tat))
            return wait

        return await self._db.run(self._db.write, reserve)


async def open_sqlite_state(path: Path, *, clock: Clock = time.time) -> State:
    database = SqliteDatabase(path, clock=clock)
    await database.open()
    return State(
        seen=SqliteSeenKeys(database),
        investigations=SqliteInvestigationStore(database),
        feedback=SqliteFeedbackLog(database),
        audit=SqliteAuditLog(database),
        storms=SqliteStormLog(database),
        jobs=SqliteJobJournal(database),
        slots=SqlitePostingSlots(database),
        where=f"sqlite:{path}",
        closer=database.close,
    )
