"""The AWS test harness keeps its promises: realistic faults, resets, request logs, the iam-toolbox fake's contract."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.harness.world import MANAGEMENT_ACCOUNT, TARGET_ACCOUNT, AwsWorld, allow, policy


def _error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_reset_forgets_resources_answers_faults_and_requests(aws_world: AwsWorld) -> None:
    aws_world.create_role(TARGET_ACCOUNT, "app")
    aws_world.moto.simulate("arn:aws:iam::222222222222:role/app", "s3:GetObject", "allowed")
    aws_world.moto.deny("iam", "GetRole")
    aws_world.toolbox.add_details("abc123", {"requestContext": {}, "evaluations": [], "policies": []})

    aws_world.reset()

    with pytest.raises(ClientError) as caught:
        aws_world.client("iam", TARGET_ACCOUNT).get_role(RoleName="app")
    assert _error(caught)[0] == "NoSuchEntity"
    assert aws_world.moto.simulations == {}
    assert aws_world.moto.faults == []
    assert [c.operation for c in aws_world.moto.seen()] == ["GetRole"]
    assert aws_world.toolbox.calls == []


def test_an_s3_denial_looks_like_s3s(aws_world: AwsWorld) -> None:
    aws_world.create_bucket(TARGET_ACCOUNT, "prod-artifacts")
    aws_world.moto.deny("s3", "GetBucketPolicy", account=TARGET_ACCOUNT)
    with pytest.raises(ClientError) as caught:
        aws_world.client("s3", TARGET_ACCOUNT).get_bucket_policy(Bucket="prod-artifacts")
    code, message, status = _error(caught)
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith("User: arn:aws:sts::222222222222:user/moto is not authorized to perform: ")
    assert message.endswith("s3:GetBucketPolicy because no identity-based policy allows the s3:GetBucketPolicy action")


@pytest.mark.parametrize(
    ("service", "operation", "call", "code"),
    [
        (
            "sns",
            "GetTopicAttributes",
            lambda c: c.get_topic_attributes(TopicArn="arn:aws:sns:us-east-1:1:t"),
            "AuthorizationError",
        ),
        ("lambda", "GetPolicy", lambda c: c.get_policy(FunctionName="fn"), "AccessDeniedException"),
        ("kms", "GetKeyPolicy", lambda c: c.get_key_policy(KeyId="k", PolicyName="default"), "AccessDeniedException"),
        ("ec2", "DescribeVpcEndpoints", lambda c: c.describe_vpc_endpoints(), "UnauthorizedOperation"),
    ],
)
def test_each_service_denies_in_its_own_words(
    aws_world: AwsWorld, service: str, operation: str, call: object, code: str
) -> None:
    aws_world.moto.deny(service, operation)
    with pytest.raises(ClientError) as caught:
        call(aws_world.client(service))  # type: ignore[operator]
    assert _error(caught)[0] == code
    assert _error(caught)[2] == 403


def test_faults_match_accounts_and_parameters_and_can_be_limited(aws_world: AwsWorld) -> None:
    for account in (TARGET_ACCOUNT, MANAGEMENT_ACCOUNT):
        aws_world.create_role(account, "app")
        aws_world.create_role(account, "web")
    aws_world.moto.fault(
        "iam", "GetRole", "AccessDenied", "no", account=TARGET_ACCOUNT, match={"RoleName": "app"}, times=1
    )

    iam = aws_world.client("iam", TARGET_ACCOUNT)
    with pytest.raises(ClientError):
        iam.get_role(RoleName="app")
    assert iam.get_role(RoleName="app")["Role"]["RoleName"] == "app"
    assert iam.get_role(RoleName="web")["Role"]["RoleName"] == "web"
    assert aws_world.client("iam", MANAGEMENT_ACCOUNT).get_role(RoleName="app")["Role"]["RoleName"] == "app"


def test_the_moto_request_log_sees_every_request_but_its_own_controls(aws_world: AwsWorld) -> None:
    aws_world.forget_requests()
    aws_world.create_bucket(TARGET_ACCOUNT, "logged-bucket", bucket_policy=policy(allow("s3:GetObject", Principal="*")))
    aws_world.server.reset()
    assert len(aws_world.server.log) == 0
    aws_world.client("sts").get_caller_identity()
    assert [(r.method, r.path) for r in aws_world.server.log.requests] == [("POST", "/")]


def test_s3_control_reaches_moto_with_the_account_in_the_host_name(aws_world: AwsWorld) -> None:
    control = aws_world.client("s3control", TARGET_ACCOUNT)
    control.put_public_access_block(
        AccountId=TARGET_ACCOUNT, PublicAccessBlockConfiguration={"BlockPublicPolicy": True}
    )
    answer = control.get_public_access_block(AccountId=TARGET_ACCOUNT)
    assert answer["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert aws_world.server.log.requests[-1].headers["Host"].startswith(f"{TARGET_ACCOUNT}.127.0.0.1:")


def test_the_toolbox_refuses_answers_aws_would_never_give(aws_world: AwsWorld) -> None:
    with pytest.raises(ValueError, match="evaluations"):
        aws_world.toolbox.add_details("abc123", {"requestContext": {}, "policies": []})
    with pytest.raises(ValueError, match="evaluatedEffect"):
        aws_world.toolbox.add_details(
            "abc123",
            {
                "requestContext": {},
                "policies": [],
                "evaluations": [{"action": "s3:GetObject", "resource": "*", "evaluatedEffect": "MAYBE"}],
            },
        )


def test_the_toolbox_wants_a_sigv4_signature_for_iam(aws_world: AwsWorld) -> None:
    aws_world.toolbox.add_details("abc123", {"requestContext": {}, "evaluations": [], "policies": []})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(aws_world.toolbox.endpoint + "/authorization-details/abc123", timeout=5)
    assert caught.value.code == 403
    assert caught.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert json.loads(caught.value.read()) == {"message": "Missing Authentication Token"}
