"""The served HTTP endpoint under generated traffic: unsigned and signed bodies, random headers, random JSON and form
payloads and event shapes. No 5xx, no listener reached without a valid signature, no exception escaping.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from tests.conftest import ServedSlackApp, ServeSlackApp
from tests.handlers.investigators import CountingInvestigator
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import SIGNING_SECRET

FUZZ = settings(
    deadline=None,
    # One app serves every example of a test: that is the point (state carried from one request to the next).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SEED = SEED_ERRORS["missing_grant"]
# Stands for the fake Slack's response_url sink (known once it listens): generated payloads may point there.
RESPONSE_URL = "https://response.url.placeholder/"
_PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_HEADER_VALUE = st.text(alphabet=_PRINTABLE, max_size=60)
_IDS = st.one_of(
    st.sampled_from(["CWATCH01", "CALERT01", "D0DIRECT1", "G0PRIV01", "UHUMAN01", "UBOT0001", "BBOT0001", ""]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24),
)
_TS = st.one_of(st.none(), st.sampled_from(["1690000000.000100", "0", "-1", "nan"]), st.text(max_size=20))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_TEXT = st.one_of(
    st.just(SEED),
    st.builds(lambda a, b: f"{a}{SEED}{b}", st.text(max_size=80), st.text(max_size=80)),
    st.text(max_size=300),
    st.just("<!channel> <@U0BOSS01> <https://evil.example|x> " + SEED),
)


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, _JSON)


_EVENTS = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "app_mention", "reaction_added", "member_joined_channel"])},
    optional={
        "channel": _maybe(_IDS),
        "user": _maybe(_IDS),
        "text": _maybe(_TEXT),
        "ts": _maybe(_TS),
        "thread_ts": _maybe(_TS),
        "subtype": _maybe(st.sampled_from(["bot_message", "message_changed", "thread_broadcast", "file_share"])),
        "bot_id": _maybe(_IDS),
        "channel_type": _maybe(st.sampled_from(["channel", "im", "group", "mpim"])),
        "attachments": _maybe(st.lists(st.fixed_dictionaries({}, optional={"text": _TEXT, "fallback": _TEXT}))),
        "blocks": _JSON,
        "message": _maybe(st.fixed_dictionaries({}, optional={"text": _TEXT, "ts": _TS, "user": _IDS})),
        "previous_message": _JSON,
    },
)
_EVENT_BODIES = st.fixed_dictionaries(
    {"type": st.just("event_callback"), "event": _maybe(_EVENTS)},
    optional={
        "event_id": _maybe(st.text(alphabet=_PRINTABLE, max_size=20)),
        "team_id": _maybe(_IDS),
        "api_app_id": _maybe(_IDS),
        "authorizations": _JSON,
        "event_time": _JSON,
    },
)
_VALUES = st.one_of(st.sampled_from(["", "ref:0", "x:99", ":", "a:b:c"]), st.text(max_size=30))
_ACTIONS = st.fixed_dictionaries(
    {},
    optional={
        "action_id": _maybe(
            st.sampled_from(["show_full_fix", "show_evidence", "rerun", "share", "feedback_up", "feedback_down"])
        ),
        "value": _maybe(_VALUES),
        "block_id": _maybe(st.just("answer_actions")),
    },
)
_INTERACTIONS = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["block_actions", "view_submission", "message_action", "shortcut", "view_closed", "dialog_submission"]
        )
    },
    optional={
        "user": _maybe(st.fixed_dictionaries({}, optional={"id": _maybe(_IDS)})),
        "team": _maybe(st.fixed_dictionaries({}, optional={"id": _maybe(_IDS)})),
        "channel": _maybe(st.fixed_dictionaries({}, optional={"id": _maybe(_IDS)})),
        "container": _JSON,
        "actions": _maybe(st.lists(_ACTIONS, max_size=2)),
        "trigger_id": _maybe(st.text(max_size=10)),
        "response_url": _maybe(st.sampled_from(["", "not a url", RESPONSE_URL])),
        "callback_id": _maybe(st.sampled_from(["explain_access_denied", "iamwhy_input", "iamwhy_shortcut", "other"])),
        "message": _maybe(st.fixed_dictionaries({}, optional={"text": _TEXT, "ts": _TS, "thread_ts": _TS})),
        "view": _maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "callback_id": _maybe(st.sampled_from(["iamwhy_input", "iamwhy_shortcut", "other"])),
                    "private_metadata": _maybe(st.text(max_size=80)),
                    "state": _JSON,
                },
            )
        ),
    },
)
_COMMANDS = st.fixed_dictionaries(
    {"command": st.sampled_from(["/iamwhy", "/other"])},
    optional={
        "text": _TEXT,
        "channel_id": _IDS,
        "user_id": _IDS,
        "team_id": _IDS,
        "trigger_id": st.text(alphabet=_PRINTABLE, max_size=10),
        "response_url": st.sampled_from(["", "ftp://x", RESPONSE_URL]),
    },
)


@dataclass
class Spy:
    """Counts requests that got past Bolt's signature check (a middleware runs only after it)."""

    reached: list[Any] = field(default_factory=list)


