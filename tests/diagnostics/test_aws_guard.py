"""The read-only guard: writes are refused inside the process, before anything is signed or sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.parsers import ResponseParserError

from diagnostics.aws import AwsAdapter
from diagnostics.reader import READ_OPERATIONS, AwsConfig, CallOutcome, ReadError, ReadOnlyViolation, requests_sent
from tests.conftest import BotCredentials
from tests.harness.sdk import botocore_session
from tests.harness.servers import RecordingServer
from tests.harness.world import REGION, TARGET_ACCOUNT

MakeAdapter = Callable[..., AwsAdapter]

# Writes in every service the allow-list touches, plus the credential-minting STS calls.
WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("iam", "create_user", {"UserName": "intruder"}),
    ("iam", "attach_role_policy", {"RoleName": "app", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ("iam", "delete_role_permissions_boundary", {"RoleName": "app"}),
    ("sts", "assume_role", {"RoleArn": f"arn:aws:iam::{TARGET_ACCOUNT}:role/Admin", "RoleSessionName": "x1"}),
    ("sts", "get_session_token", {}),
    ("sts", "get_federation_token", {"Name": "intruder"}),
    ("s3", "put_bucket_policy", {"Bucket": "prod-artifacts", "Policy": "{}"}),
    ("s3", "delete_bucket", {"Bucket": "prod-artifacts"}),
    ("s3", "get_object", {"Bucket": "prod-artifacts", "Key": "release.tar.gz"}),
    ("s3control", "put_public_access_block", {"AccountId": TARGET_ACCOUNT, "PublicAccessBlockConfiguration": {}}),
    ("kms", "schedule_key_deletion", {"KeyId": "abcd-1234"}),
    ("kms", "decrypt", {"CiphertextBlob": b"secret"}),
    ("organizations", "detach_policy", {"PolicyId": "p-FullAWSAccess", "TargetId": "r-root"}),
    ("sqs", "set_queue_attributes", {"QueueUrl": "https://sqs/q", "Attributes": {"Policy": "{}"}}),
    ("sns", "publish", {"TopicArn": "arn:aws:sns:us-east-1:222222222222:t", "Message": "hi"}),
    ("secretsmanager", "get_secret_value", {"SecretId": "prod/db"}),
    ("lambda", "add_permission", {"FunctionName": "f", "StatementId": "s", "Action": "lambda:*", "Principal": "*"}),
    ("ecr", "set_repository_policy", {"repositoryName": "repo", "policyText": "{}"}),
    ("ec2", "terminate_instances", {"InstanceIds": ["i-0123456789abcdef0"]}),
    ("cloudtrail", "stop_logging", {"Name": "org-trail"}),
]


@pytest.fixture
def nowhere(
    recording_server: RecordingServer, monkeypatch: pytest.MonkeyPatch, aws_env: BotCredentials
) -> RecordingServer:
    """Every AWS endpoint points at a server that records whatever reaches it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", recording_server.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM_TOOLBOX", recording_server.endpoint)
    return recording_server


@pytest.mark.parametrize(("service", "method", "params"), WRITES, ids=[f"{s}.{m}" for s, m, _ in WRITES])
async def test_a_write_through_the_adapter_never_leaves_the_process(
    make_adapter: MakeAdapter, nowhere: RecordingServer, service: str, method: str, params: dict[str, Any]
) -> None:
    adapter = make_adapter()
    scope = adapter.scope()
    operation = "".join(part.capitalize() for part in method.split("_"))
    with pytest.raises(ReadOnlyViolation) as caught:
        await scope.call(service, operation, params, account=TARGET_ACCOUNT)
    assert (caught.value.service, caught.value.operation, caught.value.account) == (service, operation, TARGET_ACCOUNT)
    # Refused before credentials: not even the AssumeRole into the target account was sent.
    assert len(nowhere.log) == 0
    assert [r.outcome for r in scope.records] == [CallOutcome.READ_ONLY_VIOLATION]
    assert requests_sent(scope.records) == 0


@pytest.mark.parametrize(("service", "method", "params"), WRITES, ids=[f"{s}.{m}" for s, m, _ in WRITES])
def test_every_client_from_the_adapters_session_refuses_writes(
    nowhere: RecordingServer, service: str, method: str, params: dict[str, Any]
) -> None:
    session = botocore_session()
    adapter = AwsAdapter(AwsConfig(max_attempts=1), session=session)
    try:
        client = session.create_client(service, region_name=REGION)
        with pytest.raises(ReadOnlyViolation):
            getattr(client, method)(**params)
        assert len(nowhere.log) == 0
    finally:
        adapter.close()


def test_the_guard_lets_reads_through(nowhere: RecordingServer) -> None:
    session = botocore_session()
    adapter = AwsAdapter(AwsConfig(max_attempts=1), session=session)
    try:
        client = session.create_client("iam", region_name=REGION)
        # The recording server's 503 is no AWS answer: botocore cannot parse it, but it was sent.
        with pytest.raises(ResponseParserError):
            client.get_role(RoleName="app")
        assert [r.path for r in nowhere.log.requests] == ["/"]
    finally:
        adapter.close()


async def test_no_allow_listed_read_is_refused(make_adapter: MakeAdapter, nowhere: RecordingServer) -> None:
    adapter = make_adapter()
    for op in READ_OPERATIONS:
        # No parameters: each call fails, but on validation or at the endpoint, never on the guard.
        with pytest.raises(ReadError) as caught:
            await adapter.call(op.service, op.operation)
        assert not isinstance(caught.value, ReadOnlyViolation), f"{op.service} {op.operation}"


def test_the_assume_role_exception_is_confined_to_assume_role(nowhere: RecordingServer) -> None:
    # The adapter's own STS client may call AssumeRole (to reach the read roles) and nothing else that writes.
    adapter = AwsAdapter(AwsConfig(max_attempts=1), session=botocore_session())
    try:
        sts = adapter._assume_role_client(REGION)
        for method, params in [("get_session_token", {}), ("get_federation_token", {"Name": "intruder"})]:
            with pytest.raises(ReadOnlyViolation):
                getattr(sts, method)(**params)
        assert len(nowhere.log) == 0
        with pytest.raises(ResponseParserError):
            sts.assume_role(RoleArn=f"arn:aws:iam::{TARGET_ACCOUNT}:role/IamWhyReadOnly", RoleSessionName="iamwhy")
        assert len(nowhere.log) == 1
    finally:
        adapter.close()


async def test_callers_cannot_ask_for_assume_role(make_adapter: MakeAdapter, nowhere: RecordingServer) -> None:
    adapter = make_adapter()
    with pytest.raises(ReadOnlyViolation):
        await adapter.call(
            "sts", "AssumeRole", {"RoleArn": f"arn:aws:iam::{TARGET_ACCOUNT}:role/Admin", "RoleSessionName": "x1"}
        )
    assert len(nowhere.log) == 0
