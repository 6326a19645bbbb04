"""Case files for ``iamwhy simulate`` and the conformance suites: one case or a JSON array of cases."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from diagnostics.arn import parse_principal
from diagnostics.model import ContextValue, Decision, Layer, PrincipalType
from diagnostics.policy.documents import NamedPolicy, PolicyError, PolicyKind, compile_policy
from diagnostics.policy.request import EvalRequest, KmsGrant, PolicySet
from diagnostics.policy.s3 import PublicAccessBlock


class CaseError(ValueError):
    """A case file that cannot be read as cases; the message names the file and the case."""


@dataclass(frozen=True)
class ExpectedStatement:
    layer: Layer
    policy: str
    sid: str | None
    effect: str


@dataclass(frozen=True)
class Expected:
    decision: Decision
    blocked_by: tuple[Layer, ...] | None = None
    statements: tuple[ExpectedStatement, ...] | None = None
    unknown_context_keys: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Case:
    label: str  # the case id, or "case N" for a case without one
    request: EvalRequest
    policies: PolicySet
    id: str | None = None
    name: str | None = None
    expected: Expected | None = None
    requires: tuple[str, ...] = ()
    status: str | None = None
    note: str | None = None


_CASE_KEYS: Final = frozenset({"id", "name", "source", "requires", "status", "note", "request", "policies", "expected"})
_REQUEST_KEYS: Final = frozenset(
    {
        "principal",
        "action",
        "resource",
        "resource_account",
        "context",
        "unknown",
        "management_account",
        "aws_managed_resource",
    }
)
_POLICY_KEYS: Final = frozenset(
    {
        "identity",
        "boundary",
        "session",
        "scp_levels",
        "rcp_levels",
        "resource",
        "vpce",
        "scp_level_names",
        "rcp_level_names",
        "kms_grants",
        "s3_public_access_block",
    }
)
_EXPECTED_KEYS: Final = frozenset({"decision", "blocked_by", "statements", "unknown_context_keys"})
_GRANT_KEYS: Final = frozenset(
    {
        "grant_id",
        "grantee_principal",
        "operations",
        "key_arn",
        "encryption_context_equals",
        "encryption_context_subset",
        "name",
    }
)
_BPA_KEYS: Final = frozenset(
    {"block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets"}
)


def load_cases(path: str | Path) -> list[Case]:
    """Read a case file (one case object or an array of them); raise CaseError/PolicyError naming what is wrong."""
    return load_case_file(path)[0]


def load_case_file(path: str | Path) -> tuple[list[Case], bool]:
    """The cases of a file, and whether the file held an array (so results print as an array too)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CaseError(f"{source}: no such file") from exc
    except IsADirectoryError as exc:
        raise CaseError(f"{source}: is a directory, not a case file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"{source}: cannot read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseError(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    return parse_cases(data, origin=str(source)), isinstance(data, list)


def parse_cases(data: Any, *, origin: str = "<cases>") -> list[Case]:
    items = data if isinstance(data, list) else [data]
    if isinstance(data, list) and not data:
        raise CaseError(f"{origin}: the array holds no cases")
    return [parse_case(item, origin=origin, position=i) for i, item in enumerate(items)]


def parse_case(data: Any, *, origin: str = "<cases>", position: int = 0) -> Case:
    fallback = f"case {position}"
    if not isinstance(data, Mapping):
        raise CaseError(f"{origin}: {fallback}: a case must be a JSON object")
    case_id = data.get("id")
    label = case_id if isinstance(case_id, str) and case_id else fallback
    where = f"{origin}: {label}"
    unknown = sorted(set(data) - _CASE_KEYS)
    if unknown:
        raise CaseError(f"{where}: unknown key(s) {', '.join(unknown)}")
    request_data = _mapping(data.get("request"), f"{where}: request")
    policies_data = _mapping(data.get("policies", {}), f"{where}: policies")
    request = _request(request_data, where)
    policies = _policies(policies_data, where)
    expected = _expected(data["expected"], where) if data.get("expected") is not None else None
    requires = data.get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(t, str) for t in requires):
        raise CaseError(f"{where}: requires must be a list of strings")
    return Case(
        label=label,
        request=request,
        policies=policies,
        id=case_id if isinstance(case_id, str) else None,
        name=_optional_str(data.get("name") or _source_name(data.get("source")), f"{where}: name"),
        expected=expected,
        requires=tuple(requires),
        status=_optional_str(data.get("status"), f"{where}: status"),
        note=_optional_str(data.get("note"), f"{where}: note"),
    )


def _source_name(source: Any) -> Any:
    return source.get("name") if isinstance(source, Mapping) else None


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CaseError(f"{where} must be a JSON object")
    return value


def _optional_str(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise CaseError(f"{where} must be a string")
    return value


def _string(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise CaseError(f"{where}: request.{key} must be a non-empty string")
    return value


def _request(data: Mapping[str, Any], where: str) -> EvalRequest:
    unknown = sorted(set(data) - _REQUEST_KEYS)
    if unknown:
        raise CaseError(f"{where}: unknown request key(s) {', '.join(unknown)}")
    principal_text = _string(data, "principal", where)
    principal = parse_principal(principal_text)
    if principal.type is PrincipalType.UNKNOWN:
        raise CaseError(
            f"{where}: request.principal {principal_text!r} is not a user, role, role session, federated user or "
            "root ARN, 'anonymous', or 'service:<name>'"
        )
    action = _string(data, "action", where)
    if ":" not in action:
        raise CaseError(f"{where}: request.action {action!r} is not of the form service:Action")
    resource = _string(data, "resource", where)
    account = data.get("resource_account")
    if account is not None and not isinstance(account, str):
        raise CaseError(f"{where}: request.resource_account must be a string or null")
    management = data.get("management_account")
    if management is not None and not isinstance(management, str):
        raise CaseError(f"{where}: request.management_account must be a string or null")
    context = _context(data.get("context", {}), where)
    unknown_keys = data.get("unknown", [])
    if not isinstance(unknown_keys, list) or not all(isinstance(k, str) for k in unknown_keys):
        raise CaseError(f"{where}: request.unknown must be a list of context key names")
    clash = sorted({k.lower() for k in unknown_keys} & {k.lower() for k in context})
    if clash:
        raise CaseError(f"{where}: key(s) {', '.join(clash)} are both in request.context and request.unknown")
    managed = data.get("aws_managed_resource", False)
    if not isinstance(managed, bool):
        raise CaseError(f"{where}: request.aws_managed_resource must be true or false")
    return EvalRequest(
        principal=principal,
        action=action,
        resource=resource,
        resource_account=account,
        context=context,
        unknown_keys=frozenset(unknown_keys),
        management_account=management,
        aws_managed_resource=managed,
    )


def _context(raw: Any, where: str) -> dict[str, ContextValue]:
    if not isinstance(raw, Mapping):
        raise CaseError(f"{where}: request.context must be a JSON object")
    out: dict[str, ContextValue] = {}
    for key, value in raw.items():
        if isinstance(value, list):
            if not all(isinstance(v, str | int | float | bool) for v in value):
                raise CaseError(f"{where}: request.context[{key!r}] must hold strings")
            out[key] = tuple(_scalar(v) for v in value)
        elif isinstance(value, str | int | float | bool):
            out[key] = _scalar(value)
        else:
            raise CaseError(f"{where}: request.context[{key!r}] must be a string or a list of strings")
    return out


def _scalar(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _policies(data: Mapping[str, Any], where: str) -> PolicySet:
    unknown = sorted(set(data) - _POLICY_KEYS)
    if unknown:
        raise CaseError(f"{where}: unknown policies key(s) {', '.join(unknown)}")

    def named_list(key: str, kind: PolicyKind, raw: Any = None, label: str | None = None) -> tuple[NamedPolicy, ...]:
        raw = data.get(key, []) if raw is None else raw
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise CaseError(f"{where}: policies.{label or key} must be a list of {{name, document}} objects")
        return tuple(_named(item, kind, f"{label or key}[{i}]", where) for i, item in enumerate(raw))

    def levels(key: str, kind: PolicyKind) -> tuple[tuple[NamedPolicy, ...], ...]:
        raw = data.get(key, []) or []
        if not isinstance(raw, list):
            raise CaseError(f"{where}: policies.{key} must be a list of levels (root first)")
        return tuple(named_list(key, kind, level, f"{key}[{i}]") for i, level in enumerate(raw))

    resource_raw = data.get("resource")
    resource = _named(resource_raw, PolicyKind.RESOURCE, "resource", where) if resource_raw is not None else None
    scp_levels = levels("scp_levels", PolicyKind.SCP)
    rcp_levels = levels("rcp_levels", PolicyKind.RCP)
    return PolicySet(
        identity=named_list("identity", PolicyKind.IDENTITY),
        boundary=named_list("boundary", PolicyKind.BOUNDARY),
        session=named_list("session", PolicyKind.SESSION),
        scp_levels=scp_levels,
        rcp_levels=rcp_levels,
        resource=resource,
        vpce=named_list("vpce", PolicyKind.VPCE),
        scp_level_names=_names(data, "scp_level_names", len(scp_levels), where),
        rcp_level_names=_names(data, "rcp_level_names", len(rcp_levels), where),
        kms_grants=_grants(data.get("kms_grants", []), where),
        s3_public_access_block=_bpa(data.get("s3_public_access_block"), where),
    )


def _named(item: Any, kind: PolicyKind, slot: str, where: str) -> NamedPolicy:
    if not isinstance(item, Mapping) or "document" not in item:
        raise CaseError(f"{where}: policies.{slot} must be an object with name and document")
    name = item.get("name", slot)
    arn = item.get("arn")
    if not isinstance(name, str) or (arn is not None and not isinstance(arn, str)):
        raise CaseError(f"{where}: policies.{slot}: name and arn must be strings")
    extra = sorted(set(item) - {"name", "document", "arn"})
    if extra:
        raise CaseError(f"{where}: policies.{slot}: unknown key(s) {', '.join(extra)}")
    policy = NamedPolicy(name=name, document=item["document"], arn=arn)
    try:
        compile_policy(policy, kind)
    except PolicyError as exc:
        raise exc.located(f"{where}: {slot}") from exc
    return policy


def _names(data: Mapping[str, Any], key: str, count: int, where: str) -> tuple[str, ...]:
    raw = data.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise CaseError(f"{where}: policies.{key} must be a list of strings")
    if raw and len(raw) != count:
        raise CaseError(f"{where}: policies.{key} names {len(raw)} levels but there are {count}")
    return tuple(raw)


def _grants(raw: Any, where: str) -> tuple[KmsGrant, ...]:
    if not isinstance(raw, list):
        raise CaseError(f"{where}: policies.kms_grants must be a list")
    out = []
    for i, item in enumerate(raw):
        slot = f"{where}: policies.kms_grants[{i}]"
        if not isinstance(item, Mapping):
            raise CaseError(f"{slot} must be an object")
        extra = sorted(set(item) - _GRANT_KEYS)
        if extra:
            raise CaseError(f"{slot}: unknown key(s) {', '.join(extra)}")
        grantee, ops = item.get("grantee_principal"), item.get("operations")
        if not isinstance(grantee, str) or not isinstance(ops, list) or not all(isinstance(o, str) for o in ops):
            raise CaseError(f"{slot}: needs grantee_principal (string) and operations (list of strings)")
        for optional in ("grant_id", "key_arn", "name"):
            if item.get(optional) is not None and not isinstance(item[optional], str):
                raise CaseError(f"{slot}: {optional} must be a string")
        for constraint in ("encryption_context_equals", "encryption_context_subset"):
            value = item.get(constraint)
            if value is not None and not (
                isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())
            ):
                raise CaseError(f"{slot}: {constraint} must map strings to strings")
        out.append(
            KmsGrant(
                grant_id=str(item.get("grant_id", f"grant-{i}")),
                grantee_principal=grantee,
                operations=tuple(ops),
                key_arn=item.get("key_arn"),
                encryption_context_equals=item.get("encryption_context_equals"),
                encryption_context_subset=item.get("encryption_context_subset"),
                name=item.get("name"),
            )
        )
    return tuple(out)


def _bpa(raw: Any, where: str) -> PublicAccessBlock | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - _BPA_KEYS or not all(isinstance(v, bool) for v in raw.values()):
        raise CaseError(f"{where}: policies.s3_public_access_block must map {', '.join(sorted(_BPA_KEYS))} to booleans")
    return PublicAccessBlock(**raw)


def _expected_statement(item: Any) -> ExpectedStatement:
    if not isinstance(item, Mapping):
        raise TypeError("each expected statement must be an object with layer, policy, sid, effect")
    policy, sid, effect = item["policy"], item.get("sid"), item["effect"]
    if not isinstance(policy, str) or (sid is not None and not isinstance(sid, str)) or effect not in ("Allow", "Deny"):
        raise ValueError(f"expected statement {dict(item)!r}: policy and sid are strings, effect is Allow or Deny")
    return ExpectedStatement(Layer(item["layer"]), policy, sid, effect)


def _expected(raw: Any, where: str) -> Expected:
    data = _mapping(raw, f"{where}: expected")
    unknown = sorted(set(data) - _EXPECTED_KEYS)
    if unknown:
        raise CaseError(f"{where}: unknown expected key(s) {', '.join(unknown)}")
    try:
        decision = Decision(str(data.get("decision")))
        blocked = data.get("blocked_by")
        if blocked is not None and not isinstance(blocked, list):
            raise TypeError("blocked_by must be a list of layers or null")
        blocked_by = tuple(Layer(x) for x in blocked) if blocked is not None else None
        statements = None
        if data.get("statements") is not None:
            statements = tuple(_expected_statement(item) for item in data["statements"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CaseError(f"{where}: expected: {exc}") from exc
    keys = data.get("unknown_context_keys")
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
        raise CaseError(f"{where}: expected.unknown_context_keys must be a list of strings")
    return Expected(decision, blocked_by, statements, tuple(keys) if keys is not None else None)
