"""Every investigation a Slack surface starts: scoped to the channel's accounts, timed, counted and audited.

The audit record (who asked, where, which accounts, every AWS read, the outcome) is written when the answer
has gone out, or has failed to: as one JSON log line on `iamwhy.audit`, then to the state's audit log.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum

from diagnostics import metrics
from diagnostics.audit import AUDIT_LOGGER, AUDIT_MESSAGE, audit_entry, entry_json
from diagnostics.investigate import Investigation
from diagnostics.tracing import current_correlation_id, new_correlation_id
from handlers.deps import Deps

audit_logger = logging.getLogger(AUDIT_LOGGER)
logger = logging.getLogger("iamwhy.slack")


class AuditOutcome(StrEnum):
    ANSWERED = "answered"
    # The investigation itself failed (an internal error): the asker got an error message instead.
    FAILED = "failed"
    # The answer was ready but Slack did not take it.
    UNDELIVERED = "undelivered"


@dataclass(frozen=True)
class Asker:
    """Who asked, from where, and where the answer goes."""

    trigger: str
    user: str | None
    channel: str | None
    # The thread the answer goes to; None for answers only the asker sees.
    thread_ts: str | None = None


class Run:
    """One investigation on behalf of an asker (see `audited`)."""

    def __init__(self, deps: Deps, asker: Asker) -> None:
        self._deps = deps
        self.asker = asker
        self.correlation_id = current_correlation_id() or new_correlation_id()
        self.investigation: Investigation | None = None
        self._started: float | None = None
        self._seconds = 0.0

    async def investigate(self, text: str) -> Investigation:
        """The investigation of `text`, limited to the accounts the asker's channel may read."""
        limit = self._deps.access.accounts_for(self.asker.channel)
        self._started = time.perf_counter()
        try:
            # Investigators that predate channel scoping take no `accounts`; they are only given one when it applies.
            if limit is None:
                found = await self._deps.investigator.investigate(text, correlation_id=self.correlation_id)
            else:
                found = await self._deps.investigator.investigate(
                    text, correlation_id=self.correlation_id, accounts=limit
                )
        finally:
            self._seconds = time.perf_counter() - self._started
        self.investigation = found
        return found

    async def finish(self, outcome: AuditOutcome) -> None:
        if self._started is None:
            return
        asker, investigation = self.asker, self.investigation
        entry = audit_entry(
            id=uuid.uuid4().hex[:12],
            at=time.time(),
            trigger=asker.trigger,
            user=asker.user,
            channel=asker.channel,
            thread_ts=asker.thread_ts,
            investigation=investigation,
            outcome=str(outcome),
            correlation_id=self.correlation_id,
        )
        metrics.investigated(
            asker.trigger,
            str(outcome),
            self._seconds,
            investigation.scan if investigation is not None else None,
            investigation.diagnoses if investigation is not None else (),
        )
        audit_logger.info(AUDIT_MESSAGE, extra={"fields": entry_json(entry)})
        try:
            await self._deps.state.audit.record(entry)
        except Exception:  # a shared backend's errors are its own; the log line above already holds the record
            logger.exception("the audit record was not stored", extra={"fields": {"audit_id": entry.id}})


@asynccontextmanager
async def audited(deps: Deps, asker: Asker) -> AsyncIterator[Run]:
    """Investigate and answer inside the block; the audit record is written as it ends, however it ends."""
    run = Run(deps, asker)
    try:
        yield run
    except Exception:
        await run.finish(AuditOutcome.FAILED if run.investigation is None else AuditOutcome.UNDELIVERED)
        raise
    await run.finish(AuditOutcome.ANSWERED)
