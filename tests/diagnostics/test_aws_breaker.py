"""The adapter's circuit breakers on loopback: a broken role or a silent endpoint pauses that account's reads only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.reader import AssumeRoleFailed, CallOutcome, ReadsPaused, RoleKind, Unavailable
from tests.harness.world import HUB_ACCOUNT, MANAGEMENT_ACCOUNT, TARGET_ACCOUNT, AwsWorld

MakeAdapter = Callable[..., AwsAdapter]

READ_ROLE = f"arn:aws:iam::{TARGET_ACCOUNT}:role/IamWhyReadOnly"
ORG_ROLE = f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/IamWhyOrgReadOnly"
NO_ASSUME = (
    f"could not assume the read-only role {READ_ROLE} (AccessDenied): it may not exist, its trust policy may not "
    "name this bot, or it may require a different ExternalId"
)


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def _refuse_role(world: AwsWorld, role_arn: str, *, times: int | None = None) -> None:
    world.moto.fault(
        "sts",
        "AssumeRole",
        "AccessDenied",
        f"User: arn:aws:iam::{HUB_ACCOUNT}:user/iamwhy-bot is not authorized to perform: sts:AssumeRole on "
        f"resource: {role_arn}",
        match={"RoleArn": role_arn},
        times=times,
    )


async def _get_role(adapter: AwsAdapter, account: str = TARGET_ACCOUNT, name: str = "app") -> None:
    # A new scope per call, as each diagnosis has: a scope alone never retries a role it could not assume.
    await adapter.scope().call("iam", "GetRole", {"RoleName": name}, account=account)


async def test_five_failures_to_assume_the_role_pause_the_account_s_reads(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    _refuse_role(aws_world, READ_ROLE)
    adapter = make_adapter(clock=Clock())
    for _ in range(5):
        with pytest.raises(AssumeRoleFailed):
            await _get_role(adapter)

    scope = adapter.scope()
    with pytest.raises(ReadsPaused) as caught:
        await scope.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)

    assert str(caught.value) == (
        f"reads of {TARGET_ACCOUNT} are paused for 4 min after 5 failed attempts to assume IamWhyReadOnly: {NO_ASSUME}"
    )
    assert caught.value.resume_in == 240.0
    assert scope.records[-1].outcome is CallOutcome.PAUSED
    # Nothing was sent for the paused read.
    assert len(aws_world.moto.seen("sts", "AssumeRole")) == 5
    assert aws_world.moto.seen("iam", "GetRole") == []


async def test_other_accounts_are_read_while_one_is_paused(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    aws_world.create_role(MANAGEMENT_ACCOUNT, "app")
    _refuse_role(aws_world, READ_ROLE)
    adapter = make_adapter(clock=Clock(), allowed_accounts=frozenset({TARGET_ACCOUNT, MANAGEMENT_ACCOUNT}))
    for _ in range(5):
        with pytest.raises(AssumeRoleFailed):
            await _get_role(adapter)
    with pytest.raises(ReadsPaused):
        await _get_role(adapter)
    await _get_role(adapter, MANAGEMENT_ACCOUNT)
    assert len(aws_world.moto.seen("iam", "GetRole", MANAGEMENT_ACCOUNT)) == 1


async def test_after_the_cooldown_one_trial_read_resumes_the_account(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    for n in range(6):
        aws_world.create_role(TARGET_ACCOUNT, f"app{n}")
    _refuse_role(aws_world, READ_ROLE, times=5)
    clock = Clock()
    adapter = make_adapter(clock=clock)
    for _ in range(5):
        with pytest.raises(AssumeRoleFailed):
            await _get_role(adapter)
    clock.now += 239
    with pytest.raises(ReadsPaused) as caught:
        await _get_role(adapter)
    assert "are paused for 1 s after 5 failed attempts" in str(caught.value)

    clock.now += 1
    # The role works again (its trust policy was fixed): the first read after the pause is the trial; the reads
    # asked at the same moment wait for it instead of each assuming the role.
    await asyncio.gather(*(_get_role(adapter, name=f"app{n}") for n in range(6)))

    assert len(aws_world.moto.seen("sts", "AssumeRole")) == 6
    assert len(aws_world.moto.seen("iam", "GetRole")) == 6


async def test_a_failed_trial_pauses_the_account_again(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    _refuse_role(aws_world, READ_ROLE)
    clock = Clock()
    adapter = make_adapter(clock=clock)
    for _ in range(5):
        with pytest.raises(AssumeRoleFailed):
            await _get_role(adapter)
    clock.now += 300
    results = await asyncio.gather(*(_get_role(adapter) for _ in range(4)), return_exceptions=True)

    assert sorted(type(r).__name__ for r in results) == [
        "AssumeRoleFailed",
        "ReadsPaused",
        "ReadsPaused",
        "ReadsPaused",
    ]
    assert len(aws_world.moto.seen("sts", "AssumeRole")) == 6
    paused = next(r for r in results if isinstance(r, ReadsPaused))
    assert str(paused).startswith(f"reads of {TARGET_ACCOUNT} are paused for 4 min after 6 failed attempts")


async def test_an_unassumable_org_role_pauses_the_organization_reads(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_organization(MANAGEMENT_ACCOUNT)
    _refuse_role(aws_world, ORG_ROLE)
    adapter = make_adapter(clock=Clock(), org_role_arn=ORG_ROLE, breaker_threshold=2)
    for _ in range(2):
        with pytest.raises(AssumeRoleFailed):
            await adapter.scope().call("organizations", "ListRoots", role=RoleKind.ORG)
    with pytest.raises(ReadsPaused) as caught:
        await adapter.scope().call("organizations", "ListRoots", role=RoleKind.ORG)
    assert str(caught.value).startswith(
        f"reads through the organizations read role IamWhyOrgReadOnly (account {MANAGEMENT_ACCOUNT}) are paused "
        f"for 4 min after 2 failed attempts to assume IamWhyOrgReadOnly: could not assume the organizations read "
        f"role {ORG_ROLE} (AccessDenied)"
    )


async def test_an_unreachable_endpoint_pauses_the_account_after_repeated_failures(
    make_adapter: MakeAdapter, aws_world: AwsWorld, monkeypatch: pytest.MonkeyPatch, closed_endpoint: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", closed_endpoint)
    adapter = make_adapter(clock=Clock(), breaker_threshold=3)
    for _ in range(3):
        with pytest.raises(Unavailable) as unreachable:
            await _get_role(adapter)
    assert str(unreachable.value) == (
        f'could not reach the iam endpoint (Could not connect to the endpoint URL: "{closed_endpoint}/")'
    )
    with pytest.raises(ReadsPaused) as caught:
        await _get_role(adapter)
    assert str(caught.value) == (
        f"reads of {TARGET_ACCOUNT} are paused for 4 min after 3 reads in a row that got no answer: "
        f'could not reach the iam endpoint (Could not connect to the endpoint URL: "{closed_endpoint}/")'
    )
    # The bot's own reads (not through the read role) are not paused: STS still answers.
    assert (await adapter.call("sts", "GetCallerIdentity"))["Account"] == HUB_ACCOUNT


async def test_answers_that_are_refusals_do_not_count_as_failures(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.moto.deny("iam", "GetRole", account=TARGET_ACCOUNT)
    adapter = make_adapter(clock=Clock(), breaker_threshold=2)
    for _ in range(4):
        with pytest.raises(Exception, match="the read-only role lacks iam:GetRole"):
            await _get_role(adapter)
    assert len(aws_world.moto.seen("iam", "GetRole")) == 4
