"""The "Explain AccessDenied" message shortcut: any message, the asker chooses who sees the answer."""

from __future__ import annotations

import json

from tests.conftest import ServedSlackApp
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import message_shortcut, view_submission

SEED_ERROR = SEED_ERRORS["missing_grant"]


def _choice(value: str) -> dict[str, object]:
    return {"reply_choice_block": {"reply_choice": {"type": "radio_buttons", "selected_option": {"value": value}}}}


async def _open(slack: ServedSlackApp, message: dict[str, object]) -> dict[str, object]:
    payload = message_shortcut("explain_access_denied", message, response_url=slack.fake.response_url("s1"))
    status, _, _ = await slack.send.interaction(payload)
    assert status == 200
    (opened,) = await slack.fake.wait_for("views.open")
    return opened.view


async def test_the_shortcut_shows_what_it_found_and_answers_privately(slack: ServedSlackApp) -> None:
    message = {"type": "message", "user": "UOTHER01", "text": SEED_ERROR, "ts": "1690000500.000100"}
    view = await _open(slack, message)
    assert view["callback_id"] == "iamwhy_shortcut"
    assert "`s3:GetObject` denied for user build-bot" in json.dumps(view["blocks"][0], ensure_ascii=False)
    metadata = json.loads(str(view["private_metadata"]))
    assert SEED_ERROR not in view["private_metadata"]  # the text stays on iamwhy's side
    assert metadata["channel"] == "COTHER01"

    submission = view_submission("iamwhy_shortcut", _choice("only_me"), private_metadata=str(view["private_metadata"]))
    await slack.send.interaction(submission)
    (answer,) = await slack.fake.wait_for("response")
    assert answer.path == "/response/s1"
    assert answer.body["response_type"] == "ephemeral"
    assert answer.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    await slack.idle()
    assert slack.fake.calls_of("chat.postMessage") == []


async def test_the_shortcut_can_answer_in_the_thread(slack: ServedSlackApp) -> None:
    message = {"type": "message", "user": "UOTHER01", "text": SEED_ERROR, "ts": "1690000500.000200"}
    view = await _open(slack, message)
    submission = view_submission("iamwhy_shortcut", _choice("thread"), private_metadata=str(view["private_metadata"]))
    await slack.send.interaction(submission)
    (placeholder,) = await slack.fake.wait_for("chat.postMessage")
    assert (placeholder.body["channel"], placeholder.body["thread_ts"]) == ("COTHER01", "1690000500.000200")
    (update,) = await slack.fake.wait_for("chat.update")
    assert update.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"


async def test_in_a_channel_the_bot_is_not_in_the_thread_choice_falls_back_to_private(slack: ServedSlackApp) -> None:
    slack.fake.fail("chat.postMessage", "not_in_channel")
    message = {"type": "message", "user": "UOTHER01", "text": SEED_ERROR, "ts": "1690000500.000300"}
    view = await _open(slack, message)
    submission = view_submission("iamwhy_shortcut", _choice("thread"), private_metadata=str(view["private_metadata"]))
    await slack.send.interaction(submission)
    note, answer = await slack.fake.wait_for("response", count=2)
    assert "I am not a member of that channel" in note.text
    assert answer.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"


async def test_the_shortcut_reads_an_integrations_attachments(slack: ServedSlackApp) -> None:
    message = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "BALERT01",
        "text": "",
        "ts": "1690000500.000400",
        "attachments": [{"fallback": "alert", "text": SEED_ERROR}],
    }
    view = await _open(slack, message)
    assert "submit" in view
    assert "denied for user build-bot" in json.dumps(view["blocks"][0])


async def test_a_message_without_a_denial_gets_a_modal_that_says_so(slack: ServedSlackApp) -> None:
    view = await _open(slack, {"type": "message", "user": "UOTHER01", "text": "lunch?", "ts": "1690000500.000500"})
    assert "submit" not in view
    assert "No AWS access denial found in that text." in json.dumps(view["blocks"])
