"""Slack retries never produce a second answer, whether the first is finished or still running."""

from __future__ import annotations

import asyncio

from tests.conftest import ServedSlackApp, ServeSlackApp
from tests.handlers.investigators import CountingInvestigator
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import message_event

SEED_ERROR = SEED_ERRORS["missing_grant"]


async def test_a_retry_after_the_answer_is_acknowledged_and_dropped(slack: ServedSlackApp) -> None:
    event = message_event(SEED_ERROR)
    await slack.send.event(event, event_id="EvRETRY001")
    await slack.fake.wait_for("chat.update")
    status, body, headers = await slack.send.event(event, event_id="EvRETRY001", retry=1)
    assert status == 200
    assert body == ""
    assert headers.get("x-slack-no-retry") == "1"
    await slack.idle()
    assert len(slack.fake.calls_of("chat.postMessage")) == 1
    assert len(slack.fake.calls_of("reactions.add")) == 1


async def test_retries_while_the_first_delivery_is_still_investigating(serve_slack_app: ServeSlackApp) -> None:
    gate = asyncio.Event()
    investigator = CountingInvestigator(gate)
    slack = await serve_slack_app(investigator=investigator)
    event = message_event(SEED_ERROR)
    await slack.send.event(event, event_id="EvSLOW0001")
    await slack.fake.wait_for("chat.postMessage")
    for attempt in (1, 2, 3):
        status, _, headers = await slack.send.event(event, event_id="EvSLOW0001", retry=attempt)
        assert (status, headers.get("x-slack-no-retry")) == (200, "1")
    gate.set()
    await slack.fake.wait_for("chat.update")
    await slack.idle()
    assert investigator.calls == 1
    assert len(slack.fake.calls_of("chat.postMessage")) == 1


async def test_a_new_event_with_the_same_text_is_not_a_retry(slack: ServedSlackApp) -> None:
    # Two people pasting the same error are two questions.
    await slack.send.event(message_event(SEED_ERROR))
    await slack.send.event(message_event(SEED_ERROR))
    first, second = await slack.fake.wait_for("chat.update", count=2)
    # Each question got its own answer, in its own thread.
    assert first.body["ts"] != second.body["ts"]


async def test_a_repeated_delivery_without_a_retry_number_is_acknowledged_and_not_answered_again(
    slack: ServedSlackApp,
) -> None:
    # A first delivery is acknowledged before its event id is checked: the check still drops a repeat. A direct
    # message without a denial is answered every time it is sent, so only the event id can tell the two apart.
    event = message_event("hello?", channel="DHUMAN01", channel_type="im")
    first = await slack.send.event(event, event_id="EvTWICE001")
    again = await slack.send.event(event, event_id="EvTWICE001")
    assert (first[0], again[0]) == (200, 200)
    await slack.fake.wait_for("chat.postMessage")
    await slack.idle()
    assert len(slack.fake.calls_of("chat.postMessage")) == 1
