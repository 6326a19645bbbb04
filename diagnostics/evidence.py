"""AWS's own evidence, mapped into the domain: IAM Access Troubleshooter records, decoded messages, simulations.

Pure functions of what gathering fetched. A record or a decoded message is AWS's account of the very request
that failed (its decision, the blocking checks, the full request context); a simulation is IAM's policy
simulator's answer for the same principal, action and resource, used as a cross-check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from diagnostics.model import Blocker, ConditionCheck, ContextValue, Decision, DenialKind, Layer, LayerStatus
from diagnostics.policy import NamedPolicy, PolicyError, PolicySet
from diagnostics.policy.conditions import CompiledCondition, ConditionSyntaxError, compile_condition_block
from diagnostics.remediation import TRUST_ACTIONS, policy_name
from diagnostics.snapshot import AuthorizationRecord, DecodedMessage, Simulation

CHECK_LAYERS: Final = {
    "PRINCIPAL": Layer.IDENTITY,
    "PERMISSIONS_BOUNDARY": Layer.BOUNDARY,
    "SESSION": Layer.SESSION,
    "SERVICE_CONTROL_POLICY": Layer.SCP,
    "RESOURCE_CONTROL_POLICY": Layer.RCP,
    "RESOURCE": Layer.RESOURCE,
    "VPC_ENDPOINT": Layer.VPCE,
}
_CHECK_STATUS: Final = {
    "ALLOW": LayerStatus.ALLOWS,
    "NO_IMPACT": LayerStatus.NOT_APPLICABLE,
    "IMPLICIT_DENY": LayerStatus.IMPLICIT_DENY,
    "EXPLICIT_DENY": LayerStatus.EXPLICIT_DENY,
}
_SIMULATED: Final = {
    "allowed": Decision.ALLOWED,
    "explicitDeny": Decision.EXPLICIT_DENY,
    "implicitDeny": Decision.IMPLICIT_DENY,
}
RECORD_SOURCE: Final = "IAM Access Troubleshooter's record of the denial"
DECODED_SOURCE: Final = "the decoded authorization message"


@dataclass(frozen=True)
class AwsAccount:
    """What AWS itself says about the denied request."""

    source: str
    decision: Decision
    blockers: tuple[Blocker, ...]
    # The request context AWS evaluated: complete, so no key outside it was present.
    context: Mapping[str, ContextValue]
    layer_status: Mapping[Layer, LayerStatus] = field(default_factory=dict)
    # Session policies AWS showed (the only way to see them after the session was created).
    session: tuple[NamedPolicy, ...] = ()
    notes: tuple[str, ...] = ()


def from_record(record: AuthorizationRecord, action: str | None) -> AwsAccount | None:
    """The record's decision, blocking checks (policy, Sid, conditions with AWS's values) and context."""
    details = record.details
    context = _context(details.get("requestContext"))
    policies = {str(p.get("uri")): p for p in details.get("policies") or [] if p.get("uri")}
    blockers: list[Blocker] = []
    status: dict[Layer, LayerStatus] = {}
    notes: list[str] = []
    for evaluation in details.get("evaluations") or []:
        evaluated = str(evaluation.get("action") or "")
        scope = {**context, **_context(evaluation.get("context"))}
        other_action = bool(action and evaluated and evaluated.lower() != action.lower())
        for check in evaluation.get("checks") or []:
            layer = CHECK_LAYERS.get(str(check.get("checkType")))
            effect = str(check.get("evaluatedEffect") or "")
            if layer is None:
                continue
            if layer is Layer.RESOURCE and evaluated in TRUST_ACTIONS:
                layer = Layer.TRUST
            if not other_action and effect in _CHECK_STATUS:
                status[layer] = _CHECK_STATUS[effect]
            if effect not in ("IMPLICIT_DENY", "EXPLICIT_DENY"):
                continue
            prefix = f"{evaluated} on {evaluation.get('resource')}: " if other_action else ""
            blockers.extend(_check_blockers(record, check, layer, effect, policies, scope, prefix))
        if other_action and evaluation.get("evaluatedEffect") != "ALLOW":
            resource = evaluation.get("resource")
            notes.append(f"AWS also evaluated {evaluated} on {resource} for this request, and denied it.")
    if not blockers:
        return None
    decision = (
        Decision.EXPLICIT_DENY if any(b.kind is DenialKind.EXPLICIT for b in blockers) else Decision.IMPLICIT_DENY
    )
    session = tuple(
        NamedPolicy(_policy_label(policies[uri]), record.documents[uri])
        for uri, info in policies.items()
        if info.get("type") == "SESSION_POLICY" and uri in record.documents
    )
    return AwsAccount(RECORD_SOURCE, decision, tuple(blockers), context, status, session, tuple(notes))


def _check_blockers(
    record: AuthorizationRecord,
    check: Mapping[str, Any],
    layer: Layer,
    effect: str,
    policies: Mapping[str, Mapping[str, Any]],
    context: Mapping[str, ContextValue],
    prefix: str,
) -> list[Blocker]:
    kind = DenialKind.EXPLICIT if effect == "EXPLICIT_DENY" else DenialKind.IMPLICIT
    target = check.get("targetArn")
    where = f"at {target}" if target and layer in (Layer.SCP, Layer.RCP) else None
    found: list[Blocker] = []
    for matched in check.get("matchedPolicies") or []:
        uri = str(matched.get("uri") or "")
        info = policies.get(uri, {})
        source = info.get("policySource") or {}
        arn = source.get("policyArn")
        name = _policy_label(info) if info else policy_name(uri)
        for statement in matched.get("matchedStatements") or []:
            if kind is DenialKind.EXPLICIT and statement.get("evaluatedEffect") != "DENY":
                continue
            sid = statement.get("sid")
            raw, conditions = _statement(record.documents.get(uri), sid, context)
            detail = f"{prefix}{where}" if prefix and where else (prefix.rstrip(": ") or where)
            found.append(
                Blocker(
                    layer=layer,
                    kind=kind,
                    policy=name,
                    policy_arn=arn,
                    sid=sid,
                    conditions=conditions,
                    detail=detail or None,
                    statement=raw,
                )
            )
    if not found:
        detail = prefix.rstrip(": ") or where
        found.append(Blocker(layer=layer, kind=kind, detail=detail or None))
    return found


def _policy_label(info: Mapping[str, Any]) -> str:
    source = info.get("policySource") or {}
    arn = source.get("policyArn")
    if arn:
        return policy_name(str(arn)) or str(arn)
    for key in ("policyId", "policyName"):
        if source.get(key):
            return str(source[key])
    return str(info.get("uri") or "policy").rsplit("/", 1)[-1]


def from_decoded(decoded: DecodedMessage, policies: PolicySet) -> AwsAccount | None:
    """A decoded message: whether an explicit deny matched, which statements, and the request context.

    The message names statements by Sid but not the policies holding them; a Sid found in exactly one gathered
    policy is attributed to that policy's layer."""
    document = decoded.document
    if document.get("allowed") is True:
        return None
    context_doc = document.get("context") or {}
    context = _decoded_context(context_doc.get("conditions"))
    explicit = bool(document.get("explicitDeny"))
    blockers: list[Blocker] = []
    notes: list[str] = []
    for statement in _items(document.get("matchedStatements")):
        if str(statement.get("effect") or "").upper() != "DENY":
            continue
        sid = statement.get("statementId") or None
        located = _locate_sid(policies, sid)
        if located is None:
            notes.append(
                f"the decoded message names denying statement {sid or '(without a Sid)'}, which is in none of the "
                "policies iamwhy could read"
            )
            continue
        layer, named, raw = located
        conditions = _conditions_of(raw, context)
        blockers.append(
            Blocker(
                layer=layer,
                kind=DenialKind.EXPLICIT,
                policy=named.name,
                policy_arn=named.arn,
                sid=sid,
                conditions=conditions,
                statement=raw,
            )
        )
    decision = Decision.EXPLICIT_DENY if explicit else Decision.IMPLICIT_DENY
    return AwsAccount(DECODED_SOURCE, decision, tuple(blockers), context, notes=tuple(notes))


