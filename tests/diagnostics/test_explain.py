"""Offline explanation: decision and confidence from the reason phrase, the explanation, the checklist, the fixes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from diagnostics.explain import (
    NOT_CHECKED,
    explain_offline,
    explain_scan_offline,
    explanation,
    offline_checklist,
)
from diagnostics.model import CHECKLIST_ORDER, Blocker, Confidence, Decision, DenialKind, Layer, LayerStatus, ScanResult
from diagnostics.parse import scan
from diagnostics.remediation import OWNER_ACCOUNT, OWNER_BOUNDARY, OWNER_ORG, OWNER_SSO
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


@pytest.mark.parametrize(
    ("kind", "decision"),
    [(DenialKind.EXPLICIT, Decision.EXPLICIT_DENY), (DenialKind.IMPLICIT, Decision.IMPLICIT_DENY)],
)
def test_reported_reason_gives_decision_and_reported_confidence(kind: DenialKind, decision: Decision) -> None:
    diagnosis = explain_offline(denial(USER, layer=Layer.IDENTITY, kind=kind))
    assert diagnosis.decision is decision
    assert diagnosis.confidence is Confidence.REPORTED
    assert diagnosis.blocked_by == (Blocker(Layer.IDENTITY, kind),)


def test_no_reason_is_unknown_with_nothing_blocked() -> None:
    diagnosis = explain_offline(denial(USER))
    assert diagnosis.decision is Decision.UNKNOWN
    assert diagnosis.confidence is Confidence.UNKNOWN
    assert diagnosis.blocked_by == ()


def test_explicit_without_a_layer_is_an_explicit_deny_without_a_blocker() -> None:
    diagnosis = explain_offline(denial(USER, "s3:DeleteObject", kind=DenialKind.EXPLICIT))
    assert diagnosis.decision is Decision.EXPLICIT_DENY
    assert diagnosis.confidence is Confidence.REPORTED
    assert diagnosis.blocked_by == ()
    assert "not in which policy" in diagnosis.explanation
    assert len(diagnosis.fixes) == 1
    assert diagnosis.fixes[0].policy is None


def test_blocker_carries_the_reported_policy() -> None:
    diagnosis = explain_offline(denial(SESSION, layer=Layer.SCP, kind=DenialKind.EXPLICIT, policy_arn=SCP_ARN))
    assert diagnosis.blocked_by == (Blocker(Layer.SCP, DenialKind.EXPLICIT, policy="p-examplescp", policy_arn=SCP_ARN),)


def test_offline_reads_nothing() -> None:
    diagnosis = explain_offline(denial(USER, layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT))
    assert diagnosis.unreadable == ()
    assert diagnosis.unknown_context_keys == ()


def test_warnings_are_passed_through() -> None:
    diagnosis = explain_offline(denial(USER, warnings=("message was truncated",)))
    assert diagnosis.warnings == ("message was truncated",)


# --- the seed guide's example, end to end -------------------------------------------------------------------------


def test_missing_identity_grant_for_build_bot() -> None:
    request = denial(USER, "s3:GetObject", OBJECT, layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT)
    diagnosis = explain_offline(request)
    assert diagnosis.explanation.startswith(
        "No identity-based policy of user build-bot (inline, managed, or through its groups) has an Allow statement "
        f"matching s3:GetObject on {OBJECT}."
    )
    assert "an implicit deny in identity-based policies can hide another one: an SCP" in diagnosis.explanation
    assert diagnosis.fix is not None
    assert diagnosis.fix.attach_to == USER
    assert diagnosis.fix.owner == OWNER_ACCOUNT
    assert diagnosis.fix.policy == {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AllowS3GetObject", "Effect": "Allow", "Action": "s3:GetObject", "Resource": OBJECT}],
    }
    assert diagnosis.commands == (
        "aws sts get-caller-identity",
        f"aws iam simulate-principal-policy --policy-source-arn {USER} --action-names s3:GetObject "
        f"--resource-arns {OBJECT}",
    )


# --- what each layer means ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "kind", "opening"),
    [
        (Layer.IDENTITY, DenialKind.EXPLICIT, "A Deny statement in an identity-based policy"),
        (Layer.RESOURCE, DenialKind.IMPLICIT, "The bucket policy of prod-artifacts does not allow role build-bot-role"),
        (Layer.RESOURCE, DenialKind.EXPLICIT, "A Deny statement in the bucket policy of prod-artifacts matches"),
        (Layer.BOUNDARY, DenialKind.IMPLICIT, "Role build-bot-role (session ci-42) has a permissions boundary"),
        (Layer.BOUNDARY, DenialKind.EXPLICIT, "The permissions boundary"),
        (Layer.SESSION, DenialKind.IMPLICIT, "This session of role build-bot-role (session ci-42) was created with"),
        (Layer.SESSION, DenialKind.EXPLICIT, "The session policy passed when this session"),
        (Layer.SCP, DenialKind.IMPLICIT, "No service control policy allows s3:GetObject at some level"),
        (Layer.SCP, DenialKind.EXPLICIT, "A service control policy"),
        (Layer.RCP, DenialKind.IMPLICIT, "No resource control policy allows s3:GetObject"),
        (Layer.RCP, DenialKind.EXPLICIT, "A resource control policy"),
        (Layer.VPCE, DenialKind.IMPLICIT, "The request went through VPC endpoint vpce-0abc1234, whose policy does not"),
        (
            Layer.VPCE,
            DenialKind.EXPLICIT,
            "The request went through VPC endpoint vpce-0abc1234, whose policy has a Deny",
        ),
    ],
)
def test_each_layer_is_explained_in_its_own_terms(layer: Layer, kind: DenialKind, opening: str) -> None:
    request = denial(SESSION, layer=layer, kind=kind, context={"aws:SourceVpce": "vpce-0abc1234"})
    text = explanation(request)
    assert text.startswith(opening)
    assert "AWS names at most one reason per message" in text


def test_boundary_explanation_says_an_attached_policy_cannot_lift_it() -> None:
    request = denial(ROLE, layer=Layer.BOUNDARY, kind=DenialKind.IMPLICIT, policy_arn=BOUNDARY_ARN)
    text = explanation(request)
    assert f"permissions boundary ({BOUNDARY_ARN})" in text
    assert "denied even when an attached policy allows it" in text
    assert explain_offline(request).fix is not None
    assert explain_offline(request).fixes[0].owner == OWNER_BOUNDARY


def test_boundary_explanation_does_not_capitalise_a_callers_arn() -> None:
    # A caller iamwhy cannot classify is named by the text pasted; "Arn:aws:..." would be a different string.
    masked = "arn:aws:iam::***:user/****"
    text = explanation(denial(masked, "iam:CreateRole", None, layer=Layer.BOUNDARY, kind=DenialKind.IMPLICIT))
    assert text.startswith(f"{masked} has a permissions boundary that does not allow iam:CreateRole.")
    named = explanation(denial(ROLE, "iam:CreateRole", None, layer=Layer.BOUNDARY, kind=DenialKind.IMPLICIT))
    assert named.startswith("Role build-bot-role has a permissions boundary")


def test_scp_explanation_names_the_account_and_says_iam_cannot_override() -> None:
    text = explanation(denial(SESSION, "ec2:RunInstances", None, layer=Layer.SCP, kind=DenialKind.EXPLICIT))
    assert f"for principals in account {ACCOUNT}" in text
    assert "nothing in the account's IAM can override them" in text
    assert "The message does not name the denying policy" in text


def test_scp_explanation_without_an_account_ends_its_sentence() -> None:
    request = denial(None, "ec2:RunInstances", None, layer=Layer.SCP, kind=DenialKind.EXPLICIT, account_id=None)
    text = explanation(request)
    assert text.startswith(
        "A service control policy denies ec2:RunInstances for the principals of the caller's account."
    )


def test_scp_explanation_without_an_account_says_how_to_list_the_scps() -> None:
    request = denial(None, "ec2:RunInstances", None, layer=Layer.SCP, kind=DenialKind.EXPLICIT, account_id=None)
    text = explanation(request)
    assert "the commands below" not in text
    assert (
        "The message does not name the denying policy: aws organizations list-policies-for-target --target-id "
        "<account id> --filter SERVICE_CONTROL_POLICY, run from the management account"
    ) in text


def test_explicit_deny_names_the_policy_when_reported() -> None:
    text = explanation(denial(USER, layer=Layer.IDENTITY, kind=DenialKind.EXPLICIT, policy_arn=GUARDRAIL_ARN))
    assert f"identity-based policy ({GUARDRAIL_ARN}) of user build-bot" in text
    assert "does not name the denying policy" not in text


def test_trust_explanation() -> None:
    target = f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer"
    text = explanation(denial(SESSION, "sts:AssumeRole", target, layer=Layer.TRUST, kind=DenialKind.IMPLICIT))
    assert text.startswith("The trust policy of role deployer does not allow role build-bot-role (session ci-42)")


def test_unknown_assume_role_names_the_trust_policy() -> None:
    target = f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer"
    text = explanation(denial(SESSION, "sts:AssumeRole", target))
    assert text.startswith("AWS does not say why sts:AssumeRole was denied.")
    assert "the trust policy of role deployer does not allow the caller" in text


def test_assuming_a_user_is_the_cause_instead_of_guesses_about_trust() -> None:
    text = explanation(denial(USER, "sts:AssumeRole", USER))
    assert text.startswith(f"The call asked sts:AssumeRole to assume IAM user build-bot ({USER}), which is not a role")
    assert "The usual causes" not in text


def test_assuming_a_user_comes_before_the_reported_layer() -> None:
    text = explanation(denial(USER, "sts:AssumeRole", USER, layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT))
    assert text.startswith("The call asked sts:AssumeRole to assume IAM user build-bot")
    assert "No identity-based policy" in text


def test_a_mistyped_caller_arn_is_named_with_what_is_wrong() -> None:
    text = explanation(denial("arn:aws:iam::123456789:user/deployer"))
    assert (
        "The message names the caller as arn:aws:iam::123456789:user/deployer, which is not a usable ARN (ARN account "
        "is not 12 digits)" in text
    )
    assert "in a form iamwhy recognises" not in text
    assert "in a form iamwhy recognises" in explanation(denial("deployer"))


def test_a_web_identity_denial_is_explained_by_the_trust_policy_alone() -> None:
    text = explanation(denial(None, "sts:AssumeRoleWithWebIdentity", f"arn:aws:iam::{ACCOUNT}:role/gha-deploy"))
    assert "what decides is the trust policy of role gha-deploy" in text
    assert "identity-based policy does not allow" not in text
    assert "get-caller-identity" not in text


# KMS's reason when the key may be missing from the Region as well as not allowing the call.
KMS_NOT_IN_REGION = (
    "because the resource does not exist in this Region, no resource-based policies allow access, or a "
    "resource-based policy explicitly denies access"
)


def test_kms_saying_the_key_may_not_exist_in_this_region_is_explained() -> None:
    request = denial(USER, "kms:Decrypt", None, layer=Layer.RESOURCE)
    request = replace(request, reported=replace(request.reported, phrase=KMS_NOT_IN_REGION))
    assert "under a KMS key of another Region" in explanation(request)
    plain = denial(USER, "kms:Decrypt", None, layer=Layer.RESOURCE)
    assert "under a KMS key of another Region" not in explanation(plain)


def test_a_decrypt_without_a_key_says_the_key_may_be_gone() -> None:
    text = explanation(denial(USER, "kms:Decrypt", None))
    assert "was deleted (or is pending deletion) or belongs to another Region" in text
    assert "was deleted" not in explanation(denial(USER, "kms:Decrypt", KEY))


def test_a_decrypt_without_a_key_gives_the_other_causes_once_and_says_where_the_key_is_named() -> None:
    request = denial(None, "kms:Decrypt", None, layer=Layer.RESOURCE)
    request = replace(request, reported=replace(request.reported, phrase=KMS_NOT_IN_REGION))
    diagnosis = explain_offline(request)
    assert diagnosis.explanation.count("another Region") == 1
    assert "aws lambda get-function-configuration a function's KMSKeyArn" in diagnosis.explanation
    assert "confirm it before changing anything" in diagnosis.explanation
    assert "commands below" not in diagnosis.explanation
    confirm, likely = diagnosis.fixes
    assert "once the key is known (the fix that follows says how to find it)" in confirm.summary
    assert "The message does not name the KMS key, so no key-policy statement can be written" in likely.summary
    assert "SSEKMSKeyId" in likely.summary


def test_secrets_manager_refused_kms_names_the_secrets_key() -> None:
    request = replace(denial(USER, "kms:Decrypt", None), api_operation="GetSecretValue")
    assert "Secrets Manager decrypts the secret with its KMS key as the caller" in explanation(request)


def test_unknown_reason_lists_every_layer_and_asks_to_confirm() -> None:
    text = explanation(denial(USER))
    assert text.startswith(f"The message does not say which policy layer denied s3:GetObject on {OBJECT}")
    for layer_words in ("identity-based policies", "permissions boundary", "session policy", "SCPs", "RCPs"):
        assert layer_words in text
    assert "confirm it" in text


# --- special cases ------------------------------------------------------------------------------------------------


def test_assumed_role_session_explains_role_and_session_policies() -> None:
    text = explanation(denial(SESSION, layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT))
    assert (
        "The caller is session ci-42 of role build-bot-role: AWS evaluates the role's policies, plus any session "
        "policy passed when the session was created"
    ) in text


def test_sso_role_points_at_the_permission_set() -> None:
    diagnosis = explain_offline(denial(SSO_SESSION, layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT))
    assert "permission set DataReaders" in diagnosis.explanation
    assert "not on the role" in diagnosis.explanation
    assert diagnosis.fixes[0].owner == OWNER_SSO


def test_root_is_not_restricted_by_identity_policies() -> None:
    text = explanation(denial(f"arn:aws:iam::{ACCOUNT}:root", layer=Layer.SCP, kind=DenialKind.EXPLICIT))
    assert f"The caller is the root user of account {ACCOUNT}" in text
    assert "identity-based policies never restrict root" in text


def test_unsigned_api_gateway_call_is_decided_by_the_apis_resource_policy() -> None:
    api = "arn:aws:execute-api:us-west-2:123456789012:vd2gh6uqw3/api/GET/"
    text = explanation(denial("anonymous", "execute-api:Invoke", api))
    assert text.startswith(
        f"API Gateway checked this unsigned (anonymous) call to execute-api:Invoke on {api} against the API's "
        "resource policy alone"
    )
    assert text.endswith("that policy does not allow it, or a Deny statement in it matches.")
    assert "client found no credentials" not in text


def test_lake_formation_refusal_is_explained_as_a_missing_lake_formation_grant() -> None:
    refusal = "Insufficient Lake Formation permission(s): Required Create Database on Catalog"
    text = explanation(replace(denial(SESSION, "glue:CreateDatabase", None), snippet=refusal))
    assert text.startswith(
        "Lake Formation refused glue:CreateDatabase: the caller lacks the Lake Formation permission CREATE_DATABASE "
        "on the Data Catalog."
    )
    assert "does not say which policy layer" not in text


def test_a_caller_with_a_part_taken_out_is_named_as_given() -> None:
    masked = "arn:aws:sts::XXXXX:assumed-role/AmazonGrafanaServiceRole-XXXX/amg-session"
    text = explanation(denial(masked, warnings=(f"The principal ARN looks redacted ({masked}).",)))
    assert f"The message names the caller as {masked}, with part of it taken out: run aws sts get-caller-identity" in (
        text
    )
    assert "does not name the caller" not in text


def test_anonymous_means_no_credentials() -> None:
    text = explanation(denial("anonymous"))
    assert "not signed (anonymous)" in text
    assert "found no credentials" in text


def test_service_principal_is_allowed_through_the_resource_policy() -> None:
    text = explanation(denial("events.amazonaws.com", "sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"))
    assert 'Principal {"Service": "events.amazonaws.com"}' in text


def test_unnamed_caller_gets_the_caller_identity_hint() -> None:
    text = explanation(denial(None))
    assert "aws sts get-caller-identity" in text


def test_encoded_message_says_decode_first() -> None:
    diagnosis = explain_offline(denial(USER, "ec2:RunInstances", None, encoded_message="enc0ded" * 300))
    assert "decode them first" in diagnosis.explanation
    assert "ENCODED" in diagnosis.explanation
    assert "enc0ded" not in diagnosis.explanation
    assert diagnosis.commands[0].startswith("aws sts decode-authorization-message")


def test_authorization_id_points_at_the_access_troubleshooter() -> None:
    request = denial(USER, layer=Layer.IDENTITY, kind=DenialKind.EXPLICIT, authorization_id="abc123")
    diagnosis = explain_offline(request)
    assert "IAM Access Troubleshooter" in diagnosis.explanation
    assert diagnosis.commands[0] == "aws iam-toolbox get-request-authorization-details --authorization-id abc123"


def test_cross_account_resource_needs_both_sides() -> None:
    key = f"arn:aws:kms:us-east-1:{OTHER_ACCOUNT}:key/abcd-1234"
    text = explanation(denial(ROLE, "kms:Decrypt", key, layer=Layer.RESOURCE, kind=DenialKind.IMPLICIT))
    assert (
        f"The caller (account {ACCOUNT}) and the resource (account {OTHER_ACCOUNT}) are in different accounts"
    ) in text


def test_cross_account_root_needs_only_the_resource_side() -> None:
    repository = f"arn:aws:ecr:us-west-2:{OTHER_ACCOUNT}:repository/images"
    text = explanation(denial(f"arn:aws:iam::{ACCOUNT}:root", "ecr:InitiateLayerUpload", repository))
    assert (
        f"The caller (account {ACCOUNT}) and the resource (account {OTHER_ACCOUNT}) are in different accounts: the "
        "resource's policy must allow it (root needs no identity-based policy"
    ) in text
    assert "both the caller's identity-based policy" not in text


def test_same_account_resource_is_not_called_cross_account() -> None:
    text = explanation(denial(ROLE, "kms:Decrypt", KEY, layer=Layer.RESOURCE, kind=DenialKind.IMPLICIT))
    assert "different accounts" not in text


# --- the per-layer checklist --------------------------------------------------------------------------------------


def test_checklist_marks_the_reported_layer_and_leaves_the_rest_unchecked() -> None:
    request = denial(SESSION, "ec2:RunInstances", None, layer=Layer.SCP, kind=DenialKind.EXPLICIT, policy_arn=SCP_ARN)
    verdicts = {v.layer: v for v in offline_checklist(request)}
    assert tuple(verdicts) == CHECKLIST_ORDER
    assert verdicts[Layer.SCP].status is LayerStatus.EXPLICIT_DENY
    assert verdicts[Layer.SCP].summary == f"AWS reported: with an explicit deny in a service control policy: {SCP_ARN}"
    assert verdicts[Layer.SCP].policies == (SCP_ARN,)
    for layer in (Layer.IDENTITY, Layer.BOUNDARY, Layer.SESSION, Layer.RESOURCE, Layer.VPCE):
        assert verdicts[layer].status is LayerStatus.UNKNOWN
        assert verdicts[layer].summary == NOT_CHECKED
    assert verdicts[Layer.TRUST].status is LayerStatus.NOT_APPLICABLE
    assert verdicts[Layer.RCP].status is LayerStatus.NOT_APPLICABLE
    assert verdicts[Layer.RCP].summary == "RCPs do not apply to ec2"


def test_checklist_for_a_user_has_no_session_layer() -> None:
    verdicts = {v.layer: v for v in offline_checklist(denial(USER, layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT))}
    assert verdicts[Layer.IDENTITY].status is LayerStatus.IMPLICIT_DENY
    assert verdicts[Layer.SESSION].status is LayerStatus.NOT_APPLICABLE
    assert verdicts[Layer.RCP].status is LayerStatus.UNKNOWN


def test_checklist_for_assume_role_keeps_trust_open() -> None:
    target = f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer"
    verdicts = {v.layer: v for v in offline_checklist(denial(SESSION, "sts:AssumeRole", target))}
    assert verdicts[Layer.TRUST].status is LayerStatus.UNKNOWN
    assert all(v.status is not LayerStatus.IMPLICIT_DENY for v in verdicts.values())


def test_checklist_for_anonymous_drops_the_caller_side_layers() -> None:
    verdicts = {v.layer: v for v in offline_checklist(denial("anonymous"))}
    for layer in (Layer.IDENTITY, Layer.BOUNDARY, Layer.SESSION, Layer.SCP):
        assert verdicts[layer].status is LayerStatus.NOT_APPLICABLE
    assert verdicts[Layer.RESOURCE].status is LayerStatus.UNKNOWN


# --- fixes and commands follow the reported layer -----------------------------------------------------------------


def test_scp_diagnosis_fix_and_commands() -> None:
    request = denial(SESSION, "ec2:RunInstances", None, layer=Layer.SCP, kind=DenialKind.EXPLICIT, policy_arn=SCP_ARN)
    diagnosis = explain_offline(request)
    assert [f.owner for f in diagnosis.fixes] == [OWNER_ORG]
    assert diagnosis.commands[:2] == (
        "aws sts get-caller-identity",
        "aws organizations describe-policy --policy-id p-examplescp --query Policy.Content --output text",
    )
    assert not any(c.startswith("aws s3api") for c in diagnosis.commands)


def test_resource_diagnosis_checks_both_sides() -> None:
    request = denial(ROLE, "kms:Decrypt", KEY, layer=Layer.RESOURCE, kind=DenialKind.IMPLICIT)
    commands = explain_offline(request).commands
    assert commands[1].startswith("aws kms get-key-policy")
    assert commands[2].startswith("aws iam simulate-principal-policy")


def test_unknown_diagnosis_confirms_first() -> None:
    diagnosis = explain_offline(denial(ROLE, "kms:Decrypt", KEY))
    assert diagnosis.fix is not None
    assert diagnosis.fix.policy is None
    assert "Confirm it before changing anything" in diagnosis.fix.summary
    assert all(f.summary.startswith("Unverified: ") for f in diagnosis.fixes[1:])
    assert any(c.startswith("aws organizations list-policies-for-target") for c in diagnosis.commands)


def test_explain_scan_offline_keeps_the_order() -> None:
    first = denial(USER, "s3:GetObject", OBJECT, layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT)
    second = denial(SESSION, "ec2:RunInstances", None, layer=Layer.SCP, kind=DenialKind.EXPLICIT)
    diagnoses = explain_scan_offline(ScanResult(denials=(first, second)))
    assert [d.request for d in diagnoses] == [first, second]
    assert [d.decision for d in diagnoses] == [Decision.IMPLICIT_DENY, Decision.EXPLICIT_DENY]
    assert explain_scan_offline(ScanResult(denials=())) == ()


# --- the words and the commands agree -------------------------------------------------------------------------------

_MASKED_KEY = "arn:aws:kms:us-west-2:3915824****:key/*****-048e-4be0-b497-ca151cd223c5"
_AGREEMENT_CASES = {
    "user": denial(USER),
    "session, explicit, no layer": denial(SESSION, "s3:DeleteObject", kind=DenialKind.EXPLICIT),
    "root across accounts": denial(
        f"arn:aws:iam::{ACCOUNT}:root", "ecr:InitiateLayerUpload", f"arn:aws:ecr:us-west-2:{OTHER_ACCOUNT}:repository/x"
    ),
    "nothing named": denial(None, None, None, account_id=None),
    "no action": denial(None, None, OBJECT, account_id=None),
    "masked caller": denial("arn:aws:iam::***:user/****", "s3:GetObject", OBJECT, account_id=None),
    "masked caller, explicit": denial(None, "s3:GetObject", None, kind=DenialKind.EXPLICIT, account_id=None),
    "masked key": denial(USER, "kms:DescribeKey", _MASKED_KEY, layer=Layer.RESOURCE, kind=DenialKind.IMPLICIT),
    "unnamed key": denial(None, "kms:Decrypt", None, layer=Layer.RESOURCE, account_id=None),
    "scp, no account": denial(
        None, "ec2:RunInstances", None, layer=Layer.SCP, kind=DenialKind.EXPLICIT, account_id=None
    ),
    "identity explicit, no caller": denial(
        None, "s3:GetObject", OBJECT, layer=Layer.IDENTITY, kind=DenialKind.EXPLICIT, account_id=None
    ),
    "service": denial("events.amazonaws.com", "lambda:InvokeFunction", None),
}


@pytest.mark.parametrize("name", sorted(_AGREEMENT_CASES))
def test_words_that_point_to_the_commands_have_commands_to_point_to(name: str) -> None:
    diagnosis = explain_offline(_AGREEMENT_CASES[name])
    texts = [diagnosis.explanation, *(f.summary for f in diagnosis.fixes)]
    checks = [c for c in diagnosis.commands if c != "aws sts get-caller-identity"]
    for text in texts:
        if "commands below" in text:
            assert checks, text
        if "simulate-principal-policy lists" in text or "simulate-principal-policy tells" in text:
            assert "<user or role ARN>" in text or any("simulate-principal-policy" in c for c in checks), text
        if "resource-policy commands show" in text:
            assert any(
                c.startswith(("aws kms get-key-policy", "aws s3api", "aws ecr", "aws sqs", "aws sns")) for c in checks
            ), text


LAMBDA_ENVIRONMENT = (
    "Calling the invoke API action failed with this message: Lambda was unable to decrypt the environment variables "
    "because KMS access was denied. Please check the function's KMS key settings. KMS Exception: "
)


def test_a_function_whose_environment_lambda_cannot_decrypt_is_explained_through_its_execution_role() -> None:
    text = LAMBDA_ENVIRONMENT + (
        "AccessDeniedExceptionKMS Message: The ciphertext refers to a customer master key that does not exist, does "
        "not exist in this region, or you are not allowed to access."
    )
    (diagnosis,) = explain_scan_offline(scan(text))
    assert (diagnosis.request.action, diagnosis.request.api_operation) == ("kms:Decrypt", "Invoke")
    assert "as the function's execution role, which is the caller KMS refused" in diagnosis.explanation
    assert "get-caller-identity" not in diagnosis.explanation
    (fix,) = diagnosis.fixes
    assert "Allow kms:Decrypt on the function's key to the execution role" in fix.summary
    assert diagnosis.commands[0].startswith("aws lambda get-function-configuration --function-name <function>")
    assert "aws sts get-caller-identity" not in diagnosis.commands


def test_a_recreated_execution_role_is_told_to_renew_the_keys_grant() -> None:
    text = (
        LAMBDA_ENVIRONMENT
        + "UnrecognizedClientExceptionKMS Message: The security token included in the request is invalid."
    )
    result = scan(text)
    # KMS's "security token ... is invalid" here is Lambda's denial, not a credentials look-alike.
    assert result.other_errors == ()
    (diagnosis,) = explain_scan_offline(result)
    (fix,) = diagnosis.fixes
    assert "deleted and created again with the same name" in fix.summary
    assert "update-function-configuration" in fix.summary


def test_a_reported_layer_still_gets_its_fix_after_the_functions_own() -> None:
    text = LAMBDA_ENVIRONMENT + (
        "AccessDeniedExceptionKMS Message: User: arn:aws:sts::123456789012:assumed-role/orders-fn-role/orders-fn is "
        "not authorized to perform: kms:Decrypt on resource: arn:aws:kms:eu-west-1:123456789012:key/1f2e3d4c because "
        "no identity-based policy allows the kms:Decrypt action"
    )
    (diagnosis,) = explain_scan_offline(scan(text))
    first, second = diagnosis.fixes
    assert "arn:aws:kms:eu-west-1:123456789012:key/1f2e3d4c" in first.summary
    assert second.policy is not None
    assert "aws kms describe-key --key-id arn:aws:kms:eu-west-1:123456789012:key/1f2e3d4c" in " ".join(
        diagnosis.commands
    )


def test_the_root_user_assuming_a_role_is_told_to_use_other_credentials() -> None:
    text = (
        "An error occurred (AccessDenied) when calling the AssumeRole operation: Roles may not be assumed by root "
        "accounts."
    )
    (diagnosis,) = explain_scan_offline(scan(text))
    assert diagnosis.explanation.startswith("STS refused sts:AssumeRole because the call was made with the root user's")
    assert "trust policy of" not in diagnosis.explanation
    (fix,) = diagnosis.fixes
    assert fix.owner == "caller"
    assert fix.policy is None
    assert "no policy change can help" in fix.summary
    assert diagnosis.commands == ("aws sts get-caller-identity",)
