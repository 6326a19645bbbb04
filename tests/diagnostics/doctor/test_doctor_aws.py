"""The doctor's AWS side against the moto sandbox: installed right, then one thing broken at a time."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.doctor import Line, Section, Status, check_aws, report_json
from diagnostics.doctor.checks import Check, run_checks
from diagnostics.doctor.facts import DoctorFacts
from diagnostics.doctor.probes import PROBES, TOOLBOX
from diagnostics.doctor.run import assemble
from diagnostics.model import Confidence, Layer
from tests.conftest import BotCredentials
from tests.harness.installed import EXTERNAL_ID, ORG_ROLE_ARN, Installed
from tests.harness.servers import RecordingServer
from tests.harness.world import HUB_ACCOUNT, MANAGEMENT_ACCOUNT, REGION, AwsWorld

Doctor = Callable[..., Any]


@pytest.fixture
def doctor(installed: Installed, make_adapter: Callable[..., AwsAdapter]) -> Doctor:
    """Run the AWS checks with the installation's settings, changed by `overrides` (AwsConfig fields)."""

    async def run(**overrides: Any) -> Section:
        adapter = make_adapter(**installed.config(**overrides))
        return await check_aws(adapter, adapter.config, region=adapter.region)

    return run


def find(section: Section, line_id: str, subject: str | None = None) -> Line:
    found = [line for line in section.lines if line.id == line_id and (subject is None or line.subject == subject)]
    assert len(found) == 1, f"{line_id}/{subject}: {[(line.id, line.subject) for line in section.lines]}"
    return found[0]


def problems(section: Section) -> list[tuple[str, str | None, Status]]:
    return [
        (line.id, line.subject, line.status) for line in section.lines if line.status in (Status.FAILED, Status.WARNING)
    ]


# ---------------------------------------------------------------------------------------------- installed right


async def test_a_right_installation_passes_every_check_and_says_what_diagnoses_will_be(
    doctor: Doctor, installed: Installed
) -> None:
    section = await doctor()
    assert problems(section) == []
    member = installed.member
    assert find(section, "aws.identity").result == (
        f"the bot runs as {installed.bot_arn} (account {HUB_ACCOUNT}; region {REGION})"
    )
    assert find(section, "aws.role", member).result == "assumed"
    assert find(section, "aws.org.policy_types").result.startswith("SCPs enabled, RCPs enabled at r-")
    assert find(section, "aws.organization", HUB_ACCOUNT).result == "not in an organization: no SCPs or RCPs apply"
    membership = find(section, "aws.organization", member).result
    assert membership.startswith(f"member of {installed.organization.id} (management account {MANAGEMENT_ACCOUNT})")
    assert membership.endswith("its SCPs and RCPs are readable")
    # Every probe was tried in both accounts, as the read role.
    for account in (HUB_ACCOUNT, member):
        ids = {line.id for line in section.lines if line.subject == account}
        assert ids >= {f"aws.read.{p.id}" for p in PROBES} | {"aws.toolbox", "aws.role", "aws.organization"}
    outlook = {o.account: o for o in section.outlook}
    assert outlook[member].summary == (
        f"{member}: evaluated (SCPs readable, RCPs readable); verified when the error carries an authorization id "
        f"(iam-toolbox reachable in {REGION})"
    )
    assert outlook[HUB_ACCOUNT].summary.startswith(
        f"{HUB_ACCOUNT}: evaluated (not in an organization: no SCPs or RCPs apply); verified when"
    )
    assert (outlook[member].confidence, outlook[member].verified) == (Confidence.EVALUATED, True)


async def test_reads_that_only_prove_reachability_say_so(doctor: Doctor, installed: Installed) -> None:
    section = await doctor()
    kms = find(section, "aws.read.kms", installed.member)
    assert kms.status is Status.OK
    assert kms.result == (
        "reachable (NotFoundException: AWS checks permissions only on names that exist, so kms:GetKeyPolicy is not "
        "proven)"
    )
    lambda_read = find(section, "aws.read.lambda", installed.member)
    assert lambda_read.result == "allowed (ResourceNotFoundException: AWS checks the permission first)"