def _locate_sid(policies: PolicySet, sid: str | None) -> tuple[Layer, NamedPolicy, Mapping[str, Any]] | None:
    if not sid:
        return None
    candidates: list[tuple[Layer, NamedPolicy]] = [
        *((Layer.IDENTITY, p) for p in policies.identity),
        *((Layer.BOUNDARY, p) for p in policies.boundary),
        *((Layer.SESSION, p) for p in policies.session),
        *((Layer.SCP, p) for level in policies.scp_levels for p in level),
        *((Layer.RCP, p) for level in policies.rcp_levels for p in level),
        *((Layer.VPCE, p) for p in policies.vpce),
    ]
    if policies.resource is not None:
        candidates.append((Layer.RESOURCE, policies.resource))
    hits = [
        (layer, named, statement)
        for layer, named in candidates
        for statement in _statements(named.document)
        if statement.get("Sid") == sid and statement.get("Effect") == "Deny"
    ]
    return hits[0] if len(hits) == 1 else None


def simulated_decision(simulation: Simulation) -> Decision | None:
    return _SIMULATED.get(str(simulation.result.get("EvalDecision")))


def simulation_blockers(simulation: Simulation) -> tuple[Blocker, ...]:
    """The blocking layers the simulator's answer shows: matched Deny statements, a boundary, the organization."""
    result = simulation.result
    decision = simulated_decision(simulation)
    blockers: list[Blocker] = []
    if decision is Decision.EXPLICIT_DENY:
        for statement in result.get("MatchedStatements") or []:
            kind_text = str(statement.get("SourcePolicyType") or "").lower()
            layer = Layer.RESOURCE if kind_text == "resource" else Layer.IDENTITY
            name = str(statement.get("SourcePolicyId") or "") or None
            blockers.append(
                Blocker(layer=layer, kind=DenialKind.EXPLICIT, policy=name, detail="matched in IAM's policy simulator")
            )
    boundary = result.get("PermissionsBoundaryDecisionDetail") or {}
    if boundary.get("AllowedByPermissionsBoundary") is False:
        blockers.append(Blocker(layer=Layer.BOUNDARY, kind=DenialKind.IMPLICIT, detail="per IAM's policy simulator"))
    organizations = result.get("OrganizationsDecisionDetail") or {}
    if organizations.get("AllowedByOrganizations") is False:
        blockers.append(Blocker(layer=Layer.SCP, kind=DenialKind.IMPLICIT, detail="per IAM's policy simulator"))
    if decision is Decision.IMPLICIT_DENY and not blockers:
        blockers.append(Blocker(layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT, detail="per IAM's policy simulator"))
    return tuple(blockers)


