"""Modal submissions: the `/iamwhy` input box and the message shortcut's choice of audience."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from handlers import ids
from handlers.deps import Deps
from handlers.errors import AnswerExpired
from handlers.replies import (
    Thread,
    Trigger,
    answer_in_thread,
    answer_privately,
    prepare,
)
from handlers.shortcuts import ShortcutOrigin


def register(app: AsyncApp, deps: Deps) -> None:
    async def handle_input_view(
        ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        text = str(_input(view, ids.Block.ERROR_TEXT, ids.Action.ERROR_TEXT).get("value") or "")
        if not text.strip():
            await ack(response_action="errors", errors={ids.Block.ERROR_TEXT: "Paste the AWS error here."})
            return
        await ack()
        channel = view.get("private_metadata") or None
        prepared = await prepare(text)
        await answer_privately(deps, prepared, trigger=Trigger.MODAL, channel=channel, user=body["user"]["id"], uses=10)

    async def handle_shortcut_view(
        ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        await ack()
        origin = ShortcutOrigin.load(str(view.get("private_metadata") or ""))
        stored = await deps.state.investigations.load(origin.ref)
        if stored is None:
            raise AnswerExpired()
        prepared = await prepare(stored.text)
        if _choice(view) == ids.ReplyChoice.THREAD:
            # When the bot cannot post in that channel, the worker answers through the response_url instead.
            thread = Thread(origin.channel, origin.ts, origin.thread_ts, origin.user)
            await answer_in_thread(
                deps,
                client,
                context,
                thread,
                prepared,
                trigger=Trigger.SHORTCUT,
                react=False,
                claim=False,
                fallback_url=origin.response_url,
            )
            return
        await answer_privately(
            deps,
            prepared,
            trigger=Trigger.SHORTCUT,
            channel=origin.channel,
            user=origin.user,
            response_url=origin.response_url,
        )

    app.view(ids.View.INPUT)(handle_input_view)
    app.view(ids.View.SHORTCUT)(handle_shortcut_view)


def _choice(view: dict[str, Any]) -> str | None:
    selected = _input(view, ids.Block.REPLY_CHOICE, ids.Action.REPLY_CHOICE).get("selected_option")
    return selected.get("value") if isinstance(selected, dict) else None


def _input(view: dict[str, Any], block: ids.Block, action: ids.Action) -> dict[str, Any]:
    """The state of one input of a submitted view ({} when the view does not have it)."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    inputs = values.get(block) if isinstance(values, dict) else None
    value = inputs.get(action) if isinstance(inputs, dict) else None
    return value if isinstance(value, dict) else {}
