"""Slack's limits: a 429 is retried after its Retry-After, and posting in a channel keeps to Slack's pace."""

from __future__ import annotations

import itertools

from tests.conftest import ServeSlackApp
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import bot_post, message_event

SEED_ERROR = SEED_ERRORS["missing_grant"]


async def test_a_rate_limited_post_is_sent_again_after_retry_after(serve_slack_app: ServeSlackApp) -> None:
    slack = await serve_slack_app()
    slack.fake.rate_limit("chat.postMessage", retry_after=1, times=1)
    slack.fake.rate_limit("chat.update", retry_after=1, times=1)
    await slack.send.event(message_event(SEED_ERROR))
    await slack.idle(timeout=30)
    refused, placeholder = slack.fake.calls_of("chat.postMessage")
    refused_update, answer = slack.fake.calls_of("chat.update")
    assert slack.fake.rate_limited == {"chat.postMessage": 1, "chat.update": 1}
    # Nothing was dropped, and nothing was sent again before Slack said it could be.
    assert placeholder.body == refused.body
    assert answer.body == refused_update.body
    assert placeholder.at - refused.at >= 1.0
    assert answer.at - refused_update.at >= 1.0
    assert "s3:GetObject" in answer.text


async def test_posting_in_one_channel_keeps_to_slacks_pace(serve_slack_app: ServeSlackApp) -> None:
    slack = await serve_slack_app()
    # Slack's own limit, enforced by the fake: beyond it, 429.
    slack.fake.pace_posts(interval=1.0, burst=3)
    actions = ["GetObject", "PutObject", "DeleteObject", "ListBucket", "GetObjectAcl", "PutObjectAcl"]
    for action in actions:
        await slack.send.event(bot_post("CALERT01", text=SEED_ERROR.replace("GetObject", action)))
    await slack.idle(timeout=60)
    posts = slack.fake.calls_of("chat.postMessage")
    assert len(posts) == len(actions)
    assert len(slack.fake.calls_of("chat.update")) == len(actions)
    assert slack.fake.rate_limited == {}
    # Three at once, then one a second.
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(posts[2:])]
    assert all(gap >= 0.9 for gap in gaps)
