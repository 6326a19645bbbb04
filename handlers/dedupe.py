"""Slack retries an event it thinks went unanswered; a delivery already seen is acknowledged and dropped."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from handlers.deps import Deps

logger = logging.getLogger("iamwhy.slack")


def register(app: AsyncApp, deps: Deps) -> None:
    async def skip_repeated_deliveries(
        body: dict[str, Any], request: AsyncBoltRequest, next: Any
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await deps.state.seen.first_sight(f"event:{event_id}"):
            retry = (request.headers.get("x-slack-retry-num") or [""])[0] or None
            logger.info("repeated delivery dropped", extra={"fields": {"event_id": event_id, "retry": retry}})
            # x-slack-no-retry tells Slack to stop retrying this event.
            return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
        await next()
        return None

    app.middleware(skip_repeated_deliveries)
