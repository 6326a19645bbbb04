"""`/iamwhy`: an ephemeral answer with Share, the input modal and its submission, and help."""

from __future__ import annotations

import json

from diagnostics.state import State
from tests.conftest import ServedSlackApp, ServeSlackApp
from tests.handlers.investigators import CountingInvestigator
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import block_action, view_submission

SEED_ERROR = SEED_ERRORS["missing_grant"]

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _buttons(blocks: list[dict[str, object]]) -> dict[str, str]:
    actions = next(b for b in blocks if b["type"] == "actions")
    return {e["action_id"]: e["value"] for e in actions["elements"]}  # type: ignore[index]


async def test_a_command_acks_at_once_then_answers_privately_with_share(slack: ServedSlackApp) -> None:
    status, body, headers = await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url("c1"))
    assert status == 200
    assert body == "Investigating…"
    assert headers["Content-Type"].startswith("text/plain")
    (answer,) = await slack.fake.wait_for("response")
    assert answer.path == "/response/c1"
    assert answer.body["response_type"] == "ephemeral"
    assert answer.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    assert set(_buttons(answer.blocks)) == {
        "show_full_fix",
        "show_evidence",
        "rerun",
        "share",
        "feedback_up",
        "feedback_down",
    }


async def test_share_posts_the_answer_in_the_channel_and_removes_the_private_copy(slack: ServedSlackApp) -> None:
    await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url("c1"))
    (answer,) = await slack.fake.wait_for("response")
    value = _buttons(answer.blocks)["share"]
    click = block_action("share", value, response_url=slack.fake.response_url("share"), ephemeral=True)
    status, _, _ = await slack.send.interaction(click)
    assert status == 200
    shared, removed = await slack.fake.wait_for("response", lambda c: c.path == "/response/share", count=2)
    assert shared.body["response_type"] == "in_channel"
    assert shared.blocks[0] == answer.blocks[0]
    assert "share" not in _buttons(shared.blocks)
    assert shared.blocks[-1]["elements"][0]["text"] == "Shared by <@UHUMAN01>"
    assert removed.body.get("delete_original") is True


async def test_the_command_alone_opens_the_input_modal_and_its_submission_answers(slack: ServedSlackApp) -> None:
    status, body, _ = await slack.send.command("", response_url=slack.fake.response_url(), channel="CWATCH01")
    assert (status, body) == (200, "")
    (opened,) = await slack.fake.wait_for("views.open")
    assert opened.body["trigger_id"] == "T-1"
    view = opened.view
    assert view["callback_id"] == "iamwhy_input"
    assert view["private_metadata"] == "CWATCH01"
    element = view["blocks"][0]["element"]
    assert (element["type"], element["multiline"], element["action_id"]) == ("plain_text_input", True, "error_text")

    values = {"error_text_block": {"error_text": {"type": "plain_text_input", "value": SEED_ERROR}}}
    status, body, _ = await slack.send.interaction(view_submission("iamwhy_input", values, private_metadata="CWATCH01"))
    assert (status, body) == (200, "")
    (answer,) = await slack.fake.wait_for("chat.postEphemeral")
    assert answer.body["channel"] == "CWATCH01"
    assert answer.body["user"] == "UHUMAN01"
    assert answer.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"


async def test_an_empty_submission_is_refused_in_the_modal(slack: ServedSlackApp) -> None:
    values = {"error_text_block": {"error_text": {"type": "plain_text_input", "value": "   "}}}
    status, body, _ = await slack.send.interaction(view_submission("iamwhy_input", values, private_metadata="C1"))
    assert status == 200
    assert json.loads(body) == {
        "response_action": "errors",
        "errors": {"error_text_block": "Paste the AWS error here."},
    }


async def test_a_submission_from_a_channel_the_bot_is_not_in_is_answered_in_direct_messages(
    slack: ServedSlackApp,
) -> None:
    slack.fake.fail("chat.postEphemeral", "not_in_channel")
    values = {"error_text_block": {"error_text": {"type": "plain_text_input", "value": SEED_ERROR}}}
    await slack.send.interaction(view_submission("iamwhy_input", values, private_metadata="CPRIVATE1"))
    (answer,) = await slack.fake.wait_for("chat.postMessage")
    assert answer.body["channel"] == "UHUMAN01"
    assert answer.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"


async def test_help_names_what_the_bot_can_read(serve_slack_app: ServeSlackApp) -> None:
    env = {"IAMWHY_ACCOUNTS": "222222222222 333333333333"}
    slack = await serve_slack_app(env=env, reads_aws=True)
    status, body, _ = await slack.send.command("help", response_url=slack.fake.response_url())
    assert status == 200
    reply = json.loads(body)
    text = reply["blocks"][0]["text"]["text"]
    assert reply["response_type"] == "ephemeral"
    assert "Accounts I may read: my own and `222222222222`, `333333333333`." in text
    assert "SCPs and RCPs: *not readable* (no organizations read role is configured)" in text
    assert "alerts posted by other bots in <#CALERT01>" in text

    org = {**env, "IAMWHY_ORG_ROLE_ARN": "arn:aws:iam::333333333333:role/IamWhyOrgRead"}
    slack = await serve_slack_app(env=org, reads_aws=True)
    _, body, _ = await slack.send.command("help", response_url=slack.fake.response_url())
    assert "SCPs and RCPs: readable" in json.loads(body)["blocks"][0]["text"]["text"]


async def test_help_of_an_offline_installation_says_nothing_is_read(slack: ServedSlackApp) -> None:
    _, body, _ = await slack.send.command("help", response_url=slack.fake.response_url())
    assert "nothing is read from AWS in this installation" in json.loads(body)["blocks"][0]["text"]["text"]


async def test_text_without_a_denial_is_told_so_and_look_alikes_explained(slack: ServedSlackApp) -> None:
    text = "An error occurred (ExpiredToken) when calling the GetObject operation: The provided token has expired."
    await slack.send.command(text, response_url=slack.fake.response_url())
    (answer,) = await slack.fake.wait_for("response")
    assert answer.text == "No AWS access denial found in that text."
    assert "`ExpiredToken`" in answer.blocks[0]["text"]["text"]


async def test_pasted_credentials_are_warned_about_and_never_echoed(serve_slack_app: ServeSlackApp) -> None:
    investigator = CountingInvestigator()
    state = State.in_memory()
    slack = await serve_slack_app(investigator=investigator, state=state)
    text = f"{SEED_ERROR}\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}"
    await slack.send.command(text, response_url=slack.fake.response_url())
    warning, answer = await slack.fake.wait_for("response", count=2)
    assert warning.text == "Your message contains AWS credentials: delete it and rotate them."
    assert answer.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    everything = json.dumps([c.body for c in slack.fake.calls])
    assert ACCESS_KEY not in everything
    assert SECRET_KEY not in everything
    assert ACCESS_KEY not in investigator.texts[0]
    stored = await state.investigations.load(_buttons(answer.blocks)["rerun"].split(":")[0])
    assert stored is not None
    assert ACCESS_KEY not in stored.text
    assert "[redacted access key id]" in stored.text
