"""Socket Mode: the same app over the fake's websocket; envelopes are acknowledged and answered, retries are not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

from app import Settings, create_app
from diagnostics.investigate import OfflineInvestigator
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack, event_body, message_event

SEED_ERROR = SEED_ERRORS["missing_grant"]


@pytest.fixture
async def socket_app(fake_slack: FakeSlack) -> AsyncIterator[FakeSlack]:
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "IAMWHY_SLACK_API_URL": fake_slack.api_url}
    settings = Settings.from_env(env, socket_mode=True)
    client = AsyncWebClient(token=settings.bot_token, base_url=settings.slack_api_url)
    app = create_app(settings, investigator=OfflineInvestigator(), client=client)
    handler = AsyncSocketModeHandler(app, app_token=settings.app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    await fake_slack.wait_connected()
    yield fake_slack
    await handler.close_async()  # type: ignore[no-untyped-call]


async def test_an_event_envelope_is_acknowledged_and_answered_in_the_thread(socket_app: FakeSlack) -> None:
    (opened,) = socket_app.calls_of("apps.connections.open")
    assert opened.headers["Authorization"] == f"Bearer {APP_TOKEN}"
    event = message_event(SEED_ERROR)
    await socket_app.push(
        {"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False, "payload": event_body(event)}
    )
    (ack,) = await socket_app.wait_for("socket.ack")
    assert ack.body["envelope_id"] == "env-1"
    (update,) = await socket_app.wait_for("chat.update")
    assert update.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    (placeholder,) = socket_app.calls_of("chat.postMessage")
    assert placeholder.body["thread_ts"] == event["ts"]


async def test_a_retried_envelope_is_acknowledged_but_not_answered_again(socket_app: FakeSlack) -> None:
    body = event_body(message_event(SEED_ERROR), event_id="EvSOCKET01")
    await socket_app.push({"envelope_id": "env-2", "type": "events_api", "payload": body})
    await socket_app.wait_for("chat.update")
    await socket_app.push(
        {"envelope_id": "env-3", "type": "events_api", "payload": body, "retry_attempt": 1, "retry_reason": "timeout"}
    )
    await socket_app.wait_for("socket.ack", lambda c: c.body["envelope_id"] == "env-3")
    # A fresh event after the retry: once it is answered, the retry has long been dealt with.
    await socket_app.push(
        {"envelope_id": "env-4", "type": "events_api", "payload": event_body(message_event(SEED_ERROR))}
    )
    await socket_app.wait_for("chat.update", count=2)
    assert len(socket_app.calls_of("chat.postMessage")) == 2


async def test_a_slash_command_envelope_is_acknowledged_with_the_progress_text(socket_app: FakeSlack) -> None:
    command = {
        "command": "/iamwhy",
        "text": SEED_ERROR,
        "channel_id": "CWATCH01",
        "user_id": "UHUMAN01",
        "team_id": "T0000TEAM",
        "response_url": socket_app.response_url("sock"),
        "trigger_id": "T-9",
    }
    await socket_app.push({"envelope_id": "env-5", "type": "slash_commands", "payload": command})
    (ack,) = await socket_app.wait_for("socket.ack")
    assert ack.body == {"envelope_id": "env-5", "payload": {"text": "Investigating…"}}
    (answer,) = await socket_app.wait_for("response")
    assert answer.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
