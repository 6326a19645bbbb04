"""The operations moto lacks, served by the harness in their real wire format, read through the real adapter."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.reader import CallOutcome, NotFound, ReadDenied, RequestRejected
from tests.harness.moto_ext import encode_authorization_message
from tests.harness.world import TARGET_ACCOUNT, AwsWorld, allow, policy

MakeAdapter = Callable[..., AwsAdapter]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "aws"
ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/build-bot-role"
OBJECT_ARN = "arn:aws:s3:::prod-artifacts/release.tar.gz"


def authorization_details() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / "authorization-details.json").read_text(encoding="utf-8"))
    return loaded


# ------------------------------------------------------------------------------------------------- iam-toolbox


async def test_authorization_details_come_from_the_toolbox_with_the_read_roles_signature(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    details = authorization_details()
    aws_world.toolbox.add_details("a1b2c3d4e5", details)
    adapter = make_adapter()

    result = await adapter.call(
        "iam-toolbox", "GetRequestAuthorizationDetails", {"authorizationId": "a1b2c3d4e5"}, account=TARGET_ACCOUNT
    )

    assert result == details
    (call,) = aws_world.toolbox.calls_of("GetRequestAuthorizationDetails")
    assert call.account == TARGET_ACCOUNT
    (request,) = aws_world.toolbox.log.requests
    assert (request.method, request.path) == ("GET", "/authorization-details/a1b2c3d4e5")
    assert request.signing_service == "iam"
    assert request.access_key is not None
    assert request.access_key.startswith("ASIA")


async def test_paginated_authorization_details_are_merged(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    details = authorization_details()
    aws_world.toolbox.add_details("paged01", details, page_size=1)
    adapter = make_adapter()

    result = await adapter.call(
        "iam-toolbox",
        "GetRequestAuthorizationDetails",
        {"authorizationId": "paged01"},
        account=TARGET_ACCOUNT,
        paginate=True,
    )

    assert [e["action"] for e in result["evaluations"]] == ["s3:GetObject", "kms:Decrypt"]
    assert result["policies"] == details["policies"]
    assert result["requestContext"] == details["requestContext"]
    assert [c.params.get("nextToken") for c in aws_world.toolbox.calls_of("GetRequestAuthorizationDetails")] == [
        None,
        "page-1",
    ]


async def test_a_record_not_written_yet_is_not_found_and_not_cached(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.toolbox.add_details("fresh01", authorization_details(), not_found_for=1)
    adapter = make_adapter()
    params = {"authorizationId": "fresh01"}

    with pytest.raises(NotFound) as caught:
        await adapter.call("iam-toolbox", "GetRequestAuthorizationDetails", params, account=TARGET_ACCOUNT)
    assert caught.value.code == "ResourceNotFoundException"
    # AWS writes the record asynchronously: asking again moments later finds it.
    result = await adapter.call("iam-toolbox", "GetRequestAuthorizationDetails", params, account=TARGET_ACCOUNT)
    assert result["evaluations"][0]["evaluatedEffect"] == "IMPLICIT_DENY"
    assert len(aws_world.toolbox.calls_of("GetRequestAuthorizationDetails")) == 2


async def test_an_evaluated_policy_is_fetched_by_its_uri(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    document = policy(allow("kms:Decrypt", "arn:aws:kms:us-east-1:222222222222:key/abcd-1234", Sid="DecryptArtifacts"))
    aws_world.toolbox.add_details("a1b2c3d4e5", authorization_details())
    aws_world.toolbox.add_policy("a1b2c3d4e5", "policy/identity/ArtifactsRead", document)
    adapter = make_adapter()

    result = await adapter.call(
        "iam-toolbox",
        "GetRequestAuthorizationPolicy",
        {"authorizationId": "a1b2c3d4e5", "policyUri": "policy/identity/ArtifactsRead"},
        account=TARGET_ACCOUNT,
    )

    assert result == {"policyDocument": document}
    (call,) = aws_world.toolbox.calls_of("GetRequestAuthorizationPolicy")
    assert call.params == {"policyUri": "policy/identity/ArtifactsRead"}


async def test_a_toolbox_denial_names_its_iam_action(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.toolbox.add_details("a1b2c3d4e5", authorization_details())
    aws_world.toolbox.deny("GetRequestAuthorizationDetails", account=TARGET_ACCOUNT)
    adapter = make_adapter()
    with pytest.raises(ReadDenied) as caught:
        await adapter.call(
            "iam-toolbox", "GetRequestAuthorizationDetails", {"authorizationId": "a1b2c3d4e5"}, account=TARGET_ACCOUNT
        )
    assert str(caught.value) == "the read-only role lacks iam:GetRequestAuthorizationDetails"
    assert caught.value.code == "AccessDeniedException"


async def test_a_malformed_authorization_id_is_rejected(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    adapter = make_adapter()
    with pytest.raises(RequestRejected) as caught:
        await adapter.call(
            "iam-toolbox", "GetRequestAuthorizationDetails", {"authorizationId": "NOT-VALID"}, account=TARGET_ACCOUNT
        )
    assert caught.value.code == "ValidationException"


# ------------------------------------------------------------------------------------------------- IAM simulation


async def test_simulate_principal_policy_answers_from_the_canned_evaluation(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    matched = [
        {
            "SourcePolicyId": "Guardrail",
            "SourcePolicyType": "IAM Policy",
            "StartPosition": {"Line": 3, "Column": 5},
            "EndPosition": {"Line": 9, "Column": 6},
        }
    ]
    aws_world.moto.simulate(
        ROLE_ARN,
        "s3:DeleteObject",
        "explicitDeny",
        MatchedStatements=matched,
        PermissionsBoundaryDecisionDetail={"AllowedByPermissionsBoundary": True},
        OrganizationsDecisionDetail={"AllowedByOrganizations": True},
    )
    context = [
        {"ContextKeyName": "aws:MultiFactorAuthPresent", "ContextKeyValues": ["true"], "ContextKeyType": "boolean"}
    ]
    bucket_policy = json.dumps(policy(allow("s3:*", OBJECT_ARN, Principal={"AWS": ROLE_ARN})))
    adapter = make_adapter()

    result = await adapter.call(
        "iam",
        "SimulatePrincipalPolicy",
        {
            "PolicySourceArn": ROLE_ARN,
            "ActionNames": ["s3:DeleteObject", "s3:GetObject"],
            "ResourceArns": [OBJECT_ARN],
            "ContextEntries": context,
            "ResourcePolicy": bucket_policy,
        },
        account=TARGET_ACCOUNT,
        paginate=True,
    )

    delete, get = result["EvaluationResults"]
    assert (delete["EvalActionName"], delete["EvalDecision"]) == ("s3:DeleteObject", "explicitDeny")
    assert delete["MatchedStatements"] == matched
    assert delete["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert (get["EvalDecision"], get["EvalResourceName"]) == ("implicitDeny", OBJECT_ARN)
    (seen,) = aws_world.moto.seen("iam", "SimulatePrincipalPolicy")
    assert seen.account == TARGET_ACCOUNT
    assert seen.params["ContextEntries"] == context
    assert json.loads(seen.params["ResourcePolicy"]) == json.loads(bucket_policy)


async def test_context_keys_for_a_principal(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.moto.set_context_keys(ROLE_ARN, ["aws:MultiFactorAuthPresent", "aws:SourceIp"])
    adapter = make_adapter()
    result = await adapter.call(
        "iam", "GetContextKeysForPrincipalPolicy", {"PolicySourceArn": ROLE_ARN}, account=TARGET_ACCOUNT
    )
    assert result == {"ContextKeyNames": ["aws:MultiFactorAuthPresent", "aws:SourceIp"]}


# ------------------------------------------------------------------------------------------------- STS decoding


async def test_an_encoded_authorization_message_is_decoded(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    decoded = {
        "allowed": False,
        "explicitDeny": False,
        "matchedStatements": {"items": []},
        "context": {"principal": {"arn": ROLE_ARN}, "action": "ec2:RunInstances", "resource": "arn:aws:ec2:*"},
    }
    encoded = encode_authorization_message(decoded)
    adapter = make_adapter()
    result = await adapter.call(
        "sts", "DecodeAuthorizationMessage", {"EncodedMessage": encoded}, account=TARGET_ACCOUNT
    )
    assert json.loads(result["DecodedMessage"]) == decoded
    assert aws_world.moto.seen("sts", "DecodeAuthorizationMessage")[0].account == TARGET_ACCOUNT


async def test_a_canned_decoding_wins_over_the_stand_in_encoding(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.moto.set_decoded_message("opaque-real-looking-message", {"allowed": False})
    adapter = make_adapter()
    result = await adapter.call("sts", "DecodeAuthorizationMessage", {"EncodedMessage": "opaque-real-looking-message"})
    assert json.loads(result["DecodedMessage"]) == {"allowed": False}


async def test_a_message_that_is_not_encoded_is_rejected(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    scope = adapter.scope()
    with pytest.raises(RequestRejected) as caught:
        await scope.call("sts", "DecodeAuthorizationMessage", {"EncodedMessage": "not an encoded message"})
    assert caught.value.code == "InvalidAuthorizationMessageException"
    assert scope.records[-1].outcome is CallOutcome.REJECTED


# ------------------------------------------------------------------------------------------------- CloudTrail


async def test_cloudtrail_events_are_looked_up_and_paged(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    for minute in range(5):
        aws_world.moto.add_event(
            TARGET_ACCOUNT,
            "GetObject" if minute % 2 else "PutBucketPolicy",
            event_time=start + timedelta(minutes=minute),
            username="build-bot",
            resources=[("AWS::S3::Bucket", "prod-artifacts")],
        )
    aws_world.moto.add_event(TARGET_ACCOUNT, "GetObject", event_time=start, username="someone-else")
    adapter = make_adapter()

    result = await adapter.call(
        "cloudtrail",
        "LookupEvents",
        {
            "LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "build-bot"}],
            "StartTime": start + timedelta(minutes=1),
            "PaginationConfig": {"PageSize": 2},
        },
        account=TARGET_ACCOUNT,
        paginate=True,
    )

    assert [(e["EventName"], e["EventTime"]) for e in result["Events"]] == [
        ("PutBucketPolicy", start + timedelta(minutes=4)),
        ("GetObject", start + timedelta(minutes=3)),
        ("PutBucketPolicy", start + timedelta(minutes=2)),
        ("GetObject", start + timedelta(minutes=1)),
    ]
    assert len(aws_world.moto.seen("cloudtrail", "LookupEvents")) == 2
