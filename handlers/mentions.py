"""`@iamwhy <error>` in any channel the bot is in: the answer goes in the thread of the mention."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from handlers import ids
from handlers.blocks import render_no_denial
from handlers.dedupe import first_delivery
from handlers.deps import Deps
from handlers.extract import message_text, without_mentions
from handlers.replies import Outcome, Thread, Trigger, answer_in_thread, prepare


def register(app: AsyncApp, deps: Deps) -> None:
    async def handle_app_mention(event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        if not await first_delivery(context):
            return
        channel = str(event["channel"])
        thread = Thread.of(event, channel, user=event.get("user"))
        prepared = await prepare(without_mentions(message_text(event)))
        # In a watched channel the same post also arrives as a message event; whichever comes first answers.
        outcome = await answer_in_thread(deps, client, context, thread, prepared, trigger=Trigger.MENTION, react=True)
        if outcome is Outcome.NO_DENIAL:
            reply = render_no_denial(prepared.scan)
            await client.chat_postMessage(
                channel=channel, thread_ts=thread.thread_ts, text=reply.text, blocks=reply.blocks
            )

    app.event(ids.Event.APP_MENTION)(handle_app_mention)
