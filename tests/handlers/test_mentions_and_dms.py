"""`@iamwhy <error>` and direct messages; a mention in a watched channel is answered once, not twice."""

from __future__ import annotations

from tests.conftest import ServedSlackApp, ServeSlackApp
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import BOT_USER, message_event

SEED_ERROR = SEED_ERRORS["missing_grant"]


def _mention(text: str, *, channel: str = "COTHER01", ts: str | None = None) -> dict[str, object]:
    event = message_event(f"<@{BOT_USER}> {text}", channel=channel)
    event["type"] = "app_mention"
    event.pop("channel_type")
    if ts is not None:
        event["ts"] = ts
    return event


async def test_a_mention_is_answered_in_its_thread(serve_slack_app: ServeSlackApp) -> None:
    slack = await serve_slack_app(env={"IAMWHY_WATCH_CHANNELS": "none"})
    mention = _mention(SEED_ERROR)
    await slack.send.event(mention)
    (placeholder,) = await slack.fake.wait_for("chat.postMessage")
    assert placeholder.body["channel"] == "COTHER01"
    assert placeholder.body["thread_ts"] == mention["ts"]
    (update,) = await slack.fake.wait_for("chat.update")
    assert update.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"


async def test_a_mention_without_an_error_says_what_to_paste(slack: ServedSlackApp) -> None:
    mention = _mention("can you look at this?")
    await slack.send.event(mention)
    (reply,) = await slack.fake.wait_for("chat.postMessage")
    assert reply.body["thread_ts"] == mention["ts"]
    assert reply.text == "No AWS access denial found in that text."
    assert "Paste the whole error" in reply.blocks[0]["text"]["text"]


async def test_a_mention_in_a_watched_channel_arrives_twice_and_is_answered_once(slack: ServedSlackApp) -> None:
    message = message_event(f"<@{BOT_USER}> {SEED_ERROR}")
    mention = _mention(SEED_ERROR, channel="CWATCH01", ts=message["ts"])
    await slack.send.event(message)
    await slack.send.event(mention)
    await slack.fake.wait_for("chat.update")
    await slack.idle()
    assert len(slack.fake.calls_of("chat.postMessage")) == 1
    assert len(slack.fake.calls_of("reactions.add")) == 1


async def test_a_direct_message_is_answered(serve_slack_app: ServeSlackApp) -> None:
    slack = await serve_slack_app(env={"IAMWHY_WATCH_CHANNELS": "none"})
    dm = message_event(SEED_ERROR, channel="DHUMAN01", channel_type="im")
    await slack.send.event(dm)
    (update,) = await slack.fake.wait_for("chat.update")
    assert update.body["channel"] == "DHUMAN01"
    assert update.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"


async def test_a_direct_message_without_an_error_gets_a_hint(slack: ServedSlackApp) -> None:
    dm = message_event("hello?", channel="DHUMAN01", channel_type="im")
    await slack.send.event(dm)
    (reply,) = await slack.fake.wait_for("chat.postMessage")
    assert reply.body["channel"] == "DHUMAN01"
    assert reply.text == "No AWS access denial found in that text."
