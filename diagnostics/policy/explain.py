"""Explanations: every blocking layer with its deciding or closest statement, and the per-layer checklist."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from diagnostics.model import (
    CHECKLIST_ORDER,
    Blocker,
    ConditionCheck,
    Decision,
    DenialKind,
    Layer,
    LayerStatus,
    LayerVerdict,
    PrincipalType,
)
from diagnostics.policy.conditions import CompiledCondition, evaluate_condition
from diagnostics.policy.documents import (
    KIND_BY_LAYER,
    CompiledPolicy,
    CompiledStatement,
    NamedPolicy,
    PolicyKind,
    compile_policy,
)
from diagnostics.policy.request import IAM_PRINCIPALS, PolicySet
from diagnostics.policy.variables import Context

if TYPE_CHECKING:
    from diagnostics.policy.engine import Applied, Evaluation, Model, Outcome

# Why a key policy blocks when it does not let the account's IAM policies grant the key's use.
KMS_NO_DELEGATION: Final = (
    "the key policy does not allow the account's IAM policies to grant this (no statement for the account)"
)


def blockers(model: Model, outcome: Outcome) -> tuple[Blocker, ...]:
    """Every layer that stops the request: explicit denies, then the unmet requirements of the closest path."""
    if outcome.decision is Decision.ALLOWED:
        return ()
    out: list[Blocker] = []
    seen: set[Layer] = set()
    for denial in outcome.denials:
        if denial.layer in seen:
            continue
        seen.add(denial.layer)
        out.append(_explicit(model, denial))
    for layer, ok, detail in outcome.path:
        if ok or layer in seen:
            continue
        seen.add(layer)
        out.append(_implicit(model, layer, detail))
    order = {layer: i for i, layer in enumerate(CHECKLIST_ORDER)}
    return tuple(sorted(out, key=lambda b: order[b.layer]))


def _explicit(model: Model, applied: Applied) -> Blocker:
    stmt = applied.statement
    checks = tuple(condition_check(cond, model.ev.context, model.ev.unknown) for cond in stmt.conditions)
    return Blocker(
        layer=applied.layer,
        kind=DenialKind.EXPLICIT,
        policy=applied.policy.name,
        policy_arn=applied.policy.arn,
        sid=stmt.sid,
        statement_index=stmt.index,
        conditions=checks,
        detail=_level_detail(model, applied.layer, applied.level),
        statement=stmt.raw,
    )


def _implicit(model: Model, layer: Layer, detail: str | None) -> Blocker:
    ev = model.ev
    if detail is not None and layer is not Layer.SCP:
        return Blocker(layer=layer, kind=DenialKind.IMPLICIT, detail=detail)
    policies: list[tuple[CompiledPolicy, int | None]] = []
    level_detail: str | None = None
    if layer is Layer.SCP:
        failing = _failing_scp_level(model)
        level_detail = _level_detail(model, Layer.SCP, failing)
        if failing is not None:
            policies = [(compile_policy(n, PolicyKind.SCP), failing) for n in ev.policies.scp_levels[failing]]
        if failing is not None and not ev.policies.scp_levels[failing]:
            level_detail = f"no SCP attached at {_level_name(model, Layer.SCP, failing)}, so nothing is allowed there"
    else:
        named: tuple[NamedPolicy, ...] = ()
        if layer is Layer.IDENTITY:
            named = ev.policies.identity
        elif layer is Layer.BOUNDARY:
            named = ev.policies.boundary
        elif layer is Layer.SESSION:
            named = ev.policies.session
        elif layer is Layer.VPCE:
            named = ev.policies.vpce
        elif layer in (Layer.RESOURCE, Layer.TRUST) and ev.policies.resource is not None:
            named = (ev.policies.resource,)
        policies = [(compile_policy(n, KIND_BY_LAYER[layer]), None) for n in named]
    closest = closest_allow(ev, layer, [p for p, _ in policies])
    if closest is None:
        text = level_detail or _no_allow_text(ev, layer, bool(policies))
        return Blocker(layer=layer, kind=DenialKind.IMPLICIT, detail=text)
    policy, stmt, unmet, checks = closest
    return Blocker(
        layer=layer,
        kind=DenialKind.IMPLICIT,
        policy=policy.name,
        policy_arn=policy.arn,
        sid=stmt.sid,
        statement_index=stmt.index,
        conditions=checks,
        unmet=unmet,
        detail=level_detail or detail,
        statement=stmt.raw,
    )


def _failing_scp_level(model: Model) -> int | None:
    for i, group in enumerate(model.scp_levels):
        if not group.sure:
            return i
    return None


def _level_name(model: Model, layer: Layer, level: int | None) -> str:
    if level is None:
        return ""
    names = model.ev.policies.scp_level_names if layer is Layer.SCP else model.ev.policies.rcp_level_names
    if level < len(names):
        return names[level]
    count = len(model.ev.policies.scp_levels if layer is Layer.SCP else model.ev.policies.rcp_levels)
    if level == 0:
        return "the organization root"
    if level == count - 1:
        return "the account"
    return f"organization level {level}"


def _level_detail(model: Model, layer: Layer, level: int | None) -> str | None:
    if layer not in (Layer.SCP, Layer.RCP) or level is None:
        return None
    return f"at {_level_name(model, layer, level)}"


def verdicts(model: Model, outcome: Outcome, *, unknown: bool) -> tuple[LayerVerdict, ...]:
    """The per-layer checklist: a layer reads as denying exactly when it is one of the request's blockers."""
    assignment = outcome.assignment
    ev = model.ev
    deny_layers = {a.layer for a in outcome.denials}
    path = outcome.path
    blocking = {layer for layer, ok, _ in path if not ok}
    # Why a layer blocks when no policy of its own does (an AWS rule rather than a statement).
    rules = {layer: detail for layer, ok, detail in path if not ok and detail}
    out: list[LayerVerdict] = []
    for layer in layer_order(ev):
        names = _policy_names(ev, layer)
        reason = _not_applicable(ev, layer)
        applied = [a for a in ev.applied if a.layer is layer]
        undecided = any(a.value is None for a in applied)
        if reason is not None and layer not in blocking and layer not in deny_layers:
            out.append(LayerVerdict(layer, LayerStatus.NOT_APPLICABLE, reason, names))
        elif unknown and undecided:
            out.append(
                LayerVerdict(layer, LayerStatus.UNKNOWN, "depends on context keys whose value is not known", names)
            )
        elif layer in deny_layers:
            denial = next(a for a in outcome.denials if a.layer is layer)
            out.append(LayerVerdict(layer, LayerStatus.EXPLICIT_DENY, f"denied by {_describe(denial)}", names))
        elif layer in blocking:
            rule = rules.get(layer)
            text = rule if rule and not names else _no_allow_text(ev, layer, bool(names))
            if names and rule == KMS_NO_DELEGATION:
                text += "; no delegation to IAM (no statement for the account)"
            out.append(LayerVerdict(layer, LayerStatus.IMPLICIT_DENY, text, names))
        else:
            allowing = [a for a in applied if a.statement.allow and (a.value or assignment.get(a.uid, False))]
            if allowing:
                summary = "allowed by " + "; ".join(_describe(a) for a in allowing[:3])
                out.append(LayerVerdict(layer, LayerStatus.ALLOWS, summary, names))
            elif layer in (Layer.RESOURCE, Layer.TRUST):
                out.append(_unneeded_resource(model, layer, names))
            elif layer is Layer.RCP:
                out.append(
                    LayerVerdict(layer, LayerStatus.ALLOWS, "no RCP denies it (RCPFullAWSAccess applies)", names)
                )
            else:
                # Off the way the request is (or would be) allowed: the resource policy grants it without this layer.
                summary = f"does not allow {ev.request.action}; not needed: the resource policy grants it directly"
                out.append(LayerVerdict(layer, LayerStatus.NOT_APPLICABLE, summary, names))
    return tuple(out)