async def test_the_reads_change_nothing_and_go_through_the_read_role(
    doctor: Doctor, installed: Installed, aws_world: AwsWorld
) -> None:
    await doctor()
    served = aws_world.moto.seen(account=installed.member)
    operations = {(c.service, c.operation) for c in served}
    assert all(op.startswith(("Get", "List", "Describe", "Lookup", "Simulate")) for _, op in operations)
    assert not any(c.access_key.startswith("AKIA") for c in served), "member reads must use the assumed role"


# ---------------------------------------------------------------------------------------------- the read role


async def test_a_missing_read_role_fails_with_the_deploy_command_and_the_trust_statement(
    doctor: Doctor, installed: Installed, aws_world: AwsWorld
) -> None:
    role_arn = installed.read_role_arn(installed.member)
    aws_world.moto.fault("sts", "AssumeRole", "AccessDenied", "not authorized", match={"RoleArn": role_arn})
    section = await doctor()
    line = find(section, "aws.role", installed.member)
    assert line.status is Status.FAILED
    assert line.result == "AWS refused (AccessDenied)"
    assert line.tried == f"sts:AssumeRole into {role_arn} with the ExternalId in IAMWHY_EXTERNAL_ID"
    assert line.fix is not None
    fix = line.fix.splitlines()
    assert fix[1] == f"1. Deploy the read-only role in {installed.member}, with credentials for that account:"
    assert fix[2] == (
        "   aws cloudformation deploy --stack-name iamwhy-readonly --template-file "
        "deploy/cloudformation/iamwhy-readonly.yaml --capabilities CAPABILITY_NAMED_IAM --parameter-overrides "
        f'BotPrincipalArn={installed.bot_arn} ExternalId="$IAMWHY_EXTERNAL_ID"'
    )
    statement = json.loads(fix[4])
    assert statement == {
        "Sid": "IamWhyBot",
        "Effect": "Allow",
        "Principal": {"AWS": installed.bot_arn},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "<the value of IAMWHY_EXTERNAL_ID>"}},
    }
    assert json.loads(fix[-1]) == {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}
    # Nothing else is tried in that account, and its answers will come from the message alone.
    assert {line.id for line in section.lines if line.subject == installed.member} == {"aws.role"}
    outlook = {o.account: o for o in section.outlook}[installed.member]
    assert outlook.confidence is Confidence.REPORTED
    assert (
        outlook.summary
        == f"{installed.member}: from the message alone (`reported`): the read role {role_arn} cannot be assumed"
    )


async def test_a_wrong_external_id_fails_the_same_way_and_is_never_printed(
    doctor: Doctor, installed: Installed, aws_world: AwsWorld
) -> None:
    wrong = "iamwhy-wrong-0000"
    role_arn = installed.read_role_arn(installed.member)
    aws_world.moto.fault(
        "sts", "AssumeRole", "AccessDenied", "not authorized", match={"RoleArn": role_arn, "ExternalId": wrong}
    )
    section = await doctor(external_id=wrong)
    line = find(section, "aws.role", installed.member)
    assert (line.status, line.result) == (Status.FAILED, "AWS refused (AccessDenied)")
    text = json.dumps(report_json(assemble([section], checked_at=0, duration_ms=0)))
    assert wrong not in text
    assert EXTERNAL_ID not in text


