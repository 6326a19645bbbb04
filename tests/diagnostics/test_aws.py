"""The AWS adapter against the moto server: roles, accounts, pagination, caching, sharing, budgets, concurrency."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.utils import parse_timestamp

from diagnostics.aws import AwsAdapter, _timestamp
from diagnostics.reader import (
    AccountNotAllowed,
    BudgetExceeded,
    CallOutcome,
    NotConfigured,
    NotFound,
    RoleKind,
    Unavailable,
    requests_sent,
)
from tests.harness.servers import LoopbackServer
from tests.harness.world import (
    HUB_ACCOUNT,
    MANAGEMENT_ACCOUNT,
    OUTSIDE_ACCOUNT,
    TARGET_ACCOUNT,
    AwsWorld,
    allow,
    deny,
    policy,
)

ORG_ROLE_ARN = f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/IamWhyOrgReadOnly"

MakeAdapter = Callable[..., AwsAdapter]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def assume_role_calls(world: AwsWorld) -> list[dict[str, Any]]:
    return [dict(c.params) for c in world.moto.seen("sts", "AssumeRole")]


# ------------------------------------------------------------------------------------------------- identities


async def test_no_account_means_the_bots_own_credentials(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    adapter = make_adapter()
    identity = await adapter.call("sts", "GetCallerIdentity")
    assert identity["Account"] == HUB_ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{HUB_ACCOUNT}:user/iamwhy-bot"
    assert "ResponseMetadata" not in identity
    assert assume_role_calls(aws_world) == []
    assert await adapter.own_account() == HUB_ACCOUNT


async def test_a_target_account_is_read_through_the_assumed_read_role(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "build-bot-role", inline={"artifacts": policy(allow("s3:GetObject"))})
    adapter = make_adapter(external_id="iamwhy-ext-42")

    identity = await adapter.call("sts", "GetCallerIdentity", account=TARGET_ACCOUNT)
    role = await adapter.call("iam", "GetRole", {"RoleName": "build-bot-role"}, account=TARGET_ACCOUNT)

    assert identity["Arn"] == f"arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/IamWhyReadOnly/iamwhy"
    assert role["Role"]["Arn"] == f"arn:aws:iam::{TARGET_ACCOUNT}:role/build-bot-role"
    assert assume_role_calls(aws_world) == [
        {
            "RoleArn": f"arn:aws:iam::{TARGET_ACCOUNT}:role/IamWhyReadOnly",
            "RoleSessionName": "iamwhy",
            "ExternalId": "iamwhy-ext-42",
        }
    ]
    # The read landed in the target account, signed with the assumed credentials.
    (get_role,) = aws_world.moto.seen("iam", "GetRole")
    assert get_role.account == TARGET_ACCOUNT
    assert get_role.access_key.startswith("ASIA")


async def test_the_role_arn_template_names_the_role(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    adapter = make_adapter(role_arn_template="arn:{partition}:iam::{account_id}:role/security/IamWhyAudit")
    await adapter.call("sts", "GetCallerIdentity", account=TARGET_ACCOUNT)
    assert [c["RoleArn"] for c in assume_role_calls(aws_world)] == [
        f"arn:aws:iam::{TARGET_ACCOUNT}:role/security/IamWhyAudit"
    ]


async def test_one_assume_role_serves_many_calls(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    aws_world.create_bucket(TARGET_ACCOUNT, "prod-artifacts", bucket_policy=policy(deny("s3:*", Principal="*")))
    adapter = make_adapter()

    await asyncio.gather(
        adapter.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT),
        adapter.call("iam", "ListRolePolicies", {"RoleName": "app"}, account=TARGET_ACCOUNT),
        adapter.call("iam", "ListAttachedRolePolicies", {"RoleName": "app"}, account=TARGET_ACCOUNT),
        adapter.call("s3", "GetBucketPolicy", {"Bucket": "prod-artifacts"}, account=TARGET_ACCOUNT),
        adapter.call("sts", "GetCallerIdentity", account=TARGET_ACCOUNT),
    )
    await adapter.call("iam", "ListRoleTags", {"RoleName": "app"}, account=TARGET_ACCOUNT)

    assert len(assume_role_calls(aws_world)) == 1


async def test_assumed_credentials_are_replaced_five_minutes_before_they_expire(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    clock = FakeClock()
    adapter = make_adapter(clock=clock, cache_ttl=0)
    # moto issues credentials valid for an hour (AssumeRole's default duration).
    await adapter.call("sts", "GetCallerIdentity", account=TARGET_ACCOUNT)
    clock.advance(3600 - 300 - 60)
    await adapter.call("sts", "GetCallerIdentity", account=TARGET_ACCOUNT)
    assert len(assume_role_calls(aws_world)) == 1

    clock.advance(120)
    identity = await adapter.call("sts", "GetCallerIdentity", account=TARGET_ACCOUNT)
    assert len(assume_role_calls(aws_world)) == 2
    assert identity["Account"] == TARGET_ACCOUNT


# ------------------------------------------------------------------------------------------------- which accounts


async def test_an_account_outside_the_allow_list_is_never_touched(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    adapter = make_adapter()
    await adapter.own_account()
    aws_world.server.log.clear()

    with pytest.raises(AccountNotAllowed) as caught:
        await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=OUTSIDE_ACCOUNT)

    assert len(aws_world.server.log) == 0
    assert caught.value.account == OUTSIDE_ACCOUNT
    assert str(caught.value) == (
        f"account {OUTSIDE_ACCOUNT} is not in IAMWHY_ACCOUNTS, so iamwhy does not read it; "
        "the answer rests on the error message alone"
    )


async def test_only_the_bots_identity_is_asked_to_decide_about_an_unlisted_account(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    adapter = make_adapter()
    with pytest.raises(AccountNotAllowed):
        await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=OUTSIDE_ACCOUNT)
    assert [(c.service, c.operation, c.account) for c in aws_world.moto.seen()] == [
        ("sts", "GetCallerIdentity", HUB_ACCOUNT)
    ]


async def test_the_bots_own_account_is_always_allowed(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    adapter = make_adapter(allowed_accounts=frozenset())
    identity = await adapter.call("sts", "GetCallerIdentity", account=HUB_ACCOUNT)
    assert identity["Arn"] == f"arn:aws:sts::{HUB_ACCOUNT}:assumed-role/IamWhyReadOnly/iamwhy"
    with pytest.raises(AccountNotAllowed):
        await adapter.call("sts", "GetCallerIdentity", account=TARGET_ACCOUNT)


async def test_a_malformed_account_is_a_programming_error(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    scope = adapter.scope()
    with pytest.raises(ValueError, match="12-digit"):
        await scope.call("sts", "GetCallerIdentity", account="2222")
    assert [r.outcome for r in scope.records] == [CallOutcome.ERROR]
    assert requests_sent(scope.records) == 0


# ------------------------------------------------------------------------------------------------- the org role


async def test_scps_are_read_through_the_organizations_role(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    org = aws_world.create_organization(MANAGEMENT_ACCOUNT)
    workloads = aws_world.create_ou(org, "Workloads")
    member = aws_world.create_member_account(org, "prod", parent_id=workloads)
    guardrail = policy(deny("*", Condition={"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}))
    scp_id = aws_world.create_scp(org, "DenyOutsideUSEast1", guardrail, targets=[workloads])
    adapter = make_adapter(org_role_arn=ORG_ROLE_ARN, allowed_accounts=frozenset({member}))

    parents = await adapter.call("organizations", "ListParents", {"ChildId": member}, role=RoleKind.ORG, paginate=True)
    attached = await adapter.call(
        "organizations",
        "ListPoliciesForTarget",
        {"TargetId": workloads, "Filter": "SERVICE_CONTROL_POLICY"},
        role=RoleKind.ORG,
        paginate=True,
    )
    described = await adapter.call("organizations", "DescribePolicy", {"PolicyId": scp_id}, role=RoleKind.ORG)

    assert [p["Id"] for p in parents["Parents"]] == [workloads]
    assert sorted(p["Name"] for p in attached["Policies"]) == ["DenyOutsideUSEast1", "FullAWSAccess"]
    assert json.loads(described["Policy"]["Content"]) == guardrail
    assert [c["RoleArn"] for c in assume_role_calls(aws_world)] == [ORG_ROLE_ARN]
    assert {c.account for c in aws_world.moto.seen("organizations")} == {MANAGEMENT_ACCOUNT}


async def test_without_an_org_role_scps_are_not_configured(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    adapter = make_adapter()
    scope = adapter.scope()
    with pytest.raises(NotConfigured) as caught:
        await scope.call("organizations", "ListRoots", role=RoleKind.ORG)
    assert str(caught.value) == "no organizations read role configured (IAMWHY_ORG_ROLE_ARN)"
    assert len(aws_world.server.log) == 0
    assert [r.outcome for r in scope.records] == [CallOutcome.NOT_CONFIGURED]
    assert requests_sent(scope.records) == 0


async def test_the_org_role_runs_only_in_its_own_account(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(org_role_arn=ORG_ROLE_ARN)
    with pytest.raises(ValueError, match=MANAGEMENT_ACCOUNT):
        await adapter.call("organizations", "ListRoots", account=TARGET_ACCOUNT, role=RoleKind.ORG)


# ------------------------------------------------------------------------------------------------- pagination


async def test_paginate_merges_every_page(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    managed = [aws_world.create_policy(TARGET_ACCOUNT, f"p{i}", policy(allow("s3:GetObject"))) for i in range(3)]
    aws_world.create_role(TARGET_ACCOUNT, "app", managed=managed)
    adapter = make_adapter()

    result = await adapter.call(
        "iam",
        "ListAttachedRolePolicies",
        {"RoleName": "app", "PaginationConfig": {"PageSize": 1}},
        account=TARGET_ACCOUNT,
        paginate=True,
    )

    assert sorted(p["PolicyArn"] for p in result["AttachedPolicies"]) == sorted(managed)
    # One request per page (moto announces one more, empty, page after the last).
    assert len(aws_world.moto.seen("iam", "ListAttachedRolePolicies")) >= 3
    assert "Marker" not in result
    assert "NextToken" not in result


async def test_paginate_stops_at_max_items_and_says_where(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    managed = [aws_world.create_policy(TARGET_ACCOUNT, f"p{i}", policy(allow("s3:GetObject"))) for i in range(3)]
    aws_world.create_role(TARGET_ACCOUNT, "app", managed=managed)
    adapter = make_adapter(max_items=2)
    result = await adapter.call(
        "iam", "ListAttachedRolePolicies", {"RoleName": "app"}, account=TARGET_ACCOUNT, paginate=True
    )
    assert len(result["AttachedPolicies"]) == 2
    assert "NextToken" in result


async def test_paginate_on_an_operation_without_pages_is_one_call(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    adapter = make_adapter()
    role = await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT, paginate=True)
    assert role["Role"]["RoleName"] == "app"
    assert len(aws_world.moto.seen("iam", "GetRole")) == 1


# ------------------------------------------------------------------------------------------------- cache and sharing


async def test_a_repeated_read_is_answered_from_the_cache_until_it_expires(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    clock = FakeClock()
    adapter = make_adapter(clock=clock, cache_ttl=60)
    scope = adapter.scope()

    first = await scope.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    clock.advance(59)
    second = await scope.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    assert second == first
    assert len(aws_world.moto.seen("iam", "GetRole")) == 1

    clock.advance(2)
    await scope.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    assert len(aws_world.moto.seen("iam", "GetRole")) == 2
    assert [(r.operation, r.cached) for r in scope.records] == [
        ("AssumeRole", False),
        ("GetRole", False),
        ("GetRole", True),
        ("GetRole", False),
    ]
    assert requests_sent(scope.records) == 3


async def test_a_fresh_scope_asks_aws_again_and_refreshes_the_cache(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    adapter = make_adapter(cache_ttl=60)
    await adapter.scope().call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    aws_world.client("iam", TARGET_ACCOUNT).update_role(RoleName="app", Description="changed")

    fresh = adapter.scope(fresh=True)
    seen = await fresh.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    assert seen["Role"]["Description"] == "changed"
    assert [(r.operation, r.cached) for r in fresh.records] == [("GetRole", False)]
    # Later scopes share what the fresh one read.
    later = adapter.scope()
    again = await later.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    assert again["Role"]["Description"] == "changed"
    assert [(r.operation, r.cached) for r in later.records] == [("GetRole", True)]
    assert len(aws_world.moto.seen("iam", "GetRole")) == 2


async def test_the_cache_tells_calls_apart_by_parameters_account_and_region(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    for account in (TARGET_ACCOUNT, HUB_ACCOUNT):
        aws_world.create_role(account, "app")
        aws_world.create_role(account, "web")
    adapter = make_adapter()
    await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    await adapter.call("iam", "GetRole", {"RoleName": "web"}, account=TARGET_ACCOUNT)
    await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=HUB_ACCOUNT)
    await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT, region="eu-west-1")
    await adapter.call("iam", "GetRole", {"RoleName": "app"})
    assert len(aws_world.moto.seen("iam", "GetRole")) == 5


async def test_not_found_is_cached_like_an_answer(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_bucket(TARGET_ACCOUNT, "no-policy-bucket")
    adapter = make_adapter()
    scope = adapter.scope()
    for _ in range(2):
        with pytest.raises(NotFound) as caught:
            await scope.call("s3", "GetBucketPolicy", {"Bucket": "no-policy-bucket"}, account=TARGET_ACCOUNT)
        assert caught.value.code == "NoSuchBucketPolicy"
    assert len(aws_world.moto.seen("s3", "GetBucketPolicy")) == 1
    assert [(r.outcome, r.cached) for r in scope.records[1:]] == [
        (CallOutcome.NOT_FOUND, False),
        (CallOutcome.NOT_FOUND, True),
    ]


async def test_callers_get_their_own_copy_of_an_answer(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app", tags={"team": "payments"})
    adapter = make_adapter()
    first = await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    first["Role"]["RoleName"] = "tampered"
    first["Role"]["Tags"].append({"Key": "added", "Value": "by a caller"})
    second = await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    assert second["Role"]["RoleName"] == "app"
    assert second["Role"]["Tags"] == [{"Key": "team", "Value": "payments"}]


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-29T10:48:35Z",
        "2026-11-29T10:48:35.123Z",
        "2026-11-29T10:48:35.123456+00:00",
        "2026-11-29T12:48:35+02:00",
        "2026-11-29T10:48:35.123456789Z",
        "2026-11-29T10:48:35",
        "Sun, 29 Nov 2026 10:48:35 GMT",
        1796035715,
        1796035715.25,
    ],
)
def test_timestamps_are_read_as_botocore_reads_them(text: str | float) -> None:
    ours, botocores = _timestamp(text), parse_timestamp(text)
    assert ours == botocores
    assert ours.utcoffset() == botocores.utcoffset()


async def test_an_answers_timestamps_are_aware_datetimes(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    answer = await make_adapter().call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    created = answer["Role"]["CreateDate"]
    assert isinstance(created, datetime)
    assert created.utcoffset() == timedelta(0)


async def test_identical_concurrent_calls_share_one_request(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    adapter = make_adapter()
    scope = adapter.scope(budget=2)

    results = await asyncio.gather(
        *(scope.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT) for _ in range(3))
    )

    assert [r["Role"]["RoleName"] for r in results] == ["app", "app", "app"]
    assert len(aws_world.moto.seen("iam", "GetRole")) == 1
    assert sorted(r.cached for r in scope.records if r.operation == "GetRole") == [False, True, True]
    assert scope.remaining == 1


# ------------------------------------------------------------------------------------------------- budget and records


async def test_the_budget_stops_a_diagnosis_before_it_asks(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    for name in ("a1", "a2", "a3"):
        aws_world.create_role(TARGET_ACCOUNT, name)
    adapter = make_adapter()
    scope = adapter.scope(budget=2, correlation_id="diag-7")
    await scope.call("iam", "GetRole", {"RoleName": "a1"}, account=TARGET_ACCOUNT)
    await scope.call("iam", "GetRole", {"RoleName": "a2"}, account=TARGET_ACCOUNT)
    # Answers from the cache cost nothing.
    await scope.call("iam", "GetRole", {"RoleName": "a1"}, account=TARGET_ACCOUNT)

    with pytest.raises(BudgetExceeded) as caught:
        await scope.call("iam", "GetRole", {"RoleName": "a3"}, account=TARGET_ACCOUNT)

    assert str(caught.value) == "this diagnosis has used its budget of 2 AWS reads"
    assert len(aws_world.moto.seen("iam", "GetRole")) == 2
    assert scope.records[-1].outcome is CallOutcome.BUDGET_EXCEEDED
    assert scope.remaining == 0
    # Another diagnosis has its own budget.
    await adapter.scope(budget=1).call("iam", "GetRole", {"RoleName": "a3"}, account=TARGET_ACCOUNT)


async def test_every_call_is_recorded(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    aws_world.forget_requests()
    adapter = make_adapter(region="eu-west-1")
    scope = adapter.scope(correlation_id="diag-1")
    await scope.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    with pytest.raises(NotFound):
        await scope.call("iam", "GetRole", {"RoleName": "missing"}, account=TARGET_ACCOUNT)
    await scope.call("sts", "GetCallerIdentity")

    assert [(r.service, r.operation, r.account, r.region, r.outcome, r.cached) for r in scope.records] == [
        ("sts", "AssumeRole", TARGET_ACCOUNT, "eu-west-1", CallOutcome.OK, False),
        ("iam", "GetRole", TARGET_ACCOUNT, "eu-west-1", CallOutcome.OK, False),
        ("iam", "GetRole", TARGET_ACCOUNT, "eu-west-1", CallOutcome.NOT_FOUND, False),
        ("sts", "GetCallerIdentity", None, "eu-west-1", CallOutcome.OK, False),
    ]
    assert all(r.duration_ms >= 0 for r in scope.records)
    assert scope.correlation_id == "diag-1"
    assert requests_sent(scope.records) == len(aws_world.moto.seen()) == 4


# ------------------------------------------------------------------------------------------------- threads and timeouts


class _HeldRequests:
    """A loopback endpoint that holds every request until released, counting how many it holds at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.waiting = 0
        self.most_at_once = 0
        self.server = LoopbackServer(self._app)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self.waiting += 1
            self.most_at_once = max(self.most_at_once, self.waiting)
        self.release.wait(timeout=30)
        with self._lock:
            self.waiting -= 1
        body = b"<ErrorResponse><Error><Code>NoSuchEntity</Code><Message>none</Message></Error></ErrorResponse>"
        start_response("404 Not Found", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture
def held_requests() -> Iterator[_HeldRequests]:
    held = _HeldRequests()
    held.server.start()
    yield held
    held.release.set()
    held.server.stop()


async def test_calls_run_on_a_bounded_pool_of_threads(
    make_adapter: MakeAdapter, held_requests: _HeldRequests, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", held_requests.server.endpoint)
    adapter = make_adapter(max_concurrency=2)
    calls = [asyncio.ensure_future(adapter.call("iam", "GetRole", {"RoleName": f"role-{i}"})) for i in range(6)]
    while held_requests.waiting < 2:
        await asyncio.sleep(0.01)
    # Give a third request every chance to arrive if the pool were not bounded.
    await asyncio.sleep(0.2)
    held_requests.release.set()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    assert held_requests.most_at_once == 2
    assert all(isinstance(o, NotFound) for o in outcomes)
    assert len(held_requests.server.log) == 6


async def test_a_read_that_times_out_is_unavailable(
    make_adapter: MakeAdapter, held_requests: _HeldRequests, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", held_requests.server.endpoint)
    adapter = make_adapter(read_timeout=0.2)
    with pytest.raises(Unavailable) as caught:
        await adapter.call("iam", "GetRole", {"RoleName": "slow"})
    assert "timed out" in str(caught.value)


async def test_a_closed_adapter_refuses_calls(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    await adapter.own_account()
    adapter.close()
    adapter.close()
    with pytest.raises(RuntimeError, match="closed"):
        await adapter.call("sts", "GetCallerIdentity")
