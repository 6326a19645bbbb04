"""A person pastes an error in a channel: 👀 at once, a placeholder in the thread, then the answer in its place."""

from __future__ import annotations

from tests.conftest import ServedSlackApp, ServeSlackApp
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import BOT_ID, BOT_USER, message_event

SEED_ERROR = SEED_ERRORS["missing_grant"]
SCP_ERROR = SEED_ERRORS["scp"]


def _header(call: object) -> str:
    blocks = call.blocks  # type: ignore[attr-defined]
    return next(b["text"]["text"] for b in blocks if b["type"] == "header")


async def test_paste_gets_eyes_then_placeholder_then_the_answer_in_the_thread(slack: ServedSlackApp) -> None:
    event = message_event(f"deploy broke :(\n```{SEED_ERROR}```")
    status, _, _ = await slack.send.event(event)
    assert status == 200

    (reaction,) = await slack.fake.wait_for("reactions.add")
    assert reaction.body.items() >= {"channel": "CWATCH01", "timestamp": event["ts"], "name": "eyes"}.items()
    (placeholder,) = await slack.fake.wait_for("chat.postMessage")
    assert placeholder.body["thread_ts"] == event["ts"]
    assert placeholder.text == "Investigating…"
    assert "s3:GetObject" in placeholder.blocks[0]["text"]["text"]
    (update,) = await slack.fake.wait_for("chat.update")
    assert update.body["channel"] == "CWATCH01"
    assert update.body["ts"] == "1700000000.000001"
    assert _header(update) == "🔒 s3:GetObject denied for user build-bot"
    assert update.text.startswith("🔒 s3:GetObject denied for user build-bot · implicit deny (reported)")
    # The order people see: the reaction first, the placeholder, then the answer replacing it.
    assert reaction.at <= placeholder.at <= update.at
    await slack.idle()
    assert len(slack.fake.calls_of("chat.postMessage")) == 1


async def test_messages_without_a_denial_are_ignored_silently(slack: ServedSlackApp) -> None:
    await slack.send.event(message_event("anyone up for lunch? AccessDenied jokes welcome"))
    await slack.idle()
    assert [c.method for c in slack.fake.calls if c.method != "auth.test"] == []


async def test_several_denials_in_one_paste_get_one_answer_each_in_the_thread(slack: ServedSlackApp) -> None:
    event = message_event(f"two failures:\n{SEED_ERROR}\n\nand later\n{SCP_ERROR}")
    await slack.send.event(event)
    (placeholder,) = await slack.fake.wait_for("chat.postMessage")
    assert "2 denials" in placeholder.blocks[0]["text"]["text"]
    (update,) = await slack.fake.wait_for("chat.update")
    second = await slack.fake.wait_for("chat.postMessage", count=2)
    assert _header(update) == "🔒 s3:GetObject denied for user build-bot"
    assert _header(second[1]) == "🔒 dynamodb:PutItem denied for role build-bot-role (session ci-42)"
    assert second[1].body["thread_ts"] == event["ts"]


async def test_a_reply_inside_a_thread_is_answered_in_that_thread(slack: ServedSlackApp) -> None:
    event = message_event(SEED_ERROR, thread_ts="1690000000.999999")
    await slack.send.event(event)
    (placeholder,) = await slack.fake.wait_for("chat.postMessage")
    assert placeholder.body["thread_ts"] == "1690000000.999999"


async def test_only_watched_channels_are_read(serve_slack_app: ServeSlackApp) -> None:
    slack = await serve_slack_app(env={"IAMWHY_WATCH_CHANNELS": "CWATCH01"})
    await slack.send.event(message_event(SEED_ERROR, channel="COTHER01"))
    await slack.send.event(message_event(SEED_ERROR, channel="CWATCH01"))
    (placeholder,) = await slack.fake.wait_for("chat.postMessage")
    await slack.idle()
    assert placeholder.body["channel"] == "CWATCH01"
    assert [c.body["channel"] for c in slack.fake.calls_of("chat.postMessage")] == ["CWATCH01"]


async def test_the_bot_never_answers_its_own_posts(slack: ServedSlackApp) -> None:
    # Its own message, in both forms Slack uses: a user id and a bot_id (classic bot_message).
    await slack.send.event(message_event(SEED_ERROR, user=BOT_USER, bot_id=BOT_ID))
    await slack.send.event(
        message_event(SEED_ERROR, channel="CALERT01", user=None, subtype="bot_message", bot_id=BOT_ID)
    )
    await slack.idle()
    assert [c.method for c in slack.fake.calls if c.method != "auth.test"] == []


async def test_other_bots_are_not_read_outside_alert_channels(slack: ServedSlackApp) -> None:
    await slack.send.event(message_event(SEED_ERROR, user=None, subtype="bot_message", bot_id="BOTHER01"))
    await slack.idle()
    assert [c.method for c in slack.fake.calls if c.method != "auth.test"] == []


async def test_an_edit_that_adds_a_denial_is_answered_once(slack: ServedSlackApp) -> None:
    original = message_event("deploy failed, error below")
    await slack.send.event(original)
    edited = {**original, "text": f"deploy failed, error below\n{SEED_ERROR}", "edited": {"user": "UHUMAN01"}}
    change = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "CWATCH01",
        "channel_type": "channel",
        "hidden": True,
        "ts": "1690000099.000001",
        "message": edited,
        "previous_message": original,
    }
    await slack.send.event(change)
    (update,) = await slack.fake.wait_for("chat.update")
    assert _header(update) == "🔒 s3:GetObject denied for user build-bot"
    # A second edit (a typo fixed) keeps the same denial: no new answer.
    retyped = {**edited, "text": edited["text"] + " (typo fixed)"}
    await slack.send.event({**change, "ts": "1690000099.000002", "message": retyped, "previous_message": edited})
    # The same edit delivered again without its previous message (Slack omits it sometimes): still answered once.
    await slack.send.event({k: v for k, v in change.items() if k != "previous_message"} | {"ts": "1690000099.3"})
    await slack.idle()
    assert len(slack.fake.calls_of("chat.postMessage")) == 1
    assert len(slack.fake.calls_of("reactions.add")) == 1


async def test_an_edit_of_the_bots_own_answer_is_not_read(slack: ServedSlackApp) -> None:
    answer = {"type": "message", "text": SEED_ERROR, "user": BOT_USER, "bot_id": BOT_ID, "ts": "1700000000.000001"}
    change = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "CALERT01",
        "channel_type": "channel",
        "ts": "1700000000.000050",
        "message": answer,
        "previous_message": {**answer, "text": "Investigating…"},
    }
    await slack.send.event(change)
    await slack.idle()
    assert [c.method for c in slack.fake.calls if c.method != "auth.test"] == []


async def test_joins_and_deletions_are_acknowledged_and_ignored(slack: ServedSlackApp) -> None:
    join = message_event("<@UHUMAN01> has joined the channel", subtype="channel_join")
    deleted = {"type": "message", "subtype": "message_deleted", "channel": "CWATCH01", "ts": "1690000001.000009"}
    for event in (join, deleted):
        status, _, _ = await slack.send.event(event)
        assert status == 200
    await slack.idle()
    assert [c.method for c in slack.fake.calls if c.method != "auth.test"] == []
