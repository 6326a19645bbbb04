"""How an answer reaches people, for every surface: in a thread (placeholder, then the result) or privately.

Input is redacted before anything else sees it: the investigator, the store, the renderers and the log
only ever get the redacted text. Parsing and redaction run in a worker thread so a large paste never
holds up the acknowledgements of other requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from diagnostics.inputs import MAX_INPUT_BYTES
from diagnostics.investigate import Investigation
from diagnostics.model import DeniedRequest, ScanResult
from diagnostics.parse import scan
from diagnostics.secrets import redact
from diagnostics.state import StoredInvestigation
from diagnostics.tracing import current_correlation_id, new_correlation_id
from handlers import ids
from handlers.audit import Asker, audited
from handlers.blocks import (
    Message,
    credentials_warning,
    render_investigation,
    render_no_denial,
    render_placeholder,
)
from handlers.delivery import Retries, send_response
from handlers.deps import Deps
from handlers.errors import PROGRESS, Progress, TextTooLarge

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
    ANSWERED = "answered"
    NO_DENIAL = "no_denial"
    ALREADY_ANSWERED = "already_answered"


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


class Responder(Protocol):
    """Sends one message to the person who asked, however that person is reached."""

    async def __call__(self, message: Message) -> None: ...


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


async def prepare(text: str) -> Prepared:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_INPUT_BYTES:
        raise TextTooLarge(_size(size), _size(MAX_INPUT_BYTES))
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
) -> Outcome:
    """React, post a placeholder in the thread, investigate, and replace the placeholder with the answer.

    Each denial of a message is answered once (`claim`), whichever trigger sees it first. `only` restricts
    the answer to the denials with those fingerprints (an edit answers what it added).
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
    if react:
        await _react(client, thread, ids.Emoji.SEEN)
    placeholder = render_placeholder(fresh)
    posted = await client.chat_postMessage(
        channel=thread.channel, thread_ts=thread.thread_ts, text=placeholder.text, blocks=placeholder.blocks
    )
    context[PROGRESS] = Progress(thread.channel, str(posted["ts"]))
    asker = Asker(trigger, thread.user, thread.channel, thread.thread_ts)
    async with audited(deps, asker) as run:
        investigation = await run.investigate(prepared.text)
        ref = await deps.state.investigations.save(StoredInvestigation(prepared.text, investigation.diagnoses))
        keys = {fingerprint(d) for d in fresh}
        chosen = [i for i, d in enumerate(investigation.diagnoses) if fingerprint(d.request) in keys]
        details = deps.access.shows_details(thread.channel)
        first, *rest = render_investigation(investigation, ref=ref, only=chosen or None, details=details)
        await client.chat_update(channel=thread.channel, ts=str(posted["ts"]), text=first.text, blocks=first.blocks)
        del context[PROGRESS]
        for message in rest:
            await client.chat_postMessage(
                channel=thread.channel, thread_ts=thread.thread_ts, text=message.text, blocks=message.blocks
            )
    log_answer(trigger, thread.channel, ref, investigation)
    return Outcome.ANSWERED


def _answer_key(thread: Thread, denial: DeniedRequest) -> str:
    return f"answer:{thread.channel}:{thread.ts}:{fingerprint(denial)}"


async def answer_privately(
    deps: Deps,
    send: Responder,
    prepared: Prepared,
    *,
    trigger: Trigger,
    channel: str | None,
    user: str | None = None,
    uses: int = RESPONSE_URL_USES,
) -> None:
    """The answer for the asker alone, with a Share button; the credentials warning first when there were any."""
    if prepared.had_secrets:
        await send(credentials_warning())
        uses -= 1
    if not prepared.scan.denials:
        await send(render_no_denial(prepared.scan))
        return
    async with audited(deps, Asker(trigger, user, channel)) as run:
        investigation = await run.investigate(prepared.text)
        ref = await deps.state.investigations.save(StoredInvestigation(prepared.text, investigation.diagnoses))
        for message in render_investigation(investigation, ref=ref, shareable=True, limit=uses):
            await send(message)
    log_answer(trigger, channel, ref, investigation)


async def warn_credentials(client: AsyncWebClient, thread: Thread) -> None:
    if thread.user is None:
        return
    warning = credentials_warning()
    await client.chat_postEphemeral(channel=thread.channel, user=thread.user, text=warning.text, blocks=warning.blocks)


def via_response_url(respond: AsyncRespond, retries: Retries) -> Responder:
    async def send(message: Message) -> None:
        await send_response(respond, message, retries, response_type="ephemeral", replace_original=False)

    return send


def via_ephemeral(client: AsyncWebClient, channel: str | None, user: str) -> Responder:
    """Ephemeral in `channel`; the person's direct messages with the bot when the bot cannot post there."""
    state = {"direct": not channel}

    async def send(message: Message) -> None:
        if channel and not state["direct"]:
            try:
                await client.chat_postEphemeral(channel=channel, user=user, text=message.text, blocks=message.blocks)
                return
            except SlackApiError as exc:
                if exc.response.get("error") not in NOT_THERE:
                    raise
                state["direct"] = True
        await client.chat_postMessage(channel=user, text=message.text, blocks=message.blocks)

    return send


async def _react(client: AsyncWebClient, thread: Thread, emoji: ids.Emoji) -> None:
    try:
        await client.reactions_add(channel=thread.channel, timestamp=thread.ts, name=emoji)
    except SlackApiError as exc:
        # A reaction is a courtesy: the answer still goes out without it.
        logger.warning("reaction failed", extra={"fields": {"slack_error": exc.response.get("error")}})


async def mark_repeated(client: AsyncWebClient, thread: Thread) -> None:
    await _react(client, thread, ids.Emoji.REPEATED)


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
