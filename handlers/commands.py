"""`/iamwhy`: `<error>` answers privately with a Share button, nothing opens the input box, `help` explains usage,
`status` runs the setup checklist."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers import ids
from handlers.blocks import INVESTIGATING, input_modal, render_help
from handlers.deps import Deps
from handlers.replies import Trigger, answer_privately, prepare
from handlers.status import STATUS_WORDS, answer_status
from handlers.status_blocks import render_checking

HELP_WORDS = frozenset({"help", "-h", "--help", "?"})


def register(app: AsyncApp, deps: Deps) -> None:
    async def handle_iamwhy_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        text = str(command.get("text") or "").strip()
        channel = command.get("channel_id")
        if not text:
            await ack()
            await client.views_open(trigger_id=command["trigger_id"], view=input_modal(channel))
        elif text.lower() in HELP_WORDS:
            help_message = render_help(deps.help)
            await ack(text=help_message.text, blocks=help_message.blocks, response_type="ephemeral")
        elif text.lower() in STATUS_WORDS:
            checking = render_checking()
            await ack(text=checking.text, blocks=checking.blocks, response_type="ephemeral")
            await answer_status(deps, respond)
        else:
            await ack(text=INVESTIGATING)
            prepared = await prepare(text)
            await answer_privately(
                deps,
                prepared,
                trigger=Trigger.COMMAND,
                channel=channel,
                user=str(command.get("user_id") or ""),
                response_url=respond.response_url,
            )

    app.command(ids.Command.IAMWHY)(handle_iamwhy_command)
