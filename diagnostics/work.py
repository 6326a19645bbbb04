"""Running journaled jobs: a bounded number at once, the rest waiting in arrival order, none lost to a crash.

A job is journaled (leased to this process) before anything of it runs. While the process lives it renews
the leases of its jobs; when it dies, its leases run out and any process sharing the journal takes the jobs
over, at start and then periodically. The executor records each step's progress in the journal, so whoever
finishes a job carries on where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from types import TracebackType
from typing import Protocol

from diagnostics.state import Clock, Job, JobJournal, JobKind

logger = logging.getLogger("iamwhy.work")

DEFAULT_CONCURRENCY = 8
# How long a job stays with a process that stopped renewing it before another takes it over.
DEFAULT_LEASE = 60.0
# A job taken over this many times is given up: it is what kills its workers.
MAX_ATTEMPTS = 3


class LeaseLost(Exception):
    """Another process took this job over (this one was presumed dead): stop working on it, silently."""


class Executor(Protocol):
    async def run(self, job: Job) -> None:
        """Carry `job` through to the end, recording progress; raise LeaseLost when the journal refuses a write."""
        ...

    async def abandon(self, job: Job) -> None:
        """Give up `job` (it failed too many times) and tell whoever waits for it."""
        ...


class FifoGate:
    """At most `limit` holders at once; the others wait and go in the order they came."""

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.limit = limit
        self.busy = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    async def __aenter__(self) -> None:
        if self.busy < self.limit and not self.waiting:
            self.busy += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # The slot was handed over just as this waiter was cancelled: pass it on.
                self._release()
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._release()

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                # The slot passes straight to the next waiter: `busy` stays the same.
                waiter.set_result(None)
                return
        self.busy -= 1


def owner_id() -> str:
    """This process among the replicas: host, pid and a random part (a restarted process is a new owner)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class JobRunner:
    """Journals jobs, runs them through the executor under a FIFO concurrency gate, and takes over dead owners'."""

    def __init__(
        self,
        journal: JobJournal,
        executor: Executor,
        *,
        owner: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease: float = DEFAULT_LEASE,
        clock: Clock = time.time,
    ):
        if lease <= 0:
            raise ValueError("the lease must be positive")
        self.journal = journal
        self.owner = owner or owner_id()
        self.gate = FifoGate(concurrency)
        self.lease = lease
        self._executor = executor
        self._clock = clock
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._closing = False
        self._changed: asyncio.Condition | None = None

    # ------------------------------------------------------------------------------------------------ use

    async def submit(self, job: Job) -> bool:
        """Journal `job` and run it; False (nothing runs) when the journal already has it."""
        self.start()
        job = replace(job, owner=self.owner, lease_until=self._clock() + self.lease)
        if not await self.journal.add(job):
            return False
        self._spawn(job)
        return True

    def queue_depth(self) -> int:
        """Jobs of this process waiting for an investigation slot (for metrics)."""
        return self.gate.waiting

    def in_flight(self) -> int:
        """Jobs of this process not finished (waiting or running)."""
        return len(self._tasks)

    async def idle(self) -> None:
        """Wait until this process has no job left."""
        changed = self._condition()
        async with changed:
            await changed.wait_for(lambda: not self._tasks)

    # ------------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Renew leases and take over expired jobs in the background (at once, then every third of a lease)."""
        if self._loops or self._closing:
            return
        self._loops = [asyncio.create_task(self._renew_loop()), asyncio.create_task(self._take_over_loop())]

    async def recover(self) -> int:
        """Take over every job whose owner stopped renewing it; how many were taken."""
        taken = 0
        while True:
            batch = await self.journal.take_over(owner=self.owner, lease=self.lease, limit=50)
            for job in batch:
                self._spawn(job)
            taken += len(batch)
            if len(batch) < 50:
                return taken

    async def close(self, *, grace: float = 20.0) -> None:
        """Stop taking work; give running jobs `grace` seconds, then stop them and hand their leases back."""
        self._closing = True
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=grace)
        unfinished = list(self._tasks)
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if unfinished:
            await self.journal.release(unfinished, owner=self.owner)
            logger.info("jobs handed back", extra={"fields": {"jobs": len(unfinished)}})

    # ------------------------------------------------------------------------------------------------ internals

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def _spawn(self, job: Job) -> None:
        if job.id in self._tasks:
            return
        self._tasks[job.id] = asyncio.create_task(self._run(job), name=f"iamwhy-job-{job.id}")

    async def _run(self, job: Job) -> None:
        try:
            if job.attempts > MAX_ATTEMPTS:
                logger.error("job given up", extra={"fields": {"job": job.id, "attempts": job.attempts}})
                await self._executor.abandon(job)
            elif job.kind is JobKind.ANSWER:
                async with self.gate:
                    await self._executor.run(job)
            else:
                await self._executor.run(job)
        except LeaseLost:
            logger.info("job taken over by another process", extra={"fields": {"job": job.id}})
        except Exception:
            # The executor reports failures to people itself; reaching here means that reporting failed too. The
            # job stays journaled: its lease runs out and it is tried again, up to MAX_ATTEMPTS.
            logger.exception("job failed", extra={"fields": {"job": job.id}})
        finally:
            self._tasks.pop(job.id, None)
            await self._notify()

    async def _notify(self) -> None:
        changed = self._condition()
        async with changed:
            changed.notify_all()

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            await self._guarded(self._renew)

    async def _renew(self) -> None:
        mine = list(self._tasks)
        if not mine:
            return
        held = await self.journal.renew(mine, owner=self.owner, lease=self.lease)
        for job_id in set(mine) - held:
            # Finished meanwhile, or taken over by a process that thought this one dead: then it must stop.
            task = self._tasks.get(job_id)
            if task is not None and not task.done() and await self._lost(job_id):
                task.cancel()

    async def _lost(self, job_id: str) -> bool:
        job = await self.journal.get(job_id)
        return job is not None and not job.finished and job.owner != self.owner

    async def _take_over_loop(self) -> None:
        while True:
            await self._guarded(self.recover)
            await asyncio.sleep(self.lease / 3)

    @staticmethod
    async def _guarded(step: Callable[[], Awaitable[object]]) -> None:
        try:
            await step()
        except Exception:
            # The state backend may be briefly unreachable (Redis restarting): try again next round.
            logger.warning("journal maintenance failed; retrying", exc_info=True)
