"""Alert channels: posts by other bots and integrations (text, attachments, blocks, CloudTrail JSON) get answers."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ServedSlackApp
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import bot_post, message_event

SEED_ERROR = SEED_ERRORS["missing_grant"]

MESSAGES = Path(__file__).resolve().parent.parent / "fixtures" / "messages"


def _fixture_text(family: str, name: str) -> str:
    cases = json.loads((MESSAGES / f"{family}.json").read_text(encoding="utf-8"))
    return next(case["text"] for case in cases if case["name"] == name)


def _header(blocks: list[dict[str, object]]) -> str:
    return next(b["text"]["text"] for b in blocks if b["type"] == "header")  # type: ignore[index]


async def test_an_integration_post_with_the_error_in_attachment_blocks_is_answered(slack: ServedSlackApp) -> None:
    post = bot_post(
        "CALERT01",
        attachments=[
            {
                "color": "#d00000",
                "fallback": "CI failed",
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*Deploy failed* in `prod`"}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": f"```{SEED_ERROR}```"}},
                ],
            }
        ],
    )
    await slack.send.event(post)
    (placeholder,) = await slack.fake.wait_for("chat.postMessage")
    assert placeholder.body["channel"] == "CALERT01"
    assert placeholder.body["thread_ts"] == post["ts"]
    (update,) = await slack.fake.wait_for("chat.update")
    assert _header(update.blocks) == "🔒 s3:GetObject denied for user build-bot"
    await slack.idle()
    # Nobody to warn or to answer privately: a bot posted it.
    assert slack.fake.calls_of("chat.postEphemeral") == []


async def test_attachment_text_and_fields_are_read(slack: ServedSlackApp) -> None:
    head, tail = SEED_ERROR.split(" is not authorized ")
    post = bot_post(
        "CALERT01",
        text="",
        attachments=[
            {
                "pretext": "Alarm: deploy",
                "title": "Deploy failed",
                "fields": [{"title": "error", "value": f"{head} is not authorized {tail}", "short": False}],
            }
        ],
    )
    await slack.send.event(post)
    (update,) = await slack.fake.wait_for("chat.update")
    assert _header(update.blocks) == "🔒 s3:GetObject denied for user build-bot"


async def test_a_modern_bot_post_with_top_level_rich_text_is_answered(slack: ServedSlackApp) -> None:
    # Newer apps post with a bot_id and no subtype; the content is in blocks.
    rich = {
        "type": "rich_text",
        "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "CloudWatch alarm:\n"}]},
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": SEED_ERROR}]},
        ],
    }
    post = message_event("CloudWatch alarm", channel="CALERT01", user="UINTEGR01", bot_id="BALERT02", blocks=[rich])
    await slack.send.event(post)
    (update,) = await slack.fake.wait_for("chat.update")
    assert _header(update.blocks) == "🔒 s3:GetObject denied for user build-bot"


async def test_an_eventbridge_cloudtrail_event_in_the_body_is_answered(slack: ServedSlackApp) -> None:
    envelope = _fixture_text("cloudtrail", "eventbridge-envelope")
    await slack.send.event(bot_post("CALERT01", text=f"```{envelope}```"))
    (update,) = await slack.fake.wait_for("chat.update")
    assert _header(update.blocks) == "🔒 kms:Decrypt denied for user alice"


async def test_a_person_posting_in_an_alert_channel_is_answered_too(serve_slack_app) -> None:  # type: ignore[no-untyped-def]
    slack = await serve_slack_app(env={"IAMWHY_WATCH_CHANNELS": "none"})
    await slack.send.event(message_event(SEED_ERROR, channel="CALERT01"))
    (update,) = await slack.fake.wait_for("chat.update")
    assert update.body["channel"] == "CALERT01"
