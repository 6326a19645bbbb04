"""Only correctly signed, fresh requests reach the app: the rest get 401 and cause no work at all."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import ServedSlackApp
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import event_body, message_event, signed_headers

SEED_ERROR = SEED_ERRORS["missing_grant"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: {"Content-Type": "application/json"}, id="unsigned"),
        pytest.param(lambda body: signed_headers(body, secret="0123456789abcdef0123456789abcdef"), id="wrong-secret"),
        pytest.param(lambda body: signed_headers(body, timestamp=int(time.time()) - 6 * 60), id="stale"),
        pytest.param(
            lambda body: {**signed_headers(body), "X-Slack-Signature": "v0=" + "0" * 64}, id="tampered-signature"
        ),
    ],
)
async def test_bad_signatures_get_401_and_no_work(slack: ServedSlackApp, headers) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(event_body(message_event(SEED_ERROR)))
    status, text, _ = await slack.send.post(body, headers(body))
    assert status == 401
    assert json.loads(text) == {"error": "invalid request"}
    await slack.idle()
    assert slack.fake.calls == []


async def test_a_body_changed_after_signing_is_refused(slack: ServedSlackApp) -> None:
    body = json.dumps(event_body(message_event("hello")))
    headers = signed_headers(body)
    status, _, _ = await slack.send.post(body.replace("hello", "hallo"), headers)
    assert status == 401
    await slack.idle()
    assert slack.fake.calls == []


@pytest.mark.parametrize("body", ["{not json", "payload=%7Bbroken", "\x00\x01binary"])
async def test_a_malformed_body_is_refused_without_a_traceback(
    slack: ServedSlackApp, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    status, text, _ = await slack.send.post(body, {"Content-Type": "application/json"})
    assert (status, json.loads(text)) == (401, {"error": "invalid request"})
    content_type = "application/x-www-form-urlencoded" if body.startswith("payload") else "application/json"
    status, _, _ = await slack.send.post(body, signed_headers(body, content_type=content_type))
    assert status == 400
    assert not [r for r in caplog.records if r.exc_info]


async def test_url_verification_answers_the_challenge(slack: ServedSlackApp) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    status, text, _ = await slack.send.post(body, signed_headers(body))
    assert status == 200
    assert json.loads(text) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_an_event_type_without_a_listener_gets_404(slack: ServedSlackApp) -> None:
    # Slack treats 404 as a failure: the manifest subscribes only to handled events (see test_manifest).
    status, _, _ = await slack.send.event({"type": "reaction_added", "user": "UHUMAN01", "reaction": "eyes"})
    assert status == 404