async def test_no_external_id_configured_says_which_variable_to_set(
    doctor: Doctor, installed: Installed, aws_world: AwsWorld
) -> None:
    role_arn = installed.read_role_arn(installed.member)
    aws_world.moto.fault(
        "sts", "AssumeRole", "AccessDenied", "not authorized", match={"RoleArn": role_arn, "ExternalId": None}
    )
    section = await doctor(external_id=None)
    line = find(section, "aws.role", installed.member)
    assert line.tried == f"sts:AssumeRole into {role_arn} without an ExternalId"
    assert line.fix is not None
    assert line.fix.splitlines()[1] == (
        "IAMWHY_EXTERNAL_ID is not set, and the deploy/ templates require one: set it to the ExternalId the role was "
        "deployed with (for example IAMWHY_EXTERNAL_ID=iamwhy-4f1c2b9e7d3a6051)."
    )
    # The bot's own account still accepts it without one: that is worth a warning.
    warning = find(section, "aws.external_id")
    assert warning.status is Status.WARNING
    assert warning.result == f"IamWhyReadOnly in {HUB_ACCOUNT} accepted the bot without an ExternalId"


async def test_the_bot_s_own_account_only_warns_when_iamwhy_accounts_lists_others(
    doctor: Doctor, installed: Installed, aws_world: AwsWorld
) -> None:
    role_arn = installed.read_role_arn(HUB_ACCOUNT)
    aws_world.moto.fault("sts", "AssumeRole", "AccessDenied", "not authorized", match={"RoleArn": role_arn})
    section = await doctor()
    line = find(section, "aws.role", HUB_ACCOUNT)
    assert line.status is Status.WARNING
    assert line.result == "AWS refused (AccessDenied); only errors in the bot's own account need this role"
    assert line.group == f"AWS account {HUB_ACCOUNT} (the bot's own; not in IAMWHY_ACCOUNTS)"
    assert assemble([section], checked_at=0, duration_ms=0).ok


async def test_refused_bot_credentials_fail_first_and_skip_the_accounts(
    doctor: Doctor, installed: Installed, aws_world: AwsWorld
) -> None:
    message = "The security token included in the request is invalid."
    aws_world.moto.fault("sts", "GetCallerIdentity", "InvalidClientTokenId", message, status=403)
    section = await doctor()
    identity = find(section, "aws.identity")
    assert identity.status is Status.FAILED
    assert identity.result == "AWS rejected the bot's own credentials (InvalidClientTokenId)"
    assert identity.fix is not None
    assert identity.fix.startswith("Give the bot AWS credentials through the standard")
    skipped = find(section, "aws.role", installed.member)
    assert (skipped.status, skipped.result) == (
        Status.SKIPPED,
        "not tried: the bot has no working AWS identity (see Bot identity)",
    )
    assert [o.summary for o in section.outlook] == [
        f"{installed.member}: from the message alone (the bot has no working AWS identity)"
    ]


# ---------------------------------------------------------------------------------------------- one read per layer

LAYER_READS = [p for p in PROBES if p.layers]
OTHER_READS = [p for p in (*PROBES, TOOLBOX) if not p.layers]


@pytest.mark.parametrize("probe", LAYER_READS, ids=[p.id for p in LAYER_READS])
async def test_a_denied_read_fails_and_names_the_permission_and_the_template_line(
    probe: Any, doctor: Doctor, installed: Installed, aws_world: AwsWorld
) -> None:
    aws_world.moto.deny(probe.service, probe.operation, account=installed.member)
    section = await doctor()
    line = find(section, f"aws.read.{probe.id}", installed.member)
    permission = line.details["permission"]
    assert line.status is Status.FAILED
    assert line.result == f"denied ({line.details['code']}): IamWhyReadOnly lacks {permission}"
    assert line.fix is not None
    fix = line.fix.splitlines()
    assert fix[0] == f"Grant {permission} to IamWhyReadOnly in {installed.member}."
    assert f"the `- {permission}` line of statement " in fix[1]
    assert "deploy/cloudformation/iamwhy-readonly.yaml (and in deploy/terraform/policies/read-only.json)" in fix[1]
    assert json.loads(fix[2]) == {"Effect": "Allow", "Action": permission, "Resource": "*"}
    assert fix[-1].startswith("AWS said: User: arn:aws:sts::")
    # Only that line fails; the outlook names the layer diagnoses will report unreadable.
    assert problems(section) == [(f"aws.read.{probe.id}", installed.member, Status.FAILED)]
    outlook = {o.account: o for o in section.outlook}[installed.member]
    assert {g.layer for g in outlook.unreadable} == set(probe.layers)
    assert outlook.confidence is Confidence.SIMULATED
    assert f"{probe.loses}: {permission} denied" in outlook.summary


