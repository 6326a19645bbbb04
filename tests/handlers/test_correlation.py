"""One correlation id per Slack request, on every JSON log line of its handling: receipt, AWS calls, reply, audit."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app import _JsonFormatter
from diagnostics.aws import AwsAdapter
from diagnostics.investigate import InvestigationSettings, LiveInvestigator
from tests.conftest import ServeSlackApp
from tests.handlers.live_scenarios import T, missing_grant
from tests.harness.fake_slack import message_event
from tests.harness.world import AwsWorld

# Bolt sets the level of the logger named like the app ("iamwhy") to the root's on every request: the levels are
# set on the loggers below it.
_LOGGERS = ("iamwhy.slack", "iamwhy.aws", "iamwhy.audit", "iamwhy.investigate")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The JSON lines iamwhy's loggers write, as `iamwhy serve` writes them, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_JsonFormatter())
    parent = logging.getLogger("iamwhy")
    parent.addHandler(handler)
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    parent.removeHandler(handler)
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture
def live(make_adapter: Callable[..., AwsAdapter]) -> LiveInvestigator:
    return LiveInvestigator(make_adapter(), settings=InvestigationSettings(authorization_delay=0.0))


async def test_an_event_s_lines_from_receipt_to_aws_to_the_reply_share_its_event_id(
    serve_slack_app: ServeSlackApp,
    live: LiveInvestigator,
    aws_world: AwsWorld,
    json_log: io.StringIO,
) -> None:
    slack = await serve_slack_app(investigator=live, env={"IAMWHY_ACCOUNTS": T})
    seeded = missing_grant(aws_world)
    await slack.send.event(message_event(seeded.text), event_id="EvCORR00001")
    await slack.fake.wait_for("chat.update", timeout=30)
    await slack.idle()

    lines = _lines(json_log)
    assert {line["correlation_id"] for line in lines} == {"EvCORR00001"}
    messages = [line["message"] for line in lines]
    assert messages[0] == "slack request"
    assert messages[-2:] == ["audit", "answered"] or messages[-2:] == ["answered", "audit"]
    assert "assumed a read role" in messages
    calls = [line for line in lines if line["message"] == "aws call"]
    assert {(c["service"], c["operation"]) for c in calls} >= {("iam", "GetUser"), ("s3", "GetBucketPolicy")}
    (audit,) = [line for line in lines if line["logger"] == "iamwhy.audit"]
    assert audit["correlation_id"] == "EvCORR00001"


async def test_concurrent_requests_keep_their_own_ids(
    serve_slack_app: ServeSlackApp,
    live: LiveInvestigator,
    aws_world: AwsWorld,
    json_log: io.StringIO,
) -> None:
    slack = await serve_slack_app(investigator=live, env={"IAMWHY_ACCOUNTS": T})
    seeded = missing_grant(aws_world)
    await asyncio.gather(
        slack.send.event(message_event(seeded.text, channel="C0FIRST"), event_id="EvFIRST0001"),
        slack.send.event(message_event(seeded.text, channel="C0SECOND"), event_id="EvSECOND001"),
        slack.send.command(seeded.text, response_url=slack.fake.response_url()),
    )
    await slack.fake.wait_for("chat.update", count=2, timeout=30)
    await slack.fake.wait_for("response", timeout=30)
    await slack.idle()

    lines = _lines(json_log)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_id.setdefault(line["correlation_id"], []).append(line)
    assert set(by_id) >= {"EvFIRST0001", "EvSECOND001"}
    (command_id,) = set(by_id) - {"EvFIRST0001", "EvSECOND001"}
    assert len(command_id) == 12
    for correlation_id, channel in (("EvFIRST0001", "C0FIRST"), ("EvSECOND001", "C0SECOND")):
        (audit,) = [line for line in by_id[correlation_id] if line["logger"] == "iamwhy.audit"]
        assert audit["channel"] == channel
    (command_audit,) = [line for line in by_id[command_id] if line["logger"] == "iamwhy.audit"]
    assert command_audit["trigger"] == "command"
    for group in by_id.values():
        assert group[0]["message"] == "slack request"
        assert any(line["message"] == "aws call" and line["account"] == T for line in group)
