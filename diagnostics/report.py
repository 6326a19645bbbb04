"""Renders diagnoses for the command line: the JSON contract of DESIGN.md §3 and the readable terminal report.

Every string that came from the input or from AWS goes through secrets.redact on the way out, so no
renderer can echo a credential even if one slipped into a field.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from diagnostics.commands import CALLER_IDENTITY_COMMAND, ENCODED_MESSAGE_VARIABLE
from diagnostics.model import (
    Blocker,
    Confidence,
    Decision,
    DeniedRequest,
    Diagnosis,
    Fix,
    LayerStatus,
    LayerVerdict,
    Provenance,
    ScanResult,
)
from diagnostics.remediation import cross_account, describe_principal, policy_holder
from diagnostics.secrets import redact
from diagnostics.wording import DECISION_TITLES, LAYER_TITLES, layer_title, policy_json

NO_DENIAL = "No AWS access denial found."
# Pasted text can carry terminal escape sequences; shown raw they could rewrite what the reader sees.
_CONTROLS = {code: " " if chr(code) in "\t\n\r" else f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
WIDTH = 100

_MARKS = {
    LayerStatus.ALLOWS: ("✓", "32"),
    LayerStatus.EXPLICIT_DENY: ("✗", "31"),
    LayerStatus.IMPLICIT_DENY: ("✗", "31"),
    LayerStatus.NOT_APPLICABLE: ("–", "2"),
    LayerStatus.UNREADABLE: ("!", "33"),
    LayerStatus.UNKNOWN: ("?", "33"),
}


def to_json(scan: ScanResult, diagnoses: Sequence[Diagnosis]) -> dict[str, Any]:
    """The `explain --json` document: every documented key present, null or empty where it does not apply."""
    document = {
        "denials": [_denial_json(d) for d in diagnoses],
        "other_errors": [{"code": e.code, "explanation": e.explanation} for e in scan.other_errors],
        "secrets_found": scan.secrets_found,
    }
    redacted: dict[str, Any] = _redact_tree(document)
    return redacted


def request_json(request: DeniedRequest) -> dict[str, Any]:
    """The `request` object of one denial (the encoded message itself is never included, only whether there was one)."""
    reported = request.reported
    return {
        "principal_arn": request.principal_arn,
        "action": request.action,
        "resource_arn": request.resource_arn,
        "account_id": request.account_id,
        "api_operation": request.api_operation,
        "region": request.region,
        "reported": {
            "layer": _enum(reported.layer),
            "kind": _enum(reported.kind),
            "policy_arn": reported.policy_arn,
        },
        "authorization_id": request.authorization_id,
        "encoded_message": bool(request.encoded_message),
    }


def fix_json(fix: Fix) -> dict[str, Any]:
    return {
        "summary": fix.summary,
        "owner": fix.owner,
        "attach_to": fix.attach_to,
        "policy": _plain(fix.policy) if fix.policy is not None else None,
        "resolves": fix.resolves,
        "still_blocked_by": [str(layer) for layer in fix.still_blocked_by],
        "assuming": fix.assuming,
    }


def blocker_json(blocker: Blocker) -> dict[str, Any]:
    return {
        "layer": str(blocker.layer),
        "kind": str(blocker.kind),
        "policy": blocker.policy,
        "policy_arn": blocker.policy_arn,
        "sid": blocker.sid,
        "conditions": [
            {
                "key": c.key,
                "operator": c.operator,
                "values": list(c.values),
                "actual": c.actual if c.actual is None or isinstance(c.actual, str) else list(c.actual),
            }
            for c in blocker.conditions
        ],
        "detail": blocker.detail,
        "subject": blocker.subject,
    }


def _denial_json(diagnosis: Diagnosis) -> dict[str, Any]:
    return {
        "request": request_json(diagnosis.request),
        "decision": str(diagnosis.decision),
        "confidence": str(diagnosis.confidence),
        "blocked_by": [blocker_json(b) for b in diagnosis.blocked_by],
        "unknown_context_keys": list(diagnosis.unknown_context_keys),
        "unreadable": [{"layer": str(u.layer), "why": u.why} for u in diagnosis.unreadable],
        "fix": fix_json(diagnosis.fix) if diagnosis.fix is not None else None,
        "commands": list(diagnosis.commands),
        "explanation": diagnosis.explanation,
        "warnings": list(diagnosis.warnings),
        "layers": [
            {
                "layer": str(v.layer),
                "status": str(v.status),
                "summary": v.summary,
                "policies": list(v.policies),
                "subject": v.subject,
            }
            for v in diagnosis.layers
        ],
        "fixes": [fix_json(f) for f in diagnosis.fixes],
        "notes": list(diagnosis.notes),
        "provenance": provenance_json(diagnosis.provenance),
    }


def provenance_json(provenance: Provenance) -> dict[str, Any]:
    return {
        "checked_as": provenance.checked_as,
        "aws_reads": provenance.aws_reads,
        "duration_ms": provenance.duration_ms,
    }


def render_text(scan: ScanResult, diagnoses: Sequence[Diagnosis], *, color: bool) -> str:
    """The readable terminal report; ANSI colour only when ``color`` is true."""
    style = Style(color)
    blocks: list[str] = []
    if scan.secrets_found:
        blocks.append(
            style.warn(
                "Warning: the input contained AWS credentials. They are not shown here; treat them as exposed and "
                "rotate them."
            )
        )
    if not diagnoses:
        blocks.append(NO_DENIAL)
    for index, diagnosis in enumerate(diagnoses, start=1):
        numbering = f"Denial {index} of {len(diagnoses)}: " if len(diagnoses) > 1 else ""
        blocks.append(_render_diagnosis(diagnosis, numbering, style))
    if scan.other_errors:
        title = "Not access denials" if diagnoses else "What the input does contain"
        lines = [style.bold(title)]
        for error in scan.other_errors:
            lines.append(f"  {_r(error.code)}")
            lines.extend(_wrap(error.explanation, "    "))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _render_diagnosis(diagnosis: Diagnosis, numbering: str, style: Style) -> str:
    request = diagnosis.request
    sections = [_header(diagnosis, numbering, style)]
    sections.append(_section("Why", _wrap(diagnosis.explanation, "  "), style))
    if diagnosis.layers:
        sections.append(_section("Layers", _layer_lines(diagnosis.layers, style), style))
    if diagnosis.unreadable:
        lines = [f"  {LAYER_TITLES[u.layer]}: {_r(u.why)}" for u in diagnosis.unreadable]
        sections.append(_section("Could not read", lines, style))
    if diagnosis.unknown_context_keys:
        keys = ", ".join(_r(k) for k in diagnosis.unknown_context_keys)
        sections.append(_section("Could flip the answer", _wrap(f"unknown request context: {keys}", "  "), style))
    for position, fix in enumerate(diagnosis.fixes):
        sections.append(_fix_section(fix, "Fix" if position == 0 else "Also", style))
    if diagnosis.commands:
        lines = [
            *_wrap(_commands_note(request, diagnosis.commands), "  "),
            *(f"  $ {_r(c)}" for c in diagnosis.commands),
        ]
        sections.append(_section("Confirm", lines, style))
    if diagnosis.notes:
        lines = [line for n in diagnosis.notes for line in _wrap(n, "  • ", "    ")]
        sections.append(_section("Notes", lines, style))
    if diagnosis.warnings:
        lines = [line for w in diagnosis.warnings for line in _wrap(w, "  ! ", "    ")]
        sections.append(_section("Warnings", lines, style))
    footer = _footer(diagnosis.provenance)
    if footer:
        sections.append(style.paint(footer, "2"))
    return "\n\n".join(sections)


def _footer(provenance: Provenance) -> str | None:
    """ "Checked as IamWhyReadOnly in 123456789012 · 1.2 s · 9 AWS reads"; None when nothing was read."""
    if provenance.checked_as is None and not provenance.aws_reads:
        return None
    parts = [f"Checked as {_r(provenance.checked_as)}" if provenance.checked_as else "Nothing could be read"]
    if provenance.duration_ms is not None:
        parts.append(f"{provenance.duration_ms / 1000:.1f} s")
    reads = provenance.aws_reads
    parts.append(f"{reads} AWS read{'' if reads == 1 else 's'}")
    return " · ".join(parts)


def _commands_note(request: DeniedRequest, commands: Sequence[str]) -> str:
    notes = ["Read-only commands"]
    if CALLER_IDENTITY_COMMAND in commands:
        notes[0] += "; run get-caller-identity with the credentials of the failing call"
    if any(c.startswith("aws organizations ") for c in commands):
        notes.append("organizations commands from the management or a delegated-admin account")
    holder = policy_holder(request.resource_arn)
    if holder is not None and cross_account(request, holder):
        notes.append(f"resource-policy commands from account {holder.account_id}, which owns the resource")
    if request.encoded_message:
        notes.append(f"set the shell variable {ENCODED_MESSAGE_VARIABLE} to the encoded message first")
    return "; ".join(notes) + "."


def _header(diagnosis: Diagnosis, numbering: str, style: Style) -> str:
    request = diagnosis.request
    who = describe_principal(request.principal) if request.principal is not None else "an unnamed caller"
    what = request.action or "access"
    lines = [style.bold(f"{numbering}{_r(what)} denied for {_r(who)}")]
    principal = request.principal
    account = (principal.account_id if principal is not None else None) or request.account_id
    if request.principal_arn:
        suffix = f" (account {_r(account)})" if account else ""
        lines.append(_field("Principal", f"{_r(request.principal_arn)}{suffix}"))
    elif account:
        lines.append(_field("Account", _r(account)))
    if request.resource_arn:
        lines.append(_field("Resource", _r(request.resource_arn)))
    if request.api_operation:
        lines.append(_field("Operation", _r(request.api_operation)))
    lines.append(_field("Verdict", _verdict(diagnosis, style)))
    if request.authorization_id:
        lines.append(
            _field("Auth id", f"{_r(request.authorization_id)} (sensitive: share only with this account's admins)")
        )
    if request.encoded_message:
        lines.append(
            _field("Encoded", "yes: AWS encoded the details; decode them with decode-authorization-message below")
        )
    return "\n".join(lines)


def _verdict(diagnosis: Diagnosis, style: Style) -> str:
    decision = DECISION_TITLES[diagnosis.decision]
    colour = (
        "32" if diagnosis.decision is Decision.ALLOWED else "33" if diagnosis.decision is Decision.UNKNOWN else "31"
    )
    confidence = str(diagnosis.confidence) if diagnosis.confidence is not Confidence.UNKNOWN else "confidence unknown"
    text = f"{style.paint(decision, colour)} · {confidence}"
    phrase = diagnosis.request.reported.phrase
    if phrase:
        text += f" (AWS reported: {_r(phrase)})"
    elif diagnosis.request.reported.kind is None:
        text += " (the message gives no reason)"
    return text


def _layer_lines(verdicts: Sequence[LayerVerdict], style: Style) -> list[str]:
    width = max(len(_r(layer_title(v.layer, v.subject))) for v in verdicts)
    lines: list[str] = []
    for verdict in verdicts:
        mark, colour = _MARKS[verdict.status]
        name = _r(layer_title(verdict.layer, verdict.subject)).ljust(width)
        lead = f"  {style.paint(mark, colour)} {name}  "
        hang = " " * (6 + width)
        text = _r(verdict.summary)
        if verdict.policies:
            text += " [" + ", ".join(_r(p) for p in verdict.policies) + "]"
        wrapped = textwrap.wrap(text, WIDTH - len(hang), break_on_hyphens=False, break_long_words=False) or [""]
        lines.append(lead + wrapped[0])
        lines.extend(hang + rest for rest in wrapped[1:])
    return lines


def _fix_section(fix: Fix, title: str, style: Style) -> str:
    heading = f"{title} (owner: {_r(fix.owner)})"
    if fix.attach_to:
        heading += f" → {_r(fix.attach_to)}"
    lines = _wrap(fix.summary, "  ")
    if fix.policy is not None:
        rendered = policy_json(_redact_tree(_plain(fix.policy)))
        lines.extend("    " + line for line in rendered.splitlines())
    if fix.resolves is True:
        assuming = f", assuming {_r(fix.assuming)}" if fix.assuming else ""
        lines.extend(_wrap(f"✓ re-evaluated: this change alone makes the request allowed{assuming}", "  ", "    "))
    elif fix.resolves is False and fix.still_blocked_by:
        still = ", ".join(LAYER_TITLES[layer] for layer in fix.still_blocked_by)
        lines.append(f"  ! re-evaluated: still denied by {still}")
    return _section(heading, lines, style)


def _section(title: str, lines: Sequence[str], style: Style) -> str:
    return "\n".join([style.bold(title), *lines])


def _field(name: str, value: str) -> str:
    return f"  {name.ljust(10)} {value}"


def _wrap(text: str, indent: str, subsequent: str | None = None) -> list[str]:
    return textwrap.wrap(
        _r(text),
        WIDTH,
        initial_indent=indent,
        subsequent_indent=subsequent if subsequent is not None else indent,
        break_on_hyphens=False,
        break_long_words=False,
    ) or [indent.rstrip()]


def _r(text: str) -> str:
    """A dynamic string made safe for the terminal: credentials redacted, control characters made visible."""
    return redact(text).translate(_CONTROLS)


def _enum(value: object | None) -> str | None:
    return None if value is None else str(value)


def _plain(value: Any) -> Any:
    """Mappings and sequences as plain dicts and lists, so the result serialises as JSON."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _redact_tree(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: _redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_tree(v) for v in value]
    return value


class Style:
    """ANSI styling for a terminal, or plain text (`color` False: a pipe, a file, NO_COLOR)."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def bold(self, text: str) -> str:
        return self.paint(text, "1")

    def dim(self, text: str) -> str:
        return self.paint(text, "2")

    def warn(self, text: str) -> str:
        return self.paint(text, "33")
