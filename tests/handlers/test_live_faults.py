"""Faults seen from Slack: the reply names what could not be read and why, down to a paused account."""

from __future__ import annotations

import json
from collections.abc import Callable

from diagnostics.aws import AwsAdapter
from diagnostics.investigate import InvestigationSettings, LiveInvestigator
from tests.conftest import ServeSlackApp
from tests.handlers.live_scenarios import T, kms_key_policy, missing_grant
from tests.harness.fake_slack import message_event
from tests.harness.world import HUB_ACCOUNT, AwsWorld

READ_ROLE = f"arn:aws:iam::{T}:role/IamWhyReadOnly"


async def test_a_paused_account_is_named_in_the_thread_answer(
    serve_slack_app: ServeSlackApp, make_adapter: Callable[..., AwsAdapter], aws_world: AwsWorld
) -> None:
    adapter = make_adapter(breaker_threshold=2)
    investigator = LiveInvestigator(adapter, settings=InvestigationSettings(authorization_delay=0.0))
    slack = await serve_slack_app(investigator=investigator, env={"IAMWHY_ACCOUNTS": T})
    seeded = missing_grant(aws_world)
    aws_world.moto.fault(
        "sts",
        "AssumeRole",
        "AccessDenied",
        f"User: arn:aws:iam::{HUB_ACCOUNT}:user/iamwhy-bot is not authorized to perform: sts:AssumeRole",
        match={"RoleArn": READ_ROLE},
    )
    for n in range(3):
        await slack.send.event(message_event(seeded.text))
        await slack.fake.wait_for("chat.update", count=n + 1, timeout=30)
    third = slack.fake.calls_of("chat.update")[-1]

    texts = json.dumps(third.blocks, ensure_ascii=False)
    assert (
        f"⚠️ Answered from the message alone: reads of {T} are paused for 4 min after 2 failed attempts to assume "
        f"IamWhyReadOnly: could not assume the read-only role {READ_ROLE} (AccessDenied)"
    ) in texts
    tries = [c for c in aws_world.moto.seen("sts", "AssumeRole") if c.params.get("RoleArn") == READ_ROLE]
    assert len(tries) == 2


async def test_a_layer_the_role_may_not_read_is_named_in_the_answer(
    serve_slack_app: ServeSlackApp, make_adapter: Callable[..., AwsAdapter], aws_world: AwsWorld
) -> None:
    investigator = LiveInvestigator(make_adapter(), settings=InvestigationSettings(authorization_delay=0.0))
    slack = await serve_slack_app(investigator=investigator, env={"IAMWHY_ACCOUNTS": T})
    seeded = kms_key_policy(aws_world)
    aws_world.moto.deny("kms", "GetKeyPolicy", account=T)
    await slack.send.event(message_event(seeded.text))
    (update,) = await slack.fake.wait_for("chat.update", timeout=30)
    texts = json.dumps(update.blocks, ensure_ascii=False)
    assert "could not be read: the read-only role lacks kms:GetKeyPolicy" in texts
    assert update.blocks[0]["text"]["text"] == "🔒 kms:Decrypt denied for role build-bot-role (session ci-42)"
