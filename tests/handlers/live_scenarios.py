"""The troubleshooting guide's seven failures seeded in the moto sandbox, each with the error a person would paste."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.harness.world import MANAGEMENT_ACCOUNT, TARGET_ACCOUNT, AwsWorld, allow, deny, policy

T = TARGET_ACCOUNT
OBJECT = "arn:aws:s3:::prod-artifacts/release.tar.gz"
ORG_ROLE = f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/OrgRead"
NO_IDENTITY = "because no identity-based policy allows the {action} action"


def error(principal: str, action: str, resource: str, reason: str = "") -> str:
    operation = action.split(":", 1)[1]
    tail = f" {reason.format(action=action)}" if reason else ""
    return (
        f"An error occurred (AccessDenied) when calling the {operation} operation: User: {principal} is not "
        f'authorized to perform: {action} on resource: "{resource}"{tail}'
    )


@dataclass(frozen=True)
class Seeded:
    """What a scenario left in the sandbox: the text to paste and how the bot must be configured to read it."""

    text: str
    # AwsConfig fields (allowed_accounts, org_role_arn) the bot needs for this scenario.
    config: dict[str, Any] = field(default_factory=dict)


def missing_grant(world: AwsWorld) -> Seeded:
    world.create_user(T, "build-bot", inline={"Deploy": policy(allow("s3:PutObject", OBJECT))})
    world.create_bucket(T, "prod-artifacts")
    return Seeded(error(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT, NO_IDENTITY))


def explicit_deny(world: AwsWorld) -> Seeded:
    guardrail = world.create_policy(
        T,
        "Guardrail",
        policy(
            allow("s3:*", "*", Sid="S3Work"), deny("s3:DeleteObject", "arn:aws:s3:::prod-*/*", Sid="DenyProdDeletes")
        ),
    )
    world.create_user(T, "build-bot", managed=[guardrail])
    world.create_bucket(T, "prod-artifacts")
    reason = "with an explicit deny in an identity-based policy"
    return Seeded(error(f"arn:aws:iam::{T}:user/build-bot", "s3:DeleteObject", OBJECT, reason))


def scp(world: AwsWorld) -> Seeded:
    org = world.create_organization()
    ou = world.create_ou(org, "Workloads")
    account = world.create_member_account(org, "workload", parent_id=ou)
    us_only = deny("*", "*", Sid="DenyOutsideUS", Condition={"StringNotLike": {"aws:RequestedRegion": ["us-*"]}})
    world.create_scp(org, "DenyOutsideUSRegions", policy(us_only), targets=[ou])
    world.create_user(account, "deployer", inline={"Admin": policy(allow("*", "*", Sid="Admin"))})
    world.client("sqs", account, "eu-west-1").create_queue(QueueName="jobs")
    queue = f"arn:aws:sqs:eu-west-1:{account}:jobs"
    reason = "with an explicit deny in a service control policy"
    text = error(f"arn:aws:iam::{account}:user/deployer", "sqs:SendMessage", queue, reason)
    return Seeded(text, {"allowed_accounts": frozenset({account}), "org_role_arn": ORG_ROLE})


def boundary(world: AwsWorld) -> Seeded:
    dev_boundary = world.create_policy(T, "DevBoundary", policy(allow("s3:ListBucket", "*", Sid="ListOnly")))
    world.create_role(T, "build-bot-role", inline={"Admin": policy(allow("*", "*"))}, boundary=dev_boundary)
    world.create_bucket(T, "prod-artifacts")
    reason = "because no permissions boundary allows the s3:GetObject action"
    return Seeded(error(f"arn:aws:sts::{T}:assumed-role/build-bot-role/ci-42", "s3:GetObject", OBJECT, reason))


def bucket_policy(world: AwsWorld) -> Seeded:
    world.create_user(T, "build-bot", inline={"Read": policy(allow("s3:GetObject", "arn:aws:s3:::prod-artifacts/*"))})
    tls_only = deny(
        "s3:*",
        ["arn:aws:s3:::prod-artifacts", "arn:aws:s3:::prod-artifacts/*"],
        Sid="DenyInsecureTransport",
        Principal="*",
        Condition={"Bool": {"aws:SecureTransport": "false"}},
    )
    world.create_bucket(T, "prod-artifacts", bucket_policy=policy(tls_only))
    reason = "with an explicit deny in a resource-based policy"
    return Seeded(error(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT, reason))


def mfa_condition(world: AwsWorld) -> Seeded:
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    read = allow("s3:GetObject", "arn:aws:s3:::prod-artifacts/*", Sid="ReadWithMfa", Condition=mfa)
    world.create_user(T, "build-bot", inline={"S3Access": policy(read)})
    world.create_bucket(T, "prod-artifacts")
    return Seeded(error(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT, NO_IDENTITY))


def kms_key_policy(world: AwsWorld) -> Seeded:
    admin = f"arn:aws:iam::{T}:role/key-admin"
    key = world.create_kms_key(T, key_policy=policy(allow("kms:*", "*", Sid="KeyAdmins", Principal={"AWS": admin})))
    world.create_role(
        T,
        "build-bot-role",
        inline={"ArtifactsRead": policy(allow("kms:Decrypt", key, Sid="DecryptArtifacts"))},
    )
    reason = "because no resource-based policy allows the kms:Decrypt action"
    return Seeded(error(f"arn:aws:sts::{T}:assumed-role/build-bot-role/ci-42", "kms:Decrypt", key, reason))


SCENARIOS: dict[str, Callable[[AwsWorld], Seeded]] = {
    "missing_grant": missing_grant,
    "explicit_deny": explicit_deny,
    "scp": scp,
    "boundary": boundary,
    "bucket_policy": bucket_policy,
    "mfa_condition": mfa_condition,
    "kms_key_policy": kms_key_policy,
}
