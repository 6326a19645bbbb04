"""Every signed Slack request gets a correlation id, carried by each log line and AWS call of its handling.

The id is Slack's event id when there is one (so a retried delivery is found under the same id), else a new
one. The request is counted and logged once on arrival, before anything else sees it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from diagnostics import metrics
from diagnostics.tracing import new_correlation_id, start_correlation
from handlers.deps import Deps

logger = logging.getLogger("iamwhy.slack")

_EVENT_ID = re.compile(r"^[A-Za-z0-9]{4,40}$")


def request_kind(body: Any) -> str:
    """The kind of a Slack request, from a fixed vocabulary: event type, "command", or the interaction type."""
    if not isinstance(body, dict):
        return "other"
    if body.get("command"):
        kind: Any = "command"
    elif body.get("type") == "event_callback":
        event = body.get("event")
        kind = event.get("type") if isinstance(event, dict) else None
    else:
        kind = body.get("type")
    return kind if isinstance(kind, str) and kind in metrics.SLACK_REQUEST_KINDS else "other"


def correlation_id_of(body: Any) -> str:
    event_id = body.get("event_id") if isinstance(body, dict) else None
    return event_id if isinstance(event_id, str) and _EVENT_ID.match(event_id) else new_correlation_id()


def retry_number(request: AsyncBoltRequest) -> str | None:
    """Slack's X-Slack-Retry-Num: None on a first delivery. Headers are not signed: only a small number is taken."""
    number = (request.headers.get("x-slack-retry-num") or [""])[0]
    return number if number.isdigit() and len(number) <= 3 else None


def register(app: AsyncApp, deps: Deps) -> None:
    async def correlate_request(
        body: dict[str, Any], request: AsyncBoltRequest, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        kind = request_kind(body)
        retry = retry_number(request)
        # Bolt runs the listeners after the middleware chain has returned, in this same task: the id is set for
        # the rest of it (and for the listener tasks it starts), not only for this function.
        start_correlation(correlation_id_of(body))
        metrics.slack_request(kind)
        logger.info("slack request", extra={"fields": {"kind": kind, "retry": retry}})
        await next()
        return None

    app.middleware(correlate_request)
