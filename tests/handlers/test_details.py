"""What a channel sees: authorization ids masked and no policy statement read from the account, unless the channel
is listed in IAMWHY_DETAIL_CHANNELS; private answers and the modals (private to whoever clicks) keep everything."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.explain import explain_offline
from diagnostics.investigate import InvestigationSettings, LiveInvestigator
from diagnostics.model import Blocker, DenialKind, Layer
from diagnostics.parse import scan
from handlers.blocks import PRIVATE_DETAILS, evidence_modal, render_answer
from tests.conftest import ServeSlackApp
from tests.handlers.live_scenarios import T, explicit_deny
from tests.harness.fake_slack import block_action, message_event
from tests.harness.world import AwsWorld

AUTHORIZATION_ID = "a1b2c3d4e5f6a7b8c9d0"
STATEMENT = {
    "Sid": "DenyProdDeletes",
    "Effect": "Deny",
    "Action": "s3:DeleteObject",
    "Resource": "arn:aws:s3:::prod-*/*",
}
SECOPS = "G0SECOPS"


def _with_authorization_id(text: str) -> str:
    return (
        f"{text}. Call the GetRequestAuthorizationDetails API with the following authorization id: {AUTHORIZATION_ID}"
    )


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    actions = next(b for b in blocks if b["type"] == "actions")
    return {e["action_id"]: e["value"] for e in actions["elements"]}


# ------------------------------------------------------------------------------------------------ rendering


def _sensitive_diagnosis() -> Any:
    (request,) = scan(_with_authorization_id(missing_grant_text())).denials
    diagnosis = explain_offline(request)
    blocker = Blocker(
        Layer.IDENTITY, DenialKind.EXPLICIT, policy="Guardrail", sid="DenyProdDeletes", statement=STATEMENT
    )
    note = f"IAM Access Troubleshooter has no record for authorization id {AUTHORIZATION_ID} yet."
    return dataclasses.replace(diagnosis, blocked_by=(blocker,), notes=(note,))


def missing_grant_text() -> str:
    return (
        f"User: arn:aws:iam::{T}:user/build-bot is not authorized to perform: s3:DeleteObject on resource: "
        '"arn:aws:s3:::prod-artifacts/release.tar.gz" with an explicit deny in an identity-based policy'
    )


def test_without_details_the_id_is_masked_and_the_statement_left_out() -> None:
    diagnosis = _sensitive_diagnosis()
    public = json.dumps(render_answer(diagnosis, ref="r:0", details=False).blocks_json(), ensure_ascii=False)
    assert AUTHORIZATION_ID not in public
    assert "a1b2…(masked)" in public
    assert '\\"Effect\\": \\"Deny\\"' not in public
    # What the statement is stays: its policy and Sid.
    assert "statement `DenyProdDeletes`" in public
    assert PRIVATE_DETAILS in public


def test_with_details_everything_is_shown() -> None:
    diagnosis = _sensitive_diagnosis()
    private = json.dumps(render_answer(diagnosis, ref="r:0").blocks_json(), ensure_ascii=False)
    assert AUTHORIZATION_ID in private
    assert '\\"Effect\\": \\"Deny\\"' in private
    assert PRIVATE_DETAILS not in private
    modal = json.dumps(evidence_modal(diagnosis).to_dict(), ensure_ascii=False)
    assert AUTHORIZATION_ID in modal
    assert "get-request-authorization-details --authorization-id a1b2c3d4e5f6a7b8c9d0" in modal


def test_an_id_inside_a_longer_word_is_not_mistaken_for_it() -> None:
    from handlers.blocks import mask_authorization_id

    assert mask_authorization_id("id abc, xabc, abcx, abc.", "abc") == "id abc…(masked), xabc, abcx, abc…(masked)."


# ------------------------------------------------------------------------------------------------ end to end


@pytest.fixture
def live(make_adapter: Callable[..., AwsAdapter]) -> LiveInvestigator:
    settings = InvestigationSettings(authorization_delay=0.0, authorization_attempts=1)
    return LiveInvestigator(make_adapter(cache_ttl=0), settings=settings)


async def test_a_thread_answer_hides_the_details_and_show_evidence_has_them(
    serve_slack_app: ServeSlackApp, live: LiveInvestigator, aws_world: AwsWorld
) -> None:
    slack = await serve_slack_app(investigator=live, env={"IAMWHY_ACCOUNTS": T})
    seeded = explicit_deny(aws_world)
    await slack.send.event(message_event(_with_authorization_id(seeded.text)))
    (update,) = await slack.fake.wait_for("chat.update", timeout=30)

    public = json.dumps(update.blocks, ensure_ascii=False)
    assert "DenyProdDeletes" in public
    assert '\\"Effect\\": \\"Deny\\"' not in public
    assert AUTHORIZATION_ID not in public
    assert "a1b2…(masked)" in public
    assert PRIVATE_DETAILS in public

    click = block_action("show_evidence", _buttons(update.blocks)["show_evidence"], response_url="http://unused")
    await slack.send.interaction(click)
    (opened,) = await slack.fake.wait_for("views.open")
    modal = json.dumps(opened.view, ensure_ascii=False)
    assert '\\"Effect\\": \\"Deny\\"' in modal
    assert f"--authorization-id {AUTHORIZATION_ID}" in modal


async def test_a_detail_channel_sees_everything_in_its_threads(
    serve_slack_app: ServeSlackApp, live: LiveInvestigator, aws_world: AwsWorld
) -> None:
    slack = await serve_slack_app(investigator=live, env={"IAMWHY_ACCOUNTS": T, "IAMWHY_DETAIL_CHANNELS": SECOPS})
    seeded = explicit_deny(aws_world)
    await slack.send.event(message_event(_with_authorization_id(seeded.text), channel=SECOPS))
    (update,) = await slack.fake.wait_for("chat.update", timeout=30)
    shown = json.dumps(update.blocks, ensure_ascii=False)
    assert '\\"Effect\\": \\"Deny\\"' in shown
    assert AUTHORIZATION_ID in shown
    assert PRIVATE_DETAILS not in shown


async def test_a_private_answer_shows_everything_and_sharing_it_hides_the_details(
    serve_slack_app: ServeSlackApp, live: LiveInvestigator, aws_world: AwsWorld
) -> None:
    slack = await serve_slack_app(investigator=live, env={"IAMWHY_ACCOUNTS": T})
    seeded = explicit_deny(aws_world)
    await slack.send.command(_with_authorization_id(seeded.text), response_url=slack.fake.response_url("c1"))
    (answer,) = await slack.fake.wait_for("response", timeout=30)
    private = json.dumps(answer.blocks, ensure_ascii=False)
    assert '\\"Effect\\": \\"Deny\\"' in private
    assert AUTHORIZATION_ID in private

    click = block_action(
        "share", _buttons(answer.blocks)["share"], response_url=slack.fake.response_url("s1"), ephemeral=True
    )
    await slack.send.interaction(click)
    shared, _ = await slack.fake.wait_for("response", lambda c: c.path == "/response/s1", count=2)
    assert shared.body["response_type"] == "in_channel"
    public = json.dumps(shared.blocks, ensure_ascii=False)
    assert '\\"Effect\\": \\"Deny\\"' not in public
    assert AUTHORIZATION_ID not in public
    assert PRIVATE_DETAILS in public


async def test_an_answer_with_nothing_sensitive_is_the_same_for_a_channel(serve_slack_app: ServeSlackApp) -> None:
    # Answered from the message alone: no statement was read from any account, and no authorization id.
    slack = await serve_slack_app()
    await slack.send.event(message_event(missing_grant_text()))
    (update,) = await slack.fake.wait_for("chat.update")
    await slack.send.command(missing_grant_text(), response_url=slack.fake.response_url())
    (private,) = await slack.fake.wait_for("response")
    assert PRIVATE_DETAILS not in json.dumps(update.blocks, ensure_ascii=False)

    def content(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [b for b in blocks if b["type"] != "actions"]

    assert content(update.blocks) == content(private.blocks)
