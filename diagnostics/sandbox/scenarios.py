"""The classic failures the sandbox reproduces: each pasted error, the request behind it and what it must diagnose."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from diagnostics.model import ContextValue, Decision, DenialKind, Layer
from diagnostics.sandbox.world import (
    ARTIFACTS_BUCKET,
    ARTIFACTS_KEY_ARN,
    BOUNDARY,
    BUILD_BOT_ARN,
    BUILD_ROLE,
    CACHE_BUCKET,
    CONFIG_BUCKET,
    REGION,
    RELEASE_PUBLISHER,
    WORKLOAD_ACCOUNT,
)


@dataclass(frozen=True)
class ScenarioRequest:
    """The request as AWS saw it: the truth a diagnosis reconstructs from the pasted text and the account."""

    principal: str
    action: str
    resource: str
    # The complete request context: a key not listed was absent from the request.
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class ExpectedBlocker:
    """One layer the diagnosis must name as blocking the request."""

    layer: Layer
    kind: DenialKind
    # Explicit: the denying statement. Implicit: the Allow that matched but for a condition; None when no Allow did.
    sid: str | None = None
    # The policy holding that statement, where the account names it (identity, boundary and SCP policies).
    policy: str | None = None


@dataclass(frozen=True)
class Expected:
    decision: Decision
    blocked_by: tuple[ExpectedBlocker, ...]

    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(b.layer for b in self.blocked_by)


@dataclass(frozen=True)
class Scenario:
    """One classic failure: the error as a person would paste it, and the diagnosis it must get."""

    name: str
    title: str
    # The root cause in the troubleshooting guide's words, with how the sandbox sets it up.
    root_cause: str
    # Where the paste came from (the wrapper around AWS's message).
    source: str
    text: str
    request: ScenarioRequest
    expected: Expected


def _session(name: str, role: str = BUILD_ROLE) -> str:
    return f"arn:aws:sts::{WORKLOAD_ACCOUNT}:assumed-role/{role}/{name}"


# What every request over HTTPS in the home region carries that the seeded policies test.
_HTTPS: Final[Mapping[str, ContextValue]] = {"aws:RequestedRegion": REGION, "aws:SecureTransport": "true"}

MISSING_GRANT: Final = Scenario(
    name="missing-grant",
    title="No policy grants the action",
    root_cause=(
        "Implicit deny: build-bot's only S3 grant (S3Access) covers the build-cache bucket, "
        "and nothing grants s3:GetObject on prod-artifacts."
    ),
    source="AWS CLI",
    text=(
        "An error occurred (AccessDenied) when calling the GetObject operation: User: "
        f"{BUILD_BOT_ARN} is not authorized to perform: s3:GetObject on resource: "
        f'"arn:aws:s3:::{ARTIFACTS_BUCKET}/release.tar.gz" because no identity-based policy allows the '
        "s3:GetObject action"
    ),
    request=ScenarioRequest(BUILD_BOT_ARN, "s3:GetObject", f"arn:aws:s3:::{ARTIFACTS_BUCKET}/release.tar.gz", _HTTPS),
    expected=Expected(Decision.IMPLICIT_DENY, (ExpectedBlocker(Layer.IDENTITY, DenialKind.IMPLICIT),)),
)

EXPLICIT_DENY: Final = Scenario(
    name="explicit-deny",
    title="An explicit Deny overrides the Allow",
    root_cause=(
        "build-bot-role's BuildPipeline allows s3:DeleteObject on the artifact buckets, but the ProdGuardrails "
        "statement DenyProdDeletes denies it on prod objects; adding an Allow cannot help."
    ),
    source="AWS CLI (aws s3 rm)",
    text=(
        f"$ aws s3 rm s3://{ARTIFACTS_BUCKET}/releases/1.4.2/app.tar.gz\n"
        f"delete failed: s3://{ARTIFACTS_BUCKET}/releases/1.4.2/app.tar.gz An error occurred (AccessDenied) when "
        f"calling the DeleteObject operation: User: {_session('ci-41')} is not authorized to perform: "
        f's3:DeleteObject on resource: "arn:aws:s3:::{ARTIFACTS_BUCKET}/releases/1.4.2/app.tar.gz" with an '
        "explicit deny in an identity-based policy"
    ),
    request=ScenarioRequest(
        _session("ci-41"), "s3:DeleteObject", f"arn:aws:s3:::{ARTIFACTS_BUCKET}/releases/1.4.2/app.tar.gz", _HTTPS
    ),
    expected=Expected(
        Decision.EXPLICIT_DENY,
        (ExpectedBlocker(Layer.IDENTITY, DenialKind.EXPLICIT, sid="DenyProdDeletes", policy="ProdGuardrails"),),
    ),
)

SCP_REGION: Final = Scenario(
    name="scp-region",
    title="An SCP blocks it at the org level",
    root_cause=(
        "The Workloads OU carries DenyOutsideUSRegions beside FullAWSAccess: creating a table in eu-west-1 is "
        "denied whatever IAM says, and SCPs apply to the member account 123456789012."
    ),
    source="Terraform (AWS provider, Go SDK)",
    text=(
        "╷\n"
        "│ Error: creating AWS DynamoDB Table (build-locks): operation error DynamoDB: CreateTable, https response "
        "error StatusCode: 400, RequestID: 4KBNVRGD25RG0QH6BGOZ8K8B3BVV4KQNSO5AEMVJF66Q9ASUAAJG, api error "
        f"AccessDeniedException: User: {_session('ci-57')} is not authorized to perform: dynamodb:CreateTable on "
        f"resource: arn:aws:dynamodb:eu-west-1:{WORKLOAD_ACCOUNT}:table/build-locks with an explicit deny in a "
        "service control policy\n"
        "│\n"
        "│   with aws_dynamodb_table.build_locks,\n"
        '│   on main.tf line 12, in resource "aws_dynamodb_table" "build_locks":\n'
        '│   12: resource "aws_dynamodb_table" "build_locks" {\n'
        "│\n"
        "╵"
    ),
    request=ScenarioRequest(
        _session("ci-57"),
        "dynamodb:CreateTable",
        f"arn:aws:dynamodb:eu-west-1:{WORKLOAD_ACCOUNT}:table/build-locks",
        {"aws:RequestedRegion": "eu-west-1", "aws:SecureTransport": "true"},
    ),
    expected=Expected(
        Decision.EXPLICIT_DENY,
        (ExpectedBlocker(Layer.SCP, DenialKind.EXPLICIT, sid="DenyOutsideUSRegions", policy="DenyOutsideUSRegions"),),
    ),
)

BOUNDARY_CAP: Final = Scenario(
    name="permissions-boundary",
    title="A permissions boundary caps the role",
    root_cause=(
        f"build-bot-role's own policy allows s3:GetObject on every bucket, but its boundary {BOUNDARY} only "
        f"allows the build buckets: effective permissions are the intersection, so {CONFIG_BUCKET} is out of reach."
    ),
    source="AWS SDK for JavaScript v3",
    text=(
        f"AccessDenied: User: {_session('ci-58')} is not authorized to perform: s3:GetObject on resource: "
        f'"arn:aws:s3:::{CONFIG_BUCKET}/ci/build-settings.json" because no permissions boundary allows the '
        "s3:GetObject action\n"
        "    at throwDefaultError (/workspace/node_modules/@smithy/smithy-client/dist-cjs/index.js:867:20)\n"
        "    at de_CommandError (/workspace/node_modules/@aws-sdk/client-s3/dist-cjs/index.js:4756:14)\n"
        "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5) {\n"
        "  '$metadata': {\n"
        "    httpStatusCode: 403,\n"
        "    requestId: 'K2H6N7WGQ2VKX1FJ',\n"
        "    extendedRequestId: 'bWqz9yM1x5Rk0vT2lQyq8c3H3kP0e5nJmQy7vWbZl1A=',\n"
        "    cfId: undefined,\n"
        "    attempts: 1,\n"
        "    totalRetryDelay: 0\n"
        "  },\n"
        "  Code: 'AccessDenied',\n"
        "  RequestId: 'K2H6N7WGQ2VKX1FJ'\n"
        "}"
    ),
    request=ScenarioRequest(
        _session("ci-58"), "s3:GetObject", f"arn:aws:s3:::{CONFIG_BUCKET}/ci/build-settings.json", _HTTPS
    ),
    expected=Expected(Decision.IMPLICIT_DENY, (ExpectedBlocker(Layer.BOUNDARY, DenialKind.IMPLICIT),)),
)

BUCKET_POLICY_TLS: Final = Scenario(
    name="bucket-policy-tls",
    title="A resource-based policy denies the request",
    root_cause=(
        f"The {ARTIFACTS_BUCKET} bucket policy denies every request made without TLS (aws:SecureTransport false): "
        f"a plain-HTTP download is denied although {RELEASE_PUBLISHER}'s own policy and the key policy allow it."
    ),
    source="S3 error document (plain-HTTP download)",
    text=(
        f"verify-release.sh: fetching http://{ARTIFACTS_BUCKET}.s3.{REGION}.amazonaws.com/release.tar.gz\n"
        "HTTP/1.1 403 Forbidden\n"
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>AccessDenied</Code><Message>User: {_session('verify-1.4.2', RELEASE_PUBLISHER)} is not "
        f'authorized to perform: s3:GetObject on resource: "arn:aws:s3:::{ARTIFACTS_BUCKET}/release.tar.gz" with an '
        "explicit deny in a resource-based policy</Message><RequestId>8VJ1C9QGRX0TZ3E4</RequestId>"
        "<HostId>Yb1u2lQk4cX0h9Zs7rT3mN6pV8wE5aJ2dF1gH4kL7oP0qR3sT6uV9xY2zB5cD8eF</HostId></Error>"
    ),
    request=ScenarioRequest(
        _session("verify-1.4.2", RELEASE_PUBLISHER),
        "s3:GetObject",
        f"arn:aws:s3:::{ARTIFACTS_BUCKET}/release.tar.gz",
        {"aws:RequestedRegion": REGION, "aws:SecureTransport": "false"},
    ),
    expected=Expected(
        Decision.EXPLICIT_DENY, (ExpectedBlocker(Layer.RESOURCE, DenialKind.EXPLICIT, sid="DenyInsecureTransport"),)
    ),
)

MFA_CONDITION: Final = Scenario(
    name="mfa-condition",
    title="A condition does not match",
    root_cause=(
        "build-bot's S3Access allows the build cache only when aws:MultiFactorAuthPresent is true; its long-lived "
        "access keys never carry MFA, so the Allow is skipped."
    ),
    source="boto3 (S3 upload_file)",
    text=(
        "Traceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.11/site-packages/boto3/s3/transfer.py", line 372, in upload_file\n'
        "    future.result()\n"
        '  File "/usr/local/lib/python3.11/site-packages/s3transfer/futures.py", line 103, in result\n'
        "    return self._coordinator.result()\n"
        "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the PutObject operation: "
        f"User: {BUILD_BOT_ARN} is not authorized to perform: s3:PutObject on resource: "
        f'"arn:aws:s3:::{CACHE_BUCKET}/deps/node_modules.tgz" because no identity-based policy allows the '
        "s3:PutObject action\n"
        "\n"
        "During handling of the above exception, another exception occurred:\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "/ci/cache.py", line 41, in save_cache\n'
        f'    s3.upload_file(archive, "{CACHE_BUCKET}", "deps/node_modules.tgz")\n'
        "boto3.exceptions.S3UploadFailedError: Failed to upload build/node_modules.tgz to "
        f"{CACHE_BUCKET}/deps/node_modules.tgz: An error occurred (AccessDenied) when calling the PutObject "
        f"operation: User: {BUILD_BOT_ARN} is not authorized to perform: s3:PutObject on resource: "
        f'"arn:aws:s3:::{CACHE_BUCKET}/deps/node_modules.tgz" because no identity-based policy allows the '
        "s3:PutObject action"
    ),
    request=ScenarioRequest(
        BUILD_BOT_ARN, "s3:PutObject", f"arn:aws:s3:::{CACHE_BUCKET}/deps/node_modules.tgz", _HTTPS
    ),
    expected=Expected(
        Decision.IMPLICIT_DENY,
        (ExpectedBlocker(Layer.IDENTITY, DenialKind.IMPLICIT, sid="AllowBuildCacheWithMFA", policy="S3Access"),),
    ),
)

KMS_KEY_POLICY: Final = Scenario(
    name="kms-key-policy",
    title="The S3/KMS chain: the key policy never mentions the role",
    root_cause=(
        f"release.tar.gz is encrypted with the customer managed key {ARTIFACTS_KEY_ARN}. build-bot-role's "
        "ArtifactsRead grants kms:Decrypt on it, but the key policy names only the build-bot user CI used to run "
        "as, never the role, and does not delegate to the account's IAM, so the role's grant has no effect."
    ),
    source="boto3 (S3 get_object)",
    text=(
        "Traceback (most recent call last):\n"
        '  File "/ci/fetch_release.py", line 18, in <module>\n'
        f'    body = s3.get_object(Bucket="{ARTIFACTS_BUCKET}", Key="release.tar.gz")["Body"].read()\n'
        '  File "/usr/local/lib/python3.11/site-packages/botocore/client.py", line 602, in _api_call\n'
        "    return self._make_api_call(operation_name, kwargs)\n"
        '  File "/usr/local/lib/python3.11/site-packages/botocore/client.py", line 1078, in _make_api_call\n'
        "    raise error_class(parsed_response, operation_name)\n"
        "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the GetObject operation: "
        f"User: {_session('ci-42')} is not authorized to perform: kms:Decrypt on resource: {ARTIFACTS_KEY_ARN} "
        "because no resource-based policy allows the kms:Decrypt action"
    ),
    request=ScenarioRequest(
        _session("ci-42"),
        "kms:Decrypt",
        ARTIFACTS_KEY_ARN,
        {
            **_HTTPS,
            # S3 asks KMS on the caller's behalf (forward access session): KMS sees the caller and how it came.
            "kms:ViaService": f"s3.{REGION}.amazonaws.com",
            "kms:CallerAccount": WORKLOAD_ACCOUNT,
        },
    ),
    expected=Expected(Decision.IMPLICIT_DENY, (ExpectedBlocker(Layer.RESOURCE, DenialKind.IMPLICIT),)),
)

# In the troubleshooting guide's order: its six root causes, then the worked S3/KMS analysis.
SCENARIOS: Final = (
    MISSING_GRANT,
    EXPLICIT_DENY,
    SCP_REGION,
    BOUNDARY_CAP,
    BUCKET_POLICY_TLS,
    MFA_CONDITION,
    KMS_KEY_POLICY,
)
