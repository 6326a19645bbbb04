"""Hostile and huge input: nothing pings, nothing links, nothing crashes, no credential is echoed or logged."""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests.conftest import ServedSlackApp, ServeSlackApp
from tests.handlers.investigators import CountingInvestigator
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import block_action, message_event

SEED_ERROR = SEED_ERRORS["missing_grant"]

HOSTILE = "<!channel> <!here> <@U0BOSS01> <https://evil.example/phish|click here> <#C0SECRET|secret>"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# Slack control sequences: mentions, broadcasts, channel links and links.
CONTROL = re.compile(r"<[!@#]|<https?:|<mailto:")


def _outgoing_texts(slack: ServedSlackApp) -> str:
    return json.dumps([c.body for c in slack.fake.calls if c.method not in ("auth.test", "socket.ack")])


async def test_mentions_and_links_in_a_paste_never_ping_or_link(slack: ServedSlackApp) -> None:
    error = SEED_ERROR.replace("release.tar.gz", "release.tar.gz<!channel>")
    await slack.send.event(message_event(f"{HOSTILE}\n{error}\n{HOSTILE}"))
    (update,) = await slack.fake.wait_for("chat.update")
    buttons = next(b for b in update.blocks if b["type"] == "actions")["elements"]
    value = buttons[0]["value"]
    for action in ("show_evidence", "show_full_fix"):
        await slack.send.interaction(block_action(action, value, response_url=slack.fake.response_url()))
    await slack.fake.wait_for("views.open", count=2)
    await slack.idle()
    sent = _outgoing_texts(slack)
    assert not CONTROL.search(sent), CONTROL.search(sent)
    assert "https://evil.example" not in sent


async def test_a_megabyte_paste_is_answered(serve_slack_app: ServeSlackApp) -> None:
    investigator = CountingInvestigator()
    slack = await serve_slack_app(investigator=investigator)
    filler = ("INFO build step ok <@U0BOSS01> & more\n" * 27_000)[:1_000_000]
    await slack.send.command(f"{filler}\n{SEED_ERROR}\n{filler}", response_url=slack.fake.response_url())
    (answer,) = await slack.fake.wait_for("response", timeout=60)
    assert answer.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    assert len(investigator.texts[0]) > 2_000_000


async def test_a_megabyte_paste_in_a_channel_is_answered_in_its_thread(slack: ServedSlackApp) -> None:
    filler = ("2024-05-01T10:00:00Z step ok <!here> <https://evil.example|x>\n" * 16_000)[:1_000_000]
    event = message_event(f"{filler}{SEED_ERROR}")
    status, _, _ = await slack.send.event(event)
    assert status == 200
    (update,) = await slack.fake.wait_for("chat.update", timeout=60)
    assert update.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    assert not CONTROL.search(_outgoing_texts(slack))


async def test_text_over_the_limit_is_refused_in_one_line(slack: ServedSlackApp) -> None:
    status, body, _ = await slack.send.command("x" * (3 * 1024 * 1024), response_url=slack.fake.response_url())
    assert (status, body) == (200, "Investigating…")
    (reply,) = await slack.fake.wait_for("response")
    assert reply.text == "⚠️ That text is 3.0 MiB, over the 2.0 MiB limit: paste only the error and the lines around it."


async def test_credentials_in_a_channel_paste_warn_the_poster_and_appear_nowhere(
    serve_slack_app: ServeSlackApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    investigator = CountingInvestigator()
    slack = await serve_slack_app(investigator=investigator)
    paste = f"{SEED_ERROR}\nexport AWS_ACCESS_KEY_ID={ACCESS_KEY}\nexport AWS_SECRET_ACCESS_KEY={SECRET_KEY}"
    await slack.send.event(message_event(paste, user="UPOSTER1"))
    (warning,) = await slack.fake.wait_for("chat.postEphemeral")
    assert (warning.body["channel"], warning.body["user"]) == ("CWATCH01", "UPOSTER1")
    assert "rotate" in warning.blocks[0]["text"]["text"]
    (update,) = await slack.fake.wait_for("chat.update")
    button = next(b for b in update.blocks if b["type"] == "actions")["elements"][0]["value"]
    await slack.send.interaction(block_action("show_evidence", button, response_url=slack.fake.response_url()))
    await slack.fake.wait_for("views.open")
    await slack.idle()
    sent = _outgoing_texts(slack)
    logged = "\n".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records)
    for secret in (ACCESS_KEY, SECRET_KEY):
        assert secret not in sent
        assert secret not in logged
        assert secret not in investigator.texts[0]