@dataclass
class Fuzzed:
    slack: ServedSlackApp
    spy: Spy
    investigator: CountingInvestigator
    loop_errors: list[dict[str, Any]]


@pytest.fixture
async def fuzzed(serve_slack_app: ServeSlackApp) -> AsyncIterator[Fuzzed]:
    investigator = CountingInvestigator()
    slack = await serve_slack_app(investigator=investigator)
    spy = Spy()

    async def count_verified(body: dict[str, Any], request: AsyncBoltRequest, next: Any) -> BoltResponse | None:
        spy.reached.append(body)
        await next()
        return None

    slack.app.middleware(count_verified)
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: errors.append(context))
    yield Fuzzed(slack, spy, investigator, errors)
    loop.set_exception_handler(previous)


def _quiet_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records that mean an exception was raised somewhere: errors, and anything carrying a traceback."""
    return [
        f"{r.name}: {r.getMessage()} {getattr(r, 'fields', '')}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]


_UNSIGNED_HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(
            [
                "application/json",
                "application/json; charset=klingon",
                "application/x-www-form-urlencoded",
                "text/plain",
                "multipart/form-data",
                "x/y",
            ]
        ),
        "X-Slack-Signature": st.one_of(
            st.builds(lambda h: "v0=" + h, st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)),
            _HEADER_VALUE,
        ),
        "X-Slack-Request-Timestamp": st.one_of(
            st.builds(str, st.integers(min_value=-(2**40), max_value=2**40)),
            st.just(str(int(time.time()))),
            _HEADER_VALUE,
        ),
        "X-Slack-Retry-Num": _HEADER_VALUE,
    },
)
_BODIES: st.SearchStrategy[str | bytes] = st.one_of(
    st.binary(max_size=600),
    st.binary(max_size=600).map(lambda b: b.decode("latin-1")),
    st.text(max_size=600),
    _JSON.map(json.dumps),
    _EVENT_BODIES.map(json.dumps),
    _INTERACTIONS.map(lambda p: urllib.parse.urlencode({"payload": json.dumps(p)})),
    _COMMANDS.map(urllib.parse.urlencode),
)


@settings(FUZZ, max_examples=300)
@given(body=_BODIES, headers=_UNSIGNED_HEADERS, extra=st.dictionaries(st.sampled_from(["X-A", "Via"]), _HEADER_VALUE))
async def test_nothing_unsigned_reaches_a_listener(
    fuzzed: Fuzzed,
    caplog: pytest.LogCaptureFixture,
    body: str | bytes,
    headers: dict[str, str],
    extra: dict[str, str],
) -> None:
    status, _, _ = await fuzzed.slack.send.post(body, {**headers, **extra})
    assert status == 401
    assert fuzzed.spy.reached == []
    assert fuzzed.investigator.calls == 0
    assert fuzzed.slack.fake.calls == []
    assert _quiet_failures(caplog) == []


_TAMPERINGS = st.sampled_from(["wrong secret", "stale", "body changed", "signature of another body"])


@settings(FUZZ, max_examples=150)
@given(body=_BODIES, tampering=_TAMPERINGS)
async def test_a_signature_that_does_not_fit_is_refused(
    fuzzed: Fuzzed, caplog: pytest.LogCaptureFixture, body: str | bytes, tampering: str
) -> None:
    raw = body if isinstance(body, bytes) else body.encode()
    sent = raw
    match tampering:
        case "wrong secret":
            headers = _signed(raw, secret="0123456789abcdef0123456789abcdef")
        case "stale":
            headers = _signed(raw, timestamp=int(time.time()) - 301)
        case "body changed":
            headers = _signed(raw)
            sent = raw + b" "
        case _:
            headers = _signed(raw + b"x")
    status, _, _ = await fuzzed.slack.send.post(sent, headers)
    assert status == 401
    assert fuzzed.spy.reached == []
    assert fuzzed.slack.fake.calls == []
    assert _quiet_failures(caplog) == []


def _signed(
    body: bytes,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Slack's signature over any bytes (the SDK's own helper only signs UTF-8 text)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


async def _post_signed(fuzzed: Fuzzed, body: str | bytes, content_type: str) -> int:
    if isinstance(body, str):
        body = body.replace(RESPONSE_URL, fuzzed.slack.fake.response_url())
        body = body.replace(
            urllib.parse.quote_plus(RESPONSE_URL), urllib.parse.quote_plus(fuzzed.slack.fake.response_url())
        )
    raw = body if isinstance(body, bytes) else body.encode()
    status, _, _ = await fuzzed.slack.send.post(raw, _signed(raw, content_type=content_type))
    await fuzzed.slack.idle()
    return status


@settings(FUZZ, max_examples=300)
@given(body=_EVENT_BODIES)
async def test_signed_events_of_any_shape_are_handled_without_a_fault(
    fuzzed: Fuzzed, caplog: pytest.LogCaptureFixture, body: dict[str, Any]
) -> None:
    status = await _post_signed(fuzzed, json.dumps(body), "application/json")
    assert status < 500
    assert _quiet_failures(caplog) == []
    assert fuzzed.loop_errors == []


@settings(FUZZ, max_examples=300)
@given(payload=_INTERACTIONS)
async def test_signed_interactions_of_any_shape_are_handled_without_a_fault(
    fuzzed: Fuzzed, caplog: pytest.LogCaptureFixture, payload: dict[str, Any]
) -> None:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    status = await _post_signed(fuzzed, body, "application/x-www-form-urlencoded")
    assert status < 500
    assert _quiet_failures(caplog) == []
    assert fuzzed.loop_errors == []


@settings(FUZZ, max_examples=150)
@given(form=_COMMANDS)
async def test_signed_commands_of_any_shape_are_handled_without_a_fault(
    fuzzed: Fuzzed, caplog: pytest.LogCaptureFixture, form: dict[str, str]
) -> None:
    status = await _post_signed(fuzzed, urllib.parse.urlencode(form), "application/x-www-form-urlencoded")
    assert status < 500
    assert _quiet_failures(caplog) == []
    assert fuzzed.loop_errors == []


@settings(FUZZ, max_examples=150)
@given(body=st.one_of(_JSON.map(json.dumps), st.text(max_size=300), st.binary(max_size=300)))
async def test_signed_bodies_that_are_not_slack_payloads_are_refused_without_a_fault(
    fuzzed: Fuzzed, caplog: pytest.LogCaptureFixture, body: str | bytes
) -> None:
    status = await _post_signed(fuzzed, body, "application/json")
    assert status < 500
    assert _quiet_failures(caplog) == []
    assert fuzzed.loop_errors == []
