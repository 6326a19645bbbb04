"""From a gathered snapshot (literal data, no AWS) to a diagnosis: confidence, checklist, explanation, fallbacks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from diagnostics.arn import parse_principal
from diagnostics.diagnose import SESSION_UNKNOWN, diagnose
from diagnostics.model import (
    Confidence,
    Decision,
    DenialKind,
    DeniedRequest,
    Layer,
    LayerStatus,
    PrincipalType,
    Reported,
    Unreadable,
)
from diagnostics.policy import NamedPolicy, PolicySet
from diagnostics.snapshot import AuthorizationRecord, KmsChain, ResourceSide, Simulation, Snapshot

ACCOUNT = "111122223333"
USER = parse_principal(f"arn:aws:iam::{ACCOUNT}:user/build-bot")
SESSION = parse_principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/build-bot-role/ci-42")
OBJECT = "arn:aws:s3:::prod-artifacts/release.tar.gz"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abcd-1234"
FULL = NamedPolicy(
    "FullAWSAccess", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
ALL = NamedPolicy("Admin", FULL.document)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def request(principal: Any = USER, action: str = "s3:GetObject", **kwargs: Any) -> DeniedRequest:
    return DeniedRequest(
        principal=principal, action=action, resource_arn=kwargs.pop("resource", OBJECT), account_id=ACCOUNT, **kwargs
    )


def snapshot(denied: DeniedRequest, policies: PolicySet, **kwargs: Any) -> Snapshot:
    return Snapshot(
        request=denied,
        principal=denied.principal,
        principal_account=ACCOUNT,
        resource_account=kwargs.pop("resource_account", ACCOUNT),
        policies=policies,
        accounts_read=(ACCOUNT,),
        **kwargs,
    )


def in_org(**kwargs: Any) -> PolicySet:
    return PolicySet(
        scp_levels=((FULL,), (FULL,), (FULL,)), scp_level_names=("Root", "ou-ab12-workloads", ACCOUNT), **kwargs
    )


def test_a_complete_read_is_evaluated_with_the_scp_path_in_the_checklist() -> None:
    denied = request(
        reported=Reported(
            Layer.IDENTITY,
            DenialKind.IMPLICIT,
            phrase="because no identity-based policy allows the s3:GetObject action",
        )
    )
    found = diagnose(
        snapshot(
            denied,
            in_org(
                identity=(NamedPolicy("Deploy", doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})),)
            ),
            in_organization=True,
        )
    )

    assert (found.decision, found.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    verdicts = {v.layer: v for v in found.layers}
    assert verdicts[Layer.SCP].summary == f"FullAWSAccess at Root › ou-ab12-workloads › {ACCOUNT}"
    assert verdicts[Layer.SCP].policies == ("FullAWSAccess",)
    # In an organization whose RCP type is off, RCPs are not "not in an organization".
    assert verdicts[Layer.RCP].summary == "no RCP applies: the RCP policy type is not enabled in the organization"
    assert "policies read: Deploy" in found.explanation
    assert "That agrees with what AWS reported" in found.explanation
    assert found.fixes[0].resolves is True
    assert f"--target-id {ACCOUNT} --filter RESOURCE_CONTROL_POLICY" in " ".join(found.commands)


def test_the_scp_path_names_each_level_by_its_name() -> None:
    policies = PolicySet(
        scp_levels=((FULL,), (FULL,), (FULL,)), scp_level_names=("Root", "Workloads (ou-ab12-cdefgh34)", ACCOUNT)
    )
    found = diagnose(snapshot(request(), policies, scp_path=("Root", "Workloads", ACCOUNT), in_organization=True))
    scp = next(v for v in found.layers if v.layer is Layer.SCP)
    assert scp.summary == f"FullAWSAccess at Root › Workloads › {ACCOUNT}"


def test_the_rcp_command_names_the_account_that_owns_the_bucket() -> None:
    found = diagnose(snapshot(request(), PolicySet(), resource_account="444455556666"))
    assert (
        "aws organizations list-policies-for-target --target-id 444455556666 --filter RESOURCE_CONTROL_POLICY"
        in found.commands
    )


def test_an_unreadable_layer_caps_the_confidence_unless_the_simulator_agrees() -> None:
    base = snapshot(
        request(),
        PolicySet(),
        unreadable=(Unreadable(Layer.SCP, "no organizations read role configured (IAMWHY_ORG_ROLE_ARN)"),),
    )
    agreeing = replace(base, simulation=Simulation(USER.arn, {"EvalDecision": "implicitDeny"}))

    alone, simulated = diagnose(base), diagnose(agreeing)

    assert (alone.decision, alone.confidence) == (Decision.IMPLICIT_DENY, Confidence.UNKNOWN)
    assert (simulated.decision, simulated.confidence) == (Decision.IMPLICIT_DENY, Confidence.SIMULATED)
    assert "IAM's policy simulator, which reads them, also denies the request" in simulated.explanation
    scp = next(v for v in simulated.layers if v.layer is Layer.SCP)
    assert (scp.status, scp.summary) == (
        LayerStatus.UNREADABLE,
        "no organizations read role configured (IAMWHY_ORG_ROLE_ARN)",
    )
    assert [u.layer for u in simulated.unreadable] == [Layer.SCP]


def test_the_simulator_answers_where_the_read_layers_cannot() -> None:
    unreadable = (Unreadable(Layer.IDENTITY, "the read-only role lacks iam:ListAttachedUserPolicies"),)
    sim = Simulation(
        USER.arn,
        {
            "EvalDecision": "explicitDeny",
            "MatchedStatements": [{"SourcePolicyId": "Guardrail", "SourcePolicyType": "IAM Policy"}],
        },
    )

    found = diagnose(snapshot(request(), PolicySet(), unreadable=unreadable, simulation=sim))

    assert (found.decision, found.confidence) == (Decision.EXPLICIT_DENY, Confidence.SIMULATED)
    assert [(b.layer, b.policy) for b in found.blocked_by] == [(Layer.IDENTITY, "Guardrail")]


def test_a_disagreeing_simulator_is_shown_as_such() -> None:
    sim = Simulation(USER.arn, {"EvalDecision": "allowed"})
    found = diagnose(snapshot(request(), PolicySet(), simulation=sim))
    assert found.confidence is Confidence.EVALUATED
    assert any(n.startswith("Disagreement: IAM's policy simulator answers allowed") for n in found.notes)


def test_everything_allowed_is_never_allowed_but_unknown() -> None:
    denied = request(
        SESSION,
        reported=Reported(
            Layer.SESSION, DenialKind.IMPLICIT, phrase="because no session policy allows the s3:GetObject action"
        ),
    )

    found = diagnose(snapshot(denied, PolicySet(identity=(ALL,))))

    assert (found.decision, found.confidence) == (Decision.UNKNOWN, Confidence.UNKNOWN)
    assert [(b.layer, b.kind) for b in found.blocked_by] == [(Layer.SESSION, DenialKind.IMPLICIT)]
    assert found.explanation.startswith("Every policy iamwhy could read allows this request, yet AWS denied it")
    assert SESSION_UNKNOWN in found.explanation
    assert next(v for v in found.layers if v.layer is Layer.SESSION).status is LayerStatus.UNKNOWN


def test_the_kms_chain_explains_a_denial_s3_itself_allows() -> None:
    key = ResourceSide(
        layer=Layer.RESOURCE,
        service="kms",
        arn=KEY,
        label="key policy of key abcd-1234",
        account=ACCOUNT,
        policy=NamedPolicy(
            "key policy of abcd-1234",
            doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/key-admin"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ),
            KEY,
        ),
    )
    chain = KmsChain("kms:Decrypt", key, {"kms:ViaService": "s3.us-east-1.amazonaws.com"})
    identity = NamedPolicy("Read", doc({"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"], "Resource": "*"}))

    found = diagnose(snapshot(request(SESSION), PolicySet(identity=(identity,)), kms=chain))

    assert (found.decision, found.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    (blocker,) = found.blocked_by
    assert blocker.layer is Layer.RESOURCE
    assert "does not delegate to IAM" in found.explanation
    assert "so role build-bot-role's own kms:Decrypt grant has no effect" in found.explanation
    assert found.fixes[0].attach_to == KEY
    assert found.fixes[0].resolves is True
    assert blocker.subject == "KMS key abcd-1234"
    assert [(v.layer, v.status, v.subject) for v in found.layers if v.subject] == [
        (Layer.RESOURCE, LayerStatus.IMPLICIT_DENY, "KMS key abcd-1234")
    ]


def test_an_authorization_record_is_verified_and_wins_over_the_local_answer() -> None:
    details = {
        "requestContext": {"aws:PrincipalArn": USER.arn},
        "evaluations": [
            {
                "action": "s3:GetObject",
                "resource": OBJECT,
                "evaluatedEffect": "IMPLICIT_DENY",
                "checks": [{"checkType": "PERMISSIONS_BOUNDARY", "evaluatedEffect": "IMPLICIT_DENY"}],
            }
        ],
        "policies": [],
    }
    found = diagnose(snapshot(request(), PolicySet(identity=(ALL,)), record=AuthorizationRecord("a1b2c3", details)))

    assert (found.decision, found.confidence) == (Decision.IMPLICIT_DENY, Confidence.VERIFIED)
    assert [b.layer for b in found.blocked_by] == [Layer.BOUNDARY]
    assert found.explanation.startswith("From IAM Access Troubleshooter's record of the denial:")
    assert (
        next(v for v in found.layers if v.layer is Layer.BOUNDARY).summary == "AWS's record: no Allow (implicit deny)"
    )


def test_nothing_readable_falls_back_to_the_message_with_a_warning() -> None:
    denied = request(reported=Reported(Layer.IDENTITY, DenialKind.IMPLICIT))
    found = diagnose(replace(snapshot(denied, PolicySet()), fallback="could not assume the read-only role X"))
    assert found.confidence is Confidence.REPORTED
    assert found.warnings[-1] == "Answered from the message alone: could not assume the read-only role X."
    assert found.unreadable == ()


def test_an_unknown_caller_cannot_be_evaluated() -> None:
    unknown = parse_principal("not-an-arn")
    assert unknown.type is PrincipalType.UNKNOWN
    found = diagnose(snapshot(request(unknown), PolicySet()))
    assert found.confidence is Confidence.UNKNOWN
    assert any("the caller is not known" in w for w in found.warnings)


def test_a_policy_aws_returned_that_cannot_be_evaluated_is_a_warning_not_a_crash() -> None:
    broken = NamedPolicy("Broken", {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "*"}]})
    found = diagnose(
        snapshot(request(reported=Reported(Layer.IDENTITY, DenialKind.IMPLICIT)), PolicySet(identity=(broken,)))
    )
    assert found.confidence is Confidence.REPORTED
    assert any("could not be evaluated" in w and "Broken" in w for w in found.warnings)


def test_when_not_one_read_succeeded_the_answer_is_the_messages() -> None:
    why = "the read-only role lacks iam:GetUser"
    denied = request(reported=Reported(Layer.IDENTITY, DenialKind.IMPLICIT))
    found = diagnose(
        replace(snapshot(denied, PolicySet()), accounts_read=(), unreadable=(Unreadable(Layer.IDENTITY, why),))
    )
    assert found.confidence is Confidence.REPORTED
    assert found.warnings[-1] == f"Answered from the message alone: none of iamwhy's reads succeeded ({why})."
    assert [u.why for u in found.unreadable] == [why]


def _key(*statements: dict[str, Any]) -> ResourceSide:
    return ResourceSide(
        layer=Layer.RESOURCE,
        service="kms",
        arn=KEY,
        label="key policy of key abcd-1234",
        account=ACCOUNT,
        policy=NamedPolicy("key policy of abcd-1234", doc(*statements), KEY),
    )


ROOT_DELEGATION = {"Sid": "Delegate", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}
S3_READ = NamedPolicy("Read", doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))
VIA_S3 = {"kms:ViaService": "s3.us-east-1.amazonaws.com", "aws:RequestedRegion": "us-east-1"}


def test_an_scp_on_the_kms_call_reads_naturally_and_has_its_own_row() -> None:
    deny_kms = NamedPolicy("NoKms", doc({"Sid": "NoKms", "Effect": "Deny", "Action": "kms:*", "Resource": "*"}))
    policies = PolicySet(
        identity=(
            NamedPolicy("Read", doc({"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"], "Resource": "*"})),
        ),
        scp_levels=((FULL,), (FULL, deny_kms), (FULL,)),
        scp_level_names=("Root", "Workloads (ou-ab12-cdefgh34)", ACCOUNT),
    )
    chain = KmsChain("kms:Decrypt", _key({**ROOT_DELEGATION, "Action": "kms:*", "Resource": "*"}), VIA_S3)

    found = diagnose(
        snapshot(request(SESSION), policies, kms=chain, in_organization=True, scp_path=("Root", "Workloads", ACCOUNT))
    )

    assert (found.decision, found.confidence) == (Decision.EXPLICIT_DENY, Confidence.EVALUATED)
    (blocker,) = found.blocked_by
    assert (blocker.layer, blocker.sid, blocker.subject) == (Layer.SCP, "NoKms", "KMS key abcd-1234")
    assert blocker.detail == "at Workloads (ou-ab12-cdefgh34)"
    assert found.explanation == (
        "The object is encrypted with KMS key abcd-1234 (the bucket's default), so S3 also asks KMS for kms:Decrypt "
        "as role build-bot-role (session ci-42). Service control policy NoKms at Workloads (ou-ab12-cdefgh34) denies "
        "the kms:Decrypt call S3 makes on KMS key abcd-1234 as the caller (Sid NoKms); an explicit deny overrides "
        "every Allow, so no Allow anywhere can fix it."
    )
    rows = [(v.layer, v.status, v.subject) for v in found.layers]
    assert (Layer.SCP, LayerStatus.ALLOWS, None) in rows
    assert rows[-2:] == [
        (Layer.SCP, LayerStatus.EXPLICIT_DENY, "KMS key abcd-1234"),
        (Layer.RESOURCE, LayerStatus.ALLOWS, "KMS key abcd-1234"),
    ]
    scp = next(v for v in found.layers if v.subject and v.layer is Layer.SCP)
    assert scp.summary == "denied by NoKms (Sid NoKms) at Workloads (ou-ab12-cdefgh34)"


def test_a_missing_grant_on_the_key_reads_naturally_and_has_its_own_row() -> None:
    chain = KmsChain("kms:Decrypt", _key({**ROOT_DELEGATION, "Action": "kms:*", "Resource": "*"}), VIA_S3)

    found = diagnose(snapshot(request(SESSION), PolicySet(identity=(S3_READ,)), kms=chain))

    assert (found.decision, found.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    (blocker,) = found.blocked_by
    assert (blocker.layer, blocker.subject) == (Layer.IDENTITY, "KMS key abcd-1234")
    assert (
        "No identity-based policy of role build-bot-role (session ci-42) allows the kms:Decrypt call S3 makes on KMS "
        "key abcd-1234 as the caller (policies read: Read)." in found.explanation
    )
    assert [(v.layer, v.status) for v in found.layers if v.subject] == [
        (Layer.IDENTITY, LayerStatus.IMPLICIT_DENY),
        (Layer.RESOURCE, LayerStatus.ALLOWS),
    ]
    fix = found.fixes[0]
    assert fix.policy is not None
    assert fix.policy["Statement"][0]["Action"] == "kms:Decrypt"
    assert fix.resolves is True


def test_a_request_denied_for_its_own_sake_does_not_guess_at_its_kms_call() -> None:
    # The region of the KMS call is not known, and an SCP denies outside the US: the request is denied by its own
    # identity policies whatever the region, so nothing is deduced about the KMS call, and nothing blamed on it.
    us_only = NamedPolicy(
        "DenyOutsideUS",
        doc(
            {
                "Sid": "DenyOutsideUS",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringNotLike": {"aws:RequestedRegion": "us-*"}},
            }
        ),
    )
    policies = PolicySet(
        identity=(NamedPolicy("Other", doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})),),
        scp_levels=((FULL,), (FULL, us_only), (FULL,)),
        scp_level_names=("Root", "Workloads (ou-ab12-cdefgh34)", ACCOUNT),
    )
    chain = KmsChain(
        "kms:Decrypt",
        _key({"Effect": "Allow", "Principal": {"AWS": USER.arn}, "Action": "kms:Decrypt", "Resource": "*"}),
        {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
    )
    denied = request(
        reported=Reported(
            Layer.IDENTITY,
            DenialKind.IMPLICIT,
            phrase="because no identity-based policy allows the s3:GetObject action",
        )
    )

    found = diagnose(snapshot(denied, policies, kms=chain, in_organization=True))

    assert [(b.layer, b.subject) for b in found.blocked_by] == [(Layer.IDENTITY, None)]
    assert "KMS" not in found.explanation
    assert [v.layer for v in found.layers if v.subject] == [Layer.RESOURCE]
    # The region decides nothing the fix is about: it is judged where the region lets the request through.
    assert (found.fixes[0].resolves, found.fixes[0].assuming) == (True, 'aws:RequestedRegion was like "us-*"')


def test_only_deductions_the_explanation_rests_on_are_stated() -> None:
    # Both keys are unknown; AWS's reason phrase rules out a non-US region too (the SCP would have made it an
    # explicit deny), but the answer rests on MFA alone: the region is not worth a sentence.
    us_only = NamedPolicy(
        "DenyOutsideUS",
        doc(
            {
                "Sid": "DenyOutsideUS",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringNotLike": {"aws:RequestedRegion": "us-*"}},
            }
        ),
    )
    mfa = NamedPolicy(
        "S3Access",
        doc(
            {
                "Sid": "WithMfa",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ),
    )
    policies = PolicySet(
        identity=(mfa,),
        scp_levels=((FULL,), (FULL, us_only), (FULL,)),
        scp_level_names=("Root", "Workloads (ou-ab12-cdefgh34)", ACCOUNT),
    )
    denied = request(
        reported=Reported(
            Layer.IDENTITY,
            DenialKind.IMPLICIT,
            phrase="because no identity-based policy allows the s3:GetObject action",
        )
    )

    found = diagnose(snapshot(denied, policies, in_organization=True))

    assert (found.decision, found.confidence) == (Decision.IMPLICIT_DENY, Confidence.EVALUATED)
    assert "aws:MultiFactorAuthPresent cannot have been true" in found.explanation
    assert "aws:RequestedRegion" not in found.explanation


def test_a_reported_layer_that_is_not_among_the_blockers_is_not_said_to_agree() -> None:
    denied = request(
        reported=Reported(
            Layer.BOUNDARY, DenialKind.IMPLICIT, phrase="because no permissions boundary allows the s3:GetObject action"
        )
    )
    found = diagnose(snapshot(denied, PolicySet()))
    assert [b.layer for b in found.blocked_by] == [Layer.IDENTITY]
    assert "agrees with what AWS reported" not in found.explanation
