"""Journaled work in Slack: each answer job posts its placeholder, investigates, answers, and records every step.

A job that a crash interrupted is finished by whichever process takes it over: the placeholder already posted
is updated rather than posted again, an investigation already stored is not redone, and the messages already
delivered are not delivered again. Failures reach the person as the error boundary would word them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from diagnostics.investigate import Investigation, Investigator
from diagnostics.model import DeniedRequest
from diagnostics.parse import scan
from diagnostics.state import FINISHED, Job, JobJournal, JobKind, JobStatus, State, StoredInvestigation
from diagnostics.tracing import start_correlation
from diagnostics.work import DEFAULT_CONCURRENCY, DEFAULT_LEASE, JobRunner, LeaseLost
from handlers import ids
from handlers.access import Access
from handlers.audit import Asker, AuditOutcome, Run
from handlers.blocks import (
    Message,
    credentials_warning,
    render_investigation,
    render_no_denial,
    render_notice,
    render_placeholder,
)
from handlers.delivery import post_to_response_url
from handlers.errors import UNDELIVERABLE, log_failure, slack_failure
from handlers.replies import NOT_THERE, RESPONSE_URL_USES, Trigger, fingerprint, log_answer
from handlers.storms import DEFAULT_WINDOW, StormCounts, blocking_key, render_pointer, with_count

logger = logging.getLogger("iamwhy.slack")

NOT_A_MEMBER = (
    "I am not a member of that channel, so I cannot answer in its thread: only you see this answer. "
    "Invite me (`/invite @iamwhy`) to answer in threads there."
)
GAVE_UP = "⚠️ iamwhy could not finish this answer after several tries. The details are in its log."
NOTICES: dict[str, Callable[[], Message]] = {
    "credentials": credentials_warning,
    "not_a_member": lambda: render_notice(f"ℹ️ {NOT_A_MEMBER}"),
}


class Tracked:
    """A job and its journal entry, kept in step: each change is written before the next step starts."""

    def __init__(self, journal: JobJournal, job: Job):
        self._journal = journal
        self.job = job

    async def update(self, **changes: Any) -> Job:
        job = replace(self.job, **changes)
        if not await self._journal.save(job):
            raise LeaseLost(job.id)
        self.job = job
        return job


class SlackJobs:
    """The executor of answer and pointer jobs (diagnostics.work.Executor)."""

    def __init__(
        self,
        *,
        investigator: Investigator,
        state: State,
        client: AsyncWebClient,
        counts: StormCounts,
        access: Access | None = None,
    ):
        self._investigator = investigator
        self._state = state
        self._client = client
        self._counts = counts
        self._access = access if access is not None else Access()

    async def run(self, job: Job) -> None:
        if job.correlation_id:
            # The job's task (started by the request, or by a replica taking the job over) logs under its request.
            start_correlation(job.correlation_id)
        tracked = Tracked(self._state.jobs, job)
        if job.kind is JobKind.POINTER:
            await self._pointer(tracked)
            return
        run = self._run(job)
        await tracked.update(status=JobStatus.RUNNING)
        try:
            if job.thread_ts is not None:
                await self._in_thread(tracked, run)
            else:
                await self._privately(tracked, run)
        except LeaseLost:
            raise
        except Exception as error:
            await self._failed(tracked, error)
            await run.failed()
            return
        await run.finish(AuditOutcome.ANSWERED)

    async def abandon(self, job: Job) -> None:
        tracked = Tracked(self._state.jobs, job)
        try:
            await self._report(tracked, render_notice(GAVE_UP))
        except UNDELIVERABLE as exc:
            logger.warning("could not report a job given up", extra={"fields": slack_failure(exc) or {}})
        await self._close(tracked, JobStatus.FAILED)
        if job.kind is JobKind.ANSWER:
            await self._run(job).finish(AuditOutcome.FAILED, always=True)
        for storm_id in job.storms if job.kind is JobKind.ANSWER else ():
            await self._state.storms.end(storm_id)

    # ------------------------------------------------------------------------------------------------ answers

    def _run(self, job: Job) -> Run:
        """The audited investigation of an answer job, scoped to the accounts of the channel it was asked in."""
        thread = job.thread_ts if job.thread_ts is not None and job.channel is not None else None
        asker = Asker(job.trigger, job.user, job.channel, thread)
        return Run(
            investigator=self._investigator,
            state=self._state,
            access=self._access,
            asker=asker,
            correlation_id=job.correlation_id,
        )

    async def _in_thread(self, tracked: Tracked, run: Run) -> None:
        job = tracked.job
        channel, thread_ts = job.channel, job.thread_ts
        assert channel is not None
        assert thread_ts is not None
        if job.placeholder_ts is None:
            if job.react and job.message_ts:
                await _react(self._client, channel, job.message_ts, ids.Emoji.SEEN)
            denials = await _denials(job)
            placeholder = render_placeholder(denials)
            try:
                posted = await self._client.chat_postMessage(
                    channel=channel, thread_ts=thread_ts, text=placeholder.text, blocks=placeholder.blocks
                )
            except SlackApiError as exc:
                if exc.response.get("error") not in NOT_THERE or not job.response_url:
                    raise
                # Asked through the message shortcut in a channel the bot is not in: the asker alone gets it.
                await tracked.update(thread_ts=None, notices=(*job.notices, "not_a_member"), limit=RESPONSE_URL_USES)
                run.asker = Asker(run.asker.trigger, run.asker.user, run.asker.channel)
                await self._privately(tracked, run)
                return
            job = await tracked.update(placeholder_ts=str(posted["ts"]))
        assert job.placeholder_ts is not None
        investigation, ref = await self._investigation(tracked, run)
        wanted = set(job.only) if job.only is not None else None
        diagnoses = investigation.diagnoses
        chosen = [i for i, d in enumerate(diagnoses) if wanted is None or fingerprint(d.request) in wanted]
        # Everyone in the channel reads a thread: the sensitive details stay private unless it is a detail channel.
        details = self._access.shows_details(channel)
        messages = render_investigation(investigation, ref=ref, only=chosen or None, details=details)
        storm_of = dict(zip(job.only or (), job.storms, strict=False))
        for n, message in enumerate(messages):
            if n < tracked.job.sent:
                continue
            index = chosen[n] if n < len(chosen) else None
            diagnosis = investigation.diagnoses[index] if index is not None else None
            storm_id = storm_of.get(fingerprint(diagnosis.request)) if diagnosis is not None else None
            storm = await self._state.storms.get(storm_id) if storm_id else None
            if storm is not None and storm.count > 1:
                message = with_count(message, storm)
            if n == 0:
                await self._client.chat_update(
                    channel=channel, ts=job.placeholder_ts, text=message.text, blocks=message.blocks
                )
                ts = job.placeholder_ts
            else:
                posted = await self._client.chat_postMessage(
                    channel=channel, thread_ts=thread_ts, text=message.text, blocks=message.blocks
                )
                ts = str(posted["ts"])
            await tracked.update(sent=n + 1)
            if storm_id and diagnosis is not None and index is not None:
                await self._storm_answered(storm_id, ts, ref, index, storm.count if storm else 1, diagnosis)
        await self._close(tracked, JobStatus.DONE)
        log_answer(Trigger(job.trigger), job.channel, ref, investigation)

    async def _storm_answered(self, storm_id: str, ts: str, ref: str, index: int, shown: int, diagnosis: Any) -> None:
        storms = self._state.storms
        attached = await storms.attach(storm_id, answer_ts=ts, ref=ref, index=index)
        key = blocking_key(diagnosis)
        if key is not None:
            await storms.alias(storm_id, key)
        if attached is not None and attached.count > shown:
            self._counts.counted(storm_id)

    async def _privately(self, tracked: Tracked, run: Run) -> None:
        job = tracked.job
        notices = [NOTICES[name]() for name in job.notices if name in NOTICES]
        found = await asyncio.to_thread(scan, job.text)
        investigation: Investigation | None = None
        ref = None
        if found.denials:
            investigation, ref = await self._investigation(tracked, run)
            answer = render_investigation(
                investigation, ref=ref, shareable=True, limit=max(1, job.limit - len(notices))
            )
        else:
            answer = [render_no_denial(found)]
        send = self._sender(job)
        for n, message in enumerate([*notices, *answer]):
            if n < tracked.job.sent:
                continue
            await send(message)
            await tracked.update(sent=n + 1)
        await self._close(tracked, JobStatus.DONE)
        if investigation is not None and ref is not None:
            log_answer(Trigger(job.trigger), job.channel, ref, investigation)

    async def _investigation(self, tracked: Tracked, run: Run) -> tuple[Investigation, str]:
        """The job's investigation: the one stored before a crash if there is one, else a new one, stored."""
        job = tracked.job
        if job.ref is not None:
            stored = await self._state.investigations.load(job.ref)
            if stored is not None:
                found = await asyncio.to_thread(scan, job.text)
                resumed = Investigation(found, stored.diagnoses, 0.0)
                run.resumed(resumed)
                return resumed, job.ref
        investigation = await run.investigate(job.text)
        ref = await self._state.investigations.save(StoredInvestigation(job.text, investigation.diagnoses))
        await tracked.update(ref=ref)
        return investigation, ref

    def _sender(self, job: Job) -> Callable[[Message], Any]:
        if job.response_url:
            return _via_response_url(job.response_url, self._client)
        if job.user is None:
            raise ValueError(f"job {job.id} has nowhere to answer")
        return _via_ephemeral(self._client, job.channel, job.user)

    # ------------------------------------------------------------------------------------------------ pointers

    async def _pointer(self, tracked: Tracked) -> None:
        job = tracked.job
        storm = await self._state.storms.get(job.storms[0]) if job.storms else None
        if storm is not None and job.channel and job.thread_ts and not job.sent:
            permalink = None
            try:
                link = await self._client.chat_getPermalink(channel=storm.channel, message_ts=storm.ts)
                permalink = str(link.get("permalink") or "") or None
            except SlackApiError as exc:
                logger.info("no permalink for a storm", extra={"fields": {"slack_error": exc.response.get("error")}})
            denials = await _denials(job)
            pointer = render_pointer(storm, denials[0] if denials else None, permalink)
            await self._client.chat_postMessage(
                channel=job.channel, thread_ts=job.thread_ts, text=pointer.text, blocks=pointer.blocks
            )
            await tracked.update(sent=1)
        await self._close(tracked, JobStatus.DONE)

    # ------------------------------------------------------------------------------------------------ endings

    async def _close(self, tracked: Tracked, status: JobStatus) -> None:
        if tracked.job.status not in FINISHED:
            await tracked.update(status=status)

    async def _failed(self, tracked: Tracked, error: Exception) -> None:
        job = tracked.job
        text = log_failure(error, {"job": job.id})
        try:
            await self._report(tracked, render_notice(text))
        except UNDELIVERABLE as exc:
            logger.warning("could not deliver an error message", extra={"fields": slack_failure(exc) or {}})
        await self._close(tracked, JobStatus.FAILED)
        # The next post of a storm whose first investigation failed is investigated afresh.
        for storm_id in job.storms:
            await self._state.storms.end(storm_id)

    async def _report(self, tracked: Tracked, notice: Message) -> None:
        job = tracked.job
        if job.kind is JobKind.POINTER or not (job.channel or job.response_url):
            return
        if job.thread_ts is not None and job.channel is not None:
            if job.placeholder_ts is not None:
                await self._client.chat_update(
                    channel=job.channel, ts=job.placeholder_ts, text=notice.text, blocks=notice.blocks
                )
            elif job.user is not None or job.trigger != Trigger.ALERT:
                await self._client.chat_postMessage(
                    channel=job.channel, thread_ts=job.thread_ts, text=notice.text, blocks=notice.blocks
                )
        elif job.response_url or job.user:
            await self._sender(job)(notice)


