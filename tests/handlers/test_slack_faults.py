"""Slack failing: its 5xx answers are retried with backoff; a post that still fails is logged with what Slack said,
audited as undelivered and counted, never dropped in silence; a 429 is not lost either."""

from __future__ import annotations

import logging

import pytest

from diagnostics import metrics
from tests.conftest import ServedSlackApp
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import message_event

SEED_ERROR = SEED_ERRORS["missing_grant"]
HEADLINE = "🔒 s3:GetObject denied for user build-bot"


def _failures(method: str) -> float:
    return metrics.REGISTRY.get_sample_value("iamwhy_slack_delivery_failures_total", {"method": method}) or 0.0


def _logged(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == message]


async def test_a_passing_5xx_is_retried_and_the_answer_arrives(
    slack: ServedSlackApp, caplog: pytest.LogCaptureFixture
) -> None:
    slack.fake.fail_http("chat.postMessage", 503, times=2)
    await slack.send.event(message_event(SEED_ERROR))
    (update,) = await slack.fake.wait_for("chat.update")
    assert update.blocks[0]["text"]["text"] == HEADLINE
    assert len(slack.fake.calls_of("chat.postMessage")) == 3
    retries = _logged(caplog, "Slack failed; retrying")
    assert [(r.fields["failure"], r.fields["attempt"]) for r in retries] == [  # type: ignore[attr-defined]
        ("HTTP 503", 1),
        ("HTTP 503", 2),
    ]
    assert retries[0].fields["url"].endswith("/api/chat.postMessage")  # type: ignore[attr-defined]
    await slack.idle()
    (entry,) = await slack.state.audit.query()
    assert entry.outcome == "answered"


async def test_a_5xx_that_lasts_is_reported_audited_and_counted(
    slack: ServedSlackApp, caplog: pytest.LogCaptureFixture
) -> None:
    before = _failures("chat.update")
    slack.fake.fail_http("chat.update", 500, times=None)
    await slack.send.event(message_event(SEED_ERROR))
    # The answer, then the error message in its place: each tried four times (the first attempt and 3 retries).
    await slack.fake.wait_for("chat.update", count=8)
    await slack.idle()

    (failed,) = _logged(caplog, "Slack did not take a message")
    assert failed.levelno == logging.ERROR
    assert (failed.fields["method"], failed.fields["status"]) == ("chat.update", 500)  # type: ignore[attr-defined]
    assert len(failed.fields["ref"]) == 8  # type: ignore[attr-defined]
    assert failed.exc_info is None
    (undelivered,) = _logged(caplog, "could not deliver an error message")
    assert undelivered.fields["status"] == 500  # type: ignore[attr-defined]
    (entry,) = await slack.state.audit.query()
    assert entry.outcome == "undelivered"
    assert entry.diagnoses[0].action == "s3:GetObject"
    assert _failures("chat.update") == before + 1


async def test_a_response_url_5xx_is_retried(slack: ServedSlackApp) -> None:
    slack.fake.fail_http("response", 503, times=1)
    await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url())
    first, second = await slack.fake.wait_for("response", count=2)
    assert first.body == second.body
    assert second.blocks[0]["text"]["text"] == HEADLINE


async def test_a_response_url_that_keeps_failing_is_not_a_silent_drop(
    slack: ServedSlackApp, caplog: pytest.LogCaptureFixture
) -> None:
    before = _failures("response_url")
    slack.fake.fail_http("response", 500, times=None)
    await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url())
    await slack.fake.wait_for("response", count=8)
    await slack.idle()
    (failed,) = _logged(caplog, "Slack did not take a message")
    assert (failed.fields["method"], failed.fields["status"]) == ("response_url", 500)  # type: ignore[attr-defined]
    (entry,) = await slack.state.audit.query()
    assert entry.outcome == "undelivered"
    assert _failures("response_url") == before + 1
    # A response_url is a credential for posting: it never reaches the log.
    logged = " ".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records)
    assert "/response/" not in logged


async def test_a_429_on_a_response_url_waits_for_retry_after(slack: ServedSlackApp) -> None:
    slack.fake.fail_http("response", 429, times=1, retry_after=0)
    await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url())
    _, answer = await slack.fake.wait_for("response", count=2)
    assert answer.blocks[0]["text"]["text"] == HEADLINE


async def test_a_rate_limited_update_waits_and_is_not_lost(slack: ServedSlackApp) -> None:
    slack.fake.fail_http("chat.update", 429, times=1, retry_after=0)
    await slack.send.event(message_event(SEED_ERROR))
    _, update = await slack.fake.wait_for("chat.update", count=2)
    assert update.blocks[0]["text"]["text"] == HEADLINE
    await slack.idle()
    (entry,) = await slack.state.audit.query()
    assert entry.outcome == "answered"


async def test_dropped_connections_are_retried(slack: ServedSlackApp) -> None:
    slack.fake.fail_http("chat.update", 0, times=2)
    await slack.send.event(message_event(SEED_ERROR))
    *_, update = await slack.fake.wait_for("chat.update", count=3)
    assert update.blocks[0]["text"]["text"] == HEADLINE


async def test_slack_unreachable_for_good_is_reported(slack: ServedSlackApp, caplog: pytest.LogCaptureFixture) -> None:
    slack.fake.fail_http("chat.update", 0, times=None)
    await slack.send.event(message_event(SEED_ERROR))
    # The answer, then the error message in its place: each tried three times (a broken connection is retried twice).
    await slack.fake.wait_for("chat.update", count=6)
    await slack.idle()
    (failed,) = _logged(caplog, "Slack did not take a message")
    assert failed.fields["slack_error"] == "ServerDisconnectedError"  # type: ignore[attr-defined]
    assert _logged(caplog, "could not deliver an error message")
    (entry,) = await slack.state.audit.query()
    assert entry.outcome == "undelivered"
