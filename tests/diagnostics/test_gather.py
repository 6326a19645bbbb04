"""Gathering against the moto server: what is read, when, and how a failed read becomes an unreadable layer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from diagnostics.aws import AwsAdapter
from diagnostics.gather import GatherOptions, gather
from diagnostics.model import DeniedRequest, Layer
from diagnostics.parse import scan
from diagnostics.reader import NotFound, RoleKind
from diagnostics.snapshot import Snapshot
from tests.harness.world import HUB_ACCOUNT, MANAGEMENT_ACCOUNT, TARGET_ACCOUNT, AwsWorld, allow, policy

MakeAdapter = Callable[..., AwsAdapter]
T = TARGET_ACCOUNT
ORG_ROLE = f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/OrgRead"


async def gathered(make_adapter: MakeAdapter, text: str, **options: Any) -> Snapshot:
    config = options.pop("config", {})
    adapter = make_adapter(**config)
    (request,) = scan(text).denials
    allowed = adapter.config.allowed_accounts
    return await gather(
        adapter.scope(),
        request,
        GatherOptions(HUB_ACCOUNT, allowed, authorization_delay=0.0, **options),
    )


def denial(principal: str, action: str, resource: str) -> str:
    return f"User: {principal} is not authorized to perform: {action} on resource: {resource}"


async def test_a_user_is_read_with_its_groups_boundary_and_tags(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    managed = aws_world.create_policy(T, "Shared", policy(allow("logs:*")))
    aws_world.create_group(T, "ci", inline={"GroupInline": policy(allow("ec2:Describe*"))}, managed=[managed])
    aws_world.create_user(
        T, "build-bot", inline={"Own": policy(allow("s3:PutObject"))}, groups=["ci"], tags={"team": "ci"}
    )

    found = await gathered(make_adapter, denial(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", "arn:aws:s3:::b/k"))

    assert sorted(p.name for p in found.policies.identity) == ["GroupInline (group ci)", "Own", "Shared"]
    assert found.context["aws:PrincipalTag/team"] == "ci"
    assert found.context["aws:username"] == "build-bot"
    assert found.context["aws:PrincipalType"] == "User"
    assert "aws:principaltag/" in found.complete_prefixes
    # Not in an organization: no SCP, and nothing unreadable about it even without an organizations role.
    assert found.policies.scp_levels == ()
    assert found.in_organization is False
    assert found.unreadable_layers() == {Layer.RESOURCE}
    assert "aws:principalorgid" in found.absent_keys


class HeldPolicyLists:
    """A scripted reader whose user policy lists answer only once the boundary's document has been asked for, or once
    nothing else is left to run: it records the order of questions and answers."""

    HELD = frozenset({"ListUserPolicies", "ListAttachedUserPolicies", "ListGroupsForUser"})

    def __init__(self, answers: Mapping[str, Mapping[str, Any]]) -> None:
        self.answers = answers
        self.events: list[tuple[str, str]] = []

    async def call(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any] | None = None,
        *,
        account: str | None = None,
        role: RoleKind = RoleKind.READ,
        region: str | None = None,
        paginate: bool = False,
    ) -> Mapping[str, Any]:
        self.events.append(("asked", operation))
        if operation in self.HELD:
            for _ in range(200):
                if ("asked", "GetPolicyVersion") in self.events:
                    break
                await asyncio.sleep(0)
        answer = self.answers.get(operation)
        self.events.append(("answered", operation))
        if answer is None:
            raise NotFound(f"{operation}: none", service=service, operation=operation, account=account)
        return answer


async def test_a_permissions_boundary_is_read_without_waiting_for_the_identity_policies() -> None:
    boundary = f"arn:aws:iam::{T}:policy/DevBoundary"
    reader = HeldPolicyLists(
        {
            "GetUser": {"User": {"UserName": "build-bot", "PermissionsBoundary": {"PermissionsBoundaryArn": boundary}}},
            "GetPolicy": {"Policy": {"PolicyName": "DevBoundary", "DefaultVersionId": "v1"}},
            "GetPolicyVersion": {"PolicyVersion": {"Document": policy(allow("s3:*"))}},
            "ListUserPolicies": {"PolicyNames": []},
            "ListAttachedUserPolicies": {"AttachedPolicies": []},
            "ListGroupsForUser": {"Groups": []},
        }
    )
    (request,) = scan(denial(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", "arn:aws:s3:::b/k")).denials

    found = await gather(reader, request, GatherOptions(HUB_ACCOUNT, frozenset({T}), authorization_delay=0.0))

    assert [p.name for p in found.policies.boundary] == ["DevBoundary"]
    boundary_asked = reader.events.index(("asked", "GetPolicyVersion"))
    lists_answered = min(reader.events.index(("answered", op)) for op in HeldPolicyLists.HELD)
    assert boundary_asked < lists_answered


async def test_the_calls_heading_the_longest_chains_are_asked_first() -> None:
    reader = HeldPolicyLists({})
    (request,) = scan(denial(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", "arn:aws:s3:::b/k")).denials

    await gather(reader, request, GatherOptions(HUB_ACCOUNT, frozenset({T}), authorization_delay=0.0))

    asked = [operation for event, operation in reader.events if event == "asked"]
    # A group's managed policies are four calls deep, the user's own three, inline ones two: their lists go first,
    # before the resource's and the organization's first calls.
    assert asked[:4] == ["ListGroupsForUser", "ListAttachedUserPolicies", "ListUserPolicies", "GetUser"]


async def test_a_session_reads_its_role_and_its_tags_stay_incomplete(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    boundary = aws_world.create_policy(T, "DevBoundary", policy(allow("s3:*")))
    aws_world.create_role(T, "app", path="/teams/", boundary=boundary, tags={"team": "ci"})

    found = await gathered(
        make_adapter, denial(f"arn:aws:sts::{T}:assumed-role/app/ci-42", "s3:GetObject", "arn:aws:s3:::b/k")
    )

    assert found.principal is not None
    assert (found.principal.path, found.principal.path_known) == ("/teams/", True)
    assert found.principal.role_arn == f"arn:aws:iam::{T}:role/teams/app"
    assert found.context["aws:PrincipalArn"] == f"arn:aws:iam::{T}:role/teams/app"
    assert str(found.context["aws:userid"]).endswith(":ci-42")
    assert [p.name for p in found.policies.boundary] == ["DevBoundary"]
    # Session tags can add to the role's: a tag the role lacks is unknown, not absent.
    assert found.complete_prefixes == frozenset()
    assert found.simulation is not None
    assert found.simulation.source_arn == f"arn:aws:iam::{T}:role/teams/app"


async def test_an_organization_without_its_read_role_is_unreadable(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    org = aws_world.create_organization()
    account = aws_world.create_member_account(org, "workload")
    aws_world.create_user(account, "deployer")

    found = await gathered(
        make_adapter,
        denial(f"arn:aws:iam::{account}:user/deployer", "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{account}:q"),
        config={"allowed_accounts": frozenset({account})},
    )

    assert found.why_unreadable(Layer.SCP) == "no organizations read role configured (IAMWHY_ORG_ROLE_ARN)"
    assert found.management_account == MANAGEMENT_ACCOUNT
    assert found.context["aws:PrincipalOrgID"] == org.id


async def test_the_ou_chain_is_walked_to_the_root(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    org = aws_world.create_organization()
    outer = aws_world.create_ou(org, "Workloads")
    inner = aws_world.create_ou(org, "Team", parent_id=outer)
    account = aws_world.create_member_account(org, "workload", parent_id=inner)
    aws_world.create_scp(
        org,
        "NoLeaving",
        policy({"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}),
        targets=[inner],
    )
    aws_world.create_user(account, "deployer")

    found = await gathered(
        make_adapter,
        denial(f"arn:aws:iam::{account}:user/deployer", "ec2:RunInstances", "*"),
        config={"allowed_accounts": frozenset({account}), "org_role_arn": ORG_ROLE},
    )

    # OUs by name for people, with the id that policies and paths use.
    assert found.policies.scp_level_names == ("Root", f"Workloads ({outer})", f"Team ({inner})", account)
    assert found.scp_path == ("Root", "Workloads", "Team", account)
    assert [[p.name for p in level] for level in found.policies.scp_levels] == [
        ["FullAWSAccess"],
        ["FullAWSAccess"],
        ["FullAWSAccess", "NoLeaving"],
        ["FullAWSAccess"],
    ]
    assert found.context["aws:PrincipalOrgPaths"] == (f"{org.id}/{org.root_id}/{outer}/{inner}/",)
    # EC2 is not an RCP service: no RCP was listed.
    assert all(c.params.get("Filter") != "RESOURCE_CONTROL_POLICY" for c in aws_world.moto.seen("organizations"))
    # Which policy types the organization has enabled was asked (with the organizations role's session) once the
    # account was found in it.
    asked = aws_world.moto.seen("organizations", "ListRoots", account=MANAGEMENT_ACCOUNT)
    assert len([c for c in asked if c.access_key.startswith("ASIA")]) == 1


async def test_an_account_in_no_organization_is_not_asked_for_its_policies_or_the_root(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_user(T, "build-bot")

    found = await gathered(
        make_adapter,
        denial(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", "arn:aws:s3:::b/k"),
        config={"org_role_arn": ORG_ROLE},
    )

    assert found.in_organization is False
    assert found.policies.scp_levels == found.policies.rcp_levels == ()
    # The walk up from the account and the account's own organization answer it; nothing more is asked.
    assert sorted(c.operation for c in aws_world.moto.seen("organizations")) == ["DescribeOrganization", "ListParents"]


async def test_cloudtrail_is_searched_only_for_management_events(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_user(T, "build-bot")
    await gathered(make_adapter, denial(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", "arn:aws:s3:::b/k"))
    assert aws_world.moto.seen("cloudtrail") == []

    await gathered(make_adapter, denial(f"arn:aws:iam::{T}:user/build-bot", "iam:ListRoles", "*"))
    (lookup,) = aws_world.moto.seen("cloudtrail", "LookupEvents")
    assert lookup.account == T


async def test_cloudtrail_names_a_caller_the_message_does_not(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_user(T, "build-bot")
    record = {
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{T}:user/build-bot", "accountId": T},
        "eventSource": "kms.amazonaws.com",
        "eventName": "CreateKey",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "errorCode": "AccessDeniedException",
        "errorMessage": f"User: arn:aws:iam::{T}:user/build-bot is not authorized to perform: kms:CreateKey",
    }
    aws_world.moto.add_event(
        T, "CreateKey", event_time=datetime.now(UTC) - timedelta(minutes=3), cloudtrail_event=record
    )
    # What a message that names the account but not the caller parses into.
    request = DeniedRequest(None, "kms:CreateKey", None, T, api_operation="CreateKey")

    adapter = make_adapter()
    found = await gather(adapter.scope(), request, GatherOptions(HUB_ACCOUNT, adapter.config.allowed_accounts))

    assert found.principal is not None
    assert found.principal.arn == f"arn:aws:iam::{T}:user/build-bot"
    assert found.context["aws:SourceIp"] == "198.51.100.7"
    assert any("CloudTrail names the caller" in n for n in found.notes)


async def test_an_authorization_record_not_written_yet_is_asked_again_then_given_up(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_user(T, "build-bot")
    text = (
        denial(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", "arn:aws:s3:::b/k")
        + " because no identity-based policy allows the s3:GetObject action. Go to https://us-east-1.console.aws."
        "amazon.com/iam/home?region=us-east-1#/authorization-details/abc123 for complete details, or call the "
        "GetRequestAuthorizationDetails API with the following authorization id: abc123"
    )

    found = await gathered(make_adapter, text, authorization_attempts=3)

    assert found.record is None
    assert len(aws_world.toolbox.calls_of("GetRequestAuthorizationDetails")) == 3
    assert any("no record for authorization id abc123 yet (asked 3 times)" in n for n in found.notes)


async def test_a_small_budget_leaves_layers_unreadable_with_the_reason(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    aws_world.create_user(T, "build-bot", inline={"A": policy(allow("s3:*"))})
    found = await gathered(
        make_adapter,
        denial(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", "arn:aws:s3:::b/k"),
        config={"call_budget": 3},
    )
    assert any("budget of 3 AWS reads" in u.why for u in found.unreadable)


async def test_the_simulator_is_asked_with_the_known_context_and_the_resource_policy(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    bucket_policy = policy(allow("s3:GetObject", "arn:aws:s3:::prod-artifacts/*", Principal={"AWS": T}))
    aws_world.create_user(T, "build-bot", tags={"team": "ci"})
    aws_world.create_bucket(T, "prod-artifacts", bucket_policy=bucket_policy)

    await gathered(
        make_adapter, denial(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", "arn:aws:s3:::prod-artifacts/k")
    )

    (call,) = aws_world.moto.seen("iam", "SimulatePrincipalPolicy")
    assert json.loads(call.params["ResourcePolicy"]) == bucket_policy
    assert call.params["ResourceOwner"] == f"arn:aws:iam::{T}:root"
    entries = {e["ContextKeyName"]: e for e in call.params["ContextEntries"]}
    assert entries["aws:PrincipalTag/team"]["ContextKeyValues"] == ["ci"]
    assert entries["aws:PrincipalIsAWSService"]["ContextKeyType"] == "boolean"


async def test_cloudtrail_is_not_asked_about_a_data_event_even_without_a_caller(
    make_adapter: MakeAdapter, aws_world: AwsWorld
) -> None:
    request = DeniedRequest(None, "s3:GetObject", "arn:aws:s3:::b/k", T, api_operation="GetObject")
    adapter = make_adapter()

    found = await gather(adapter.scope(), request, GatherOptions(HUB_ACCOUNT, adapter.config.allowed_accounts))

    assert aws_world.moto.seen("cloudtrail") == []
    assert found.why_unreadable(Layer.IDENTITY) == (
        "the message does not name the caller (CloudTrail's event history has no s3:GetObject data events)"
    )


async def test_an_s3_request_is_in_the_buckets_region(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_user(T, "build-bot")
    aws_world.create_bucket(T, "eu-artifacts", region="eu-west-1")

    found = await gathered(
        make_adapter, denial(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", "arn:aws:s3:::eu-artifacts/k")
    )

    # S3 ARNs name no region: the bucket's location does.
    assert found.context["aws:RequestedRegion"] == "eu-west-1"
    (call,) = aws_world.moto.seen("iam", "SimulatePrincipalPolicy")
    entries = {e["ContextKeyName"]: e["ContextKeyValues"] for e in call.params["ContextEntries"]}
    assert entries["aws:RequestedRegion"] == ["eu-west-1"]


async def test_the_kms_call_s3_makes_is_in_the_keys_region(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_user(T, "build-bot")
    aws_world.create_bucket(T, "prod-artifacts")
    key = aws_world.create_kms_key(T)
    aws_world.client("s3", T).put_bucket_encryption(
        Bucket="prod-artifacts",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
        },
    )

    found = await gathered(
        make_adapter, denial(f"arn:aws:iam::{T}:user/build-bot", "s3:GetObject", "arn:aws:s3:::prod-artifacts/k")
    )

    assert found.kms is not None
    assert found.kms.key.arn == key
    assert found.kms.context["aws:RequestedRegion"] == "us-east-1"
    assert found.kms.context["kms:ViaService"] == "s3.us-east-1.amazonaws.com"


async def test_an_ou_whose_name_cannot_be_read_goes_by_its_id(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    org = aws_world.create_organization()
    ou = aws_world.create_ou(org, "Workloads")
    account = aws_world.create_member_account(org, "workload", parent_id=ou)
    aws_world.create_user(account, "deployer")
    aws_world.moto.deny("organizations", "DescribeOrganizationalUnit")

    found = await gathered(
        make_adapter,
        denial(f"arn:aws:iam::{account}:user/deployer", "ec2:RunInstances", "*"),
        config={"allowed_accounts": frozenset({account}), "org_role_arn": ORG_ROLE},
    )

    assert found.policies.scp_level_names == ("Root", ou, account)
    assert found.scp_path == ("Root", ou, account)
    # Only the name is missing: the SCPs themselves were read.
    assert Layer.SCP not in found.unreadable_layers()
    assert found.denied_permissions == ("organizations:DescribeOrganizationalUnit",)