@pytest.mark.parametrize("probe", OTHER_READS, ids=[p.id for p in OTHER_READS])
async def test_a_denied_read_that_only_strengthens_answers_warns(
    probe: Any, doctor: Doctor, installed: Installed, aws_world: AwsWorld
) -> None:
    if probe is TOOLBOX:
        aws_world.toolbox.deny(probe.operation, account=installed.member)
    else:
        aws_world.moto.deny(probe.service, probe.operation, account=installed.member)
    section = await doctor()
    line_id = "aws.toolbox" if probe is TOOLBOX else f"aws.read.{probe.id}"
    line = find(section, line_id, installed.member)
    assert line.status is Status.WARNING
    assert line.result == f"denied ({line.details['code']}): IamWhyReadOnly lacks {line.details['permission']}"
    assert problems(section) == [(line_id, installed.member, Status.WARNING)]
    assert assemble([section], checked_at=0, duration_ms=0).ok


async def test_an_unreachable_iam_toolbox_warns_that_answers_will_not_be_verified(
    installed: Installed,
    make_adapter: Callable[..., AwsAdapter],
    recording_server: RecordingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM_TOOLBOX", recording_server.endpoint)
    adapter = make_adapter(**installed.config())
    section = await check_aws(adapter, adapter.config, region=adapter.region)
    line = find(section, "aws.toolbox", installed.member)
    assert line.status is Status.WARNING
    assert line.result == (
        f"unreachable in {REGION}: AWS iam-toolbox failed to answer GetRequestAuthorizationDetails (HTTP 503 503)"
    )
    assert line.fix is not None
    assert line.fix.startswith(
        "Without it, errors that carry an authorization id are answered `evaluated`, not `verified`."
    )
    outlook = {o.account: o for o in section.outlook}[installed.member]
    assert outlook.verified is False
    assert outlook.summary.endswith(f"never verified from an authorization id (iam-toolbox unreachable in {REGION})")


# ---------------------------------------------------------------------------------------------- organizations


async def test_no_org_role_warns_with_where_to_deploy_it(doctor: Doctor, installed: Installed) -> None:
    section = await doctor(org_role_arn=None)
    line = find(section, "aws.org.role")
    assert line.status is Status.WARNING
    assert line.result == f"not set: SCPs and RCPs of {installed.member} will be unreadable"
    assert line.fix is not None
    assert line.fix.splitlines()[-1] == f"then set IAMWHY_ORG_ROLE_ARN={ORG_ROLE_ARN}"
    assert "CreateOrgRole=true CreateReadRole=false" in line.fix
    outlook = {o.account: o for o in section.outlook}[installed.member]
    assert [(g.layer, g.why) for g in outlook.unreadable] == [
        (Layer.SCP, "no organizations read role configured (IAMWHY_ORG_ROLE_ARN)"),
        (Layer.RCP, "no organizations read role configured (IAMWHY_ORG_ROLE_ARN)"),
    ]
    assert assemble([section], checked_at=0, duration_ms=0).ok


async def test_an_org_role_that_cannot_be_assumed_fails_with_its_own_trust_fix(
    doctor: Doctor, installed: Installed, aws_world: AwsWorld
) -> None:
    aws_world.moto.fault("sts", "AssumeRole", "AccessDenied", "not authorized", match={"RoleArn": ORG_ROLE_ARN})
    section = await doctor()
    line = find(section, "aws.org.role")
    assert (line.status, line.result) == (Status.FAILED, "AWS refused AssumeRole (AccessDenied)")
    assert line.fix is not None
    assert "1. Deploy the organizations read role in the management (or delegated administrator) account" in line.fix
    assert "--stack-name iamwhy-org-readonly" in line.fix
    assert "CreateOrgRole=true CreateReadRole=false" in line.fix
    membership = find(section, "aws.organization", installed.member)
    assert membership.result.endswith("SCPs and RCPs need the organizations read role (see AWS Organizations)")


@pytest.mark.parametrize("operation", ["ListPoliciesForTarget", "DescribePolicy", "ListRoots"])
async def test_an_org_role_missing_a_permission_names_it(
    operation: str, doctor: Doctor, installed: Installed, aws_world: AwsWorld
) -> None:
    aws_world.moto.deny("organizations", operation, account=MANAGEMENT_ACCOUNT)
    section = await doctor()
    failed = [line for line in section.lines if line.status is Status.FAILED]
    assert failed, problems(section)
    line = failed[0]
    assert line.result == f"denied (AccessDeniedException): IamWhyOrgReadOnly lacks organizations:{operation}"
    assert line.fix is not None
    assert f"the `- organizations:{operation}` line of statement OrganizationPolicies" in line.fix
    assert "deploy/terraform/policies/org-read-only.json" in line.fix


async def test_policy_types_not_enabled_warn_with_the_command_to_enable_them(
    aws_world: AwsWorld, aws_env: BotCredentials, make_adapter: Callable[..., AwsAdapter]
) -> None:
    from tests.harness.installed import install

    installed = install(aws_world, aws_env.key.user_arn, rcps=False)
    adapter = make_adapter(**installed.config())
    section = await check_aws(adapter, adapter.config, region=adapter.region)
    line = find(section, "aws.org.policy_types")
    root = installed.organization.root_id
    assert (line.status, line.result) == (Status.WARNING, f"SCPs enabled, RCPs not enabled at {root}")
    assert line.fix is not None
    assert line.fix.splitlines()[-1] == (
        f"  aws organizations enable-policy-type --root-id {root} --policy-type RESOURCE_CONTROL_POLICY"
    )
    outlook = {o.account: o for o in section.outlook}[installed.member]
    assert outlook.summary.startswith(f"{installed.member}: evaluated (SCPs readable, RCPs not enabled)")


async def test_an_account_outside_the_org_role_s_organization_fails(
    doctor: Doctor, installed: Installed, aws_world: AwsWorld
) -> None:
    aws_world.moto.fault(
        "organizations",
        "ListParents",
        "ChildNotFoundException",
        "We can't find a child with the ChildId that you specified.",
        status=400,
        account=MANAGEMENT_ACCOUNT,
        match={"ChildId": installed.member},
    )
    section = await doctor()
    line = find(section, "aws.organization", installed.member)
    assert line.status is Status.FAILED
    assert line.result.endswith("but the organizations read role does not find it (ChildNotFoundException)")
    assert line.fix == (
        f"Point IAMWHY_ORG_ROLE_ARN at the organizations read role in {MANAGEMENT_ACCOUNT}, the management account "
        f"of {installed.organization.id}."
    )


# ---------------------------------------------------------------------------------------------- robustness


def test_a_check_that_raises_becomes_a_failed_line_with_a_logged_reference(caplog: pytest.LogCaptureFixture) -> None:
    def broken(facts: DoctorFacts) -> list[Line]:
        raise KeyError("boom")

    facts = DoctorFacts.__new__(DoctorFacts)
    with caplog.at_level(logging.ERROR, logger="iamwhy.doctor"):
        (line,) = run_checks(facts, [Check("broken", broken)])
    assert (line.id, line.subject, line.status) == ("check", "broken", Status.FAILED)
    ref = line.result.removeprefix("could not run: an internal error (reference ").removesuffix(")")
    assert len(ref) == 8
    assert any(ref in record.getMessage() and record.exc_info for record in caplog.records)
