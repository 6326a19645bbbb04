"""Running the doctor: the AWS side end to end, sections that cannot crash the whole, and a briefly cached report."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from diagnostics.doctor.checks import run_checks
from diagnostics.doctor.checks.base import AWS, ORGANIZATIONS, account_group
from diagnostics.doctor.gather import collect
from diagnostics.doctor.outlook import outlook
from diagnostics.doctor.report import AccountOutlook, DoctorReport, Line, Status
from diagnostics.reader import AwsConfig, AwsReader

logger = logging.getLogger("iamwhy.doctor")

Clock = Callable[[], float]


@dataclass(frozen=True)
class Section:
    """A part of the checklist (configuration, Slack, AWS) and, for AWS, the per-account outlook."""

    lines: tuple[Line, ...]
    outlook: tuple[AccountOutlook, ...] = ()


async def check_aws(reader: AwsReader, config: AwsConfig, *, region: str) -> Section:
    """Read what the doctor needs through the read-only adapter, then judge it."""
    facts = await collect(reader, config, region=region)
    # Checks run one after another; the checklist reads better by place: the bot, the organization, each account.
    order = {AWS: 0, ORGANIZATIONS: 1}
    order.update({account_group(a): 2 + i for i, a in enumerate(facts.accounts)})
    lines = sorted(run_checks(facts), key=lambda line: order.get(line.group, len(order)))
    return Section(tuple(lines), outlook(facts))


async def guarded(group: str, work: Awaitable[Section]) -> Section:
    """The section, or a ✗ line with a logged reference if producing it raised."""
    try:
        return await work
    except Exception:
        ref = uuid.uuid4().hex[:8]
        logger.exception("doctor section %s failed ref=%s", group, ref)
        line = Line(
            "check",
            group,
            f"{group} checks",
            Status.FAILED,
            f"every {group} check",
            f"could not run: an internal error (reference {ref})",
            f"The log line with reference {ref} has the details.",
            subject=group.lower(),
        )
        return Section((line,))


def assemble(sections: Sequence[Section], *, checked_at: float, duration_ms: float) -> DoctorReport:
    lines = tuple(line for section in sections for line in section.lines)
    accounts = tuple(o for section in sections for o in section.outlook)
    return DoctorReport(lines, accounts, checked_at=checked_at, duration_ms=round(duration_ms, 1))


class StatusSource(Protocol):
    """Where the Slack app gets the checklist from (`/iamwhy status`, the Home tab)."""

    async def get(self, *, max_age: float) -> DoctorReport: ...

    def latest(self) -> tuple[DoctorReport, float] | None: ...


class CachedReport(StatusSource):
    """The latest report, reused while young enough; callers arriving during a run share it."""

    def __init__(self, run: Callable[[], Awaitable[DoctorReport]], *, clock: Clock = time.monotonic) -> None:
        self._run = run
        self._clock = clock
        self._latest: tuple[float, DoctorReport] | None = None
        self._running: asyncio.Future[DoctorReport] | None = None

    async def get(self, *, max_age: float) -> DoctorReport:
        """A report at most `max_age` seconds old (0: a fresh run, or the one in progress)."""
        latest = self._latest
        if latest is not None and self._clock() - latest[0] <= max_age:
            return latest[1]
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._refresh())
        return await asyncio.shield(self._running)

    def latest(self) -> tuple[DoctorReport, float] | None:
        """The last report and its age in seconds, without running anything."""
        if self._latest is None:
            return None
        at, report = self._latest
        return report, self._clock() - at

    async def _refresh(self) -> DoctorReport:
        report = await self._run()
        self._latest = (self._clock(), report)
        return report
