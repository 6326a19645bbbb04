"""Alert storms in Slack: the storm key of a denial, the count under the first answer, and the pointer to it.

The first post of a denial is investigated; the same denial (principal, action, resource, blocking layer)
posted again within the window is only counted. The first answer shows "seen N times, last HH:MM", updated
at most every few seconds however fast the posts come; each channel gets at most one short threaded pointer
to the first thread per window.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from datetime import UTC, datetime

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from diagnostics.model import DeniedRequest, Diagnosis
from diagnostics.state import State, Storm
from handlers.blocks import MESSAGE_BLOCKS, Message, answer_value, code, mrkdwn, render_answer, who

logger = logging.getLogger("iamwhy.slack")

DEFAULT_WINDOW = 15 * 60.0
# The count under a first answer is updated at most this often (chat.update has a per-minute limit).
COUNT_UPDATE_EVERY = 10.0
UNKNOWN_LAYER = "?"


def storm_key(request: DeniedRequest, layer: str | None) -> str:
    """The same denial: principal, action, resource and blocking layer (None: not known before investigating)."""
    parts = (request.principal_arn, request.action, request.resource_arn, layer or UNKNOWN_LAYER)
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:24]


def reported_key(request: DeniedRequest) -> str:
    """The key a post is counted under: the layer the message itself names, if any."""
    layer = request.reported.layer
    return storm_key(request, str(layer) if layer is not None else None)


def blocking_key(diagnosis: Diagnosis) -> str | None:
    """The key the investigation found (its first blocking layer), for posts that name no layer."""
    if not diagnosis.blocked_by:
        return None
    return storm_key(diagnosis.request, str(diagnosis.blocked_by[0].layer))


def _clock_time(at: float) -> str:
    """A time Slack shows in each reader's own time zone (UTC where it cannot)."""
    fallback = datetime.fromtimestamp(at, UTC).strftime("%H:%M UTC")
    return f"<!date^{int(at)}^{{time}}|{fallback}>"


def count_line(storm: Storm) -> str:
    return f"🔁 Seen {storm.count} times since {_clock_time(storm.started_at)}, last {_clock_time(storm.last_at)}"


def with_count(message: Message, storm: Storm) -> Message:
    """The first answer of a storm with its count under it."""
    blocks = message.blocks[: MESSAGE_BLOCKS - 1]
    context = ContextBlock(elements=[MarkdownTextObject(text=count_line(storm))])
    return Message(message.text, (*blocks, context))


def render_pointer(storm: Storm, request: DeniedRequest | None, permalink: str | None) -> Message:
    """The one short reply a repeated alert gets in a channel: where the same denial was investigated."""
    what = f"{code(request.action or 'access', 200)} denied for {mrkdwn(who(request))}" if request else "This denial"
    where = f"<{permalink}|in this thread>" if permalink and permalink.startswith("https://") else "in the first thread"
    text = (
        f"🔁 {what} was already investigated {where}; seen {storm.count} times since "
        f"{_clock_time(storm.started_at)}. Repeats within the next "
        f"{max(1, round((storm.until - storm.started_at) / 60))} minutes are counted there, not answered again."
    )
    return Message("Already investigated: see the first thread.", (SectionBlock(text=MarkdownTextObject(text=text)),))


class StormCounts:
    """Keeps the count under each storm's first answer up to date, at most once per `every` seconds per storm."""

    def __init__(self, state: State, client: AsyncWebClient, *, every: float = COUNT_UPDATE_EVERY):
        self._state = state
        self._client = client
        self._every = every
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._updated: dict[str, float] = {}

    def counted(self, storm_id: str) -> None:
        """A storm's count changed: its first answer will show it (later, if it was updated a moment ago)."""
        if storm_id in self._pending:
            return
        delay = max(0.0, self._updated.get(storm_id, float("-inf")) + self._every - time.monotonic())
        self._pending[storm_id] = asyncio.create_task(self._update_later(storm_id, delay))

    async def _update_later(self, storm_id: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        finally:
            self._pending.pop(storm_id, None)
        self._updated[storm_id] = time.monotonic()
        await self.update(storm_id)

    async def update(self, storm_id: str) -> None:
        storm = await self._state.storms.get(storm_id)
        if storm is None or storm.answer_ts is None or storm.ref is None or storm.index is None:
            # The first answer is not out yet: it is rendered with the count of its time, then updated.
            return
        stored = await self._state.investigations.load(storm.ref)
        if stored is None or storm.index >= len(stored.diagnoses):
            return
        answer = render_answer(stored.diagnoses[storm.index], ref=answer_value(storm.ref, storm.index))
        message = with_count(answer, storm)
        try:
            await self._client.chat_update(
                channel=storm.channel, ts=storm.answer_ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as exc:
            logger.warning("storm count not updated", extra={"fields": {"slack_error": exc.response.get("error")}})
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The count is a courtesy: the next repeat updates it again.
            logger.warning("storm count not updated", extra={"fields": {"error": type(exc).__name__}})

    async def flush(self) -> None:
        """Update every pending count now (at shutdown: the last count must not be lost)."""
        pending = list(self._pending)
        for task in list(self._pending.values()):
            task.cancel()
        await asyncio.gather(*self._pending.values(), return_exceptions=True)
        for storm_id in pending:
            await self.update(storm_id)
