"""The one error boundary: typed errors become plain messages, unknown ones a logged reference; nothing hangs."""

from __future__ import annotations

import json
import logging

import pytest

from diagnostics.reader import CredentialsError
from tests.conftest import ServeSlackApp
from tests.handlers.investigators import FailingInvestigator
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import message_event

SEED_ERROR = SEED_ERRORS["missing_grant"]

SECRET_DETAIL = "internal detail arn:aws:iam::999999999999:role/secret-path"


async def test_a_failure_after_the_placeholder_turns_it_into_a_reference(
    serve_slack_app: ServeSlackApp, caplog: pytest.LogCaptureFixture
) -> None:
    slack = await serve_slack_app(investigator=FailingInvestigator(RuntimeError(SECRET_DETAIL)))
    await slack.send.event(message_event(SEED_ERROR))
    await slack.fake.wait_for("chat.postMessage")
    (update,) = await slack.fake.wait_for("chat.update")
    assert update.body["ts"] == "1700000000.000001"
    text = update.blocks[0]["text"]["text"]
    assert text.startswith("⚠️ Something went wrong (ref ")
    ref = text.split("(ref ")[1].split(")")[0]
    assert len(ref) == 8
    assert SECRET_DETAIL not in json.dumps([c.body for c in slack.fake.calls])
    (logged,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert logged.fields["ref"] == ref  # type: ignore[attr-defined]
    assert logged.exc_info is not None
    assert logged.exc_info[1] is not None
    assert str(logged.exc_info[1]) == SECRET_DETAIL


async def test_a_known_aws_failure_is_explained_without_a_reference(serve_slack_app: ServeSlackApp) -> None:
    error = CredentialsError("expired token ASIA...", service="sts", operation="GetCallerIdentity", account=None)
    slack = await serve_slack_app(investigator=FailingInvestigator(error))
    await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url())
    (reply,) = await slack.fake.wait_for("response")
    assert reply.body["response_type"] == "ephemeral"
    assert "iamwhy's own AWS credentials were refused or are missing" in reply.text
    assert "ASIA" not in reply.text
    assert "ref " not in reply.text


async def test_a_failure_in_a_command_is_reported_privately(serve_slack_app: ServeSlackApp) -> None:
    slack = await serve_slack_app(investigator=FailingInvestigator(KeyError("boom")))
    status, body, _ = await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url())
    assert (status, body) == (200, "Investigating…")
    (reply,) = await slack.fake.wait_for("response")
    assert reply.text.startswith("⚠️ Something went wrong (ref ")
    assert "boom" not in reply.text


async def test_when_slack_refuses_the_error_message_too_it_is_logged_not_raised(
    serve_slack_app: ServeSlackApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="iamwhy.slack")
    slack = await serve_slack_app(investigator=FailingInvestigator(RuntimeError("x")))
    slack.fake.fail("chat.update", "message_not_found", times=None)
    await slack.send.event(message_event(SEED_ERROR))
    await slack.fake.wait_for("chat.update")
    await slack.idle()
    warnings = [r for r in caplog.records if r.getMessage() == "could not deliver an error message"]
    assert [w.fields["slack_error"] for w in warnings] == ["message_not_found"]  # type: ignore[attr-defined]
