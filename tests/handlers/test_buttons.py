"""The buttons under an answer: Re-run really re-investigates, the modals open, feedback is recorded."""

from __future__ import annotations

import json
import logging

import pytest

from diagnostics.state import State, Vote
from tests.conftest import ServedSlackApp, ServeSlackApp
from tests.handlers.investigators import CountingInvestigator
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import block_action, message_event

SEED_ERROR = SEED_ERRORS["missing_grant"]


def _buttons(blocks: list[dict[str, object]]) -> dict[str, str]:
    actions = next(b for b in blocks if b["type"] == "actions")
    return {e["action_id"]: e["value"] for e in actions["elements"]}  # type: ignore[index]


async def _answered(slack: ServedSlackApp) -> tuple[str, dict[str, str]]:
    """Paste the seed error; the answer's message ts and its buttons."""
    await slack.send.event(message_event(SEED_ERROR))
    (update,) = await slack.fake.wait_for("chat.update")
    return str(update.body["ts"]), _buttons(update.blocks)


async def test_rerun_investigates_again_and_updates_the_answer_in_place(serve_slack_app: ServeSlackApp) -> None:
    investigator = CountingInvestigator()
    slack = await serve_slack_app(investigator=investigator)
    ts, buttons = await _answered(slack)
    click = block_action("rerun", buttons["rerun"], response_url=slack.fake.response_url("b1"), message_ts=ts)
    status, _, _ = await slack.send.interaction(click)
    assert status == 200
    _, progress, answer = await slack.fake.wait_for("chat.update", lambda c: c.body["ts"] == ts, count=3)
    assert progress.text == "Re-running…"
    assert answer.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    assert investigator.calls == 2
    assert investigator.texts[1] == investigator.texts[0]
    assert _buttons(answer.blocks)["rerun"] == buttons["rerun"]


async def test_rerun_of_a_private_answer_replaces_it_through_the_response_url(slack: ServedSlackApp) -> None:
    await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url("c1"))
    (answer,) = await slack.fake.wait_for("response")
    click = block_action(
        "rerun", _buttons(answer.blocks)["rerun"], response_url=slack.fake.response_url("b2"), ephemeral=True
    )
    await slack.send.interaction(click)
    progress, rerun = await slack.fake.wait_for("response", lambda c: c.path == "/response/b2", count=2)
    assert progress.body["replace_original"] is True
    assert rerun.body["replace_original"] is True
    assert "share" in _buttons(rerun.blocks)


async def test_show_evidence_opens_the_evidence_modal(slack: ServedSlackApp) -> None:
    _, buttons = await _answered(slack)
    click = block_action("show_evidence", buttons["show_evidence"], response_url=slack.fake.response_url())
    await slack.send.interaction(click)
    (opened,) = await slack.fake.wait_for("views.open")
    assert opened.body["trigger_id"] == "T-2"
    assert opened.view["callback_id"] == "iamwhy_evidence"
    texts = json.dumps(opened.view["blocks"])
    assert "aws iam simulate-principal-policy --policy-source-arn arn:aws:iam::123456789012:user/build-bot" in texts


async def test_show_full_fix_opens_the_fix_modal(slack: ServedSlackApp) -> None:
    _, buttons = await _answered(slack)
    await slack.send.interaction(block_action("show_full_fix", buttons["show_full_fix"], response_url="http://x"))
    (opened,) = await slack.fake.wait_for("views.open")
    assert opened.view["callback_id"] == "iamwhy_full_fix"
    assert '\\"Action\\": \\"s3:GetObject\\"' in json.dumps(opened.view["blocks"])


async def test_feedback_is_recorded_per_person_and_logged(
    serve_slack_app: ServeSlackApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="iamwhy.feedback")
    state = State.in_memory()
    slack = await serve_slack_app(state=state)
    _, buttons = await _answered(slack)
    ref, index = buttons["feedback_up"].split(":")
    for action, user in (("feedback_up", "UHUMAN01"), ("feedback_down", "UHUMAN02"), ("feedback_down", "UHUMAN01")):
        click = block_action(action, buttons[action], response_url=slack.fake.response_url(user), user=user)
        await slack.send.interaction(click)
        (thanks,) = await slack.fake.wait_for("response", lambda c, u=user: c.path == f"/response/{u}")
        assert thanks.body["response_type"] == "ephemeral"
    await slack.idle()
    votes = {f.user: f.vote for f in await state.feedback.for_diagnosis(ref, int(index))}
    assert votes == {"UHUMAN01": Vote.DOWN, "UHUMAN02": Vote.DOWN}
    logged = [r for r in caplog.records if r.getMessage() == "feedback"]
    assert [r.fields["vote"] for r in logged] == ["up", "down", "down"]  # type: ignore[attr-defined]
    assert logged[0].fields["decision"] == "implicit_deny"  # type: ignore[attr-defined]


async def test_a_button_of_a_forgotten_answer_says_so(slack: ServedSlackApp) -> None:
    for value in ("nosuchref:0", "garbage"):
        status, _, _ = await slack.send.interaction(
            block_action("rerun", value, response_url=slack.fake.response_url(value))
        )
        assert status == 200
        (reply,) = await slack.fake.wait_for("response", lambda c, v=value: c.path == f"/response/{v}")
        assert reply.body["response_type"] == "ephemeral"
        assert "too old" in reply.text
