"""How a question becomes an answer, for every surface: journaled as a job, answered in a thread or privately.

Input is redacted before anything else sees it: the investigator, the store, the journal, the renderers and
the log only ever get the redacted text. Parsing and redaction run in a worker thread so a large paste never
holds up the acknowledgements of other requests. The work itself (placeholder, investigation, answer) runs
in handlers.jobs once the job is journaled, so an acknowledged request survives a crash.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from diagnostics import metrics
from diagnostics.inputs import MAX_INPUT_BYTES
from diagnostics.investigate import Investigation
from diagnostics.model import DeniedRequest, ScanResult
from diagnostics.parse import scan
from diagnostics.secrets import redact
from diagnostics.state import Job, JobKind
from diagnostics.tracing import current_correlation_id, new_correlation_id
from handlers.blocks import credentials_warning
from handlers.deps import Deps
from handlers.errors import TextTooLarge
from handlers.storms import reported_key

logger = logging.getLogger("iamwhy.slack")

# A response_url accepts five messages (Slack's limit); an answer never needs more.
RESPONSE_URL_USES = 5
# Slack errors that mean "the bot cannot post there", as opposed to a failure worth reporting.
NOT_THERE = frozenset({"channel_not_found", "not_in_channel", "user_not_in_channel", "is_archived"})


class Trigger(StrEnum):
    """What brought a question in, for the log."""

    PASTE = "paste"
    ALERT = "alert"
    DIRECT = "direct_message"
    MENTION = "mention"
    COMMAND = "command"
    MODAL = "modal"
    SHORTCUT = "shortcut"
    RERUN = "rerun"


class Outcome(StrEnum):
    # Journaled: the answer is on its way.
    ANSWERED = "answered"
    NO_DENIAL = "no_denial"
    ALREADY_ANSWERED = "already_answered"
    # An alert storm's repeat: counted under the first answer.
    REPEATED = "repeated"


@dataclass(frozen=True)
class Prepared:
    """Input ready for investigation: credentials redacted, denials found."""

    text: str
    scan: ScanResult
    had_secrets: bool


@dataclass(frozen=True)
class Thread:
    """Where an answer goes: the thread of the message that carried the error, and who posted it."""

    channel: str
    ts: str
    thread_ts: str
    # The poster, to warn about pasted credentials; None for bots and integrations.
    user: str | None

    @classmethod
    def of(cls, message: Mapping[str, Any], channel: str, *, user: str | None) -> Thread:
        ts = str(message["ts"])
        return cls(channel, ts, str(message.get("thread_ts") or ts), user)


def correlation_id() -> str:
    """The id of the Slack request being served (a new one outside any)."""
    return current_correlation_id() or new_correlation_id()


def fingerprint(request: DeniedRequest) -> str:
    """A short stable key for one denial (the same error pasted twice has the same key); reveals nothing."""
    reported = request.reported
    parts = (
        request.principal_arn,
        request.action,
        request.resource_arn,
        request.account_id,
        reported.layer,
        reported.kind,
        reported.policy_arn,
        request.authorization_id,
        request.encoded_message,
    )
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:20]


# Up to this size a text is read on the event loop: at most about 2 ms (measured on worst-case texts of this size),
# and an alert or a pasted error is a few hundred bytes.
READ_INLINE_BYTES = 1024


async def prepare(text: str) -> Prepared:
    """The text redacted and read. A short one is read right here: that costs about as much as handing it to a
    thread, and posts of a burst are then read in the order they came (the first of a storm of alerts
    gets the investigation). A long paste is read in a thread, so that the loop acknowledges Slack meanwhile."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_INPUT_BYTES:
        raise TextTooLarge(_size(size), _size(MAX_INPUT_BYTES))
    if size <= READ_INLINE_BYTES:
        return _prepare(text)
    return await asyncio.to_thread(_prepare, text)


def _prepare(text: str) -> Prepared:
    redacted = redact(text)
    return Prepared(redacted, scan(redacted), redacted != text)


