"""Policy documents: validation with clear errors, and compilation into matchers (once per document)."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from diagnostics.model import Layer
from diagnostics.policy.conditions import CompiledCondition, ConditionSyntaxError, compile_condition_block
from diagnostics.policy.matching import (
    ActionMatcher,
    PrincipalMatcher,
    PrincipalSyntaxError,
    ResourcePattern,
    ShortArn,
    ShortArnRules,
    compile_actions,
    compile_principal,
    compile_resource,
)


class PolicyError(ValueError):
    """A policy document AWS would reject, named down to the statement."""

    def __init__(
        self, problem: str, *, policy: str | None = None, statement: str | None = None, where: str | None = None
    ) -> None:
        self.problem = problem
        self.policy = policy
        self.statement = statement
        self.where = where
        parts = [where] if where else []
        if policy is not None:
            parts.append(f"policy {policy!r}")
        if statement is not None:
            parts.append(f"statement {statement}")
        super().__init__(f"{', '.join(parts)}: {problem}" if parts else problem)

    def located(self, where: str) -> PolicyError:
        """The same error, prefixed with where the policy came from (file, case)."""
        return PolicyError(self.problem, policy=self.policy, statement=self.statement, where=where)


@dataclass(frozen=True)
class NamedPolicy:
    """A policy document with the name (and ARN, for managed policies) it is reported under."""

    name: str
    document: Mapping[str, Any]
    arn: str | None = None


class PolicyKind(StrEnum):
    IDENTITY = "identity"
    BOUNDARY = "boundary"
    SESSION = "session"
    SCP = "scp"
    RCP = "rcp"
    RESOURCE = "resource"
    VPCE = "vpce"


# The policy type behind each layer (a role trust policy is a resource-based policy).
KIND_BY_LAYER: Final = {
    Layer.IDENTITY: PolicyKind.IDENTITY,
    Layer.BOUNDARY: PolicyKind.BOUNDARY,
    Layer.SESSION: PolicyKind.SESSION,
    Layer.SCP: PolicyKind.SCP,
    Layer.RCP: PolicyKind.RCP,
    Layer.RESOURCE: PolicyKind.RESOURCE,
    Layer.TRUST: PolicyKind.RESOURCE,
    Layer.VPCE: PolicyKind.VPCE,
}
# How each policy type reads an ARN with fewer than six segments, as observed against AWS and recorded by the
# independent conformance suite: identity-side policies pad it with "*", resource-side ones need a wildcard.
SHORT_ARNS: Final = {
    PolicyKind.IDENTITY: ShortArnRules(ShortArn.EXPAND, ShortArn.EXPAND),
    PolicyKind.SESSION: ShortArnRules(ShortArn.EXPAND, ShortArn.EXPAND),
    PolicyKind.BOUNDARY: ShortArnRules(ShortArn.EXPAND, ShortArn.EXPAND),
    PolicyKind.RESOURCE: ShortArnRules(ShortArn.NO_MATCH, ShortArn.EXPAND),
    PolicyKind.VPCE: ShortArnRules(ShortArn.NO_MATCH, ShortArn.EXPAND),
    PolicyKind.SCP: ShortArnRules(ShortArn.REJECT, ShortArn.EXPAND, trailing_wildcard_only=True),
    PolicyKind.RCP: ShortArnRules(ShortArn.REJECT, ShortArn.REJECT),
}
# Principal-bearing types; for RCPs and VPC endpoint policies a missing Principal means everyone.
_PRINCIPAL_KINDS: Final = frozenset({PolicyKind.RESOURCE, PolicyKind.RCP, PolicyKind.VPCE})
_DOCUMENT_KEYS: Final = frozenset({"Version", "Id", "Statement"})
_STATEMENT_KEYS: Final = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
_VERSIONS: Final = ("2012-10-17", "2008-10-17")


@dataclass(frozen=True)
class CompiledStatement:
    index: int
    sid: str | None
    allow: bool
    actions: ActionMatcher
    not_action: bool
    resources: tuple[ResourcePattern, ...] | None  # None: no Resource element (trust policies)
    not_resource: bool
    resource_static: bool  # no policy variables in Resource/NotResource: cacheable per resource
    principal: PrincipalMatcher | None  # None: the policy type has no principals, or everyone
    not_principal: bool
    principal_missing: bool  # a resource policy statement without Principal applies to nobody
    conditions: tuple[CompiledCondition, ...]
    raw: Mapping[str, Any] = field(compare=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.sid!r}" if self.sid else f"#{self.index}"

    @property
    def effect(self) -> str:
        return "Allow" if self.allow else "Deny"


@dataclass(frozen=True)
class CompiledPolicy:
    name: str
    arn: str | None
    kind: PolicyKind
    statements: tuple[CompiledStatement, ...]
    # Per (action, resource): the statements whose action and resource parts can match, filled lazily.
    candidates: dict[tuple[str, str], tuple[CompiledStatement, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )


_CACHE_LIMIT: Final = 4096
# Keyed by document identity first (cheapest); the document is kept alive beside its compilation so an id is
# never reused for another document while cached. The content hash catches equal documents held twice.
_by_identity: OrderedDict[tuple[int, str, str, str | None], tuple[Mapping[str, Any], CompiledPolicy]] = OrderedDict()
_by_content: OrderedDict[tuple[str, str, str, str | None], CompiledPolicy] = OrderedDict()


def compile_policy(policy: NamedPolicy, kind: PolicyKind) -> CompiledPolicy:
    """Validate and compile a policy; cached, so evaluating the same documents repeatedly costs nothing here."""
    key = (id(policy.document), kind.value, policy.name, policy.arn)
    hit = _by_identity.get(key)
    if hit is not None and hit[0] is policy.document:
        return hit[1]
    try:
        content = json.dumps(policy.document, sort_keys=True, default=str)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"document is not JSON data: {exc}", policy=policy.name) from exc
    content_key = (content, kind.value, policy.name, policy.arn)
    compiled = _by_content.get(content_key)
    if compiled is None:
        compiled = _compile(policy, kind)
        _by_content[content_key] = compiled
        if len(_by_content) > _CACHE_LIMIT:
            _by_content.popitem(last=False)
    _by_identity[key] = (policy.document, compiled)
    if len(_by_identity) > _CACHE_LIMIT:
        _by_identity.popitem(last=False)
    return compiled


def _compile(policy: NamedPolicy, kind: PolicyKind) -> CompiledPolicy:
    document = policy.document
    if not isinstance(document, Mapping):
        raise PolicyError("document must be a JSON object", policy=policy.name)
    unknown = sorted(set(document) - _DOCUMENT_KEYS)
    if unknown:
        raise PolicyError(f"unknown top-level element(s) {', '.join(map(repr, unknown))}", policy=policy.name)
    version = document.get("Version", "2008-10-17")
    if version not in _VERSIONS:
        raise PolicyError(f"Version must be one of {', '.join(_VERSIONS)}, got {version!r}", policy=policy.name)
    raw_statements = document.get("Statement")
    if raw_statements is None:
        raise PolicyError("missing Statement", policy=policy.name)
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicyError("Statement must be an object or a list of objects", policy=policy.name)
    # Policy variables exist only in Version 2012-10-17; older documents treat "${...}" as plain text.
    variables = version == "2012-10-17"
    statements = tuple(
        _compile_statement(policy.name, kind, i, raw, variables=variables) for i, raw in enumerate(raw_statements)
    )
    return CompiledPolicy(policy.name, policy.arn, kind, statements)


def _compile_statement(name: str, kind: PolicyKind, index: int, raw: Any, *, variables: bool) -> CompiledStatement:
    if not isinstance(raw, Mapping):
        raise PolicyError("must be a JSON object", policy=name, statement=f"#{index}")
    sid = raw.get("Sid")
    label = f"{sid!r}" if isinstance(sid, str) and sid else f"#{index}"

    def fail(problem: str) -> PolicyError:
        return PolicyError(problem, policy=name, statement=label)

    if sid is not None and not isinstance(sid, str):
        raise fail("Sid must be a string")
    unknown = sorted(set(raw) - _STATEMENT_KEYS)
    if unknown:
        raise fail(f"unknown element(s) {', '.join(map(repr, unknown))}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise fail(f'Effect must be "Allow" or "Deny", got {effect!r}')
    actions, not_action = _pair(raw, "Action", "NotAction", fail, required=True)
    assert actions is not None
    resources, not_resource = _pair(raw, "Resource", "NotResource", fail, required=False)
    rules = SHORT_ARNS[kind]
    compiled_resources = (
        tuple(compile_resource(r, rules, variables=variables) for r in resources) if resources is not None else None
    )
    principal: PrincipalMatcher | None = None
    not_principal = False
    principal_missing = False
    if "Principal" in raw and "NotPrincipal" in raw:
        raise fail("has both Principal and NotPrincipal")
    if kind in _PRINCIPAL_KINDS:
        element = raw.get("Principal", raw.get("NotPrincipal"))
        not_principal = "NotPrincipal" in raw
        if element is None:
            principal_missing = kind is PolicyKind.RESOURCE
        else:
            try:
                principal = compile_principal(element)
            except PrincipalSyntaxError as exc:
                raise fail(str(exc)) from exc
    conditions: tuple[CompiledCondition, ...] = ()
    if "Condition" in raw:
        try:
            conditions = compile_condition_block(raw["Condition"], variables=variables)
        except ConditionSyntaxError as exc:
            raise fail(str(exc)) from exc
    return CompiledStatement(
        index=index,
        sid=sid or None,
        allow=effect == "Allow",
        actions=compile_actions(actions),
        not_action=not_action,
        resources=compiled_resources,
        not_resource=not_resource,
        resource_static=compiled_resources is None or all(r.template is None for r in compiled_resources),
        principal=principal,
        not_principal=not_principal,
        principal_missing=principal_missing,
        conditions=conditions,
        raw=raw,
    )


def _pair(
    raw: Mapping[str, Any], name: str, negated: str, fail: Any, *, required: bool
) -> tuple[tuple[str, ...] | None, bool]:
    if name in raw and negated in raw:
        raise fail(f"has both {name} and {negated}")
    key = name if name in raw else negated if negated in raw else None
    if key is None:
        if required:
            raise fail(f"needs {name} or {negated}")
        return None, False
    value = raw[key]
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) for item in items):
        raise fail(f"{key} must be a string or a non-empty list of strings")
    return tuple(items), key == negated
