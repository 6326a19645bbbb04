"""Getting messages to Slack despite its passing failures: retries with backoff, then a failure raised, not lost.

The Web API client retries connection errors and 5xx answers itself (the handlers below). A response_url post
does not raise on an error status at all, so every one goes through `send_response`, which retries and raises
`DeliveryFailed` when Slack still refuses.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientOSError, ServerConnectionError, ServerDisconnectedError
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook.async_client import AsyncWebhookClient

from handlers.blocks import Message

logger = logging.getLogger("iamwhy.slack")

_CONNECTION_ERRORS = (ServerConnectionError, ServerDisconnectedError, ClientOSError)


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


class _SlackUnavailable(AsyncRetryHandler):
    """Retries Slack's own failures: a connection that broke, or a 5xx answer (a proxy's 502 and 504 included)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if error is not None:
            return isinstance(error, _CONNECTION_ERRORS)
        return response is not None and response.status_code >= 500

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        failure = f"HTTP {response.status_code}" if response is not None else type(error).__name__
        logger.warning(
            "Slack failed; retrying",
            extra={"fields": {"url": _path(request.url), "failure": failure, "attempt": state.current_attempt + 1}},
        )
        await super().prepare_for_next_attempt_async(state=state, request=request, response=response, error=error)


@dataclass(frozen=True)
class Retries:
    """How hard a message is pushed to Slack: retries after the first attempt, and the first backoff (doubling)."""

    attempts: int = 3
    backoff: float = 0.5

    def handlers(self) -> list[AsyncRetryHandler]:
        """Retry handlers for the Web API client (Slack's 429 answers are left to the rate limiter)."""
        return [_SlackUnavailable(max_retry_count=self.attempts, interval_calculator=self._intervals())]

    def webhook_handlers(self) -> list[AsyncRetryHandler]:
        """For response_url posts: Slack's failures, and a 429 waited out as its Retry-After says."""
        return [*self.handlers(), AsyncRateLimitErrorRetryHandler(max_retry_count=self.attempts)]

    def _intervals(self) -> BackoffRetryIntervalCalculator:
        return BackoffRetryIntervalCalculator(backoff_factor=self.backoff, jitter=_Spread())


async def send_response(respond: AsyncRespond, message: Message | None, retries: Retries, **options: Any) -> None:
    """Post to the interaction's response_url (like Bolt's respond), retried; raises DeliveryFailed if refused.

    `options` are response_url fields: response_type, replace_original, delete_original."""
    if respond.response_url is None:
        raise ValueError("this request has no response_url")
    body: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    if message is not None:
        body["text"] = message.text
        body["blocks"] = message.blocks_json()
    client = AsyncWebhookClient(
        url=respond.response_url, proxy=respond.proxy, ssl=respond.ssl, retry_handlers=retries.webhook_handlers()
    )
    response = await client.send_dict(body)
    if response.status_code != 200:
        raise DeliveryFailed("response_url", response.status_code, str(response.body or ""))


def _path(url: str) -> str:
    """A Slack URL without its query string, and for response_urls without the secret path either."""
    bare = url.split("?", 1)[0]
    return bare if "/api/" in bare else "response_url"
