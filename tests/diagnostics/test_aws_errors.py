"""Every AWS failure becomes a domain error with a readable reason; botocore's exceptions never escape the adapter."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from moto.iam.responses import IamResponse

from diagnostics.aws import AwsAdapter
from diagnostics.reader import (
    AssumeRoleFailed,
    CallOutcome,
    CredentialsError,
    NotFound,
    ReadDenied,
    ReadError,
    RequestRejected,
    RoleKind,
    Throttled,
    Unavailable,
    read_operation,
    requests_sent,
)
from tests.harness.servers import RecordingServer
from tests.harness.world import MANAGEMENT_ACCOUNT, TARGET_ACCOUNT, AwsWorld, policy

MakeAdapter = Callable[..., AwsAdapter]
Seed = Callable[[AwsWorld], dict[str, Any]]


def _bucket(world: AwsWorld) -> dict[str, Any]:
    world.create_bucket(
        TARGET_ACCOUNT,
        "prod-artifacts",
        bucket_policy=policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
    )
    return {"Bucket": "prod-artifacts"}


def _key(world: AwsWorld) -> dict[str, Any]:
    return {"KeyId": world.create_kms_key(TARGET_ACCOUNT), "PolicyName": "default"}


def _queue(world: AwsWorld) -> dict[str, Any]:
    url, _ = world.create_queue(TARGET_ACCOUNT, "jobs")
    return {"QueueUrl": url, "AttributeNames": ["Policy"]}


# (service, operation, seed): one read per service of the allow-list, against a resource that exists.
READS: list[tuple[str, str, Seed]] = [
    ("iam", "GetRole", lambda w: {"RoleName": w.create_role(TARGET_ACCOUNT, "app").rpartition("/")[2]}),
    ("s3", "GetBucketPolicy", _bucket),
    ("s3", "GetBucketAcl", _bucket),
    ("s3control", "GetPublicAccessBlock", lambda w: {"AccountId": TARGET_ACCOUNT}),
    ("kms", "GetKeyPolicy", _key),
    ("sqs", "GetQueueAttributes", _queue),
    ("sns", "GetTopicAttributes", lambda w: {"TopicArn": w.create_topic(TARGET_ACCOUNT, "alerts")}),
    ("secretsmanager", "GetResourcePolicy", lambda w: {"SecretId": w.create_secret(TARGET_ACCOUNT, "prod/db")}),
    ("lambda", "GetPolicy", lambda w: {"FunctionName": w.create_lambda_function(TARGET_ACCOUNT, "deploy")}),
    (
        "ecr",
        "GetRepositoryPolicy",
        lambda w: {"repositoryName": w.create_ecr_repository(TARGET_ACCOUNT, "app-images").rpartition("/")[2]},
    ),
    ("ec2", "DescribeVpcEndpoints", lambda w: {}),
    ("cloudtrail", "LookupEvents", lambda w: {}),
    ("sts", "DecodeAuthorizationMessage", lambda w: {"EncodedMessage": "e30="}),
]


@pytest.mark.parametrize(("service", "operation", "seed"), READS, ids=[f"{s}.{o}" for s, o, _ in READS])
async def test_a_denied_read_names_the_permission_the_role_lacks(
    make_adapter: MakeAdapter, aws_world: AwsWorld, service: str, operation: str, seed: Seed
) -> None:
    params = seed(aws_world)
    aws_world.moto.deny(service, operation, account=TARGET_ACCOUNT)
    adapter = make_adapter()
    scope = adapter.scope()

    with pytest.raises(ReadDenied) as caught:
        await scope.call(service, operation, params, account=TARGET_ACCOUNT)

    spec = read_operation(service, operation)
    assert spec is not None
    assert str(caught.value) == f"the read-only role lacks {spec.iam_action}"
    assert caught.value.permission == spec.iam_action
    assert (caught.value.service, caught.value.operation, caught.value.account) == (service, operation, TARGET_ACCOUNT)
    assert caught.value.aws_message is not None
    assert "assumed-role/IamWhyReadOnly/iamwhy" in caught.value.aws_message
    assert scope.records[-1].outcome is CallOutcome.DENIED


@pytest.mark.parametrize(("service", "operation", "seed"), READS, ids=[f"{s}.{o}" for s, o, _ in READS])
async def test_the_same_reads_succeed_without_the_fault(
    make_adapter: MakeAdapter, aws_world: AwsWorld, service: str, operation: str, seed: Seed
) -> None:
    params = seed(aws_world)
    aws_world.forget_requests()
    adapter = make_adapter()
    # A missing policy is an answer too (no function policy, no public access block...).
    with contextlib.suppress(NotFound):
        await adapter.call(service, operation, params, account=TARGET_ACCOUNT)
    assert len(aws_world.moto.seen(service, operation, TARGET_ACCOUNT)) == 1


async def test_a_denied_org_read_names_the_org_role(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    org = aws_world.create_organization(MANAGEMENT_ACCOUNT)
    aws_world.moto.deny("organizations", "ListPoliciesForTarget", account=MANAGEMENT_ACCOUNT)
    adapter = make_adapter(org_role_arn=f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/IamWhyOrgReadOnly")
    with pytest.raises(ReadDenied) as caught:
        await adapter.call(
            "organizations",
            "ListPoliciesForTarget",
            {"TargetId": org.root_id, "Filter": "SERVICE_CONTROL_POLICY"},
            role=RoleKind.ORG,
        )
    assert str(caught.value) == "the organizations read role lacks organizations:ListPoliciesForTarget"
    assert caught.value.account == MANAGEMENT_ACCOUNT


async def test_a_denied_read_with_the_bots_own_credentials_says_so(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.moto.deny("sts", "DecodeAuthorizationMessage")
    adapter = make_adapter()
    with pytest.raises(ReadDenied) as caught:
        await adapter.call("sts", "DecodeAuthorizationMessage", {"EncodedMessage": "e30="})
    assert str(caught.value) == "the bot's own credentials lack sts:DecodeAuthorizationMessage"


@pytest.mark.parametrize(
    ("service", "operation", "params", "code"),
    [
        ("s3", "GetBucketPolicy", {"Bucket": "no-such-bucket"}, "NoSuchBucket"),
        ("iam", "GetRole", {"RoleName": "ghost"}, "NoSuchEntity"),
        ("iam", "GetRolePolicy", {"RoleName": "ghost", "PolicyName": "p"}, "NoSuchEntity"),
        ("lambda", "GetPolicy", {"FunctionName": "ghost"}, "ResourceNotFoundException"),
        ("secretsmanager", "GetResourcePolicy", {"SecretId": "ghost"}, "ResourceNotFoundException"),
        ("kms", "DescribeKey", {"KeyId": "11111111-2222-3333-4444-555555555555"}, "NotFoundException"),
        ("ecr", "GetRepositoryPolicy", {"repositoryName": "ghost"}, "RepositoryNotFoundException"),
    ],
)
async def test_missing_things_are_not_found(
    make_adapter: MakeAdapter, service: str, operation: str, params: dict[str, Any], code: str
) -> None:
    adapter = make_adapter()
    with pytest.raises(NotFound) as caught:
        await adapter.call(service, operation, params, account=TARGET_ACCOUNT)
    assert caught.value.code == code
    assert str(caught.value).startswith(f"{service} {operation}: not found ({code}: ")


async def test_existing_resources_without_a_policy_are_not_found(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_bucket(TARGET_ACCOUNT, "plain-bucket")
    aws_world.create_ecr_repository(TARGET_ACCOUNT, "plain-repo")
    aws_world.create_lambda_function(TARGET_ACCOUNT, "plain-fn")
    adapter = make_adapter()
    codes = []
    for service, operation, params in [
        ("s3", "GetBucketPolicy", {"Bucket": "plain-bucket"}),
        ("ecr", "GetRepositoryPolicy", {"repositoryName": "plain-repo"}),
        ("lambda", "GetPolicy", {"FunctionName": "plain-fn"}),
    ]:
        with pytest.raises(NotFound) as caught:
            await adapter.call(service, operation, params, account=TARGET_ACCOUNT)
        codes.append(caught.value.code)
    assert codes == ["NoSuchBucketPolicy", "RepositoryPolicyNotFoundException", "ResourceNotFoundException"]


async def test_calls_that_share_a_failed_assume_role_are_not_counted_as_sent(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.moto.fault("sts", "AssumeRole", "AccessDenied", "not authorized to perform: sts:AssumeRole")
    adapter = make_adapter()
    scope = adapter.scope()
    reads = [("iam", "GetRole", {"RoleName": f"app-{n}"}) for n in range(6)]

    outcomes = await asyncio.gather(
        *(scope.call(service, operation, params, account=TARGET_ACCOUNT) for service, operation, params in reads),
        return_exceptions=True,
    )

    assert all(isinstance(o, AssumeRoleFailed) for o in outcomes)
    # Only AssumeRole went out (a call asked after an attempt had failed tries once more); no GetRole did.
    wire = aws_world.moto.seen()
    assert {(c.service, c.operation) for c in wire} == {("sts", "AssumeRole")}
    assert requests_sent(scope.records) == len(wire)
    assert {r.operation for r in scope.records if r.sent} == {"AssumeRole"}
    assert len([r for r in scope.records if r.operation == "GetRole" and not r.sent]) == len(reads)


async def test_a_role_that_cannot_be_assumed_is_named_and_not_retried_within_a_diagnosis(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    role_arn = f"arn:aws:iam::{TARGET_ACCOUNT}:role/IamWhyReadOnly"
    aws_world.moto.fault(
        "sts",
        "AssumeRole",
        "AccessDenied",
        f"User: arn:aws:iam::111111111111:user/iamwhy-bot is not authorized to perform: sts:AssumeRole "
        f"on resource: {role_arn}",
        match={"RoleArn": role_arn},
    )
    adapter = make_adapter()
    scope = adapter.scope()

    with pytest.raises(AssumeRoleFailed) as caught:
        await scope.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    with pytest.raises(AssumeRoleFailed) as again:
        await scope.call("s3", "GetBucketPolicy", {"Bucket": "prod-artifacts"}, account=TARGET_ACCOUNT)

    assert caught.value.role_arn == role_arn
    assert str(caught.value) == (
        f"could not assume the read-only role {role_arn} (AccessDenied): it may not exist, its trust policy may "
        "not name this bot, or it may require a different ExternalId"
    )
    assert (again.value.service, again.value.operation) == ("s3", "GetBucketPolicy")
    assert len(aws_world.moto.seen("sts", "AssumeRole")) == 1
    assert [(r.operation, r.outcome, r.cached, r.sent) for r in scope.records] == [
        ("AssumeRole", CallOutcome.ASSUME_ROLE_FAILED, False, True),
        ("GetRole", CallOutcome.ASSUME_ROLE_FAILED, False, False),
        ("GetBucketPolicy", CallOutcome.ASSUME_ROLE_FAILED, True, False),
    ]
    # Only the AssumeRole went over the wire.
    assert requests_sent(scope.records) == 1

    # The next diagnosis tries again (the trust policy may have been fixed meanwhile).
    aws_world.moto.faults.clear()
    await adapter.scope().call("sts", "GetCallerIdentity", account=TARGET_ACCOUNT)
    assert len(aws_world.moto.seen("sts", "AssumeRole")) == 2


async def test_concurrent_calls_share_one_failed_assume_role(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.moto.fault("sts", "AssumeRole", "AccessDenied", "not authorized to perform: sts:AssumeRole")
    adapter = make_adapter()
    outcomes = await asyncio.gather(
        *(adapter.call("iam", "GetRole", {"RoleName": name}, account=TARGET_ACCOUNT) for name in ("r1", "r2", "r3")),
        return_exceptions=True,
    )
    assert all(isinstance(o, AssumeRoleFailed) for o in outcomes)
    assert len(aws_world.moto.seen("sts", "AssumeRole")) == 1


async def test_throttling_that_persists_is_throttled(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    aws_world.moto.throttle("iam", "GetRole", account=TARGET_ACCOUNT)
    adapter = make_adapter(max_attempts=2)
    with pytest.raises(Throttled) as caught:
        await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    assert str(caught.value) == "AWS kept throttling iam GetRole (Throttling) after 2 attempts"
    assert len(aws_world.moto.seen("iam", "GetRole")) == 2


async def test_throttling_that_passes_is_retried_away(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    aws_world.moto.throttle("iam", "GetRole", account=TARGET_ACCOUNT, times=1)
    adapter = make_adapter(max_attempts=2)
    role = await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    assert role["Role"]["RoleName"] == "app"
    assert len(aws_world.moto.seen("iam", "GetRole")) == 2


async def test_a_server_error_is_unavailable(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.moto.server_error("kms", "GetKeyPolicy", account=TARGET_ACCOUNT)
    adapter = make_adapter()
    with pytest.raises(Unavailable) as caught:
        await adapter.call("kms", "GetKeyPolicy", {"KeyId": "k", "PolicyName": "default"}, account=TARGET_ACCOUNT)
    assert str(caught.value) == "AWS kms failed to answer GetKeyPolicy (HTTP 500 InternalFailure)"
    assert caught.value.outcome is CallOutcome.UNAVAILABLE


async def test_an_operation_the_endpoint_lacks_is_unavailable(
    make_adapter: MakeAdapter, aws_world: AwsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Plain moto answers SimulatePrincipalPolicy with an HTML 500 page, which botocore cannot parse.
    monkeypatch.delattr(IamResponse, "simulate_principal_policy")
    adapter = make_adapter()
    with pytest.raises(Unavailable) as caught:
        await adapter.call(
            "iam",
            "SimulatePrincipalPolicy",
            {"PolicySourceArn": f"arn:aws:iam::{TARGET_ACCOUNT}:role/app", "ActionNames": ["s3:GetObject"]},
            account=TARGET_ACCOUNT,
        )
    assert "may not be implemented there" in str(caught.value)


async def test_an_unreachable_endpoint_is_unavailable(
    make_adapter: MakeAdapter, recording_server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording_server_endpoint = recording_server.endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", recording_server_endpoint)
    adapter = make_adapter()
    with pytest.raises(Unavailable) as refused:
        await adapter.call("kms", "DescribeKey", {"KeyId": "k"})
    with pytest.raises(Unavailable) as unreadable:
        await adapter.call("sns", "GetTopicAttributes", {"TopicArn": "arn:aws:sns:us-east-1:111111111111:t"})
    assert str(refused.value).startswith("could not reach the kms endpoint")
    assert "unreadable answer" in str(unreadable.value)


async def test_rejected_role_credentials_are_dropped_and_the_call_retried_with_fresh_ones(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    aws_world.moto.fault(
        "iam", "GetRole", "ExpiredToken", "The security token included in the request is expired", status=400, times=1
    )
    adapter = make_adapter()
    role = await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    assert role["Role"]["RoleName"] == "app"
    assert len(aws_world.moto.seen("sts", "AssumeRole")) == 2
    first, second = aws_world.moto.seen("iam", "GetRole")
    assert first.access_key != second.access_key


async def test_role_credentials_refused_twice_are_a_credentials_error(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    aws_world.moto.fault(
        "iam", "GetRole", "ExpiredToken", "The security token included in the request is expired", status=400, times=2
    )
    adapter = make_adapter()
    with pytest.raises(CredentialsError) as caught:
        await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    assert str(caught.value) == "AWS rejected the read-only role's credentials (ExpiredToken)"
    assert len(aws_world.moto.seen("sts", "AssumeRole")) == 2

    role = await adapter.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    assert role["Role"]["RoleName"] == "app"
    assert len(aws_world.moto.seen("sts", "AssumeRole")) == 3


async def test_missing_bot_credentials_are_a_credentials_error(
    make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    adapter = make_adapter()
    with pytest.raises(CredentialsError) as caught:
        await adapter.call("sts", "GetCallerIdentity")
    assert str(caught.value).startswith("no usable AWS credentials for the bot")


async def test_invalid_parameters_are_rejected_before_sending(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    adapter = make_adapter()
    with pytest.raises(RequestRejected) as caught:
        await adapter.call("iam", "GetRole", {})
    assert "RoleName" in str(caught.value)
    assert len(aws_world.server.log) == 0


@pytest.mark.parametrize(
    ("code", "status"), [("ValidationError", 400), ("InvalidParameterValue", 400), ("Conflict", 409)]
)
async def test_other_client_errors_are_rejected_requests(
    make_adapter: MakeAdapter, aws_world: AwsWorld, code: str, status: int
) -> None:
    aws_world.moto.fault("iam", "GetRole", code, "1 validation error detected", status=status)
    adapter = make_adapter()
    with pytest.raises(RequestRejected) as caught:
        await adapter.call("iam", "GetRole", {"RoleName": "app"})
    assert caught.value.code == code
    assert str(caught.value) == f"AWS rejected iam GetRole as invalid ({code}: 1 validation error detected)"


async def test_a_denial_answered_as_a_bare_status_is_still_a_denial(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.moto.fault("secretsmanager", "GetResourcePolicy", "SomeNewDenialCode", "no", status=403)
    adapter = make_adapter()
    with pytest.raises(ReadError) as caught:
        await adapter.call("secretsmanager", "GetResourcePolicy", {"SecretId": "s"})
    assert isinstance(caught.value, ReadDenied)
    assert caught.value.permission == "secretsmanager:GetResourcePolicy"
