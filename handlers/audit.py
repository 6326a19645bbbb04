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
from diagnostics.investigate import Investigation, Investigator
from diagnostics.state import State
from diagnostics.tracing import current_correlation_id, new_correlation_id
from handlers.access import Access
from handlers.deps import Deps

audit_logger = logging.getLogger(AUDIT_LOGGER)
logger = logging.getLogger("iamwhy.slack")


class AuditOutcome(StrEnum):
    ANSWERED = "answered"
    # The investigation itself failed (an internal error), or its job was given up.
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
    """One investigation on behalf of an asker, and its audit record."""

    def __init__(
        self,
        *,
        investigator: Investigator,
        state: State,
        access: Access,
        asker: Asker,
        correlation_id: str | None = None,
    ) -> None:
        self._investigator = investigator
        self._state = state
        self._access = access
        self.asker = asker
        self.correlation_id = correlation_id or current_correlation_id() or new_correlation_id()
        self.investigation: Investigation | None = None
        self._seconds: float | None = None

    async def investigate(self, text: str, *, fresh: bool = False) -> Investigation:
        """The investigation of `text`, limited to the accounts the asker's channel may read; `fresh`: nothing
        read before is reused (a re-run)."""
        limit = self._access.accounts_for(self.asker.channel)
        started = time.perf_counter()
        try:
            found = await self._investigator.investigate(
                text, correlation_id=self.correlation_id, accounts=limit, fresh=fresh
            )
        finally:
            self._seconds = time.perf_counter() - started
        self.investigation = found
        return found

    def resumed(self, investigation: Investigation) -> None:
        """The investigation a process that stopped had already made and stored (its reads are not known)."""
        self.investigation = investigation
        self._seconds = 0.0

    async def failed(self) -> None:
        """Write the audit record of a run that went wrong: in its investigation, or in delivering the answer."""
        await self.finish(AuditOutcome.FAILED if self.investigation is None else AuditOutcome.UNDELIVERED)

    async def finish(self, outcome: AuditOutcome, *, always: bool = False) -> None:
        """Write the audit record; only when an investigation was started, unless `always`."""
        if self._seconds is None and not always:
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
            self._seconds or 0.0,
            investigation.scan if investigation is not None else None,
            investigation.diagnoses if investigation is not None else (),
        )
        audit_logger.info(AUDIT_MESSAGE, extra={"fields": entry_json(entry)})
        try:
            await self._state.audit.record(entry)
        except Exception:  # a shared backend's errors are its own; the log line above already holds the record
            logger.exception("the audit record was not stored", extra={"fields": {"audit_id": entry.id}})


@asynccontextmanager
async def audited(deps: Deps, asker: Asker) -> AsyncIterator[Run]:
    """Investigate and answer inside the block; the audit record is written as it ends, however it ends."""
    run = Run(investigator=deps.investigator, state=deps.state, access=deps.access, asker=asker)
    try:
        yield run
    except Exception:
        await run.failed()
        raise
    await run.finish(AuditOutcome.ANSWERED)
