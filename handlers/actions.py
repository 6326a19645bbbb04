"""The buttons under an answer: Show full fix, Show evidence, Re-run, Share in channel, and 👍/👎."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from diagnostics.investigate import Investigation
from diagnostics.model import Diagnosis
from diagnostics.state import Feedback, StoredInvestigation, Vote
from handlers import ids
from handlers.audit import Asker, audited
from handlers.blocks import (
    Message,
    answer_value,
    evidence_modal,
    full_fix_modal,
    render_answer,
    render_notice,
    render_placeholder,
    render_shared,
)
from handlers.delivery import send_response
from handlers.deps import Deps
from handlers.errors import PROGRESS, AnswerExpired, Progress
from handlers.replies import Trigger, fingerprint, log_answer


@dataclass(frozen=True)
class Answer:
    """The stored answer a button belongs to."""

    ref: str
    index: int
    stored: StoredInvestigation

    @property
    def diagnosis(self) -> Diagnosis:
        return self.stored.diagnoses[self.index]


@dataclass(frozen=True)
class Where:
    """The message the button was clicked in."""

    ephemeral: bool
    channel: str | None
    ts: str | None
    thread_ts: str | None = None

    @classmethod
    def of(cls, body: dict[str, Any]) -> Where:
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        ts = container.get("message_ts")
        return cls(bool(container.get("is_ephemeral")), channel, ts, container.get("thread_ts") or ts)


async def load_answer(deps: Deps, value: str) -> Answer:
    ref, _, index = value.rpartition(":")
    stored = await deps.state.investigations.load(ref) if ref and index.isdigit() else None
    if stored is None or int(index) >= len(stored.diagnoses):
        raise AnswerExpired()
    return Answer(ref, int(index), stored)


def register(app: AsyncApp, deps: Deps) -> None:
    async def handle_show_fix_action(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        answer = await load_answer(deps, action["value"])
        await client.views_open(trigger_id=body["trigger_id"], view=full_fix_modal(answer.diagnosis))

    async def handle_show_evidence_action(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        answer = await load_answer(deps, action["value"])
        await client.views_open(trigger_id=body["trigger_id"], view=evidence_modal(answer.diagnosis))

    async def handle_rerun_action(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        answer = await load_answer(deps, action["value"])
        where = Where.of(body)
        placeholder = render_placeholder([answer.diagnosis.request], verb="Re-running")
        await _show(placeholder, where, client, respond)
        if not where.ephemeral and where.channel and where.ts:
            context[PROGRESS] = Progress(where.channel, where.ts)
        asker = Asker(Trigger.RERUN, _user(body), where.channel, None if where.ephemeral else where.thread_ts)
        async with audited(deps, asker) as run:
            # A re-run counts against the same limit as every other investigation of this replica.
            async with deps.worker.runner.gate:
                # Read again: the point of a re-run is to see the account as it is now (after a fix, say).
                investigation = await run.investigate(answer.stored.text, fresh=True)
            await deps.state.investigations.replace(
                answer.ref, StoredInvestigation(answer.stored.text, investigation.diagnoses)
            )
            details = where.ephemeral or deps.access.shows_details(where.channel)
            result = _rerun_result(answer, investigation, shareable=where.ephemeral, details=details)
            await _show(result, where, client, respond)
        log_answer(Trigger.RERUN, where.channel, answer.ref, investigation)

    async def handle_share_action(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        answer = await load_answer(deps, action["value"])
        details = deps.access.shows_details(Where.of(body).channel)
        shared = render_shared(
            render_answer(answer.diagnosis, ref=action["value"], details=details), body["user"]["id"]
        )
        retries = client.retry_handlers or []
        await send_response(respond, shared, retries, response_type="in_channel", replace_original=False)
        await send_response(respond, None, retries, delete_original=True)

    async def handle_feedback_action(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        answer = await load_answer(deps, action["value"])
        vote = Vote.UP if action["action_id"] == ids.Action.FEEDBACK_UP else Vote.DOWN
        diagnosis = answer.diagnosis
        await deps.state.feedback.record(
            Feedback(
                ref=answer.ref,
                index=answer.index,
                user=body["user"]["id"],
                vote=vote,
                decision=str(diagnosis.decision),
                confidence=str(diagnosis.confidence),
                layers=tuple(str(b.layer) for b in diagnosis.blocked_by),
                at=time.time(),
            )
        )
        thanks = render_notice(_THANKS[vote].format(ref=action["value"]))
        await send_response(
            respond, thanks, client.retry_handlers or [], response_type="ephemeral", replace_original=False
        )

    app.action(ids.Action.SHOW_FIX)(handle_show_fix_action)
    app.action(ids.Action.SHOW_EVIDENCE)(handle_show_evidence_action)
    app.action(ids.Action.RERUN)(handle_rerun_action)
    app.action(ids.Action.SHARE)(handle_share_action)
    app.action(ids.Action.FEEDBACK_UP)(handle_feedback_action)
    app.action(ids.Action.FEEDBACK_DOWN)(handle_feedback_action)


_THANKS = {
    Vote.UP: "Thanks: noted 👍 for this answer.",
    Vote.DOWN: (
        "Thanks: noted 👎 for this answer. If you can say what was wrong, tell whoever runs iamwhy and quote `{ref}`."
    ),
}


def _rerun_result(answer: Answer, investigation: Investigation, *, shareable: bool, details: bool) -> Message:
    """The re-investigated answer for the same denial (found again by its fingerprint, else by position)."""
    key = fingerprint(answer.diagnosis.request)
    matches = [i for i, d in enumerate(investigation.diagnoses) if fingerprint(d.request) == key]
    index = matches[0] if matches else answer.index
    if index >= len(investigation.diagnoses):
        return render_notice("⚠️ Re-run found no access denial in the text any more.")
    diagnosis = investigation.diagnoses[index]
    return render_answer(diagnosis, ref=answer_value(answer.ref, index), shareable=shareable, details=details)


async def _show(message: Message, where: Where, client: AsyncWebClient, respond: AsyncRespond) -> None:
    """Replace the message the button was in."""
    if where.ephemeral or not (where.channel and where.ts):
        await send_response(respond, message, client.retry_handlers or [], replace_original=True)
    else:
        await client.chat_update(channel=where.channel, ts=where.ts, text=message.text, blocks=message.blocks)


def _user(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    return str(user["id"]) if isinstance(user, dict) and user.get("id") else None
