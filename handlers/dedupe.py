"""Slack retries an event it thinks went unanswered; a delivery already seen is acknowledged and dropped.

Only a retry (it carries X-Slack-Retry-Num) is checked before the acknowledgement, so that Slack is told to stop
with x-slack-no-retry. A first delivery is acknowledged at once: its event id is recorded meanwhile, and its
listener waits for that record (`first_delivery`) before doing anything, so a retry racing it still gets one answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from handlers.deps import Deps
from handlers.observe import retry_number

logger = logging.getLogger("iamwhy.slack")

# The context key of a first delivery's event id and pending record (True: no other delivery came first).
_SIGHTING = "iamwhy_event_sighting"


def register(app: AsyncApp, deps: Deps) -> None:
    async def skip_repeated_deliveries(
        body: dict[str, Any], context: AsyncBoltContext, request: AsyncBoltRequest, next: Any
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            await next()
            return None
        key = f"event:{event_id}"
        retry = retry_number(request)
        if retry is None:
            # The shared state can be busy in a burst: the acknowledgement must not wait for it.
            sighting = asyncio.ensure_future(deps.state.seen.first_sight(key))
            # An event no listener takes never reads it: mark a failure read (a listener re-raises it).
            sighting.add_done_callback(lambda done: done.cancelled() or done.exception())
            context[_SIGHTING] = (event_id, sighting)
        elif not await deps.state.seen.first_sight(key):
            logger.info("repeated delivery dropped", extra={"fields": {"event_id": event_id, "retry": retry}})
            # x-slack-no-retry tells Slack to stop retrying this event.
            return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
        await next()
        return None

    app.middleware(skip_repeated_deliveries)


async def first_delivery(context: AsyncBoltContext) -> bool:
    """False when another delivery of this event got there first: the listener then leaves it alone."""
    pending: tuple[str, asyncio.Future[bool]] | None = context.get(_SIGHTING)
    if pending is None:
        return True
    event_id, sighting = pending
    if await sighting:
        return True
    logger.info("repeated delivery dropped", extra={"fields": {"event_id": event_id, "retry": None}})
    return False