def _unneeded_resource(model: Model, layer: Layer, names: tuple[str, ...]) -> LayerVerdict:
    """The resource side of a request that did not need it to allow: in the same account an identity-based Allow
    is enough, so a resource policy without a statement for the caller stops nothing."""
    grants = [g for found in model.grant_allows.values() for g in found]
    if grants:
        return LayerVerdict(
            layer, LayerStatus.ALLOWS, f"allowed by KMS grant {grants[0].name or grants[0].grant_id}", names
        )
    if not names:
        return LayerVerdict(layer, LayerStatus.NOT_APPLICABLE, "no resource policy", names)
    where = "in the same account" if model.ev.same_account else "for this request"
    return LayerVerdict(
        layer, LayerStatus.NOT_APPLICABLE, f"no statement allows this principal; not needed {where}", names
    )


def layer_order(ev: Evaluation) -> tuple[Layer, ...]:
    skip = Layer.RESOURCE if ev.is_trust else Layer.TRUST
    return tuple(layer for layer in CHECKLIST_ORDER if layer is not skip)


def _policy_names(ev: Evaluation, layer: Layer) -> tuple[str, ...]:
    cached = ev.compiled.names.get(layer)
    if cached is None:
        cached = ev.compiled.names[layer] = _names_of(ev.policies, layer)
    return cached


