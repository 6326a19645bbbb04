"""Slack's rate limits: every Web API call honours 429 Retry-After, and posting keeps to each channel's pace.

Slack allows about one message per second per channel (short bursts are tolerated) and answers 429 with a
Retry-After header beyond its limits. The client here waits for a posting slot before each chat.postMessage
(slots are shared state, so replicas share one pace per channel) and retries a 429 after the time Slack asks,
so that nothing is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from diagnostics.state import PostingSlots
from handlers.delivery import SERVER_ERROR_BACKOFF, server_error_retries

# A call is retried this many times after a 429; Slack's Retry-After is seconds, so this covers minutes.
RATE_LIMIT_RETRIES = 20
# About one message per second per channel, bursts of a few (Slack's guidance for chat.postMessage). A tenth of
# a second to spare: a message sent on the second may arrive a little early after another arrived late.
POST_INTERVAL = 1.1
POST_BURST = 3
PACED_METHODS = frozenset({"chat.postMessage"})


def retry_handlers(server_error_backoff: float = SERVER_ERROR_BACKOFF) -> list[AsyncRetryHandler]:
    """Connection resets, 429s and Slack's 5xx answers are retried; Bolt copies these to the client it gives each
    listener, and response_url posts use the same."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        server_error_retries(server_error_backoff),
    ]


class PacedWebClient(AsyncWebClient):
    """An AsyncWebClient that waits for its channel's posting slot before each message it posts."""

    def __init__(
        self,
        *,
        slots: PostingSlots,
        interval: float = POST_INTERVAL,
        burst: int = POST_BURST,
        **kwargs: Any,
    ):
        kwargs.setdefault("retry_handlers", retry_handlers())
        super().__init__(**kwargs)
        self.slots = slots
        self.interval = interval
        self.burst = burst

    async def api_call(  # type: ignore[override]
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        if api_method in PACED_METHODS:
            channel = _channel(json, data, params)
            if channel:
                wait = await self.slots.reserve(f"post:{channel}", interval=self.interval, burst=self.burst)
                if wait > 0:
                    await asyncio.sleep(wait)
        return await super().api_call(
            api_method,
            http_verb=http_verb,
            files=files,
            data=data,
            params=params,
            json=json,
            headers=headers,
            auth=auth,
        )


def _channel(*sources: Mapping[str, Any] | None) -> str | None:
    for source in sources:
        if source and source.get("channel"):
            return str(source["channel"])
    return None
