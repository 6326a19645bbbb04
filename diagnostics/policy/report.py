"""Renders evaluation results for the command line: the JSON machine form and the readable per-layer form."""

from __future__ import annotations

from typing import Any, Final

from diagnostics.model import Blocker, ConditionCheck, LayerStatus
from diagnostics.policy.conditions import describe_value
from diagnostics.policy.request import EvalRequest, EvaluationResult

_MARKS: Final = {
    LayerStatus.ALLOWS: "✓",
    LayerStatus.EXPLICIT_DENY: "✗",
    LayerStatus.IMPLICIT_DENY: "✗",
    LayerStatus.NOT_APPLICABLE: "–",
    LayerStatus.UNREADABLE: "?",
    LayerStatus.UNKNOWN: "?",
}


def result_json(result: EvaluationResult, *, case: str | None = None) -> dict[str, Any]:
    """The ``simulate --json`` object: the contract keys first, then the full details."""
    return {
        "case": case,
        "decision": result.decision.value,
        "blocked_by": [layer.value for layer in result.blocking_layers],
        "statements": [
            {"layer": s.layer.value, "policy": s.policy, "sid": s.sid, "effect": s.effect, "index": s.index}
            for s in result.statements
        ],
        "unknown_context_keys": list(result.unknown_context_keys),
        "blockers": [_blocker_json(b) for b in result.blocked_by],
        "layers": [
            {"layer": v.layer.value, "status": v.status.value, "summary": v.summary, "policies": list(v.policies)}
            for v in result.layers
        ],
        "notes": list(result.notes),
    }


def _blocker_json(blocker: Blocker) -> dict[str, Any]:
    return {
        "layer": blocker.layer.value,
        "kind": blocker.kind.value,
        "policy": blocker.policy,
        "policy_arn": blocker.policy_arn,
        "sid": blocker.sid,
        "statement_index": blocker.statement_index,
        "unmet": blocker.unmet,
        "conditions": [_check_json(c) for c in blocker.conditions],
        "detail": blocker.detail,
    }


def _check_json(check: ConditionCheck) -> dict[str, Any]:
    actual = list(check.actual) if isinstance(check.actual, tuple) else check.actual
    return {
        "key": check.key,
        "operator": check.operator,
        "values": list(check.values),
        "actual": actual,
        "unknown": check.unknown,
    }


def format_result(result: EvaluationResult, request: EvalRequest, *, case: str | None = None) -> str:
    """A readable report: the verdict, every blocking layer and why, the per-layer checklist."""
    lines: list[str] = []
    if case:
        lines.append(f"Case      {case}")
    lines.append(f"Request   {request.action} by {request.principal.arn}")
    lines.append(f"          on {request.resource}")
    lines.append(f"Decision  {result.decision.value.replace('_', ' ')}")
    for note in result.notes:
        lines.append(f"          {note}")
    if result.unknown_context_keys:
        lines.append(f"Unknown   the answer depends on: {', '.join(result.unknown_context_keys)}")
    if result.blocked_by:
        lines.append("Blocked by")
        for blocker in result.blocked_by:
            lines.extend(_blocker_lines(blocker))
    lines.append("Layers")
    width = max((len(v.layer.value) for v in result.layers), default=8)
    for verdict in result.layers:
        lines.append(f"  {_MARKS[verdict.status]} {verdict.layer.value:<{width}}  {verdict.summary}")
    if result.statements:
        lines.append("Deciding statements")
        for s in result.statements:
            label = f"Sid {s.sid}" if s.sid else f"statement #{s.index}"
            lines.append(f"  {s.effect:<5} {s.layer.value:<8} {s.policy} ({label})")
    return "\n".join(lines)


def _blocker_lines(blocker: Blocker) -> list[str]:
    head = f"  ✗ {blocker.layer.value} ({blocker.kind.value})"
    if blocker.policy is not None:
        label = f"Sid {blocker.sid}" if blocker.sid else f"statement #{blocker.statement_index}"
        verb = "denied by" if blocker.kind.value == "explicit" else "closest Allow:"
        head += f" {verb} {blocker.policy} ({label})"
    lines = [head]
    if blocker.unmet:
        lines.append(f"      first unmet part: {blocker.unmet}")
    if blocker.detail:
        lines.append(f"      {blocker.detail}")
    for check in blocker.conditions:
        actual = "not known" if check.unknown else describe_value(check.actual)
        values = ", ".join(check.values)
        lines.append(f"      condition {check.operator} {check.key} [{values}]; request: {actual}")
    return lines