async def answer_in_thread(
    deps: Deps,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    thread: Thread,
    prepared: Prepared,
    *,
    trigger: Trigger,
    react: bool,
    claim: bool = True,
    only: Collection[str] | None = None,
    fallback_url: str | None = None,
) -> Outcome:
    """Journal the answer for the thread: the worker reacts, posts a placeholder, investigates and answers.

    Each denial of a message is answered once (`claim`), whichever trigger sees it first. `only` restricts
    the answer to the denials with those fingerprints (an edit answers what it added). Alert posts that repeat a
    denial already investigated within the storm window are counted, and pointed at the first thread instead.
    `fallback_url` is where the answer goes privately when the bot cannot post in the channel.
    """
    seen = deps.state.seen
    # A mention in a watched channel arrives twice (app_mention and message): one warning, like one answer.
    if prepared.had_secrets and thread.user and await seen.first_sight(f"warned:{thread.channel}:{thread.ts}"):
        await warn_credentials(client, thread)
    wanted = [d for d in prepared.scan.denials if only is None or fingerprint(d) in only]
    if not wanted:
        return Outcome.NO_DENIAL
    fresh = [d for d in wanted if not claim or await seen.first_sight(_answer_key(thread, d))]
    if not fresh:
        return Outcome.ALREADY_ANSWERED
    storms: list[str] = []
    if trigger is Trigger.ALERT:
        fresh, storms = await _storms(deps, thread, prepared, fresh)
        if not fresh:
            return Outcome.REPEATED
    keys = tuple(fingerprint(d) for d in fresh)
    job = new_job(
        JobKind.ANSWER,
        trigger,
        prepared.text,
        thread.channel,
        thread.ts,
        keys,
        fallback_url or "",
        channel=thread.channel,
        thread_ts=thread.thread_ts,
        message_ts=thread.ts,
        user=thread.user,
        response_url=fallback_url,
        only=keys,
        storms=tuple(storms),
        react=react,
    )
    await deps.worker.submit(job)
    return Outcome.ANSWERED


async def _storms(
    deps: Deps, thread: Thread, prepared: Prepared, denials: list[DeniedRequest]
) -> tuple[list[DeniedRequest], list[str]]:
    """The denials of an alert that start a storm (to investigate) and their storms; repeats are counted."""
    fresh: list[DeniedRequest] = []
    started: list[str] = []
    for denial in denials:
        sighting = await deps.state.storms.sight(
            reported_key(denial), channel=thread.channel, ts=thread.ts, window=deps.worker.window
        )
        if sighting.first:
            fresh.append(denial)
            started.append(sighting.storm.id)
            continue
        deps.worker.counts.counted(sighting.storm.id)
        metrics.storm_suppressed()
        if sighting.pointer:
            pointer = new_job(
                JobKind.POINTER,
                Trigger.ALERT,
                prepared.text,
                thread.channel,
                thread.ts,
                sighting.storm.id,
                channel=thread.channel,
                thread_ts=thread.thread_ts,
                message_ts=thread.ts,
                only=(fingerprint(denial),),
                storms=(sighting.storm.id,),
            )
            await deps.worker.submit(pointer)
    return fresh, started


def job_id(*parts: object) -> str:
    """The same request always makes the same job id, so a second delivery of it is not journaled twice."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:24]


def new_job(kind: JobKind, trigger: str, text: str, *parts: object, **fields: Any) -> Job:
    """A job for `text`, identified by `parts` (where it came from and what it answers), carrying the correlation
    id of the request it answers into the worker that runs it."""
    fields.setdefault("correlation_id", correlation_id())
    return Job(job_id(kind, trigger, *parts), kind, str(trigger), text, time.time(), **fields)


def _answer_key(thread: Thread, denial: DeniedRequest) -> str:
    return f"answer:{thread.channel}:{thread.ts}:{fingerprint(denial)}"


async def answer_privately(
    deps: Deps,
    prepared: Prepared,
    *,
    trigger: Trigger,
    channel: str | None,
    user: str,
    response_url: str | None = None,
    uses: int = RESPONSE_URL_USES,
    notices: tuple[str, ...] = (),
) -> None:
    """Journal the answer for the asker alone, with a Share button; the credentials warning first when there were
    any. It goes through `response_url` when there is one, else ephemerally in `channel` (or as a direct message)."""
    if prepared.had_secrets:
        notices = ("credentials", *notices)
    job = new_job(
        JobKind.ANSWER,
        trigger,
        prepared.text,
        response_url or "",
        channel,
        user,
        correlation_id(),
        channel=channel,
        user=user,
        response_url=response_url,
        notices=notices,
        limit=uses,
    )
    await deps.worker.submit(job)


async def warn_credentials(client: AsyncWebClient, thread: Thread) -> None:
    if thread.user is None:
        return
    warning = credentials_warning()
    await client.chat_postEphemeral(channel=thread.channel, user=thread.user, text=warning.text, blocks=warning.blocks)


def log_answer(trigger: Trigger, channel: str | None, ref: str, investigation: Investigation) -> None:
    logger.info(
        "answered",
        extra={
            "fields": {
                "trigger": str(trigger),
                "channel": channel,
                "ref": ref,
                "denials": len(investigation.diagnoses),
                "decisions": [str(d.decision) for d in investigation.diagnoses],
                "confidence": [str(d.confidence) for d in investigation.diagnoses],
                "blocked_by": [[str(b.layer) for b in d.blocked_by] for d in investigation.diagnoses],
                "duration_ms": round(investigation.duration_ms, 1),
            }
        },
    )


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    return f"{n / 1024:.1f} KiB"
