"""Faults on loopback, end to end through the live investigation: each gives a partial but honest answer.

Throttling, timeouts, an unreachable endpoint, expired credentials, the bot's role denied some reads, an org
role that cannot be assumed, and a paused account: the answer still goes out, and it names what could not be
read and why (never "allowed" when the truth is "could not tell").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.investigate import InvestigationSettings, LiveInvestigator
from diagnostics.model import Confidence, Decision, Diagnosis, Layer, Unreadable
from tests.handlers.live_scenarios import ORG_ROLE, T, kms_key_policy, missing_grant, scp
from tests.harness.servers import SilentServer
from tests.harness.world import HUB_ACCOUNT, AwsWorld

MakeAdapter = Callable[..., AwsAdapter]
READ_ROLE = f"arn:aws:iam::{T}:role/IamWhyReadOnly"


async def _diagnose(make_adapter: MakeAdapter, text: str, **config: Any) -> Diagnosis:
    adapter = make_adapter(**config)
    investigator = LiveInvestigator(adapter, settings=InvestigationSettings(authorization_delay=0.0))
    (diagnosis,) = (await investigator.investigate(text)).diagnoses
    return diagnosis


def _unreadable(diagnosis: Diagnosis) -> dict[Layer, str]:
    return {u.layer: u.why for u in diagnosis.unreadable}


def _key_id(text: str) -> str:
    return text.split(":key/", 1)[1].split()[0].strip('"')


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    server = SilentServer().start()
    yield server.endpoint
    server.stop()


# ------------------------------------------------------------------------------------------------ throttling


async def test_a_read_aws_keeps_throttling_leaves_its_layer_unreadable(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    seeded = missing_grant(aws_world)
    aws_world.moto.throttle("iam", "ListAttachedUserPolicies", account=T)

    diagnosis = await _diagnose(make_adapter, seeded.text)

    assert _unreadable(diagnosis) == {
        Layer.IDENTITY: "AWS kept throttling iam ListAttachedUserPolicies (Throttling) after 1 attempt"
    }
    assert diagnosis.confidence is not Confidence.EVALUATED
    assert diagnosis.decision is not Decision.ALLOWED


async def test_passing_throttling_is_retried_and_the_answer_is_complete(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    seeded = missing_grant(aws_world)
    aws_world.moto.throttle("iam", "ListAttachedUserPolicies", account=T, times=1)

    diagnosis = await _diagnose(make_adapter, seeded.text, max_attempts=3)

    assert diagnosis.unreadable == ()
    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert len(aws_world.moto.seen("iam", "ListAttachedUserPolicies", T)) == 2


# ------------------------------------------------------------------------------------------------ no answer


async def test_a_service_that_never_answers_times_out_and_only_its_layer_is_missing(
    make_adapter: MakeAdapter, aws_world: AwsWorld, monkeypatch: pytest.MonkeyPatch, silent_endpoint: str
) -> None:
    seeded = kms_key_policy(aws_world)
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", silent_endpoint)

    diagnosis = await _diagnose(make_adapter, seeded.text, read_timeout=0.3, connect_timeout=0.3)

    # The key is described before its policy is read: that first read is the one that times out.
    assert _unreadable(diagnosis) == {
        Layer.RESOURCE: (
            f"the key policy of key {_key_id(seeded.text)} could not be read: kms DescribeKey timed out "
            f'(Read timeout on endpoint URL: "{silent_endpoint}/")'
        )
    }
    assert diagnosis.decision is not Decision.ALLOWED
    assert diagnosis.confidence is not Confidence.EVALUATED


async def test_an_unreachable_service_leaves_only_its_layer_missing(
    make_adapter: MakeAdapter, aws_world: AwsWorld, monkeypatch: pytest.MonkeyPatch, closed_endpoint: str
) -> None:
    seeded = kms_key_policy(aws_world)
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", closed_endpoint)

    diagnosis = await _diagnose(make_adapter, seeded.text)

    assert _unreadable(diagnosis) == {
        Layer.RESOURCE: (
            f"the key policy of key {_key_id(seeded.text)} could not be read: could not reach the kms endpoint "
            f'(Could not connect to the endpoint URL: "{closed_endpoint}/")'
        )
    }
    assert {v.layer: v.summary for v in diagnosis.layers}[Layer.IDENTITY] == (
        "allowed by ArtifactsRead (Sid DecryptArtifacts)"
    )


async def test_when_aws_cannot_be_reached_at_all_the_answer_comes_from_the_message(
    make_adapter: MakeAdapter, aws_world: AwsWorld, monkeypatch: pytest.MonkeyPatch, closed_endpoint: str
) -> None:
    seeded = missing_grant(aws_world)
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_endpoint)

    diagnosis = await _diagnose(make_adapter, seeded.text)

    assert diagnosis.confidence is Confidence.REPORTED
    assert diagnosis.warnings[-1] == (
        "Answered from the message alone: could not reach the sts endpoint "
        f'(Could not connect to the endpoint URL: "{closed_endpoint}/")'
        "."
    )


# ------------------------------------------------------------------------------------------------ credentials


async def test_expired_bot_credentials_answer_from_the_message_and_say_so(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    seeded = missing_grant(aws_world)
    aws_world.forget_requests()
    aws_world.moto.fault(
        "sts", "AssumeRole", "ExpiredToken", "The security token included in the request is expired", status=403
    )

    diagnosis = await _diagnose(make_adapter, seeded.text)

    assert diagnosis.confidence is Confidence.REPORTED
    assert diagnosis.warnings[-1] == (
        "Answered from the message alone: iamwhy could not use its AWS credentials: AWS rejected the bot's own "
        "credentials (ExpiredToken)."
    )
    assert diagnosis.unreadable == ()
    assert aws_world.moto.seen("iam") == []


async def test_a_read_role_that_cannot_be_assumed_answers_from_the_message(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    seeded = missing_grant(aws_world)
    _refuse(aws_world, READ_ROLE)

    diagnosis = await _diagnose(make_adapter, seeded.text)

    assert diagnosis.confidence is Confidence.REPORTED
    assert diagnosis.warnings[-1] == (
        f"Answered from the message alone: could not assume the read-only role {READ_ROLE} (AccessDenied): it may "
        "not exist, its trust policy may not name this bot, or it may require a different ExternalId."
    )


# ------------------------------------------------------------------------------------------------ denied reads


async def test_reads_the_bot_s_role_is_denied_are_named_and_the_rest_is_evaluated(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    seeded = kms_key_policy(aws_world)
    aws_world.moto.deny("kms", "GetKeyPolicy", account=T)

    diagnosis = await _diagnose(make_adapter, seeded.text)

    assert _unreadable(diagnosis) == {
        Layer.RESOURCE: (
            f"the key policy of key {_key_id(seeded.text)} could not be read: the read-only role lacks kms:GetKeyPolicy"
        )
    }
    layers = {v.layer: v.summary for v in diagnosis.layers}
    assert layers[Layer.IDENTITY] == "allowed by ArtifactsRead (Sid DecryptArtifacts)"
    assert diagnosis.decision is not Decision.ALLOWED


async def test_an_org_role_that_cannot_be_assumed_leaves_scps_unreadable(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    seeded = scp(aws_world)
    _refuse(aws_world, ORG_ROLE)

    diagnosis = await _diagnose(make_adapter, seeded.text, **seeded.config)

    reason = (
        f"could not assume the organizations read role {ORG_ROLE} (AccessDenied): it may not exist, its trust "
        "policy may not name this bot, or it may require a different ExternalId"
    )
    assert set(diagnosis.unreadable) == {Unreadable(Layer.SCP, reason), Unreadable(Layer.RCP, reason)}
    # Every layer that could be read allows the request: the answer points at the SCPs it could not see.
    assert {v.layer: v.summary for v in diagnosis.layers}[Layer.IDENTITY] == "allowed by Admin (Sid Admin)"
    assert f"the SCPs ({reason})" in diagnosis.explanation
    assert diagnosis.decision is not Decision.ALLOWED
    assert diagnosis.confidence is not Confidence.EVALUATED


# ------------------------------------------------------------------------------------------------ paused reads


async def test_a_paused_account_is_answered_from_the_message_with_the_pause_named(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    seeded = missing_grant(aws_world)
    _refuse(aws_world, READ_ROLE)
    adapter = make_adapter(breaker_threshold=2)
    investigator = LiveInvestigator(adapter, settings=InvestigationSettings(authorization_delay=0.0))
    for _ in range(2):
        await investigator.investigate(seeded.text)
    sent = len(aws_world.moto.seen("sts", "AssumeRole"))

    (diagnosis,) = (await investigator.investigate(seeded.text)).diagnoses

    assert diagnosis.confidence is Confidence.REPORTED
    assert diagnosis.warnings[-1] == (
        f"Answered from the message alone: reads of {T} are paused for 4 min after 2 failed attempts to assume "
        f"IamWhyReadOnly: could not assume the read-only role {READ_ROLE} (AccessDenied): it may not exist, its "
        "trust policy may not name this bot, or it may require a different ExternalId."
    )
    assert len(aws_world.moto.seen("sts", "AssumeRole")) == sent


def _refuse(world: AwsWorld, role_arn: str) -> None:
    world.moto.fault(
        "sts",
        "AssumeRole",
        "AccessDenied",
        f"User: arn:aws:iam::{HUB_ACCOUNT}:user/iamwhy-bot is not authorized to perform: sts:AssumeRole on "
        f"resource: {role_arn}",
        match={"RoleArn": role_arn},
    )
