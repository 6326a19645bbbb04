"""AWS's own evidence mapped into the domain: IAM Access Troubleshooter records, decoded messages, simulations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from diagnostics.evidence import (
    DECODED_SOURCE,
    RECORD_SOURCE,
    from_decoded,
    from_record,
    simulated_decision,
    simulation_blockers,
)
from diagnostics.model import Decision, DenialKind, Layer, LayerStatus
from diagnostics.policy import NamedPolicy, PolicySet
from diagnostics.snapshot import AuthorizationRecord, DecodedMessage, Simulation

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "aws" / "authorization-details.json"
ROLE = "arn:aws:iam::222222222222:role/build-bot-role"


def details() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return loaded


def test_an_implicit_deny_record_names_the_layer_and_keeps_awss_context() -> None:
    found = from_record(AuthorizationRecord("a1b2c3d4e5", details()), "s3:GetObject")

    assert found is not None
    assert (found.source, found.decision) == (RECORD_SOURCE, Decision.IMPLICIT_DENY)
    (blocker,) = found.blockers
    assert (blocker.layer, blocker.kind, blocker.policy) == (Layer.IDENTITY, DenialKind.IMPLICIT, None)
    assert found.layer_status[Layer.SCP] is LayerStatus.ALLOWS
    assert found.layer_status[Layer.IDENTITY] is LayerStatus.IMPLICIT_DENY
    # Booleans and numbers come back as IAM context values: strings.
    assert found.context["aws:MultiFactorAuthPresent"] == "false"
    assert found.context["aws:SourceIp"] == "203.0.113.5"


def test_an_explicit_deny_record_carries_the_policy_sid_and_conditions_with_awss_values() -> None:
    record = details()
    record["evaluations"] = [
        {
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::prod-artifacts/release.tar.gz",
            "evaluatedEffect": "EXPLICIT_DENY",
            "checks": [
                {
                    "checkType": "SERVICE_CONTROL_POLICY",
                    "evaluatedEffect": "EXPLICIT_DENY",
                    "targetArn": "arn:aws:organizations::333333333333:ou/o-example/ou-ab12",
                    "matchedPolicies": [
                        {
                            "uri": "policy/scp/p-region",
                            "matchedStatements": [{"sid": "DenyOutsideUS", "evaluatedEffect": "DENY"}],
                        }
                    ],
                }
            ],
        }
    ]
    record["policies"].append(
        {"type": "SERVICE_CONTROL_POLICY", "uri": "policy/scp/p-region", "policySource": {"policyId": "p-region"}}
    )
    record["requestContext"]["aws:RequestedRegion"] = "eu-west-1"
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyOutsideUS",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringNotLike": {"aws:RequestedRegion": "us-*"}},
            }
        ],
    }

    found = from_record(AuthorizationRecord("a1b2", record, {"policy/scp/p-region": document}), "s3:GetObject")

    assert found is not None
    assert found.decision is Decision.EXPLICIT_DENY
    (blocker,) = found.blockers
    assert (blocker.layer, blocker.policy, blocker.sid) == (Layer.SCP, "p-region", "DenyOutsideUS")
    assert blocker.detail == "at arn:aws:organizations::333333333333:ou/o-example/ou-ab12"
    (condition,) = blocker.conditions
    assert (condition.key, condition.actual) == ("aws:RequestedRegion", "eu-west-1")


def test_a_record_shows_the_session_policy_nothing_else_can() -> None:
    record = details()
    record["policies"].append({"type": "SESSION_POLICY", "uri": "policy/session/0", "policySource": {}})
    session = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}

    found = from_record(AuthorizationRecord("a1b2", record, {"policy/session/0": session}), "s3:GetObject")

    assert found is not None
    assert [p.document for p in found.session] == [session]


def test_a_record_that_denies_nothing_is_no_evidence() -> None:
    record = details()
    record["evaluations"] = record["evaluations"][1:]
    assert from_record(AuthorizationRecord("a1b2", record), "kms:Decrypt") is None


def test_a_decoded_message_attributes_its_sid_to_the_policy_that_holds_it() -> None:
    guard = NamedPolicy(
        "Ops",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "NoLargeInstances",
                    "Effect": "Deny",
                    "Action": "ec2:RunInstances",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"ec2:InstanceType": "t3.micro"}},
                }
            ],
        },
    )
    decoded = {
        "allowed": False,
        "explicitDeny": True,
        "matchedStatements": {
            "items": [
                {"statementId": "NoLargeInstances", "effect": "DENY"},
                {"statementId": "Elsewhere", "effect": "DENY"},
            ]
        },
        "context": {
            "conditions": {
                "items": [
                    {"key": "ec2:InstanceType", "values": {"items": [{"value": "m5.large"}]}},
                    {"key": "aws:TagKeys", "values": {"items": [{"value": "a"}, {"value": "b"}]}},
                ]
            }
        },
    }

    found = from_decoded(DecodedMessage(decoded), PolicySet(identity=(guard,)))

    assert found is not None
    assert (found.source, found.decision) == (DECODED_SOURCE, Decision.EXPLICIT_DENY)
    (blocker,) = found.blockers
    assert (blocker.layer, blocker.policy, blocker.sid) == (Layer.IDENTITY, "Ops", "NoLargeInstances")
    assert blocker.conditions[0].actual == "m5.large"
    assert found.context["aws:TagKeys"] == ("a", "b")
    assert found.notes == (
        "the decoded message names denying statement Elsewhere, which is in none of the policies iamwhy could read",
    )


def test_an_allowed_decoded_message_is_no_evidence_of_a_denial() -> None:
    assert from_decoded(DecodedMessage({"allowed": True}), PolicySet()) is None


def simulation(result: dict[str, Any]) -> Simulation:
    return Simulation(ROLE, result)


def test_simulator_answers_become_blockers() -> None:
    explicit = simulation(
        {
            "EvalDecision": "explicitDeny",
            "MatchedStatements": [{"SourcePolicyId": "Guardrail", "SourcePolicyType": "IAM Policy"}],
        }
    )
    capped = simulation(
        {
            "EvalDecision": "implicitDeny",
            "PermissionsBoundaryDecisionDetail": {"AllowedByPermissionsBoundary": False},
            "OrganizationsDecisionDetail": {"AllowedByOrganizations": False},
        }
    )

    assert simulated_decision(explicit) is Decision.EXPLICIT_DENY
    assert [(b.layer, b.kind, b.policy) for b in simulation_blockers(explicit)] == [
        (Layer.IDENTITY, DenialKind.EXPLICIT, "Guardrail")
    ]
    assert [b.layer for b in simulation_blockers(capped)] == [Layer.BOUNDARY, Layer.SCP]
    assert [b.layer for b in simulation_blockers(simulation({"EvalDecision": "implicitDeny"}))] == [Layer.IDENTITY]
    assert simulated_decision(simulation({"EvalDecision": "allowed"})) is Decision.ALLOWED
    assert simulated_decision(simulation({})) is None
