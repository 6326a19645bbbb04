"""The "Explain AccessDenied" message shortcut: works on any message, the asker chooses who sees the answer."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from diagnostics.state import StoredInvestigation
from handlers import ids
from handlers.blocks import shortcut_modal
from handlers.deps import Deps
from handlers.errors import AnswerExpired
from handlers.extract import message_text
from handlers.replies import prepare


@dataclass(frozen=True)
class ShortcutOrigin:
    """Where the shortcut was used, carried through the modal's private_metadata (the text stays on our side)."""

    ref: str
    channel: str
    ts: str
    thread_ts: str
    user: str
    response_url: str

    def dump(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def load(cls, metadata: str) -> ShortcutOrigin:
        try:
            fields = json.loads(metadata)
            return cls(**{name: str(fields[name]) for name in cls.__dataclass_fields__})
        except (ValueError, TypeError, KeyError):
            raise AnswerExpired() from None


def register(app: AsyncApp, deps: Deps) -> None:
    async def handle_explain_shortcut(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        message = shortcut["message"]
        prepared = await prepare(message_text(message))
        ref = await deps.state.investigations.save(StoredInvestigation(prepared.text, ()))
        origin = ShortcutOrigin(
            ref=ref,
            channel=shortcut["channel"]["id"],
            ts=message["ts"],
            thread_ts=message.get("thread_ts") or message["ts"],
            user=shortcut["user"]["id"],
            response_url=shortcut["response_url"],
        )
        view = shortcut_modal(prepared.scan, metadata=origin.dump(), had_secrets=prepared.had_secrets)
        await client.views_open(trigger_id=shortcut["trigger_id"], view=view)

    app.message_shortcut(ids.Shortcut.EXPLAIN_MESSAGE)(handle_explain_shortcut)