async def _denials(job: Job) -> Sequence[DeniedRequest]:
    found = await asyncio.to_thread(scan, job.text)
    wanted = set(job.only) if job.only is not None else None
    return [d for d in found.denials if wanted is None or fingerprint(d) in wanted]


async def _react(client: AsyncWebClient, channel: str, ts: str, emoji: ids.Emoji) -> None:
    try:
        await client.reactions_add(channel=channel, timestamp=ts, name=emoji)
    except SlackApiError as exc:
        # A reaction is a courtesy (and may already be there after a restart): the answer goes out without it.
        logger.info("reaction not added", extra={"fields": {"slack_error": exc.response.get("error")}})


def _via_response_url(url: str, client: AsyncWebClient) -> Callable[[Message], Any]:
    """Posts through a response_url, retried like the client's own calls; a refusal (the URL expired after 30
    minutes, was used five times, or Slack kept failing) raises DeliveryFailed."""

    async def send(message: Message) -> None:
        await post_to_response_url(
            url, message, client.retry_handlers or [], response_type="ephemeral", replace_original=False
        )

    return send


def _via_ephemeral(client: AsyncWebClient, channel: str | None, user: str) -> Callable[[Message], Any]:
    """Ephemeral in `channel`; the person's direct messages with the bot when the bot cannot post there."""
    direct = {"yes": not channel}

    async def send(message: Message) -> None:
        if channel and not direct["yes"]:
            try:
                await client.chat_postEphemeral(channel=channel, user=user, text=message.text, blocks=message.blocks)
                return
            except SlackApiError as exc:
                if exc.response.get("error") not in NOT_THERE:
                    raise
                direct["yes"] = True
        await client.chat_postMessage(channel=user, text=message.text, blocks=message.blocks)

    return send


