"""Generated credentials embedded anywhere in a pasted error never appear in a reply, a report or a log line.

The parser, every renderer (thread and private answers, modals, the shortcut window, the terminal and JSON
reports) and the log lines of an answer and its audit record all see text with an access key id, a secret key
or a session token in it, in the forms people paste them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import _JsonFormatter
from diagnostics.audit import AUDIT_LOGGER, AUDIT_MESSAGE, audit_entry, entry_json
from diagnostics.explain import explain_scan_offline
from diagnostics.investigate import Investigation, OfflineInvestigator
from diagnostics.parse import scan
from diagnostics.report import render_text, to_json
from handlers.blocks import evidence_modal, full_fix_modal, render_investigation, render_no_denial, shortcut_modal
from handlers.replies import Trigger, log_answer, prepare
from tests.conftest import ServedSlackApp
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import message_event

_UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"
# Filler cannot spell a credential (no digits, capitals, / or +), so a credential in the output can only come
# from where it was planted.
_FILLER = st.text(alphabet="abcdefghijklmnopqrstuvwxyz .,;:-_()[]{}<>!?#@\n\t'\"", max_size=120)
_SEPARATORS = st.sampled_from([" ", "\n", "\t", '"', "'", "=", ": ", ", ", "(", ") ", "\n> "])


def _mixed(text: str) -> bool:
    return any(c.isupper() for c in text) and any(c.isdigit() for c in text)


_KEY_IDS = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["AKIA", "ASIA"]),
    st.text(alphabet=_UPPER_DIGITS, min_size=16, max_size=16),
)
_SECRET_KEYS = st.text(alphabet=_BASE64, min_size=40, max_size=40).filter(_mixed)
_TOKENS = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["IQoJb3JpZ2lu", "FwoGZXIvYXdz"]),
    st.text(alphabet=_BASE64 + "=", min_size=80, max_size=300).filter(_mixed),
)


@dataclass(frozen=True)
class Planted:
    """A credential as it appears in a paste, and the secret strings that must never come out again."""

    text: str
    secrets: tuple[str, ...]


def _wrapped(token: str, at: int) -> str:
    cut = 20 + at % (len(token) - 40)
    return f"{token[:cut]}\n{token[cut:]}"


_PLANTED = st.one_of(
    st.builds(lambda k: Planted(k, (k,)), _KEY_IDS),
    st.builds(
        lambda label, s: Planted(label.format(s), (s,)),
        st.sampled_from(
            [
                "aws_secret_access_key = {}",
                "AWS_SECRET_ACCESS_KEY={}",
                '"SecretAccessKey": "{}"',
                "secret_key: {}",
                "export AWS_SECRET_ACCESS_KEY='{}'",
            ]
        ),
        _SECRET_KEYS,
    ),
    st.builds(
        lambda k, sep, s: Planted(f"{k}{sep}{s}", (k, s)), _KEY_IDS, st.sampled_from([",", " ", "\t"]), _SECRET_KEYS
    ),
    st.builds(
        lambda label, t: Planted(label.format(t), (t,)),
        st.sampled_from(["aws_session_token = {}", '"SessionToken": "{}"', "X-Amz-Security-Token: {}"]),
        _TOKENS,
    ),
    st.builds(lambda t: Planted(t, (t,)), _TOKENS),
    st.builds(lambda t, at: Planted(_wrapped(t, at), (t, *_wrapped(t, at).split("\n"))), _TOKENS, st.integers(0, 999)),
)
_SEEDS = st.sampled_from(sorted(SEED_ERRORS.values()))


@st.composite
def pastes(draw: st.DrawFn) -> tuple[str, tuple[str, ...]]:
    """An error pasted with credentials around it, between its lines, and inside its text."""
    seed = draw(_SEEDS)
    planted = draw(st.lists(_PLANTED, min_size=1, max_size=3))
    words = seed.split(" ")
    inside = draw(st.integers(0, len(words)))
    pieces = [draw(_FILLER), " ".join(words[:inside])]
    for plant in planted:
        pieces.extend([draw(_SEPARATORS), plant.text, draw(_SEPARATORS)])
    pieces.extend([" ".join(words[inside:]), draw(_FILLER)])
    secrets = tuple(s for plant in planted for s in plant.secrets if len(s) >= 12)
    return "".join(pieces), secrets


def _everything_shown(text: str) -> str:
    """Every reply, window and report the text can produce, as one string."""
    found = scan(text)
    investigation = Investigation(found, explain_scan_offline(found), 0.0)
    shown = [
        render_text(found, investigation.diagnoses, color=False),
        json.dumps(to_json(found, investigation.diagnoses)),
        json.dumps([m.blocks_json() for m in render_investigation(investigation, ref="r")]),
        json.dumps([m.blocks_json() for m in render_investigation(investigation, ref="r", details=False)]),
        json.dumps(render_no_denial(found).blocks_json()),
        json.dumps(shortcut_modal(found, metadata="{}", had_secrets=True).to_dict()),
    ]
    for diagnosis in investigation.diagnoses:
        shown.append(json.dumps(evidence_modal(diagnosis).to_dict()))
        shown.append(json.dumps(full_fix_modal(diagnosis).to_dict()))
    return "\n".join(shown)


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    formatter = _JsonFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)


_FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@settings(_FAST, max_examples=250)
@given(paste=pastes())
def test_a_credential_never_comes_out_of_the_parser_or_the_renderers(paste: tuple[str, tuple[str, ...]]) -> None:
    text, secrets = paste
    shown = _everything_shown(text)
    for secret in secrets:
        assert secret not in shown


@settings(_FAST, max_examples=150)
@given(paste=pastes())
async def test_a_credential_never_reaches_a_log_line(
    caplog: pytest.LogCaptureFixture, paste: tuple[str, tuple[str, ...]]
) -> None:
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="iamwhy")
    text, secrets = paste
    prepared = await prepare(text)
    investigation = await OfflineInvestigator().investigate(prepared.text)
    log_answer(Trigger.PASTE, "C1", "ref", investigation)
    entry = audit_entry(
        id="a",
        at=0.0,
        trigger="paste",
        user="U1",
        channel="C1",
        thread_ts=None,
        investigation=investigation,
        outcome="answered",
        correlation_id="c",
    )
    logging.getLogger(AUDIT_LOGGER).info(AUDIT_MESSAGE, extra={"fields": entry_json(entry)})
    logged = _logged(caplog)
    assert '"message": "audit"' in logged
    for secret in secrets:
        assert secret not in prepared.text
        assert secret not in logged


@settings(_FAST, max_examples=60)
@given(paste=pastes(), private=st.booleans())
async def test_a_credential_never_comes_back_from_the_served_app(
    slack: ServedSlackApp, caplog: pytest.LogCaptureFixture, paste: tuple[str, tuple[str, ...]], private: bool
) -> None:
    caplog.set_level(logging.DEBUG, logger="iamwhy")
    text, secrets = paste
    slack.fake.calls.clear()
    caplog.clear()
    if private:
        await slack.send.command(text, response_url=slack.fake.response_url())
    else:
        await slack.send.event(message_event(text))
    await slack.idle()
    sent = json.dumps([c.body for c in slack.fake.calls if c.method != "auth.test"])
    logged = _logged(caplog)
    assert slack.fake.calls, "the paste was answered"
    for secret in secrets:
        assert secret not in sent
        assert secret not in logged
