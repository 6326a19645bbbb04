"""An audit record for every investigation, on every surface: who asked, where, which accounts, every read, outcome."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import pytest

from diagnostics.audit import entry_from_json
from diagnostics.aws import AwsAdapter
from diagnostics.investigate import InvestigationSettings, LiveInvestigator
from diagnostics.state import AuditedDiagnosis, AuditEntry, AuditRead, State
from tests.conftest import ServedSlackApp, ServeSlackApp
from tests.handlers.investigators import FailingInvestigator
from tests.handlers.live_scenarios import T, missing_grant
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import block_action, bot_post, message_event, message_shortcut, view_submission
from tests.harness.world import AwsWorld

SEED_ERROR = SEED_ERRORS["missing_grant"]
SEED_DIAGNOSIS = AuditedDiagnosis(
    action="s3:GetObject",
    principal_arn="arn:aws:iam::123456789012:user/build-bot",
    resource_arn="arn:aws:s3:::prod-artifacts/release.tar.gz",
    account_id="123456789012",
    decision="implicit_deny",
    confidence="reported",
    blocked_by=("identity",),
)


async def _entries(slack: ServedSlackApp, count: int = 1) -> tuple[AuditEntry, ...]:
    await slack.idle()
    entries = await slack.state.audit.query()
    assert len(entries) == count, entries
    return entries


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    actions = next(b for b in blocks if b["type"] == "actions")
    return {e["action_id"]: e["value"] for e in actions["elements"]}


async def test_a_paste_is_audited_with_who_where_and_the_outcome(
    slack: ServedSlackApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="iamwhy.audit")
    event = message_event(SEED_ERROR, user="UPOSTER1")
    await slack.send.event(event, event_id="EvAUDIT0001")
    await slack.fake.wait_for("chat.update")

    (entry,) = await _entries(slack)
    assert (entry.trigger, entry.user, entry.channel, entry.thread_ts) == ("paste", "UPOSTER1", "CWATCH01", event["ts"])
    assert entry.accounts == ("123456789012",)
    assert entry.diagnoses == (SEED_DIAGNOSIS,)
    assert entry.reads == ()
    assert entry.outcome == "answered"
    assert entry.correlation_id == "EvAUDIT0001"
    assert len(entry.id) == 12

    # The same record as one JSON log line: the durable copy.
    (line,) = [r for r in caplog.records if r.name == "iamwhy.audit"]
    logged = entry_from_json(line.fields)  # type: ignore[attr-defined]
    assert logged == dataclasses.replace(entry, at=logged.at)
    assert logged.at == pytest.approx(entry.at, abs=0.001)


async def test_an_alert_is_audited_without_a_user(slack: ServedSlackApp) -> None:
    await slack.send.event(bot_post("CALERT01", text=SEED_ERROR))
    await slack.fake.wait_for("chat.update")
    (entry,) = await _entries(slack)
    assert (entry.trigger, entry.user, entry.channel) == ("alert", None, "CALERT01")


async def test_a_command_is_audited_as_a_private_answer(slack: ServedSlackApp) -> None:
    await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url(), user="UASKER01", channel="C0TEAM")
    await slack.fake.wait_for("response")
    (entry,) = await _entries(slack)
    assert (entry.trigger, entry.user, entry.channel, entry.thread_ts) == ("command", "UASKER01", "C0TEAM", None)
    assert entry.outcome == "answered"


async def test_the_input_box_and_the_shortcut_are_audited(slack: ServedSlackApp) -> None:
    values = {"error_text_block": {"error_text": {"type": "plain_text_input", "value": SEED_ERROR}}}
    await slack.send.interaction(view_submission("iamwhy_input", values, private_metadata="C0TEAM", user="UBOX0001"))
    await slack.fake.wait_for("chat.postEphemeral")

    message = {"type": "message", "user": "UOTHER01", "text": SEED_ERROR, "ts": "1690000900.000100"}
    shortcut = message_shortcut(
        "explain_access_denied", message, response_url=slack.fake.response_url(), user="UCUT0001"
    )
    await slack.send.interaction(shortcut)
    (opened,) = await slack.fake.wait_for("views.open")
    choice = {"reply_choice_block": {"reply_choice": {"type": "radio_buttons", "selected_option": {"value": "thread"}}}}
    await slack.send.interaction(
        view_submission("iamwhy_shortcut", choice, private_metadata=str(opened.view["private_metadata"]))
    )
    await slack.fake.wait_for("chat.update")

    shortcut_entry, modal_entry = await _entries(slack, 2)
    assert (modal_entry.trigger, modal_entry.user, modal_entry.channel) == ("modal", "UBOX0001", "C0TEAM")
    assert (shortcut_entry.trigger, shortcut_entry.user, shortcut_entry.channel, shortcut_entry.thread_ts) == (
        "shortcut",
        "UCUT0001",
        "COTHER01",
        "1690000900.000100",
    )


async def test_a_rerun_is_audited_as_its_own_investigation(slack: ServedSlackApp) -> None:
    await slack.send.event(message_event(SEED_ERROR))
    (update,) = await slack.fake.wait_for("chat.update")
    click = block_action(
        "rerun",
        _buttons(update.blocks)["rerun"],
        response_url=slack.fake.response_url(),
        message_ts=str(update.body["ts"]),
        user="URERUN01",
    )
    await slack.send.interaction(click)
    await slack.fake.wait_for("chat.update", count=3)
    rerun, paste = await _entries(slack, 2)
    assert (rerun.trigger, rerun.user, rerun.channel) == ("rerun", "URERUN01", "CWATCH01")
    assert paste.trigger == "paste"
    assert rerun.correlation_id != paste.correlation_id


async def test_a_failed_investigation_is_audited_as_failed(serve_slack_app: ServeSlackApp) -> None:
    slack = await serve_slack_app(investigator=FailingInvestigator(RuntimeError("boom")))
    await slack.send.event(message_event(SEED_ERROR))
    await slack.fake.wait_for("chat.update")
    (entry,) = await _entries(slack)
    assert (entry.outcome, entry.diagnoses, entry.accounts) == ("failed", (), ())


async def test_an_answer_slack_would_not_take_is_audited_as_undelivered(slack: ServedSlackApp) -> None:
    slack.fake.fail("chat.update", "msg_too_long", times=None)
    await slack.send.event(message_event(SEED_ERROR))
    await slack.fake.wait_for("chat.update", count=2)
    (entry,) = await _entries(slack)
    assert entry.outcome == "undelivered"
    assert entry.diagnoses == (SEED_DIAGNOSIS,)


async def test_no_denial_no_investigation_no_record(slack: ServedSlackApp) -> None:
    await slack.send.event(message_event("lunch at noon?"))
    await slack.send.command("just text", response_url=slack.fake.response_url())
    await slack.fake.wait_for("response")
    await _entries(slack, 0)


async def test_a_store_that_fails_does_not_fail_the_answer(
    serve_slack_app: ServeSlackApp, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenAudit:
        async def record(self, entry: AuditEntry) -> None:
            raise ConnectionError("state store unreachable")

        async def query(self, **_: Any) -> tuple[AuditEntry, ...]:
            return ()

    caplog.set_level(logging.INFO)
    state = dataclasses.replace(State.in_memory(), audit=BrokenAudit())
    slack = await serve_slack_app(state=state)
    await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url())
    (answer,) = await slack.fake.wait_for("response")
    await slack.idle()
    assert answer.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == ["the audit record was not stored"]
    assert [r for r in caplog.records if r.name == "iamwhy.audit"]


async def test_a_live_investigation_audits_every_aws_read(
    serve_slack_app: ServeSlackApp, make_adapter: Callable[..., AwsAdapter], aws_world: AwsWorld
) -> None:
    investigator = LiveInvestigator(make_adapter(), settings=InvestigationSettings(authorization_delay=0.0))
    slack = await serve_slack_app(investigator=investigator, env={"IAMWHY_ACCOUNTS": T})
    seeded = missing_grant(aws_world)
    aws_world.forget_requests()
    await slack.send.event(message_event(seeded.text))
    await slack.fake.wait_for("chat.update", timeout=30)

    (entry,) = await _entries(slack)
    assert entry.accounts == (T,)
    assert AuditRead("sts", "AssumeRole", T, "ok", False) in entry.reads
    assert AuditRead("iam", "GetUser", T, "ok", False) in entry.reads
    assert AuditRead("s3", "GetBucketPolicy", T, "not_found", False) in entry.reads
    # Every request moto served for the diagnosis is in the record (the bot's own identity, looked up once per
    # process, is not); the record also has the reads refused on iamwhy's side (no organizations role is
    # configured) and those answered from the cache.
    sent = sorted((r.service, r.operation) for r in entry.reads if not r.cached and r.outcome != "not_configured")
    served = [c for c in aws_world.moto.seen() if c.operation != "GetCallerIdentity"]
    assert sent == sorted((c.service, c.operation) for c in served)
    assert entry.diagnoses[0].confidence == "evaluated"
