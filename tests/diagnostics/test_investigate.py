"""Live investigation scenarios against the moto server: the seven classic failures, and the harder cases.

Each test seeds an account with boto3 (through the moto server), hands LiveInvestigator the error text a
person would paste, and checks the whole answer: decision, confidence, every blocking layer with its policy,
Sid and condition, the fix with its owner and re-evaluation, what could not be read, and what was read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.investigate import InvestigationSettings, LiveInvestigator
from diagnostics.model import Confidence, Decision, DenialKind, Diagnosis, Layer, LayerStatus
from diagnostics.remediation import (
    OWNER_ACCOUNT,
    OWNER_BOUNDARY,
    OWNER_CALLER,
    OWNER_KEY,
    OWNER_ORG,
    OWNER_RESOURCE,
    OWNER_SSO,
)
from tests.conftest import BotCredentials
from tests.harness.world import (
    HUB_ACCOUNT,
    MANAGEMENT_ACCOUNT,
    OUTSIDE_ACCOUNT,
    TARGET_ACCOUNT,
    AwsWorld,
    Organization,
    allow,
    deny,
    policy,
    trust,
)

MakeAdapter = Callable[..., AwsAdapter]
T = TARGET_ACCOUNT
ORG_ROLE = f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/OrgRead"
OBJECT = "arn:aws:s3:::prod-artifacts/release.tar.gz"
ADMIN = policy(allow("*", "*", Sid="Admin"))
NO_IDENTITY = "because no identity-based policy allows the {action} action"


def message(principal: str, action: str, resource: str, reason: str = "") -> str:
    operation = action.split(":", 1)[1]
    tail = f" {reason.format(action=action)}" if reason else ""
    return (
        f"An error occurred (AccessDenied) when calling the {operation} operation: User: {principal} is not "
        f'authorized to perform: {action} on resource: "{resource}"{tail}'
    )


@pytest.fixture
def live(make_adapter: MakeAdapter) -> Callable[..., LiveInvestigator]:
    def build(**config: Any) -> LiveInvestigator:
        return LiveInvestigator(make_adapter(**config), settings=InvestigationSettings(authorization_delay=0.0))

    return build


async def one(investigator: LiveInvestigator, text: str) -> Diagnosis:
    investigation = await investigator.investigate(text)
    (diagnosis,) = investigation.diagnoses
    return diagnosis


def layers(diagnosis: Diagnosis) -> dict[Layer, LayerStatus]:
    return {v.layer: v.status for v in diagnosis.layers}


def assert_sound(diagnosis: Diagnosis) -> None:
    """The checklist marks exactly the blocking layers, and every fix alone makes the request allowed."""
    denying = (LayerStatus.EXPLICIT_DENY, LayerStatus.IMPLICIT_DENY)
    assert {(v.layer, v.subject) for v in diagnosis.layers if v.status in denying} == {
        (b.layer, b.subject) for b in diagnosis.blocked_by
    }
    assert diagnosis.fixes
    assert [(f.resolves, f.still_blocked_by) for f in diagnosis.fixes] == [(True, ())] * len(diagnosis.fixes)


def bucket_owned_by(world: AwsWorld, bucket: str, owner: str, *others: str) -> None:
    """Real S3 refuses GetBucketPolicy with ExpectedBucketOwner outside the owner's account; moto has one bucket
    namespace and does not check, so the other accounts' refusals are injected."""
    for account in {HUB_ACCOUNT, T, *others} - {owner}:
        world.moto.deny("s3", "GetBucketPolicy", account=account, match={"Bucket": bucket})


def writes(world: AwsWorld) -> list[str]:
    """Every call the sandbox saw that is not a read (iamwhy must never make one)."""
    reads = ("Get", "List", "Describe", "Simulate", "Decode", "Lookup", "Head", "AssumeRole")
    return [f"{c.service}:{c.operation}" for c in world.moto.seen() if not c.operation.startswith(reads)]


# ------------------------------------------------------------------------------------------------- the seven


