"""Fix builders: the exact statement, where it goes, who owns it, and never an Allow where one cannot help."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from diagnostics.model import Blocker, ConditionCheck, DenialKind, Fix, Layer
from diagnostics.remediation import (
    OWNER_ACCOUNT,
    OWNER_BOUNDARY,
    OWNER_CALLER,
    OWNER_DATA_LAKE,
    OWNER_KEY,
    OWNER_NETWORK,
    OWNER_ORG,
    OWNER_RESOURCE,
    OWNER_SESSION,
    OWNER_SSO,
    boundary_fix,
    describe_condition,
    explicit_deny_fix,
    fix_for,
    fixes_for,
    identity_grant_fix,
    lake_formation_need,
    not_a_role,
    org_policy_fix,
    policy_holder,
    policy_name,
    resource_grant_fix,
    rest_api_id,
    session_policy_fix,
    statement_sid,
    trust_fix,
    unconfirmed_fixes,
    vpc_endpoint_fix,
)
from tests.diagnostics.denials import (
    ACCOUNT,
    BOUNDARY_ARN,
    GUARDRAIL_ARN,
    KEY,
    OBJECT,
    OTHER_ACCOUNT,
    ROLE,
    SCP_ARN,
    SESSION,
    SSO_SESSION,
    USER,
    denial,
)


def _statement(fix: Fix) -> dict[str, object]:
    assert fix.policy is not None
    statements = fix.policy["Statement"]
    assert isinstance(statements, list)
    assert len(statements) == 1
    statement = statements[0]
    assert isinstance(statement, dict)
    return statement


def _says_add_an_allow(fix: Fix) -> bool:
    return fix.policy is not None and "Statement" in fix.policy


# --- missing identity grant -------------------------------------------------------------------------------------


def test_identity_grant_for_a_user_is_a_least_privilege_document() -> None:
    fix = identity_grant_fix(denial(USER, "s3:GetObject", OBJECT))
    assert fix.policy == {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AllowS3GetObject", "Effect": "Allow", "Action": "s3:GetObject", "Resource": OBJECT}],
    }
    assert fix.attach_to == USER
    assert fix.owner == OWNER_ACCOUNT
    assert "user build-bot" in fix.summary


def test_identity_grant_for_a_placeholder_resource_asks_for_the_real_arn() -> None:
    fix = identity_grant_fix(denial(USER, "kms:Decrypt", "<arn here>"))
    assert _statement(fix)["Resource"] == "*"
    assert (
        'The message gives the resource only as <arn here>, a placeholder, so the statement uses "Resource": "*"'
        in (fix.summary)
    )
    assert "phone number" not in fix.summary


def test_identity_grant_for_a_masked_phone_number_is_not_called_a_placeholder() -> None:
    fix = identity_grant_fix(denial(USER, "sns:Publish", "+358...."))
    assert "placeholder" not in fix.summary
    assert "which is not an ARN" in fix.summary


def test_identity_grant_for_a_session_goes_on_the_role() -> None:
    fix = identity_grant_fix(denial(SESSION, "s3:GetObject", OBJECT))
    assert fix.attach_to == ROLE
    assert "role build-bot-role" in fix.summary
    assert "session cannot hold policies" in fix.summary


def test_identity_grant_spells_the_action_as_the_catalogue_does() -> None:
    fix = identity_grant_fix(denial(USER, "S3:getobject", OBJECT))
    assert _statement(fix)["Action"] == "s3:GetObject"
    assert _statement(fix)["Sid"] == "AllowS3GetObject"


def test_identity_grant_uses_star_for_actions_without_resources() -> None:
    fix = identity_grant_fix(denial(USER, "s3:ListAllMyBuckets", "arn:aws:s3:::whatever"))
    assert _statement(fix)["Resource"] == "*"
    assert "s3:ListAllMyBuckets cannot be scoped to a resource" in fix.summary


def test_identity_grant_without_a_resource_uses_star_and_says_to_narrow_it() -> None:
    fix = identity_grant_fix(denial(USER, "sqs:SendMessage", None))
    assert _statement(fix)["Resource"] == "*"
    assert "names no resource" in fix.summary
    assert "narrow it" in fix.summary


def test_identity_grant_notes_kms_for_sse_kms_objects() -> None:
    fix = identity_grant_fix(denial(USER, "s3:GetObject", OBJECT))
    assert "kms:Decrypt" in fix.summary
    assert "SSE-KMS" in fix.summary
    assert _statement(fix)["Action"] == "s3:GetObject"


def test_identity_grant_notes_pass_role_for_run_instances() -> None:
    fix = identity_grant_fix(denial(USER, "ec2:RunInstances", "arn:aws:ec2:us-east-1:123456789012:instance/*"))
    assert "iam:PassRole" in fix.summary


def test_identity_grant_on_a_kms_key_says_the_key_policy_must_allow_too() -> None:
    fix = identity_grant_fix(denial(ROLE, "kms:Decrypt", KEY))
    assert _statement(fix)["Resource"] == KEY
    assert "key policy of key abcd-1234 must also allow it" in fix.summary


def test_identity_grant_for_a_cross_account_resource_says_both_sides() -> None:
    queue = f"arn:aws:sqs:eu-west-1:{OTHER_ACCOUNT}:jobs"
    fix = identity_grant_fix(denial(ROLE, "sqs:SendMessage", queue))
    assert _statement(fix)["Resource"] == queue
    assert f"The resource is in account {OTHER_ACCOUNT}: the queue policy of jobs must also allow" in fix.summary


def test_identity_grant_for_an_unknown_action_warns_and_suggests() -> None:
    fix = identity_grant_fix(denial(USER, "s3:GetObjekt", OBJECT))
    assert _statement(fix)["Action"] == "s3:GetObjekt"
    assert "not in the AWS action catalogue (did you mean s3:GetObject?)" in fix.summary


def test_identity_grant_for_an_action_under_the_wrong_service_suggests_the_service_that_has_it() -> None:
    fix = identity_grant_fix(denial(USER, "ec2:CreateRole", None))
    assert "ec2:CreateRole is not in the AWS action catalogue (did you mean iam:CreateRole?)" in fix.summary


def test_identity_grant_for_sso_goes_to_the_permission_set() -> None:
    fix = identity_grant_fix(denial(SSO_SESSION, "s3:GetObject", OBJECT))
    assert fix.owner == OWNER_SSO
    assert fix.attach_to is None
    assert "permission set DataReaders" in fix.summary
    assert "re-provision" in fix.summary
    assert _statement(fix)["Resource"] == OBJECT


def test_identity_grant_for_a_federated_user_names_the_calling_user() -> None:
    fix = identity_grant_fix(denial(f"arn:aws:sts::{ACCOUNT}:federated-user/bob", "s3:GetObject", OBJECT))
    assert fix.attach_to is None
    assert "GetFederationToken" in fix.summary
    assert _statement(fix)["Action"] == "s3:GetObject"


def test_identity_grant_for_an_unnamed_caller_says_how_to_find_it() -> None:
    fix = identity_grant_fix(denial(None, "s3:GetObject", OBJECT))
    assert fix.attach_to is None
    assert "aws sts get-caller-identity" in fix.summary
    assert _statement(fix)["Resource"] == OBJECT


def test_identity_grant_for_a_caller_with_a_part_taken_out_names_what_the_message_gave() -> None:
    masked = "arn:aws:iam::<MEMBERACCOUNTID>:role/ManageSecurityHub"
    fix = identity_grant_fix(denial(masked, "securityhub:GetFindings", None))
    assert f"(the message names it as {masked}, with part of it taken out: run aws sts get-caller-identity" in (
        fix.summary
    )
    assert "does not name it" not in fix.summary


def test_root_gets_no_identity_grant() -> None:
    fix = identity_grant_fix(denial(f"arn:aws:iam::{ACCOUNT}:root", "s3:GetObject", OBJECT))
    assert fix.policy is None
    assert "SCP or RCP" in fix.summary


def test_anonymous_caller_gets_credentials_advice_not_a_public_grant() -> None:
    fix = identity_grant_fix(denial("anonymous", "s3:GetObject", OBJECT))
    assert fix.policy is None
    assert fix.owner == OWNER_CALLER
    assert "without credentials" in fix.summary
    assert "public" in fix.summary


def test_identity_grant_without_an_action_writes_no_policy() -> None:
    fix = identity_grant_fix(denial(USER, None, OBJECT))
    assert fix.policy is None
    assert fix.attach_to == USER


def test_identity_grant_without_an_action_says_where_the_action_is_named() -> None:
    fix = identity_grant_fix(denial(USER, None, OBJECT))
    assert "commands below" not in fix.summary
    assert "the SDK method or CLI command that raised the error" in fix.summary
    assert "aws cloudtrail lookup-events" in fix.summary


def test_resource_grant_for_a_masked_arn_asks_for_the_real_one() -> None:
    masked = "arn:aws:ecr:us-west-2:B:repository/runner-test"
    fix = resource_grant_fix(denial(SESSION, "ecr:InitiateLayerUpload", masked))
    assert fix.policy is None
    assert "commands below" not in fix.summary
    assert f"The message names the resource as {masked}, which is not a complete ARN" in fix.summary
    assert "explain the error again with the real ARN" in fix.summary


def test_unconfirmed_fixes_without_caller_or_action_say_what_to_find_before_simulating() -> None:
    confirm = unconfirmed_fixes(denial(None, None, None, account_id=None))[0]
    assert "commands below" not in confirm.summary
    assert (
        "aws iam simulate-principal-policy --policy-source-arn <user or role ARN> --action-names <action> tells "
        "whether the identity-based policies, the boundary and the SCPs allow it, once the caller (aws sts "
        "get-caller-identity"
    ) in confirm.summary
    assert "and the action (the API call that failed names it) are known" in confirm.summary


def test_unconfirmed_fixes_for_a_user_without_an_action_name_the_user_in_the_simulation() -> None:
    confirm = unconfirmed_fixes(denial(USER, None, OBJECT))[0]
    assert f"--policy-source-arn {USER} --action-names <action> --resource-arns {OBJECT}" in confirm.summary
    assert "once the action (the API call that failed names it) is known" in confirm.summary
    assert "the commands below show the resource's side" in confirm.summary


def test_unconfirmed_fixes_for_root_name_the_scp_listing_not_the_simulator() -> None:
    root = f"arn:aws:iam::{ACCOUNT}:root"
    repository = f"arn:aws:ecr:us-west-2:{OTHER_ACCOUNT}:repository/images"
    confirm = unconfirmed_fixes(denial(root, "ecr:InitiateLayerUpload", repository))[0]
    assert "simulate-principal-policy tells" not in confirm.summary
    assert f"list-policies-for-target lists the SCPs attached to account {ACCOUNT}" in confirm.summary
    assert "the resource-policy commands show the resource's side" in confirm.summary


def test_explicit_deny_without_a_caller_says_what_to_find_before_simulating() -> None:
    fix = unconfirmed_fixes(denial(None, "s3:GetObject", OBJECT, account_id=None), DenialKind.EXPLICIT)[0]
    assert "commands below" not in fix.summary
    assert (
        f"Find it: aws iam simulate-principal-policy --policy-source-arn <user or role ARN> --action-names "
        f"s3:GetObject --resource-arns {OBJECT} lists the matched statements, once the caller"
    ) in fix.summary


def test_unmet_condition_says_to_meet_it_not_to_add_a_grant() -> None:
    blocker = Blocker(
        Layer.IDENTITY,
        DenialKind.IMPLICIT,
        policy="S3Access",
        sid="ReadWithMfa",
        unmet="condition",
        conditions=(ConditionCheck("aws:MultiFactorAuthPresent", "Bool", ("true",), None),),
    )
    fix = identity_grant_fix(denial(USER, "s3:GetObject", OBJECT), blocker)
    assert fix.policy is None
    assert "S3Access (statement ReadWithMfa) allows s3:GetObject, but only when" in fix.summary
    assert "aws:MultiFactorAuthPresent Bool [true] (request: absent)" in fix.summary
    assert "get-session-token" in fix.summary
    # MFA is a property of the call: whoever makes it meets the condition; admins only if the condition is wrong.
    assert fix.owner == OWNER_CALLER
    assert "Make the call so that it meets the condition, or have the account admins" in fix.summary


def test_unmet_condition_on_the_principal_is_for_account_admins() -> None:
    blocker = Blocker(
        Layer.IDENTITY,
        DenialKind.IMPLICIT,
        policy="S3Access",
        sid="TeamOnly",
        unmet="condition",
        conditions=(ConditionCheck("aws:PrincipalTag/team", "StringEquals", ("data",), None),),
    )
    fix = identity_grant_fix(denial(USER, "s3:GetObject", OBJECT), blocker)
    assert fix.owner == OWNER_ACCOUNT
    assert "Meet the condition, or change the statement if the condition is wrong" in fix.summary


# --- missing resource grant -------------------------------------------------------------------------------------


def test_resource_grant_names_the_role_behind_a_session() -> None:
    fix = resource_grant_fix(denial(SESSION, "s3:GetObject", OBJECT))
    assert fix.policy == {
        "Sid": "AllowBuildBotRoleS3GetObject",
        "Effect": "Allow",
        "Principal": {"AWS": ROLE},
        "Action": "s3:GetObject",
        "Resource": OBJECT,
    }
    assert fix.owner == OWNER_RESOURCE
    assert fix.attach_to == "arn:aws:s3:::prod-artifacts"
    assert "bucket policy of prod-artifacts" in fix.summary
    assert "cross-account access needs both sides" in fix.summary


def test_resource_grant_for_root_across_accounts_asks_nothing_of_roots_identity_policies() -> None:
    root = f"arn:aws:iam::{ACCOUNT}:root"
    repository = f"arn:aws:ecr:us-west-2:{OTHER_ACCOUNT}:repository/images"
    fix = resource_grant_fix(denial(root, "ecr:InitiateLayerUpload", repository))
    assert fix.policy is not None
    assert fix.policy["Principal"] == {"AWS": root}
    assert "identity-based policy must allow" not in fix.summary
    assert (
        f"The caller is in account {ACCOUNT} and the resource in {OTHER_ACCOUNT}: the repository policy of images is "
        "the side that must allow it. Root needs no identity-based policy"
    ) in fix.summary
    assert f"an SCP of account {ACCOUNT} can still deny it" in fix.summary


def test_resource_grant_on_a_key_is_for_key_administrators() -> None:
    fix = resource_grant_fix(denial(ROLE, "kms:Decrypt", KEY))
    assert fix.owner == OWNER_KEY
    assert fix.policy is not None
    assert fix.policy["Resource"] == "*"
    assert fix.policy["Principal"] == {"AWS": ROLE}
    assert "key policy of key abcd-1234" in fix.summary
    assert f"arn:aws:iam::{ACCOUNT}:root" in fix.summary


def test_resource_grant_in_the_same_account_needs_nothing_on_the_callers_side() -> None:
    fix = resource_grant_fix(denial(ROLE, "kms:Decrypt", KEY))
    assert "another account" not in fix.summary
    assert "both sides" not in fix.summary


def test_a_sessions_role_is_named_with_its_path_once_iam_told_it() -> None:
    guessed = denial(SESSION, "kms:Decrypt", KEY)
    assert guessed.principal is not None
    told = replace(guessed, principal=replace(guessed.principal, path="/ci/", path_known=True))

    before, after = resource_grant_fix(guessed), resource_grant_fix(told)

    assert before.policy is not None
    assert after.policy is not None
    assert before.policy["Principal"] == {"AWS": ROLE}
    assert "The session ARN does not show the role's path" in before.summary
    assert after.policy["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci/build-bot-role"}
    assert "path" not in after.summary


def test_resource_grant_across_accounts_names_both_accounts() -> None:
    queue = f"arn:aws:sqs:eu-west-1:{OTHER_ACCOUNT}:jobs"
    fix = resource_grant_fix(denial(ROLE, "sqs:SendMessage", queue))
    assert fix.policy is not None
    assert fix.policy["Resource"] == queue
    assert f"The caller is in account {ACCOUNT} and the resource in {OTHER_ACCOUNT}" in fix.summary


def test_resource_grant_for_ecr_has_no_resource_element() -> None:
    repo = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/app"
    fix = resource_grant_fix(denial(ROLE, "ecr:BatchGetImage", repo))
    assert fix.policy is not None
    assert "Resource" not in fix.policy
    assert "repository policy of app" in fix.summary


def test_resource_grant_for_lambda_says_to_use_add_permission() -> None:
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:resize"
    fix = resource_grant_fix(denial(ROLE, "lambda:InvokeFunction", function))
    assert (
        f"aws lambda add-permission --function-name {function} --statement-id AllowBuildBotRoleLambdaInvokeFunction "
        f"--action lambda:InvokeFunction --principal {ROLE}"
    ) in fix.summary


def test_resource_grant_for_a_service_principal_uses_service_and_warns_of_confused_deputy() -> None:
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
    fix = resource_grant_fix(denial("events.amazonaws.com", "sns:Publish", topic))
    assert fix.policy is not None
    assert fix.policy["Principal"] == {"Service": "events.amazonaws.com"}
    assert "aws:SourceArn" in fix.summary


def test_resource_grant_for_a_role_resource_is_a_trust_statement() -> None:
    target = f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer"
    fix = resource_grant_fix(denial(SESSION, "sts:AssumeRole", target))
    assert fix.policy is not None
    assert fix.policy["Principal"] == {"AWS": ROLE}
    assert "trust policy of role deployer" in fix.summary


def test_resource_grant_without_a_resource_writes_no_policy() -> None:
    fix = resource_grant_fix(denial(ROLE, "s3:GetObject", None))
    assert fix.policy is None
    assert "names no resource" in fix.summary


# --- role trust ---------------------------------------------------------------------------------------------------


def test_trust_statement_across_accounts() -> None:
    target = f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer"
    fix = trust_fix(denial(SESSION, "sts:AssumeRole", target))
    assert fix.policy == {
        "Sid": "AllowBuildBotRoleAssumeRole",
        "Effect": "Allow",
        "Principal": {"AWS": ROLE},
        "Action": "sts:AssumeRole",
    }
    assert fix.attach_to == target
    assert fix.owner == OWNER_ACCOUNT
    assert "update-assume-role-policy replaces the whole trust policy" in fix.summary
    assert f"caller's identity policy must also allow sts:AssumeRole on {target}" in fix.summary


@pytest.mark.parametrize(
    ("target", "what"),
    [
        (USER, "IAM user build-bot"),
        (f"arn:aws:iam::{OTHER_ACCOUNT}:instance-profile/web", "instance profile web"),
        (f"arn:aws:iam::{OTHER_ACCOUNT}:root", "the root user of its account"),
        # Pasted with the account edited out: still plainly not a role.
        ("arn:aws:iam::123456789:user/UserAccount", "IAM user UserAccount"),
    ],
)
def test_assuming_something_that_is_not_a_role_is_the_callers_to_fix(target: str, what: str) -> None:
    request = denial(USER, "sts:AssumeRole", target)
    assert not_a_role(request) == what
    for fix in (trust_fix(request), *unconfirmed_fixes(request)):
        assert fix.owner == OWNER_CALLER
        assert fix.policy is None
        assert fix.summary.startswith(f"Assume a role, not {what}: no policy change can make this call work.")
    assert len(unconfirmed_fixes(request)) == 1
    blocker = Blocker(Layer.IDENTITY, DenialKind.IMPLICIT)
    assert fix_for(request, blocker).owner == OWNER_CALLER


def test_assuming_a_session_names_the_role_behind_it() -> None:
    request = denial(SESSION, "sts:AssumeRole", f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/deployer/alice")
    assert not_a_role(request) == "a session of role deployer"
    fix = trust_fix(request)
    assert f"That session's role is arn:aws:iam::{OTHER_ACCOUNT}:role/deployer" in fix.summary


@pytest.mark.parametrize(
    ("action", "target"),
    [
        ("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/deployer"),
        ("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/team/ops/deployer"),
        ("sts:TagSession", USER),
        ("iam:GetUser", USER),
        ("sts:AssumeRole", None),
    ],
)
def test_a_role_or_another_call_is_not_flagged(action: str, target: str | None) -> None:
    request = denial(USER, action, target)
    assert not_a_role(request) is None
    if action == "sts:AssumeRole" and target is not None:
        assert trust_fix(request).owner == OWNER_ACCOUNT


def test_an_explicit_deny_of_assuming_a_user_still_names_the_deny() -> None:
    request = denial(USER, "sts:AssumeRole", USER)
    blocker = Blocker(Layer.SCP, DenialKind.EXPLICIT, policy_arn=SCP_ARN)
    assert fix_for(request, blocker).owner == OWNER_ORG


def test_trust_for_tag_session_allows_that_action() -> None:
    target = f"arn:aws:iam::{ACCOUNT}:role/deployer"
    fix = trust_fix(denial(USER, "sts:TagSession", target))
    assert fix.policy is not None
    assert fix.policy["Action"] == "sts:TagSession"
    assert fix.policy["Principal"] == {"AWS": USER}


def test_trust_for_web_identity_names_the_provider_without_guessing_it() -> None:
    target = f"arn:aws:iam::{ACCOUNT}:role/gha-deploy"
    fix = trust_fix(denial(None, "sts:AssumeRoleWithWebIdentity", target))
    assert fix.policy is None
    assert '"Federated"' in fix.summary
    assert "role gha-deploy" in fix.summary


# --- explicit denies ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "owner", "where"),
    [
        (Layer.IDENTITY, OWNER_ACCOUNT, "The identity-based policy ProdGuardrail"),
        (Layer.BOUNDARY, OWNER_BOUNDARY, "The permissions boundary ProdGuardrail"),
        (Layer.SESSION, OWNER_SESSION, "The session policy of user build-bot"),
        (Layer.RESOURCE, OWNER_RESOURCE, "The bucket policy of prod-artifacts"),
        (Layer.VPCE, OWNER_NETWORK, "The VPC endpoint policy"),
    ],
)
def test_explicit_deny_says_change_the_deny_not_add_an_allow(layer: Layer, owner: str, where: str) -> None:
    request = denial(USER, "s3:DeleteObject", OBJECT, layer=layer, kind=DenialKind.EXPLICIT, policy_arn=GUARDRAIL_ARN)
    fix = fix_for(request, Blocker(layer, DenialKind.EXPLICIT, policy_arn=GUARDRAIL_ARN))
    assert fix.owner == owner
    assert fix.summary.startswith(where)
    assert "adding an Allow cannot help" in fix.summary
    assert not _says_add_an_allow(fix)


def test_explicit_deny_quotes_statement_and_conditions() -> None:
    blocker = Blocker(
        Layer.RESOURCE,
        DenialKind.EXPLICIT,
        sid="DenyInsecureTransport",
        conditions=(ConditionCheck("aws:SecureTransport", "Bool", ("false",), "false"),),
    )
    fix = explicit_deny_fix(denial(ROLE, "s3:GetObject", OBJECT), blocker)
    assert (
        "The bucket policy of prod-artifacts has a Deny statement (statement DenyInsecureTransport) matching "
        f"s3:GetObject on {OBJECT} when aws:SecureTransport Bool [false] (request: false)."
    ) in fix.summary
    assert fix.attach_to == "arn:aws:s3:::prod-artifacts"


def test_explicit_deny_in_an_aws_managed_policy_says_detach_it() -> None:
    managed = "arn:aws:iam::aws:policy/AWSDenyAll"
    fix = explicit_deny_fix(denial(ROLE), Blocker(Layer.IDENTITY, DenialKind.EXPLICIT, policy_arn=managed))
    assert "AWS managed policy and cannot be edited" in fix.summary
    assert fix.attach_to == managed


def test_explicit_deny_for_sso_is_for_identity_center_admins() -> None:
    fix = explicit_deny_fix(denial(SSO_SESSION), Blocker(Layer.IDENTITY, DenialKind.EXPLICIT))
    assert fix.owner == OWNER_SSO
    assert "permission set DataReaders" in fix.summary


def test_explicit_deny_in_a_session_policy_needs_a_new_session() -> None:
    fix = explicit_deny_fix(denial(SESSION), Blocker(Layer.SESSION, DenialKind.EXPLICIT))
    assert fix.owner == OWNER_SESSION
    assert "created again" in fix.summary


def test_explicit_deny_in_a_trust_policy_points_at_the_role() -> None:
    target = f"arn:aws:iam::{ACCOUNT}:role/deployer"
    fix = explicit_deny_fix(denial(USER, "sts:AssumeRole", target), Blocker(Layer.TRUST, DenialKind.EXPLICIT))
    assert fix.summary.startswith("The trust policy of role deployer has a Deny statement")
    assert fix.attach_to == target


# --- SCP and RCP --------------------------------------------------------------------------------------------------


def test_explicit_scp_is_for_org_admins_and_no_iam_policy_can_fix_it() -> None:
    request = denial(SESSION, "ec2:RunInstances", None, layer=Layer.SCP, kind=DenialKind.EXPLICIT, policy_arn=SCP_ARN)
    fix = org_policy_fix(request, Blocker(Layer.SCP, DenialKind.EXPLICIT, policy="p-examplescp", policy_arn=SCP_ARN))
    assert fix.owner == OWNER_ORG
    assert fix.attach_to == SCP_ARN
    assert fix.policy is None
    assert f"No IAM policy in account {ACCOUNT} can fix it" in fix.summary
    assert "service control policy p-examplescp" in fix.summary
    assert "adding an Allow in IAM cannot help" in fix.summary


def test_implicit_scp_needs_an_allow_at_every_level() -> None:
    fix = fix_for(denial(ROLE, "bedrock:InvokeModel", None), Blocker(Layer.SCP, DenialKind.IMPLICIT))
    assert fix.owner == OWNER_ORG
    assert "EVERY level" in fix.summary
    assert "FullAWSAccess" in fix.summary
    assert "No IAM policy" in fix.summary
    assert _statement(fix) == {
        "Sid": "AllowBedrockInvokeModel",
        "Effect": "Allow",
        "Action": "bedrock:InvokeModel",
        "Resource": "*",
    }


def test_rcp_targets_the_resource_account() -> None:
    queue = f"arn:aws:sqs:eu-west-1:{OTHER_ACCOUNT}:jobs"
    fix = fix_for(denial(ROLE, "sqs:SendMessage", queue), Blocker(Layer.RCP, DenialKind.EXPLICIT))
    assert fix.owner == OWNER_ORG
    assert "resource control policy" in fix.summary
    assert f"No IAM policy in account {OTHER_ACCOUNT}" in fix.summary
    assert fix.policy is None


# --- boundary, session, endpoint ----------------------------------------------------------------------------------


def test_boundary_fix_changes_the_boundary_not_the_role() -> None:
    request = denial(ROLE, "s3:GetObject", OBJECT, layer=Layer.BOUNDARY, kind=DenialKind.IMPLICIT)
    fix = boundary_fix(request, Blocker(Layer.BOUNDARY, DenialKind.IMPLICIT, policy_arn=BOUNDARY_ARN))
    assert fix.owner == OWNER_BOUNDARY
    assert fix.attach_to == BOUNDARY_ARN
    assert "permissions boundary DevBoundary" in fix.summary
    assert "attaching more permissions to the role cannot help" in fix.summary
    assert _statement(fix)["Resource"] == OBJECT


def test_session_fix_is_for_the_session_creator() -> None:
    fix = session_policy_fix(denial(SESSION, "s3:PutObject", OBJECT))
    assert fix.owner == OWNER_SESSION
    assert fix.attach_to is None
    assert "changing the role's policies cannot help" in fix.summary
    assert "new session" in fix.summary
    assert _statement(fix)["Action"] == "s3:PutObject"


def test_vpc_endpoint_fix_names_the_endpoint_from_the_context() -> None:
    request = denial(SESSION, "s3:GetObject", OBJECT, context={"aws:SourceVpce": "vpce-0abc1234"})
    fix = vpc_endpoint_fix(request)
    assert fix.owner == OWNER_NETWORK
    assert fix.attach_to == "vpce-0abc1234"
    assert fix.policy == {
        "Sid": "AllowBuildBotRoleS3GetObject",
        "Effect": "Allow",
        "Principal": {"AWS": ROLE},
        "Action": "s3:GetObject",
        "Resource": OBJECT,
    }


# --- unknown layer ------------------------------------------------------------------------------------------------


def test_unknown_layer_confirms_first_then_an_unverified_grant() -> None:
    fixes = unconfirmed_fixes(denial(USER, "s3:GetObject", OBJECT))
    assert len(fixes) == 2
    confirm, grant = fixes
    assert confirm.policy is None
    assert "Confirm it before changing anything" in confirm.summary
    assert grant.summary.startswith("Unverified: ")
    assert grant.attach_to == USER
    assert _statement(grant)["Action"] == "s3:GetObject"


def test_unknown_assume_role_suggests_trust_and_identity() -> None:
    target = f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer"
    confirm, trust, grant = unconfirmed_fixes(denial(SESSION, "sts:AssumeRole", target))
    assert confirm.policy is None
    assert trust.policy is not None
    assert trust.policy["Principal"] == {"AWS": ROLE}
    assert _statement(grant) == {
        "Sid": "AllowStsAssumeRole",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": target,
    }
    assert all(f.summary.startswith("Unverified: ") for f in (trust, grant))


def test_unknown_cross_account_key_also_suggests_the_key_policy() -> None:
    key = f"arn:aws:kms:us-east-1:{OTHER_ACCOUNT}:key/abcd-1234"
    fixes = unconfirmed_fixes(denial(ROLE, "kms:Decrypt", key))
    assert [f.owner for f in fixes] == [OWNER_ACCOUNT, OWNER_ACCOUNT, OWNER_KEY]


def test_explicit_deny_without_a_layer_never_suggests_an_allow() -> None:
    fixes = unconfirmed_fixes(denial(USER, "s3:DeleteObject", OBJECT), DenialKind.EXPLICIT)
    assert len(fixes) == 1
    assert fixes[0].policy is None
    assert "adding an Allow cannot help" in fixes[0].summary


def test_unknown_anonymous_is_about_credentials() -> None:
    fixes = unconfirmed_fixes(denial("anonymous", "s3:GetObject", OBJECT))
    assert [f.owner for f in fixes] == [OWNER_CALLER]


API = "arn:aws:execute-api:us-west-2:123456789012:vd2gh6uqw3/api/GET/"


@pytest.mark.parametrize("kind", [None, DenialKind.IMPLICIT, DenialKind.EXPLICIT])
def test_unsigned_api_gateway_call_is_about_the_apis_resource_policy_not_credentials(kind: DenialKind | None) -> None:
    fixes = unconfirmed_fixes(denial("anonymous", "execute-api:Invoke", API, kind=kind), kind)
    assert len(fixes) == 1
    summary = fixes[0].summary
    assert fixes[0].owner == OWNER_RESOURCE
    assert "Configure credentials" not in summary
    assert summary.startswith(f"API Gateway refused an unsigned call to {API}: the API's resource policy")
    assert "the get-rest-api command below prints it" in summary
    assert "the method must use IAM authorization (AWS_IAM)" in summary
    assert "aws:SourceIp, aws:SourceVpc, aws:SourceVpce" in summary
    assert "deployed again" in summary


def test_unsigned_api_gateway_call_without_an_api_id_says_how_to_read_the_policy() -> None:
    fix = unconfirmed_fixes(denial("anonymous", "execute-api:Invoke", None))[0]
    assert "aws apigateway get-rest-api --rest-api-id <API id> --query policy --output text prints it" in fix.summary


@pytest.mark.parametrize(
    ("resource", "api_id"),
    [
        (API, "vd2gh6uqw3"),
        ("arn:aws:execute-api:us-west-2:********2543:vd2gh6uqw3/api/GET/", "vd2gh6uqw3"),
        ("arn:aws:execute-api:eu-west-1:123456789012:<idOfGateway>/*/GET/", None),
        (OBJECT, None),
        (None, None),
    ],
)
def test_rest_api_id_is_read_even_with_the_account_taken_out(resource: str | None, api_id: str | None) -> None:
    assert rest_api_id(resource) == api_id


CREATE_DATABASE_REFUSAL = (
    "api error AccessDeniedException: Insufficient Lake Formation permission(s): Required Create Database on Catalog"
)


@pytest.mark.parametrize(
    ("snippet", "permission", "target", "resource"),
    [
        (CREATE_DATABASE_REFUSAL, "CREATE_DATABASE", "Catalog", '{"Catalog": {}}'),
        (
            "Insufficient Lake Formation permission(s): Required Create Table on sales (Service: AWSGlue)",
            "CREATE_TABLE",
            "sales",
            '{"Database": {"Name": "sales"}}',
        ),
        (
            "Insufficient Lake Formation permission(s): Required Select on orders",
            "SELECT",
            "orders",
            '{"Table": {"DatabaseName": "<database>", "Name": "orders"}}',
        ),
        (
            "ERROR : Insufficient Lake Formation permission(s) on credit-db (Database name: credit-db) (Service: Glue",
            None,
            "credit-db",
            '{"Database": {"Name": "credit-db"}}',
        ),
    ],
)
def test_lake_formation_refusal_names_the_missing_grant(
    snippet: str, permission: str | None, target: str, resource: str
) -> None:
    need = lake_formation_need(replace(denial(SESSION, "glue:CreateDatabase", None), snippet=snippet))
    assert need is not None
    assert (need.permission, need.target, need.resource) == (permission, target, resource)


def test_a_denial_that_is_not_lake_formations_has_no_lake_formation_need() -> None:
    assert lake_formation_need(denial(SESSION, "glue:CreateDatabase", None)) is None


def test_lake_formation_refusal_is_fixed_with_a_grant_to_the_role_not_an_iam_policy() -> None:
    request = replace(denial(SESSION, "glue:CreateDatabase", None), snippet=CREATE_DATABASE_REFUSAL)
    fixes = unconfirmed_fixes(request)
    assert len(fixes) == 1
    fix = fixes[0]
    assert fix.owner == OWNER_DATA_LAKE
    assert fix.policy is None
    assert fix.summary.startswith(
        "Lake Formation, not IAM, refused the call: the caller lacks CREATE_DATABASE on the Data Catalog."
    )
    assert (
        f"aws lakeformation grant-permissions --principal DataLakePrincipalIdentifier={ROLE} "
        "--permissions CREATE_DATABASE --resource '{\"Catalog\": {}}'"
    ) in fix.summary
    assert "IAMAllowedPrincipals" in fix.summary


def test_lake_formation_grant_for_an_unnamed_caller_says_whose_arn_to_grant() -> None:
    request = replace(denial(None, None, None), snippet="Insufficient Lake Formation permission(s) on credit-db")
    summary = unconfirmed_fixes(request)[0].summary
    assert "DataLakePrincipalIdentifier=<ARN of the calling role or user> --permissions <permission>" in summary
    assert "The message does not name the permission: DESCRIBE is needed" in summary
    assert "its role's ARN, not the assumed-role ARN" in summary


# --- dispatch and helpers -----------------------------------------------------------------------------------------


def test_fix_for_dispatches_by_layer_and_kind() -> None:
    request = denial(SESSION, "s3:GetObject", OBJECT)
    owners = {(layer, kind): fix_for(request, Blocker(layer, kind)).owner for layer in Layer for kind in DenialKind}
    assert owners[(Layer.IDENTITY, DenialKind.IMPLICIT)] == OWNER_ACCOUNT
    assert owners[(Layer.RESOURCE, DenialKind.IMPLICIT)] == OWNER_RESOURCE
    assert owners[(Layer.BOUNDARY, DenialKind.IMPLICIT)] == OWNER_BOUNDARY
    assert owners[(Layer.SESSION, DenialKind.IMPLICIT)] == OWNER_SESSION
    assert owners[(Layer.VPCE, DenialKind.IMPLICIT)] == OWNER_NETWORK
    assert owners[(Layer.SCP, DenialKind.IMPLICIT)] == OWNER_ORG
    assert owners[(Layer.RCP, DenialKind.EXPLICIT)] == OWNER_ORG
    assert owners[(Layer.BOUNDARY, DenialKind.EXPLICIT)] == OWNER_BOUNDARY


def test_fixes_for_keeps_the_blockers_order() -> None:
    request = denial(SESSION, "s3:GetObject", OBJECT)
    blockers = [Blocker(Layer.SCP, DenialKind.EXPLICIT), Blocker(Layer.IDENTITY, DenialKind.IMPLICIT)]
    assert [f.owner for f in fixes_for(request, blockers)] == [OWNER_ORG, OWNER_ACCOUNT]


def test_no_fix_suggests_an_allow_where_it_cannot_help() -> None:
    request = denial(SESSION, "s3:GetObject", OBJECT)
    for layer in Layer:
        fix = fix_for(request, Blocker(layer, DenialKind.EXPLICIT))
        assert not _says_add_an_allow(fix), layer
        assert fix.policy is None, layer


@pytest.mark.parametrize(
    ("parts", "sid"),
    [
        (("Allow", "s3:GetObject"), "AllowS3GetObject"),
        (("Allow", "resource-groups:GetGroup"), "AllowResourceGroupsGetGroup"),
        (("Allow", "build-bot.role", "kms:Decrypt"), "AllowBuildBotRoleKmsDecrypt"),
        (("", "--"), "Statement"),
    ],
)
def test_statement_sid_is_alphanumeric(parts: tuple[str, ...], sid: str) -> None:
    assert statement_sid(*parts) == sid
    assert re.fullmatch(r"[A-Za-z0-9]+", statement_sid(*parts))


@pytest.mark.parametrize(
    ("arn", "label", "holder_arn"),
    [
        (OBJECT, "bucket policy of prod-artifacts", "arn:aws:s3:::prod-artifacts"),
        ("arn:aws:s3:::prod-artifacts", "bucket policy of prod-artifacts", "arn:aws:s3:::prod-artifacts"),
        (
            f"arn:aws:s3:us-east-1:{ACCOUNT}:accesspoint/ap1/object/a.txt",
            "access point policy of ap1",
            f"arn:aws:s3:us-east-1:{ACCOUNT}:accesspoint/ap1",
        ),
        (KEY, "key policy of key abcd-1234", KEY),
        (
            f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/build",
            "key policy of the key behind alias/build",
            f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/build",
        ),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs", "queue policy of jobs", f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"),
        (
            f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:resize:live",
            "resource-based policy of function resize:live",
            f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:resize:live",
        ),
        (f"arn:aws:iam::{ACCOUNT}:role/ops/deployer", "trust policy of role deployer", None),
        (
            f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t",
            f"resource-based policy of arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t",
            None,
        ),
    ],
)
def test_policy_holder(arn: str, label: str, holder_arn: str | None) -> None:
    holder = policy_holder(arn)
    assert holder is not None
    assert holder.label == label
    assert holder.arn == (holder_arn or arn)


@pytest.mark.parametrize("arn", [None, "", "*", "not-an-arn"])
def test_policy_holder_needs_an_arn(arn: str | None) -> None:
    assert policy_holder(arn) is None


def test_policy_name_and_condition_text() -> None:
    assert policy_name(BOUNDARY_ARN) == "DevBoundary"
    assert policy_name(SCP_ARN) == "p-examplescp"
    assert policy_name(None) is None
    check = ConditionCheck("aws:PrincipalTag/team", "StringEquals", ("a", "b"), ("c", "d"))
    assert describe_condition(check) == "aws:PrincipalTag/team StringEquals [a, b] (request: c, d)"
    unknown = ConditionCheck("aws:SourceVpce", "StringEquals", ("vpce-1",), unknown=True)
    assert describe_condition(unknown) == "aws:SourceVpce StringEquals [vpce-1] (request: unknown)"


@pytest.mark.parametrize(
    ("resource", "note"),
    [
        ("+15550100", "which is not an ARN (a phone number, a name or a path)"),
        ("arn:aws:s3:::<bucket-name>/reports/*", "is incomplete (redacted or cut off)"),
        ("arn:aws:sns:<region>:<account>:alerts", "is incomplete (redacted or cut off)"),
    ],
)
def test_a_resource_a_policy_cannot_name_is_not_put_in_the_statement(resource: str, note: str) -> None:
    fix = identity_grant_fix(denial(USER, "sns:Publish", resource))
    assert _statement(fix)["Resource"] == "*"
    assert note in fix.summary


@pytest.mark.parametrize("account", ["XXXXXXXXXXXX", "3915824****", "<account-id>", "123"])
def test_a_resource_whose_account_was_taken_out_keeps_its_name(account: str) -> None:
    fix = identity_grant_fix(denial(USER, "sns:Publish", f"arn:aws:sns:eu-west-1:{account}:alerts"))
    assert _statement(fix)["Resource"] == "arn:aws:sns:eu-west-1:<ACCOUNT_ID>:alerts"
    assert "put the real one in place of <ACCOUNT_ID>" in fix.summary


def test_an_sms_to_a_phone_number_gets_no_note_about_a_topics_key() -> None:
    assert "KMS key" not in identity_grant_fix(denial(USER, "sns:Publish", "+15550100")).summary
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
    assert "customer managed KMS key" in identity_grant_fix(denial(USER, "sns:Publish", topic)).summary


def test_an_incomplete_resource_arn_is_named_as_such_for_its_own_policy() -> None:
    fix = resource_grant_fix(denial(USER, "kms:Decrypt", "arn:aws:kms:us-west-2:3915824****:key/abcd"))
    assert fix.summary.startswith("The message names the resource as arn:aws:kms:us-west-2:3915824****:key/abcd")
    assert fix.owner == OWNER_KEY


def test_a_web_identity_caller_gets_the_trust_policy_and_no_grant() -> None:
    (fix,) = unconfirmed_fixes(denial(None, "sts:AssumeRoleWithWebIdentity", f"arn:aws:iam::{ACCOUNT}:role/gha"))
    assert '"Federated"' in fix.summary
    assert fix.policy is None


def test_a_named_layer_without_a_kind_leads_with_that_layers_fix() -> None:
    request = denial(USER, "kms:Decrypt", KEY, layer=Layer.RESOURCE)
    confirm, likely = unconfirmed_fixes(request, None, Layer.RESOURCE)
    assert confirm.summary.startswith("The message names the resource layer but not whether a Deny in it matched")
    assert (confirm.owner, likely.owner) == (OWNER_KEY, OWNER_KEY)
    assert likely.summary.startswith("Unverified: Add this statement to the key policy")