def _names_of(p: PolicySet, layer: Layer) -> tuple[str, ...]:
    if layer is Layer.IDENTITY:
        return tuple(n.name for n in p.identity)
    if layer is Layer.BOUNDARY:
        return tuple(n.name for n in p.boundary)
    if layer is Layer.SESSION:
        return tuple(n.name for n in p.session)
    if layer is Layer.SCP:
        return tuple(n.name for level in p.scp_levels for n in level)
    if layer is Layer.RCP:
        return tuple(n.name for level in p.rcp_levels for n in level)
    if layer is Layer.VPCE:
        return tuple(n.name for n in p.vpce)
    names = (p.resource.name,) if p.resource is not None else ()
    return names + tuple(f"grant {g.name or g.grant_id}" for g in p.kms_grants)


def _not_applicable(ev: Evaluation, layer: Layer) -> str | None:
    if layer is Layer.IDENTITY:
        if ev.ptype is PrincipalType.ROOT:
            return "the root user is not limited by identity policies"
        if ev.ptype not in IAM_PRINCIPALS:
            return f"a {ev.ptype.value.replace('_', ' ')} principal has no identity policies"
        return None
    if layer is Layer.BOUNDARY:
        return None if ev.has_boundary else "no permissions boundary"
    if layer is Layer.SESSION:
        if ev.federated:
            return None
        return None if ev.has_session else "no session policy"
    if layer is Layer.SCP:
        return ev.scp_reason
    if layer is Layer.RCP:
        return ev.rcp_reason
    if layer is Layer.VPCE:
        return None if ev.vpce_present else "not through a VPC endpoint"
    if ev.policies.resource is None and not ev.policies.kms_grants and not ev.is_kms_key and not ev.is_trust:
        return "no resource policy"
    return None


def _no_allow_text(ev: Evaluation, layer: Layer, has_policies: bool) -> str:
    action = ev.request.action
    if layer is Layer.SCP:
        return f"an SCP level does not allow {action}"
    if layer is Layer.RESOURCE and ev.is_kms_key and not has_policies:
        return "no key policy was given; a KMS key is usable only through its key policy"
    if layer is Layer.TRUST and not has_policies:
        return "no trust policy was given; a role can only be assumed when its trust policy allows it"
    if not has_policies:
        return f"no {layer.value} policy allows {action}"
    return f"no statement allows {action} for this request"


def _describe(applied: Applied) -> str:
    stmt = applied.statement
    label = f"Sid {stmt.sid}" if stmt.sid else f"statement #{stmt.index}"
    return f"{applied.policy.name} ({label})"


def condition_check(cond: CompiledCondition, context: Context, unknown: frozenset[str]) -> ConditionCheck:
    return cond.check(context, cond.key_lower in unknown)


def closest_allow(
    ev: Evaluation, layer: Layer, policies: list[CompiledPolicy]
) -> tuple[CompiledPolicy, CompiledStatement, str, tuple[ConditionCheck, ...]] | None:
    """The Allow statement that came closest to applying, and the first part of it that did not."""
    best: tuple[int, CompiledPolicy, CompiledStatement] | None = None
    kind = KIND_BY_LAYER[layer]
    for policy in policies:
        for stmt in policy.statements:
            if not stmt.allow:
                continue
            score = _closeness(ev, kind, stmt)
            if best is None or score > best[0]:
                best = (score, policy, stmt)
    if best is None:
        return None
    score, policy, stmt = best
    if score < _CONDITIONS_REACHED:
        return policy, stmt, _UNMET[score], ()
    failing = tuple(
        condition_check(cond, ev.context, ev.unknown)
        for cond in stmt.conditions
        if evaluate_condition(cond, ev.context, ev.unknown) is not True
    )
    # A statement whose every part holds did not apply only because an unknown value was assumed against it.
    return policy, stmt, "condition" if failing else "principal", failing


_UNMET: Final = ("action", "resource", "principal")
_CONDITIONS_REACHED: Final = 3


def _closeness(ev: Evaluation, kind: PolicyKind, stmt: CompiledStatement) -> int:
    """How many parts of the statement hold, in the order AWS reads them (action, resource, principal, condition)."""
    if stmt.actions.matches(ev.action) == stmt.not_action:
        return 0
    if ev.resource_value(stmt) is False:
        return 1
    if kind in (PolicyKind.RESOURCE, PolicyKind.RCP, PolicyKind.VPCE) and not ev.principal_grant(stmt)[0]:
        return 2
    for cond in stmt.conditions:
        if evaluate_condition(cond, ev.context, ev.unknown) is not True:
            return 3
    return 4