async def test_no_policy_grants_the_action(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    aws_world.create_user(T, "build-bot", inline={"Deploy": policy(allow("s3:PutObject", OBJECT))})
    aws_world.create_bucket(T, "prod-artifacts")
    aws_world.forget_requests()
    text = message(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT, NO_IDENTITY)

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    ((blocker),) = diagnosis.blocked_by
    assert (blocker.layer, blocker.kind) == (Layer.IDENTITY, DenialKind.IMPLICIT)
    fix = diagnosis.fixes[0]
    assert (fix.owner, fix.attach_to, fix.resolves) == (OWNER_ACCOUNT, f"arn:aws:iam::{T}:user/build-bot", True)
    assert fix.policy is not None
    assert fix.policy["Statement"][0] == {
        "Sid": "AllowS3GetObject",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": OBJECT,
    }
    assert "policies read: Deploy" in diagnosis.explanation
    assert diagnosis.unreadable == ()
    assert layers(diagnosis)[Layer.SCP] is LayerStatus.NOT_APPLICABLE
    assert diagnosis.provenance.checked_as == f"IamWhyReadOnly in {T}"
    operations = {c.operation for c in aws_world.moto.seen(account=T)}
    assert {"GetUser", "ListUserPolicies", "GetUserPolicy", "ListGroupsForUser", "GetBucketPolicy"} <= operations
    # Every request AWS saw is counted, except the bot's one-off look at its own account (outside any diagnosis).
    sent = [c for c in aws_world.moto.seen() if c.operation != "GetCallerIdentity"]
    assert diagnosis.provenance.aws_reads == len(sent)
    assert writes(aws_world) == []


async def test_an_explicit_deny_overrides_the_allow(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    guardrail = aws_world.create_policy(
        T,
        "Guardrail",
        policy(
            allow("s3:*", "*", Sid="S3Work"),
            deny("s3:DeleteObject", "arn:aws:s3:::prod-*/*", Sid="DenyProdDeletes"),
        ),
    )
    aws_world.create_user(T, "build-bot", managed=[guardrail])
    aws_world.create_bucket(T, "prod-artifacts")
    text = message(
        f"arn:aws:iam::{T}:user/build-bot",
        "s3:DeleteObject",
        OBJECT,
        "with an explicit deny in an identity-based policy",
    )

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.EXPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.layer, blocker.policy, blocker.policy_arn, blocker.sid) == (
        Layer.IDENTITY,
        "Guardrail",
        guardrail,
        "DenyProdDeletes",
    )
    fix = diagnosis.fixes[0]
    assert fix.owner == OWNER_ACCOUNT
    assert "adding an Allow cannot help" in fix.summary
    assert "DenyProdDeletes" in fix.summary
    # Verified by re-evaluating without the denying statement: the remaining Allow then carries the request.
    assert fix.resolves is True


async def seed_org(world: AwsWorld, *, rcp: dict[str, Any] | None = None) -> tuple[Organization, str]:
    """An organization: Root › Workloads › workload account, FullAWSAccess everywhere, the US-only guardrail on
    the OU; returns it and the workload account id."""
    org = world.create_organization()
    ou = world.create_ou(org, "Workloads")
    account = world.create_member_account(org, "workload", parent_id=ou)
    world.create_scp(
        org,
        "DenyOutsideUSRegions",
        policy(deny("*", "*", Sid="DenyOutsideUS", Condition={"StringNotLike": {"aws:RequestedRegion": ["us-*"]}})),
        targets=[ou],
    )
    if rcp is not None:
        client = world.client("organizations", MANAGEMENT_ACCOUNT)
        client.enable_policy_type(RootId=org.root_id, PolicyType="RESOURCE_CONTROL_POLICY")
        created = client.create_policy(
            Name="OrgOnlyAccess", Description="rcp", Type="RESOURCE_CONTROL_POLICY", Content=json.dumps(rcp)
        )
        client.attach_policy(PolicyId=created["Policy"]["PolicySummary"]["Id"], TargetId=ou)
    return org, account


async def test_an_scp_region_guardrail(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    org, account = await seed_org(aws_world)
    aws_world.create_user(account, "deployer", inline={"Admin": ADMIN})
    queue = f"arn:aws:sqs:eu-west-1:{account}:jobs"
    aws_world.client("sqs", account, "eu-west-1").create_queue(QueueName="jobs")
    text = message(
        f"arn:aws:iam::{account}:user/deployer",
        "sqs:SendMessage",
        queue,
        "with an explicit deny in a service control policy",
    )

    diagnosis = await one(live(allowed_accounts=frozenset({account}), org_role_arn=ORG_ROLE), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.EXPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.layer, blocker.kind, blocker.policy, blocker.sid) == (
        Layer.SCP,
        DenialKind.EXPLICIT,
        "DenyOutsideUSRegions",
        "DenyOutsideUS",
    )
    (condition,) = blocker.conditions
    assert (condition.key, condition.actual) == ("aws:RequestedRegion", "eu-west-1")
    fix = diagnosis.fixes[0]
    assert fix.owner == OWNER_ORG
    assert "No IAM policy" in fix.summary
    assert fix.resolves is True
    assert diagnosis.fixes[1].owner == OWNER_CALLER
    assert diagnosis.fixes[1].resolves is True
    scp = next(v for v in diagnosis.layers if v.layer is Layer.SCP)
    assert scp.status is LayerStatus.EXPLICIT_DENY
    assert org.ous["Workloads"] in (blocker.detail or "")


async def test_an_scp_denial_without_a_region_is_explained_by_what_aws_reported(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    _, account = await seed_org(aws_world)
    aws_world.create_user(account, "deployer", inline={"Admin": ADMIN})
    aws_world.create_bucket(account, "prod-artifacts")
    # The bucket's location is what would tell the region; here the read role may not ask for it.
    aws_world.moto.deny("s3", "GetBucketLocation")
    text = message(
        f"arn:aws:iam::{account}:user/deployer",
        "s3:GetObject",
        OBJECT,
        "with an explicit deny in a service control policy",
    )

    diagnosis = await one(live(allowed_accounts=frozenset({account}), org_role_arn=ORG_ROLE), text)

    # The reason phrase settles the region: the answer is as sure as if it had been read.
    assert (diagnosis.decision, diagnosis.confidence) == (Decision.EXPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.layer, blocker.sid) == (Layer.SCP, "DenyOutsideUS")
    (condition,) = blocker.conditions
    assert (condition.actual, condition.unknown) == (None, True)
    # S3 object ARNs carry no region: AWS's denial is what says the region was outside the US.
    assert 'aws:RequestedRegion cannot have been like "us-*"' in diagnosis.explanation
    assert any("s3:GetBucketLocation" in n for n in diagnosis.notes)
    assert diagnosis.unknown_context_keys == ()


async def test_a_permissions_boundary_caps_the_role(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    boundary = aws_world.create_policy(T, "DevBoundary", policy(allow("s3:ListBucket", "*", Sid="ListOnly")))
    role = aws_world.create_role(T, "build-bot-role", inline={"Admin": ADMIN}, boundary=boundary)
    aws_world.create_bucket(T, "prod-artifacts")
    text = message(
        f"arn:aws:sts::{T}:assumed-role/build-bot-role/ci-42",
        "s3:GetObject",
        OBJECT,
        "because no permissions boundary allows the s3:GetObject action",
    )

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.layer, blocker.policy, blocker.policy_arn) == (Layer.BOUNDARY, "DevBoundary", boundary)
    fix = diagnosis.fixes[0]
    assert (fix.owner, fix.attach_to, fix.resolves) == (OWNER_BOUNDARY, boundary, True)
    statuses = layers(diagnosis)
    assert statuses[Layer.IDENTITY] is LayerStatus.ALLOWS
    assert statuses[Layer.SESSION] is LayerStatus.UNKNOWN
    # The simulator is asked about the role, never the session.
    (simulated,) = aws_world.moto.seen("iam", "SimulatePrincipalPolicy")
    assert simulated.params["PolicySourceArn"] == role


async def test_a_bucket_policy_requiring_tls(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    aws_world.create_user(
        T, "build-bot", inline={"Read": policy(allow("s3:GetObject", "arn:aws:s3:::prod-artifacts/*"))}
    )
    aws_world.create_bucket(
        T,
        "prod-artifacts",
        bucket_policy=policy(
            deny(
                "s3:*",
                ["arn:aws:s3:::prod-artifacts", "arn:aws:s3:::prod-artifacts/*"],
                Sid="DenyInsecureTransport",
                Principal="*",
                Condition={"Bool": {"aws:SecureTransport": "false"}},
            )
        ),
    )
    text = message(
        f"arn:aws:iam::{T}:user/build-bot",
        "s3:GetObject",
        OBJECT,
        "with an explicit deny in a resource-based policy",
    )

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.EXPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.layer, blocker.sid) == (Layer.RESOURCE, "DenyInsecureTransport")
    assert [c.key for c in blocker.conditions] == ["aws:SecureTransport"]
    assert "aws:SecureTransport cannot have been true" in diagnosis.explanation
    meet, change = diagnosis.fixes[:2]
    assert meet.owner == OWNER_CALLER
    assert "HTTPS" in meet.summary
    assert meet.resolves is True
    assert change.owner == OWNER_RESOURCE
    assert change.resolves is True


async def test_an_mfa_condition_is_not_met(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    aws_world.create_user(
        T,
        "build-bot",
        inline={
            "S3Access": policy(
                allow(
                    "s3:GetObject",
                    "arn:aws:s3:::prod-artifacts/*",
                    Sid="ReadWithMfa",
                    Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                )
            )
        },
    )
    aws_world.create_bucket(T, "prod-artifacts")
    text = message(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT, NO_IDENTITY)

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.policy, blocker.sid, blocker.unmet) == ("S3Access", "ReadWithMfa", "condition")
    (condition,) = blocker.conditions
    assert (condition.key, condition.values) == ("aws:MultiFactorAuthPresent", ("true",))
    assert "aws:MultiFactorAuthPresent cannot have been true" in diagnosis.explanation
    fix = diagnosis.fixes[0]
    assert "get-session-token" in fix.summary
    assert fix.resolves is True


async def test_an_mfa_condition_with_a_long_term_key_in_the_paste(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    aws_world.create_user(
        T, "build-bot", inline={"S3Access": policy(allow("s3:GetObject", "*", Sid="ReadWithMfa", Condition=mfa))}
    )
    aws_world.create_bucket(T, "prod-artifacts")
    text = "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n" + message(
        f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT
    )

    diagnosis = await one(live(), text)

    # The long-term key says there was no MFA: nothing is left to deduce, even without AWS's reason phrase.
    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (condition,) = diagnosis.blocked_by[0].conditions
    assert (condition.actual, condition.unknown) == (None, False)
    assert "cannot have been" not in diagnosis.explanation


def seed_key_without_the_role(world: AwsWorld) -> tuple[str, str]:
    """A role whose own policy grants kms:Decrypt on a key whose key policy never mentions it (nor the account)."""
    admin = f"arn:aws:iam::{T}:role/key-admin"
    key = world.create_kms_key(T, key_policy=policy(allow("kms:*", "*", Sid="KeyAdmins", Principal={"AWS": admin})))
    role = world.create_role(
        T,
        "build-bot-role",
        inline={
            "ArtifactsRead": policy(
                allow("s3:GetObject", "arn:aws:s3:::prod-artifacts/*", Sid="ReadArtifacts"),
                allow("kms:Decrypt", key, Sid="DecryptArtifacts"),
            )
        },
    )
    return role, key


async def test_a_key_policy_that_never_mentions_the_role(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    role, key = seed_key_without_the_role(aws_world)
    text = message(
        f"arn:aws:sts::{T}:assumed-role/build-bot-role/ci-42",
        "kms:Decrypt",
        key,
        "because no resource-based policy allows the kms:Decrypt action",
    )

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.layer, blocker.kind) == (Layer.RESOURCE, DenialKind.IMPLICIT)
    # The explanation says the key policy does not delegate to IAM; no note repeats it.
    assert "does not delegate to IAM" in diagnosis.explanation
    assert "does not delegate to IAM" not in " ".join(diagnosis.notes)
    fix = diagnosis.fixes[0]
    assert (fix.owner, fix.attach_to, fix.resolves) == (OWNER_KEY, key, True)
    assert fix.policy is not None
    assert fix.policy["Principal"] == {"AWS": role}
    assert fix.policy["Action"] == "kms:Decrypt"


async def test_the_s3_to_kms_chain(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    role, key = seed_key_without_the_role(aws_world)
    aws_world.create_bucket(T, "prod-artifacts")
    aws_world.client("s3", T).put_bucket_encryption(
        Bucket="prod-artifacts",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
        },
    )
    # A generic S3 denial: it names neither KMS nor a reason.
    text = message(f"arn:aws:sts::{T}:assumed-role/build-bot-role/ci-42", "s3:GetObject", OBJECT)

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.layer, blocker.kind) == (Layer.RESOURCE, DenialKind.IMPLICIT)
    assert blocker.subject == f"KMS key {key.rsplit('/', 1)[-1]}"
    assert "S3 also asks KMS for kms:Decrypt" in diagnosis.explanation
    fix = diagnosis.fixes[0]
    assert (fix.owner, fix.attach_to, fix.resolves) == (OWNER_KEY, key, True)
    kms_line = [v for v in diagnosis.layers if v.subject]
    assert [(v.layer, v.status) for v in kms_line] == [(Layer.RESOURCE, LayerStatus.IMPLICIT_DENY)]
    assert any(c.operation == "GetKeyPolicy" for c in aws_world.moto.seen("kms"))
    assert role in json.dumps(fix.policy)


# ------------------------------------------------------------------------------------------------- harder cases


async def test_a_cross_account_bucket_needs_both_sides(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    owner = MANAGEMENT_ACCOUNT
    aws_world.create_user(
        T, "build-bot", inline={"Read": policy(allow("s3:GetObject", "arn:aws:s3:::prod-artifacts/*"))}
    )
    aws_world.create_bucket(owner, "prod-artifacts", bucket_policy=policy(allow("s3:*", "*", Principal={"AWS": owner})))
    bucket_owned_by(aws_world, "prod-artifacts", owner)
    text = message(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT)

    diagnosis = await one(live(allowed_accounts=frozenset({T, owner})), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert blocker.layer is Layer.RESOURCE
    fix = diagnosis.fixes[0]
    assert (fix.owner, fix.attach_to, fix.resolves) == (OWNER_RESOURCE, "arn:aws:s3:::prod-artifacts", True)
    assert "both sides" in fix.summary
    assert any("different accounts" in n for n in diagnosis.notes)
    assert "IamWhyReadOnly in" in (diagnosis.provenance.checked_as or "")
    assert owner in (diagnosis.provenance.checked_as or "")


async def test_an_rcp_keeps_outsiders_out(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    rcp = policy(
        deny(
            "s3:*",
            "*",
            Sid="OrgOnly",
            Principal="*",
            Condition={"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-notthisone"}},
        )
    )
    _, account = await seed_org(aws_world, rcp=rcp)
    outsider = f"arn:aws:iam::{OUTSIDE_ACCOUNT}:user/partner"
    aws_world.create_user(OUTSIDE_ACCOUNT, "partner", inline={"Read": policy(allow("s3:GetObject", "*"))})
    aws_world.create_bucket(
        account, "prod-artifacts", bucket_policy=policy(allow("s3:GetObject", "*", Principal={"AWS": outsider}))
    )
    bucket_owned_by(aws_world, "prod-artifacts", account, OUTSIDE_ACCOUNT)
    text = message(outsider, "s3:GetObject", OBJECT, "with an explicit deny in a resource control policy")

    diagnosis = await one(live(allowed_accounts=frozenset({account, OUTSIDE_ACCOUNT}), org_role_arn=ORG_ROLE), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.EXPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.layer, blocker.policy, blocker.sid) == (Layer.RCP, "OrgOnlyAccess", "OrgOnly")
    assert diagnosis.fixes[0].owner == OWNER_ORG
    assert diagnosis.fixes[0].resolves is True


async def test_a_session_policy_cannot_be_read(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    aws_world.create_role(T, "build-bot-role", inline={"Admin": ADMIN})
    aws_world.create_bucket(T, "prod-artifacts")
    text = message(
        f"arn:aws:sts::{T}:assumed-role/build-bot-role/ci-42",
        "s3:GetObject",
        OBJECT,
        "because no session policy allows the s3:GetObject action",
    )

    diagnosis = await one(live(), text)

    # Everything readable allows it: never "allowed", but unknown, naming the session policy.
    assert (diagnosis.decision, diagnosis.confidence) == (Decision.UNKNOWN, Confidence.UNKNOWN)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.layer, blocker.kind) == (Layer.SESSION, DenialKind.IMPLICIT)
    assert "session policies are not readable after the session was created" in diagnosis.explanation
    assert layers(diagnosis)[Layer.SESSION] is LayerStatus.UNKNOWN
    assert all(f.resolves is None for f in diagnosis.fixes)


async def test_a_trust_policy_that_does_not_trust_the_caller(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    aws_world.create_user(T, "alice", inline={"Assume": policy(allow("sts:AssumeRole", "*"))})
    target = aws_world.create_role(T, "deployer", trust_policy=trust(f"arn:aws:iam::{T}:user/bob"))
    text = f"User: arn:aws:iam::{T}:user/alice is not authorized to perform: sts:AssumeRole on resource: {target}"

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert blocker.layer is Layer.TRUST
    fix = diagnosis.fixes[0]
    assert (fix.attach_to, fix.resolves) == (target, True)
    assert fix.policy is not None
    assert fix.policy["Principal"] == {"AWS": f"arn:aws:iam::{T}:user/alice"}


async def test_assuming_a_user_names_the_call_as_the_cause(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    aws_world.create_user(T, "alice", inline={"Assume": policy(allow("sts:AssumeRole", "*"))})
    target = f"arn:aws:iam::{T}:user/alice"
    text = f"User: {target} is not authorized to perform: sts:AssumeRole on resource: {target}"

    diagnosis = await one(live(), text)

    assert diagnosis.explanation == (
        f"The call asked sts:AssumeRole to assume IAM user alice ({target}), which is not a role: only IAM roles can "
        "be assumed, and AWS refuses anything else with this same AccessDenied, whatever the policies say."
    )
    (fix,) = diagnosis.fixes
    assert fix.owner == "caller"
    assert fix.summary.startswith("Assume a role, not IAM user alice")
    assert not any("get-role" in command for command in diagnosis.commands)


async def test_a_vpc_endpoint_condition(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    aws_world.create_user(T, "build-bot", inline={"Read": policy(allow("s3:GetObject", "*"))})
    aws_world.create_bucket(
        T,
        "prod-artifacts",
        bucket_policy=policy(
            deny(
                "s3:GetObject",
                "arn:aws:s3:::prod-artifacts/*",
                Sid="OnlyThroughTheEndpoint",
                Principal="*",
                Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
            )
        ),
    )
    text = message(
        f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT, "with an explicit deny in a resource-based policy"
    )

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.EXPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    assert [b.sid for b in diagnosis.blocked_by] == ["OnlyThroughTheEndpoint"]
    assert 'aws:SourceVpce cannot have been "vpce-1a2b3c4d"' in diagnosis.explanation
    meet = diagnosis.fixes[0]
    assert meet.owner == OWNER_CALLER
    assert "VPC endpoint" in meet.summary
    assert meet.resolves is True


async def test_several_layers_block_at_once(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    _, account = await seed_org(aws_world)
    aws_world.create_user(
        account,
        "deployer",
        inline={"Work": policy(allow("s3:*", "*"), deny("s3:DeleteObject", "*", Sid="NoDeletes"))},
    )
    aws_world.create_bucket(
        account,
        "prod-artifacts",
        bucket_policy=policy(deny("s3:DeleteObject", "*", Sid="KeepReleases", Principal="*")),
    )
    text = message(
        f"arn:aws:iam::{account}:user/deployer",
        "s3:DeleteObject",
        OBJECT,
        "with an explicit deny in an identity-based policy",
    )

    diagnosis = await one(live(allowed_accounts=frozenset({account}), org_role_arn=ORG_ROLE), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.EXPLICIT_DENY, Confidence.EVALUATED)
    assert [(b.layer, b.kind, b.sid) for b in diagnosis.blocked_by] == [
        (Layer.IDENTITY, DenialKind.EXPLICIT, "NoDeletes"),
        (Layer.RESOURCE, DenialKind.EXPLICIT, "KeepReleases"),
    ]
    assert layers(diagnosis)[Layer.IDENTITY] is LayerStatus.EXPLICIT_DENY
    assert layers(diagnosis)[Layer.RESOURCE] is LayerStatus.EXPLICIT_DENY
    assert "Several layers block it" in diagnosis.explanation
    identity_fix = next(f for f in diagnosis.fixes if f.attach_to == f"arn:aws:iam::{account}:user/deployer")
    assert (identity_fix.resolves, identity_fix.still_blocked_by) == (False, (Layer.RESOURCE,))
    bucket_fix = next(f for f in diagnosis.fixes if f.attach_to == "arn:aws:s3:::prod-artifacts")
    assert (bucket_fix.resolves, bucket_fix.still_blocked_by) == (False, (Layer.IDENTITY,))
    assert "No single change is enough: applied together, the fixes above make the request allowed." in diagnosis.notes


async def test_the_bots_role_lacking_a_read_permission(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    _, account = await seed_org(aws_world)
    aws_world.create_user(account, "deployer", inline={"Deploy": policy(allow("s3:PutObject", "*"))})
    aws_world.create_bucket(account, "prod-artifacts")
    aws_world.moto.deny("organizations", "ListPoliciesForTarget", account=MANAGEMENT_ACCOUNT)
    aws_world.moto.simulate(f"arn:aws:iam::{account}:user/deployer", "s3:GetObject", "implicitDeny")
    text = message(f"arn:aws:iam::{account}:user/deployer", "s3:GetObject", OBJECT, NO_IDENTITY)

    diagnosis = await one(live(allowed_accounts=frozenset({account}), org_role_arn=ORG_ROLE), text)

    assert diagnosis.decision is Decision.IMPLICIT_DENY
    # The SCPs could not be read, but IAM's simulator (which sees them) agrees.
    assert diagnosis.confidence is Confidence.SIMULATED
    why = "the organizations read role lacks organizations:ListPoliciesForTarget"
    # RCPs are listed along the same chain, so they could not be read either.
    assert [(u.layer, u.why) for u in diagnosis.unreadable] == [(Layer.SCP, why), (Layer.RCP, why)]
    assert layers(diagnosis)[Layer.SCP] is LayerStatus.UNREADABLE
    assert any("organizations:ListPoliciesForTarget" in n for n in diagnosis.notes)
    assert "IAM's policy simulator, which reads them, also denies the request" in diagnosis.explanation


async def test_without_the_simulator_an_unreadable_layer_leaves_the_confidence_unknown(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    aws_world.create_user(T, "build-bot", inline={"Deploy": policy(allow("s3:PutObject", "*"))})
    aws_world.create_bucket(T, "prod-artifacts")
    text = message(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT, NO_IDENTITY)
    aws_world.moto.deny("s3", "GetBucketPolicy")
    aws_world.moto.server_error("iam", "SimulatePrincipalPolicy")

    diagnosis = await one(live(allowed_accounts=frozenset({T})), text)

    assert diagnosis.decision is Decision.IMPLICIT_DENY
    assert diagnosis.confidence is Confidence.UNKNOWN
    (unreadable,) = diagnosis.unreadable
    assert unreadable.layer is Layer.RESOURCE
    assert "could not find the account that owns bucket prod-artifacts" in unreadable.why
    # The unread bucket policy did not allow it (AWS denied): the grant is judged with that.
    assert diagnosis.fixes[0].resolves is True
    assert any(n.startswith("No cross-check with IAM's policy simulator") for n in diagnosis.notes)


async def test_an_account_outside_the_allow_list(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    text = message(f"arn:aws:iam::{OUTSIDE_ACCOUNT}:user/build-bot", "s3:GetObject", OBJECT, NO_IDENTITY)
    aws_world.forget_requests()

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.REPORTED)
    assert any("IAMWHY_ACCOUNTS" in w for w in diagnosis.warnings)
    assert diagnosis.provenance.aws_reads == 0
    assert aws_world.moto.seen(account=OUTSIDE_ACCOUNT) == []


async def test_a_read_role_that_cannot_be_assumed(live: Callable[..., LiveInvestigator], aws_world: AwsWorld) -> None:
    aws_world.moto.fault("sts", "AssumeRole", "AccessDenied", "not authorized to perform: sts:AssumeRole")
    text = message(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT, NO_IDENTITY)

    diagnosis = await one(live(), text)

    assert diagnosis.confidence is Confidence.REPORTED
    (warning,) = [w for w in diagnosis.warnings if "Answered from the message alone" in w]
    assert f"arn:aws:iam::{T}:role/IamWhyReadOnly" in warning
    # Every read waited on that one AssumeRole: it is the only request that went out.
    assert aws_world.moto.seen("sts", "AssumeRole") != []
    sent = [c for c in aws_world.moto.seen() if c.operation != "GetCallerIdentity"]
    assert diagnosis.provenance.aws_reads == len(sent)


async def test_an_identity_center_role_is_fixed_in_its_permission_set(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    role = "AWSReservedSSO_DataEngineer_0123456789abcdef"
    aws_world.create_role(
        T, role, path="/aws-reserved/sso.amazonaws.com/", inline={"AwsSSOInlinePolicy": policy(allow("s3:ListBucket"))}
    )
    aws_world.create_bucket(T, "prod-artifacts")
    text = message(f"arn:aws:sts::{T}:assumed-role/{role}/alice@example.com", "s3:GetObject", OBJECT, NO_IDENTITY)

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    fix = diagnosis.fixes[0]
    assert (fix.owner, fix.attach_to, fix.resolves) == (OWNER_SSO, None, True)
    assert "permission set DataEngineer" in fix.summary
    assert any("IAM Identity Center overwrites changes made to the role" in n for n in diagnosis.notes)
    (simulated,) = aws_world.moto.seen("iam", "SimulatePrincipalPolicy")
    assert simulated.params["PolicySourceArn"] == f"arn:aws:iam::{T}:role/aws-reserved/sso.amazonaws.com/{role}"


async def test_a_role_that_cannot_be_assumed_in_another_account_leaves_only_that_side_unread(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    owner = MANAGEMENT_ACCOUNT
    aws_world.create_user(T, "build-bot", inline={"Read": policy(allow("s3:GetObject", "arn:aws:s3:::prod-*/*"))})
    aws_world.create_bucket(owner, "prod-artifacts")
    bucket_owned_by(aws_world, "prod-artifacts", owner)
    aws_world.moto.fault(
        "sts",
        "AssumeRole",
        "AccessDenied",
        "not trusted",
        match={"RoleArn": f"arn:aws:iam::{owner}:role/IamWhyReadOnly"},
    )
    # Without the bucket policy, IAM's simulator sees only the caller's side, which allows it.
    aws_world.moto.simulate(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", "allowed")
    text = message(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT)

    diagnosis = await one(live(allowed_accounts=frozenset({T, owner})), text)

    # The caller's side was read; the bucket's was not: never "allowed", and no fallback to the message either.
    assert (diagnosis.decision, diagnosis.confidence) == (Decision.UNKNOWN, Confidence.UNKNOWN)
    assert layers(diagnosis)[Layer.IDENTITY] is LayerStatus.ALLOWS
    assert layers(diagnosis)[Layer.RESOURCE] is LayerStatus.UNREADABLE
    assert "the resource's policy (could not find the account that owns bucket prod-artifacts" in diagnosis.explanation
    assert not any("Answered from the message alone" in w for w in diagnosis.warnings)


# ------------------------------------------------------------------------------------------------- AWS's own record


async def test_an_authorization_record_is_verified_evidence(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    guardrail = aws_world.create_policy(T, "Guardrail", policy(deny("s3:DeleteObject", "*", Sid="DenyProdDeletes")))
    aws_world.create_user(T, "build-bot", managed=[guardrail], inline={"Work": policy(allow("s3:*", "*"))})
    aws_world.create_bucket(T, "prod-artifacts")
    details = {
        "requestContext": {"aws:PrincipalArn": f"arn:aws:iam::{T}:user/build-bot", "aws:SecureTransport": True},
        "evaluations": [
            {
                "action": "s3:DeleteObject",
                "resource": OBJECT,
                "evaluatedEffect": "EXPLICIT_DENY",
                "checks": [
                    {
                        "checkType": "PRINCIPAL",
                        "evaluatedEffect": "EXPLICIT_DENY",
                        "matchedPolicies": [
                            {
                                "uri": "policy/identity/Guardrail",
                                "matchedStatements": [{"sid": "DenyProdDeletes", "evaluatedEffect": "DENY"}],
                            }
                        ],
                    }
                ],
            }
        ],
        "policies": [
            {
                "type": "IDENTITY_BASED_POLICY",
                "inline": False,
                "uri": "policy/identity/Guardrail",
                "policySource": {"policyArn": guardrail},
            }
        ],
    }
    aws_world.toolbox.add_details("a1b2c3d4e5f6", details, not_found_for=1)
    aws_world.toolbox.add_policy(
        "a1b2c3d4e5f6", "policy/identity/Guardrail", policy(deny("s3:DeleteObject", "*", Sid="DenyProdDeletes"))
    )
    text = (
        message(
            f"arn:aws:iam::{T}:user/build-bot",
            "s3:DeleteObject",
            OBJECT,
            "with an explicit deny in an identity-based policy",
        )
        + ". Go to https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/authorization-details/"
        "a1b2c3d4e5f6 for complete details, or call the GetRequestAuthorizationDetails API with the following "
        "authorization id: a1b2c3d4e5f6"
    )

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.EXPLICIT_DENY, Confidence.VERIFIED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.layer, blocker.policy, blocker.policy_arn, blocker.sid) == (
        Layer.IDENTITY,
        "Guardrail",
        guardrail,
        "DenyProdDeletes",
    )
    # AWS writes the record asynchronously: the first ask found nothing, the second found it.
    assert len(aws_world.toolbox.calls_of("GetRequestAuthorizationDetails")) == 2
    assert diagnosis.fixes[0].resolves is True
    assert diagnosis.explanation.startswith("From IAM Access Troubleshooter's record of the denial:")


async def test_an_encoded_message_is_decoded_into_verified_evidence(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    aws_world.create_role(
        T,
        "ops",
        inline={"Ops": policy(allow("ec2:*", "*"), deny("ec2:RunInstances", "*", Sid="NoLargeInstances"))},
    )
    decoded = {
        "allowed": False,
        "explicitDeny": True,
        "matchedStatements": {"items": [{"statementId": "NoLargeInstances", "effect": "DENY"}]},
        "context": {
            "principal": {"arn": f"arn:aws:sts::{T}:assumed-role/ops/alice"},
            "action": "RunInstances",
            "resource": f"arn:aws:ec2:us-east-1:{T}:instance/*",
            "conditions": {"items": [{"key": "aws:Region", "values": {"items": [{"value": "us-east-1"}]}}]},
        },
    }
    # Real encoded messages are opaque URL-safe text; the sandbox answers this one with the decoding above.
    encoded = "4Gx_k-9QwLx2" + "Zq7V_tR8mN3pK-5jH2bY9cW" * 8
    aws_world.moto.set_decoded_message(encoded, decoded)
    text = (
        f"An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized "
        f"to perform this operation. User: arn:aws:sts::{T}:assumed-role/ops/alice is not authorized to perform: "
        f"ec2:RunInstances on resource: arn:aws:ec2:us-east-1:{T}:instance/* with an explicit deny in an "
        f"identity-based policy. Encoded authorization failure message: {encoded}"
    )

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.EXPLICIT_DENY, Confidence.VERIFIED)
    assert_sound(diagnosis)
    (blocker,) = diagnosis.blocked_by
    assert (blocker.layer, blocker.policy, blocker.sid) == (Layer.IDENTITY, "Ops", "NoLargeInstances")
    assert aws_world.moto.seen("sts", "DecodeAuthorizationMessage")[0].account == T


# ------------------------------------------------------------------------------------------------- context


async def test_cloudtrail_supplies_the_request_context(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld
) -> None:
    aws_world.create_user(
        T,
        "build-bot",
        inline={
            "Office": policy(
                allow(
                    "iam:ListRoles", "*", Sid="FromTheOffice", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
                )
            )
        },
    )
    record = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{T}:user/build-bot", "accountId": T},
        "eventSource": "iam.amazonaws.com",
        "eventName": "ListRoles",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "errorCode": "AccessDenied",
        "errorMessage": f"User: arn:aws:iam::{T}:user/build-bot is not authorized to perform: iam:ListRoles",
    }
    aws_world.moto.add_event(
        T, "ListRoles", event_time=datetime.now(UTC) - timedelta(minutes=5), cloudtrail_event=record
    )
    text = f"User: arn:aws:iam::{T}:user/build-bot is not authorized to perform: iam:ListRoles"

    diagnosis = await one(live(), text)

    assert (diagnosis.decision, diagnosis.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert_sound(diagnosis)
    (condition,) = diagnosis.blocked_by[0].conditions
    assert (condition.key, condition.actual) == ("aws:SourceIp", "203.0.113.9")
    assert any("CloudTrail recorded this denial" in n for n in diagnosis.notes)


async def test_several_denials_in_one_paste_are_diagnosed_each(
    live: Callable[..., LiveInvestigator], aws_world: AwsWorld, aws_env: BotCredentials
) -> None:
    aws_world.create_user(T, "build-bot")
    aws_world.create_bucket(T, "prod-artifacts")
    first = message(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", OBJECT, NO_IDENTITY)
    second = message(f"arn:aws:iam::{T}:user/build-bot", "s3:PutObject", OBJECT, NO_IDENTITY)

    investigation = await live().investigate(f"{first}\n\n{second}")

    assert [d.request.action for d in investigation.diagnoses] == ["s3:GetObject", "s3:PutObject"]
    assert all(d.confidence is Confidence.EVALUATED for d in investigation.diagnoses)
    assert aws_env.account == HUB_ACCOUNT
    scopes = [r for r in aws_world.moto.seen() if r.operation == "GetUser"]
    # The two diagnoses share the adapter's in-flight calls and cache: the user is read once.
    assert len(scopes) == 1
