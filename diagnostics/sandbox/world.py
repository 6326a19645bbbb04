"""The sandbox's AWS as data: two accounts in an organization, their IAM, SCPs, buckets and key (the guide's world)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from diagnostics.reader import DEFAULT_ROLE_NAME, RoleKind, granted_actions

Document = Mapping[str, Any]

REGION: Final = "us-east-1"
MANAGEMENT_ACCOUNT: Final = "111122223333"
# The guide's workload account: a member account, so that SCPs apply to it (they never apply to the management one).
WORKLOAD_ACCOUNT: Final = "123456789012"
WORKLOADS_OU: Final = "Workloads"

BOT_USER: Final = "iamwhy-bot"
BOT_USER_ARN: Final = f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:user/{BOT_USER}"
READ_ROLE: Final = DEFAULT_ROLE_NAME
ORG_ROLE: Final = "IamWhyOrgReadOnly"
ORG_ROLE_ARN: Final = f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/{ORG_ROLE}"
EXTERNAL_ID: Final = "iamwhy-sandbox"

BUILD_BOT: Final = "build-bot"
BUILD_BOT_ARN: Final = f"arn:aws:iam::{WORKLOAD_ACCOUNT}:user/{BUILD_BOT}"
BUILD_ROLE: Final = "build-bot-role"
BUILD_ROLE_ARN: Final = f"arn:aws:iam::{WORKLOAD_ACCOUNT}:role/{BUILD_ROLE}"
BOUNDARY: Final = "DevBoundary"
BOUNDARY_ARN: Final = f"arn:aws:iam::{WORKLOAD_ACCOUNT}:policy/{BOUNDARY}"
ARTIFACTS_BUCKET: Final = "prod-artifacts"
CACHE_BUCKET: Final = "build-cache"
CONFIG_BUCKET: Final = "platform-config"
ARTIFACTS_KEY_ID: Final = "abcd-1234"
ARTIFACTS_KEY_ARN: Final = f"arn:aws:kms:{REGION}:{WORKLOAD_ACCOUNT}:key/{ARTIFACTS_KEY_ID}"
US_REGIONS: Final = ("us-east-1", "us-east-2", "us-west-1", "us-west-2")

# The Organizations target an SCP is attached to: the root, an OU by name, or an account id.
ROOT: Final = "Root"


def policy(*statements: Mapping[str, Any], policy_id: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"Version": "2012-10-17"}
    if policy_id is not None:
        document["Id"] = policy_id
    document["Statement"] = list(statements)
    return document


def _bucket_and_objects(*buckets: str) -> list[str]:
    return [arn for name in buckets for arn in (f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*")]


def _trust(principal: str, *, external_id: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return policy(statement)


@dataclass(frozen=True)
class ManagedPolicy:
    """A customer managed policy, created in its account and attached by name."""

    name: str
    description: str
    document: Document

    def arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:policy/{self.name}"


@dataclass(frozen=True)
class User:
    name: str
    inline: Mapping[str, Document] = field(default_factory=dict)
    managed: tuple[str, ...] = ()
    # Long-lived access keys: the only credentials a user has outside the console, and they never carry MFA.
    access_key: bool = False


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    trust: Document
    inline: Mapping[str, Document] = field(default_factory=dict)
    managed: tuple[str, ...] = ()
    boundary: str | None = None


@dataclass(frozen=True)
class Bucket:
    name: str
    policy: Document | None = None
    # Default encryption with this KMS key; None: SSE-S3, what AWS applies to every new bucket.
    kms_key_arn: str | None = None


@dataclass(frozen=True)
class Key:
    """A symmetric customer managed KMS key with a fixed key id."""

    key_id: str
    description: str
    policy: Document
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    policies: tuple[ManagedPolicy, ...] = ()
    users: tuple[User, ...] = ()
    roles: tuple[Role, ...] = ()
    buckets: tuple[Bucket, ...] = ()
    keys: tuple[Key, ...] = ()


@dataclass(frozen=True)
class ServiceControlPolicy:
    name: str
    description: str
    document: Document
    # ROOT, an OU name or an account id.
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Organization:
    management: Account
    # Member accounts, each in the OU named beside it.
    members: tuple[tuple[Account, str], ...]
    ous: tuple[str, ...]
    scps: tuple[ServiceControlPolicy, ...]


@dataclass(frozen=True)
class World:
    organization: Organization
    # The user the bot runs as (its access key is the sandbox's credential chain) and its account.
    bot_account: str
    bot_user: str

    @property
    def accounts(self) -> tuple[Account, ...]:
        return (self.organization.management, *(account for account, _ in self.organization.members))


def _read_policy(role: RoleKind) -> dict[str, Any]:
    # The deployed roles grant exactly the adapter's allow-list; the sandbox's roles are those roles.
    return policy({"Sid": "IamWhyRead", "Effect": "Allow", "Action": sorted(granted_actions(role)), "Resource": "*"})


def _read_role() -> Role:
    return Role(
        READ_ROLE,
        "iamwhy reads the policies that decide an access denial; nothing else",
        _trust(BOT_USER_ARN, external_id=EXTERNAL_ID),
        inline={"IamWhyReadOnly": _read_policy(RoleKind.READ)},
    )


# Global services answer from us-east-1 whatever the caller's region: they must stay outside a region guardrail.
_GLOBAL_SERVICE_ACTIONS: Final = (
    "account:*",
    "budgets:*",
    "ce:*",
    "cloudfront:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "organizations:*",
    "route53:*",
    "route53domains:*",
    "s3:GetAccountPublicAccessBlock",
    "s3:ListAllMyBuckets",
    "s3:PutAccountPublicAccessBlock",
    "shield:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf:*",
    "wafv2:*",
)

DENY_OUTSIDE_US_REGIONS: Final = policy(
    {
        "Sid": "DenyOutsideUSRegions",
        "Effect": "Deny",
        "NotAction": list(_GLOBAL_SERVICE_ACTIONS),
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": list(US_REGIONS)}},
    }
)

# Cause 6, a condition that does not match: build-bot's only S3 grant needs MFA, which access keys never carry.
S3_ACCESS: Final = policy(
    {
        "Sid": "AllowBuildCacheWithMFA",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": f"arn:aws:s3:::{CACHE_BUCKET}/*",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    }
)

ASSUME_BUILD_ROLE: Final = policy(
    {"Sid": "AssumeBuildRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": BUILD_ROLE_ARN}
)

# Cause 4, a permissions boundary: it caps build-bot-role to the build buckets, the artifact key and the build tables.
DEV_BOUNDARY: Final = policy(
    {
        "Sid": "BuildBuckets",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
        "Resource": _bucket_and_objects(ARTIFACTS_BUCKET, CACHE_BUCKET),
    },
    {
        "Sid": "BuildKeys",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
        "Resource": f"arn:aws:kms:*:{WORKLOAD_ACCOUNT}:key/*",
    },
    {
        "Sid": "BuildTables",
        "Effect": "Allow",
        "Action": "dynamodb:*",
        "Resource": f"arn:aws:dynamodb:*:{WORKLOAD_ACCOUNT}:table/build-*",
    },
)

# The S3/KMS chain: the role's own policy grants kms:Decrypt on the key; only the key policy is missing.
ARTIFACTS_READ: Final = policy(
    {
        "Sid": "ReadReleaseArtifacts",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": _bucket_and_objects(ARTIFACTS_BUCKET),
    },
    {"Sid": "DecryptReleaseArtifacts", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": ARTIFACTS_KEY_ARN},
)

# Cause 2, an explicit Deny: the guardrail whose Deny no Allow can override.
PROD_GUARDRAILS: Final = policy(
    {"Sid": "DenyProdDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::prod-*/*"}
)

BUILD_PIPELINE: Final = policy(
    {
        "Sid": "PublishArtifacts",
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:DeleteObject"],
        "Resource": "arn:aws:s3:::*-artifacts/*",
    },
    {"Sid": "ReadBuildInputs", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"},
    {
        "Sid": "BuildMetadataTables",
        "Effect": "Allow",
        "Action": "dynamodb:*",
        "Resource": f"arn:aws:dynamodb:*:{WORKLOAD_ACCOUNT}:table/build-*",
    },
)

# Cause 5, a resource-based policy: any plain-HTTP request is denied, whatever IAM allows.
ARTIFACTS_BUCKET_POLICY: Final = policy(
    {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": _bucket_and_objects(ARTIFACTS_BUCKET),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
)

KEY_ADMINS_ARN: Final = f"arn:aws:iam::{WORKLOAD_ACCOUNT}:role/KeyAdmins"
RELEASE_PUBLISHER: Final = "release-publisher"
RELEASE_PUBLISHER_ARN: Final = f"arn:aws:iam::{WORKLOAD_ACCOUNT}:role/{RELEASE_PUBLISHER}"

# The release publisher holds every right on the artifacts: its own policy and the key policy both name it.
PUBLISH_RELEASES: Final = policy(
    {
        "Sid": "PublishReleases",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
        "Resource": _bucket_and_objects(ARTIFACTS_BUCKET),
    },
    {
        "Sid": "EncryptReleases",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": ARTIFACTS_KEY_ARN,
    },
)

# The S3/KMS chain: the key policy names its administrators, the publisher and the build-bot user CI used to run
# as; it names neither build-bot-role, which CI runs as now, nor the account root (no delegation to IAM). So the
# role's own kms:Decrypt grant has no effect. iamwhy's read role must be named to read the key policy at all.
ARTIFACTS_KEY_POLICY: Final = policy(
    {
        "Sid": "KeyAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": KEY_ADMINS_ARN},
        "Action": [
            "kms:Create*",
            "kms:Describe*",
            "kms:Enable*",
            "kms:List*",
            "kms:Put*",
            "kms:Update*",
            "kms:Revoke*",
            "kms:Disable*",
            "kms:Get*",
            "kms:Delete*",
            "kms:TagResource",
            "kms:UntagResource",
            "kms:ScheduleKeyDeletion",
            "kms:CancelKeyDeletion",
        ],
        "Resource": "*",
    },
    {
        "Sid": "ReleasePublisherUse",
        "Effect": "Allow",
        "Principal": {"AWS": RELEASE_PUBLISHER_ARN},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*",
    },
    {
        "Sid": "BuildBotDecrypt",
        "Effect": "Allow",
        "Principal": {"AWS": BUILD_BOT_ARN},
        "Action": ["kms:Decrypt", "kms:DescribeKey"],
        "Resource": "*",
    },
    {
        "Sid": "IamWhyReadKeyPolicy",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{WORKLOAD_ACCOUNT}:role/{READ_ROLE}"},
        "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListGrants"],
        "Resource": "*",
    },
    policy_id="prod-artifacts-key",
)


def _account_root_trust(account: str) -> dict[str, Any]:
    return _trust(f"arn:aws:iam::{account}:root")


MANAGEMENT: Final = Account(
    id=MANAGEMENT_ACCOUNT,
    name="management",
    users=(
        User(
            BOT_USER,
            inline={
                "AssumeIamWhyRoles": policy(
                    {
                        "Sid": "AssumeIamWhyRoles",
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": [f"arn:aws:iam::*:role/{READ_ROLE}", f"arn:aws:iam::*:role/{ORG_ROLE}"],
                    }
                )
            },
            access_key=True,
        ),
    ),
    roles=(
        _read_role(),
        Role(
            ORG_ROLE,
            "iamwhy reads service and resource control policies along the organization",
            _trust(BOT_USER_ARN, external_id=EXTERNAL_ID),
            inline={"IamWhyOrgReadOnly": _read_policy(RoleKind.ORG)},
        ),
    ),
)

WORKLOAD: Final = Account(
    id=WORKLOAD_ACCOUNT,
    name="workloads",
    policies=(
        ManagedPolicy(BOUNDARY, "Permissions boundary for CI roles", DEV_BOUNDARY),
        ManagedPolicy("ArtifactsRead", "Read release artifacts and decrypt them", ARTIFACTS_READ),
        ManagedPolicy("ProdGuardrails", "Guardrails for production data", PROD_GUARDRAILS),
    ),
    users=(User(BUILD_BOT, inline={"S3Access": S3_ACCESS, "AssumeBuildRole": ASSUME_BUILD_ROLE}, access_key=True),),
    roles=(
        Role(
            BUILD_ROLE,
            "CI jobs",
            _trust(BUILD_BOT_ARN),
            inline={"BuildPipeline": BUILD_PIPELINE},
            managed=("ArtifactsRead", "ProdGuardrails"),
            boundary=BOUNDARY,
        ),
        Role("KeyAdmins", "Administers KMS keys", _account_root_trust(WORKLOAD_ACCOUNT)),
        Role(
            RELEASE_PUBLISHER,
            "Publishes releases",
            _account_root_trust(WORKLOAD_ACCOUNT),
            inline={"PublishReleases": PUBLISH_RELEASES},
        ),
        # Organizations creates this role in every account it creates.
        Role(
            "OrganizationAccountAccessRole",
            "Lets the management account administer this account",
            _account_root_trust(MANAGEMENT_ACCOUNT),
        ),
        _read_role(),
    ),
    buckets=(
        Bucket(ARTIFACTS_BUCKET, ARTIFACTS_BUCKET_POLICY, kms_key_arn=ARTIFACTS_KEY_ARN),
        Bucket(CACHE_BUCKET),
        Bucket(CONFIG_BUCKET),
    ),
    keys=(
        Key(
            ARTIFACTS_KEY_ID,
            "Encrypts release artifacts in prod-artifacts",
            ARTIFACTS_KEY_POLICY,
            aliases=("alias/prod-artifacts",),
        ),
    ),
)

WORLD: Final = World(
    organization=Organization(
        management=MANAGEMENT,
        members=((WORKLOAD, WORKLOADS_OU),),
        ous=(WORKLOADS_OU,),
        scps=(
            ServiceControlPolicy(
                "DenyOutsideUSRegions",
                "Deny every regional action outside the US regions",
                DENY_OUTSIDE_US_REGIONS,
                targets=(WORKLOADS_OU,),
            ),
        ),
    ),
    bot_account=MANAGEMENT_ACCOUNT,
    bot_user=BOT_USER,
)
