"""Message events: pastes in watched channels, other bots' alerts in alert channels, direct messages, and edits."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from handlers import ids
from handlers.blocks import render_no_denial
from handlers.dedupe import first_delivery
from handlers.deps import Deps
from handlers.extract import is_from_bot, message_text
from handlers.replies import (
    Outcome,
    Prepared,
    Thread,
    Trigger,
    answer_in_thread,
    fingerprint,
    prepare,
)

# Subtypes that are someone saying something; the rest (joins, topic changes, deletions...) are not read.
_SAID = frozenset({None, "bot_message", "thread_broadcast", "file_share", "me_message"})


def register(app: AsyncApp, deps: Deps) -> None:
    async def handle_message_event(event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        if not await first_delivery(context):
            return
        subtype = event.get("subtype")
        if subtype == "message_changed":
            await _handle_edit(deps, event, context, client)
        elif subtype in _SAID:
            trigger = _trigger(deps, event, event.get("channel_type"), context)
            if trigger is not None:
                await _answer(deps, event, trigger, await prepare(message_text(event)), context, client)

    app.event(ids.Event.MESSAGE)(handle_message_event)


def _trigger(
    deps: Deps, message: Mapping[str, Any], channel_type: str | None, context: AsyncBoltContext
) -> Trigger | None:
    """Why this post gets an answer, or None: the bot never answers itself, and reads other bots only in alerts."""
    bot_id = message.get("bot_id")
    if message.get("user") == context.bot_user_id or (bot_id and bot_id == context.bot_id):
        return None
    channel = str(message.get("channel") or context.channel_id or "")
    if is_from_bot(message):
        return Trigger.ALERT if deps.channels.is_alert(channel) else None
    if channel_type == "im":
        return Trigger.DIRECT
    return Trigger.PASTE if deps.channels.is_watched(channel) else None


async def _answer(
    deps: Deps,
    message: Mapping[str, Any],
    trigger: Trigger,
    prepared: Prepared,
    context: AsyncBoltContext,
    client: AsyncWebClient,
    only: frozenset[str] | None = None,
) -> None:
    channel = str(message.get("channel") or context.channel_id)
    thread = Thread.of(message, channel, user=None if is_from_bot(message) else message.get("user"))
    # An alert's placeholder says it is being looked at; a 👀 on every alert of a storm would only add calls.
    react = trigger is not Trigger.ALERT
    outcome = await answer_in_thread(deps, client, context, thread, prepared, trigger=trigger, react=react, only=only)
    if outcome is Outcome.NO_DENIAL and trigger is Trigger.DIRECT and only is None:
        reply = render_no_denial(prepared.scan)
        await client.chat_postMessage(channel=channel, thread_ts=thread.thread_ts, text=reply.text, blocks=reply.blocks)


async def _handle_edit(deps: Deps, event: Mapping[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
    """An edit is answered for the denials it added; what the message already had was answered (or not) before."""
    message, previous = event.get("message"), event.get("previous_message")
    if not isinstance(message, Mapping):
        return
    message = {**message, "channel": event.get("channel")}
    trigger = _trigger(deps, message, event.get("channel_type"), context)
    if trigger is None:
        return
    prepared = await prepare(message_text(message))
    before = await prepare(message_text(previous)) if isinstance(previous, Mapping) else None
    added = {fingerprint(d) for d in prepared.scan.denials}
    if before is not None:
        added -= {fingerprint(d) for d in before.scan.denials}
        prepared = dataclasses.replace(prepared, had_secrets=prepared.had_secrets and not before.had_secrets)
    if added or prepared.had_secrets:
        await _answer(deps, message, trigger, prepared, context, client, only=frozenset(added))
