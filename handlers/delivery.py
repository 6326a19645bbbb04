"""Getting messages to Slack despite its passing failures: retries with backoff, then a failure raised, not lost.

The Web API client retries Slack's 5xx answers with the handler below (handlers.limits puts it beside the
handlers for broken connections and 429s). A response_url post does not raise on an error status at all, so
every one goes through `send_response`, which retries with the same handlers as the client and raises
`DeliveryFailed` when Slack still refuses.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook.async_client import AsyncWebhookClient

from handlers.blocks import Message

logger = logging.getLogger("iamwhy.slack")

# Slack's 5xx answers are retried this many times, waiting about BACKOFF seconds, then twice as long each time.
SERVER_ERROR_RETRIES = 3
SERVER_ERROR_BACKOFF = 0.5


class DeliveryFailed(Exception):
    """Slack did not take a message after the retries."""

    def __init__(self, method: str, status: int, detail: str) -> None:
        super().__init__(f"Slack answered HTTP {status} to {method}: {detail[:200]}")
        self.method = method
        self.status = status


class _Spread(Jitter):
    """Each wait between half and one and a half times the backoff (the SDK's default adds up to a whole second)."""

    def recalculate(self, duration: float) -> float:
        return duration * (0.5 + random.random())


class ServerErrorRetryHandler(AsyncRetryHandler):
    """Retries Slack's own failures, 5xx answers (a proxy's 502 and 504 included), and logs each retry."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        status = response.status_code if response is not None else None
        logger.warning(
            "Slack failed; retrying",
            extra={
                "fields": {"url": _path(request.url), "failure": f"HTTP {status}", "attempt": state.current_attempt + 1}
            },
        )
        await super().prepare_for_next_attempt_async(state=state, request=request, response=response, error=error)


def server_error_retries(backoff: float = SERVER_ERROR_BACKOFF) -> ServerErrorRetryHandler:
    intervals = BackoffRetryIntervalCalculator(backoff_factor=backoff, jitter=_Spread())
    return ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES, interval_calculator=intervals)


async def send_response(
    respond: AsyncRespond, message: Message | None, handlers: Sequence[AsyncRetryHandler], **options: Any
) -> None:
    """Post to the interaction's response_url (like Bolt's respond) with `handlers` (the Web API client's), and
    raise DeliveryFailed if Slack still refuses. `options` are response_url fields (response_type,
    replace_original, delete_original)."""
    if respond.response_url is None:
        raise ValueError("this request has no response_url")
    await post_to_response_url(respond.response_url, message, handlers, proxy=respond.proxy, **options)


async def post_to_response_url(
    url: str,
    message: Message | None,
    handlers: Sequence[AsyncRetryHandler],
    *,
    proxy: str | None = None,
    **options: Any,
) -> None:
    body: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    if message is not None:
        body["text"] = message.text
        body["blocks"] = message.blocks_json()
    client = AsyncWebhookClient(url=url, proxy=proxy, retry_handlers=list(handlers))
    response = await client.send_dict(body)
    if response.status_code != 200:
        raise DeliveryFailed("response_url", response.status_code, str(response.body or ""))


def _path(url: str) -> str:
    """A Slack URL without its query string, and for response_urls without the secret path either."""
    bare = url.split("?", 1)[0]
    return bare if "/api/" in bare else "response_url"
