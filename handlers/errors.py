"""The one error boundary: typed exceptions become messages written for people; anything else gets a logged reference.

Users never see exception text. A failure after "Investigating…" was posted turns that placeholder into
the error message, so no answer is left hanging.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from diagnostics import metrics
from diagnostics.reader import CallOutcome, ReadError
from handlers.blocks import Message, render_notice
from handlers.delivery import DeliveryFailed, send_response
from handlers.deps import Deps

logger = logging.getLogger("iamwhy.slack")

# Where the bolt context keeps the placeholder of the answer in progress.
PROGRESS = "iamwhy_progress"


class UserFacingError(Exception):
    """An error whose message is written for the person who asked (it is shown as it is)."""


class AnswerExpired(UserFacingError):
    def __init__(self) -> None:
        super().__init__(
            "That answer is too old: iamwhy keeps answers for a day. Paste the error again for a fresh one."
        )


class TextTooLarge(UserFacingError):
    def __init__(self, size: str, limit: str) -> None:
        super().__init__(f"That text is {size}, over the {limit} limit: paste only the error and the lines around it.")


@dataclass(frozen=True)
class Progress:
    """A placeholder message posted in a channel, to be replaced by the answer (or by the error)."""

    channel: str
    ts: str


_READ_MESSAGES: Mapping[CallOutcome, str] = {
    CallOutcome.CREDENTIALS: (
        "iamwhy's own AWS credentials were refused or are missing, so nothing could be read. "
        "Whoever runs iamwhy should check them (its /healthz says the same)."
    ),
    CallOutcome.THROTTLED: "AWS is throttling iamwhy's reads right now. Try *Re-run* in a minute.",
    CallOutcome.UNAVAILABLE: "AWS did not answer in time. Try *Re-run* in a minute.",
    CallOutcome.BUDGET_EXCEEDED: "This investigation needed more AWS reads than iamwhy allows for one answer.",
}


def user_message(error: Exception) -> tuple[str, str | None]:
    """What to tell the person, and the reference logged with the traceback (None for expected errors)."""
    if isinstance(error, UserFacingError):
        return f"⚠️ {error}", None
    if isinstance(error, ReadError) and error.outcome in _READ_MESSAGES:
        return f"⚠️ {_READ_MESSAGES[error.outcome]}", None
    ref = uuid.uuid4().hex[:8]
    if slack_failure(error) is not None:
        return (
            f"⚠️ Slack would not take iamwhy's answer just now, even after retries (ref {ref}). Ask again in a minute.",
            ref,
        )
    return f"⚠️ Something went wrong (ref {ref}). The details are in iamwhy's log under that reference.", ref


def slack_failure(error: BaseException) -> dict[str, Any] | None:
    """What Slack answered, when `error` is Slack refusing a message: the method, HTTP status and Slack's error."""
    if isinstance(error, DeliveryFailed):
        return {"method": error.method, "status": error.status, "slack_error": None}
    if isinstance(error, SlackApiError):
        response = error.response
        method = str(getattr(response, "api_url", "") or "").rstrip("/").rpartition("/")[2] or "unknown"
        return {"method": method, "status": response.status_code, "slack_error": response.get("error")}
    if isinstance(error, aiohttp.ClientConnectionError):
        # Slack could not be reached at all (the SDK does not say which method it was calling).
        return {"method": "unknown", "status": None, "slack_error": type(error).__name__}
    return None


# What reporting an error may itself run into: Slack refusing that message too, or not answering at all.
UNDELIVERABLE = (SlackApiError, DeliveryFailed, aiohttp.ClientConnectionError)


def log_failure(error: Exception, fields: Mapping[str, Any]) -> str:
    """Log `error` as it deserves and return what to tell the person.

    Slack refusing a message after the retries is logged with what Slack answered (no traceback: nothing in iamwhy
    went wrong) and counted; any other unexpected error with its traceback under a reference the person is given."""
    text, ref = user_message(error)
    refused = slack_failure(error)
    if refused is not None:
        metrics.slack_delivery_failed(str(refused["method"]))
        logger.error("Slack did not take a message", extra={"fields": {"ref": ref, **fields, **refused}})
    elif ref is not None:
        logger.error(
            "unhandled error",
            exc_info=error,
            extra={"fields": {"ref": ref, **fields, "error_type": type(error).__name__}},
        )
    else:
        logger.info("user-facing error", extra={"fields": {**fields, "error_type": type(error).__name__}})
    return text


def register(app: AsyncApp, deps: Deps) -> None:
    async def handle_error(
        error: Exception,
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        respond: AsyncRespond | None,
        ack: AsyncAck,
    ) -> None:
        text = log_failure(error, {"request_type": body.get("type")})
        try:
            await _deliver(render_notice(text), body, context, client, respond)
        except UNDELIVERABLE as exc:
            logger.warning("could not deliver an error message", extra={"fields": slack_failure(exc) or {}})
        finally:
            _keep_acknowledgement(ack)

    app.error(handle_error)


def _keep_acknowledgement(ack: AsyncAck) -> None:
    """Undo Bolt clearing the acknowledgement of a listener that failed after acknowledging.

    Bolt (1.30) sets ack.response to None right after this handler returns, while the HTTP response may still
    wait for it: Slack would get nothing for 3 seconds, then a 404. Restoring it on the next loop turn (the
    last thing this handler does) lets the acknowledgement already given go out.
    """
    acknowledged = ack.response
    if acknowledged is not None:
        asyncio.get_running_loop().call_soon(setattr, ack, "response", acknowledged)


async def _deliver(
    message: Message,
    body: Mapping[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond | None,
) -> None:
    progress = context.get(PROGRESS)
    if isinstance(progress, Progress):
        await client.chat_update(channel=progress.channel, ts=progress.ts, text=message.text, blocks=message.blocks)
        return
    if respond is not None and respond.response_url:
        await send_response(
            respond, message, client.retry_handlers or [], response_type="ephemeral", replace_original=False
        )
        return
    channel, user = context.channel_id, context.user_id
    event = body.get("event")
    if isinstance(event, Mapping) and event.get("bot_id"):
        # A post by another bot in an alert channel: nobody to tell; the log has it.
        return
    if channel and user:
        await client.chat_postEphemeral(channel=channel, user=user, text=message.text, blocks=message.blocks)
    elif user:
        # A modal submission carries no channel: the person's direct messages with the bot.
        await client.chat_postMessage(channel=user, text=message.text, blocks=message.blocks)