# --- helpers -----------------------------------------------------------------------------------------


def _context(raw: Any) -> dict[str, ContextValue]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(key): _value(value) for key, value in raw.items() if value is not None}


def _value(value: Any) -> ContextValue:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return tuple(str(_value(v)) if not isinstance(v, str) else v for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _decoded_context(raw: Any) -> dict[str, ContextValue]:
    context: dict[str, ContextValue] = {}
    for item in _items(raw):
        key = item.get("key")
        values = [str(v.get("value")) for v in _items(item.get("values")) if v.get("value") is not None]
        if isinstance(key, str) and values:
            context[key] = values[0] if len(values) == 1 else tuple(values)
    return context


def _items(raw: Any) -> list[Mapping[str, Any]]:
    items = raw.get("items") if isinstance(raw, Mapping) else raw
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def _statements(document: Any) -> list[Mapping[str, Any]]:
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(statements, Mapping):
        return [statements]
    return [s for s in statements if isinstance(s, Mapping)] if isinstance(statements, list) else []


def _statement(
    document: Mapping[str, Any] | None, sid: Any, context: Mapping[str, ContextValue]
) -> tuple[Mapping[str, Any] | None, tuple[ConditionCheck, ...]]:
    if document is None or not sid:
        return None, ()
    raw = next((s for s in _statements(document) if s.get("Sid") == sid), None)
    if raw is None:
        return None, ()
    return raw, _conditions_of(raw, context)


def _conditions_of(statement: Mapping[str, Any], context: Mapping[str, ContextValue]) -> tuple[ConditionCheck, ...]:
    block = statement.get("Condition")
    if not isinstance(block, dict):
        return ()
    try:
        compiled: Iterable[CompiledCondition] = compile_condition_block(block, variables=True)
    except (ConditionSyntaxError, PolicyError):
        return ()
    lowered = {k.lower(): v for k, v in context.items()}
    return tuple(c.check(lowered, False) for c in compiled)