@dataclass
class Worker:
    """The Slack app's background work: the job runner, its executor and the storm counts."""

    runner: JobRunner
    counts: StormCounts
    state: State
    window: float = DEFAULT_WINDOW

    async def submit(self, job: Job) -> bool:
        return await self.runner.submit(job)

    def queue_depth(self) -> int:
        """Investigations of this process waiting for a free slot (for metrics)."""
        return self.runner.queue_depth()

    async def start(self) -> int:
        """Start the background work and take over the jobs of processes that died; how many were taken."""
        self.runner.start()
        return await self.runner.recover()

    async def idle(self) -> None:
        """Wait until no job of this process is left (tests, benchmarks)."""
        while self.runner.in_flight():
            await self.runner.idle()

    async def close(self, *, grace: float = 20.0) -> None:
        await self.runner.close(grace=grace)
        await self.counts.flush()


def build_worker(
    *,
    investigator: Investigator,
    state: State,
    client: AsyncWebClient,
    concurrency: int = DEFAULT_CONCURRENCY,
    lease: float = DEFAULT_LEASE,
    window: float = DEFAULT_WINDOW,
    access: Access | None = None,
) -> Worker:
    counts = StormCounts(state, client)
    executor = SlackJobs(investigator=investigator, state=state, client=client, counts=counts, access=access)
    runner = JobRunner(state.jobs, executor, concurrency=concurrency, lease=lease)
    return Worker(runner, counts, state, window)
