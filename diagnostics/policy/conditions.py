"""Condition operators with AWS's documented semantics, evaluated three-valued (True, False, None = not known)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Final

from diagnostics.model import ConditionCheck, ContextValue
from diagnostics.policy.variables import (
    Context,
    Exact,
    Literal,
    Template,
    UnknownValue,
    Unresolved,
    glob_regex,
    parse_template,
    plain_text,
)


class ConditionSyntaxError(ValueError):
    """A condition block AWS would reject (unknown operator, wrong value types)."""


# Positive operators and their negated forms; a negated operator is true when no policy value matches.
_NEGATED: Final = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "numericnotequals": "numericequals",
    "datenotequals": "dateequals",
    "notipaddress": "ipaddress",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
}
_CANONICAL: Final = {
    name.lower(): name
    for name in (
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Null",
    )
}
# Only String and ARN operators substitute policy variables (IAM User Guide, "Where you can use policy variables").
_VARIABLE_FAMILIES: Final = ("string", "arn")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_EPOCH = re.compile(r"^[+-]?\d+$")


class _Invalid(Exception):
    """A value the operator cannot interpret: the condition is false whatever the operator's polarity."""


@dataclass(frozen=True)
class CompiledCondition:
    operator: str  # as written in the policy
    base: str  # lower-cased positive operator, e.g. "stringequals"
    negated: bool
    set_op: str | None  # "forallvalues" | "foranyvalue" | None
    if_exists: bool
    key: str  # as written
    key_lower: str
    values: tuple[str, ...]
    templates: tuple[Template, ...] | None  # String/ARN values with policy variables
    matcher: Callable[[str], bool] | None  # precompiled when no variables are involved
    invalid: bool  # a policy value can never be interpreted: always false

    def check(self, context: Context, actual_unknown: bool) -> ConditionCheck:
        actual = context.get(self.key_lower)
        return ConditionCheck(
            key=self.key, operator=self.operator, values=self.values, actual=actual, unknown=actual_unknown
        )


def compile_condition_block(block: Any, *, variables: bool) -> tuple[CompiledCondition, ...]:
    """Compile a statement's Condition element; raise ConditionSyntaxError naming the offending part."""
    if not isinstance(block, dict):
        raise ConditionSyntaxError("Condition must be an object of operator -> {key: values}")
    out: list[CompiledCondition] = []
    for operator, entries in block.items():
        if not isinstance(operator, str):
            raise ConditionSyntaxError(f"condition operator must be a string, got {operator!r}")
        set_op, base, negated, if_exists = _split_operator(operator)
        if not isinstance(entries, dict) or not entries:
            raise ConditionSyntaxError(f"condition {operator} must map condition keys to values")
        for key, raw in entries.items():
            values = _values(operator, key, raw)
            out.append(_compile_one(operator, set_op, base, negated, if_exists, key, values, variables=variables))
    return tuple(out)


def _split_operator(operator: str) -> tuple[str | None, str, bool, bool]:
    name = operator
    set_op: str | None = None
    prefix, sep, rest = name.partition(":")
    if sep:
        if prefix.lower() not in ("forallvalues", "foranyvalue"):
            raise ConditionSyntaxError(f"unknown condition operator qualifier {prefix!r} in {operator!r}")
        set_op, name = prefix.lower(), rest
    lowered = name.lower()
    if_exists = False
    if lowered.endswith("ifexists") and lowered != "ifexists":
        if_exists, lowered = True, lowered[: -len("ifexists")]
    if lowered not in _CANONICAL:
        raise ConditionSyntaxError(f"unknown condition operator {operator!r}")
    if lowered == "null" and (if_exists or set_op):
        raise ConditionSyntaxError(f"{operator!r}: Null takes neither IfExists nor a set qualifier")
    negated = lowered in _NEGATED
    return set_op, _NEGATED.get(lowered, lowered), negated, if_exists


def _values(operator: str, key: Any, raw: Any) -> tuple[str, ...]:
    if not isinstance(key, str) or not key:
        raise ConditionSyntaxError(f"condition {operator}: keys must be non-empty strings, got {key!r}")
    items = raw if isinstance(raw, list) else [raw]
    values: list[str] = []
    for item in items:
        if isinstance(item, bool):
            values.append("true" if item else "false")
        elif isinstance(item, str):
            values.append(item)
        elif isinstance(item, int | float):
            values.append(str(item))
        else:
            raise ConditionSyntaxError(f"condition {operator} {key}: values must be strings, numbers or booleans")
    return tuple(values)


def _family(base: str) -> str:
    for family in ("string", "numeric", "date", "arn"):
        if base.startswith(family):
            return family
    return base


def _compile_one(
    operator: str,
    set_op: str | None,
    base: str,
    negated: bool,
    if_exists: bool,
    key: str,
    values: tuple[str, ...],
    *,
    variables: bool,
) -> CompiledCondition:
    templates: tuple[Template, ...] | None = None
    matcher: Callable[[str], bool] | None = None
    invalid = False
    if base == "null":
        if any(v.lower() not in ("true", "false") for v in values):
            raise ConditionSyntaxError(f'condition {operator} {key}: Null takes "true" or "false"')
    elif _family(base) in _VARIABLE_FAMILIES and variables and any("${" in v for v in values):
        templates = tuple(parse_template(v, variables=True) for v in values)
        if not any(t.has_variables for t in templates):
            matcher = _matcher(base, tuple(t.resolve({}, frozenset()) for t in templates))
            templates = None
    else:
        chunks = tuple((Literal(v),) for v in values)
        try:
            matcher = _matcher(base, chunks)
        except _Invalid:
            invalid = True
    return CompiledCondition(
        operator=operator,
        base=base,
        negated=negated,
        set_op=set_op,
        if_exists=if_exists,
        key=key,
        key_lower=key.lower(),
        values=values,
        templates=templates,
        matcher=matcher,
        invalid=invalid,
    )


def evaluate_condition(cond: CompiledCondition, context: Context, unknown: frozenset[str]) -> bool | None:
    """One operator/key entry: True, False, or None when the answer depends on a value that is not known."""
    if cond.key_lower in unknown:
        return None
    value = context.get(cond.key_lower)
    present = value is not None and value != ()
    if cond.base == "null":
        wanted = {v.lower() for v in cond.values}
        return ("false" in wanted) if present else ("true" in wanted)
    if not present:
        if cond.set_op == "forallvalues":
            return True
        if cond.set_op == "foranyvalue":
            return cond.if_exists
        return cond.if_exists or cond.negated
    if cond.invalid:
        return False
    matcher = cond.matcher
    if matcher is None:
        assert cond.templates is not None
        try:
            resolved = tuple(t.resolve(context, unknown) for t in cond.templates)
        except UnknownValue:
            return None
        except Unresolved:
            return False
        try:
            matcher = _matcher(cond.base, resolved)
        except _Invalid:
            return False
    assert value is not None
    items: Sequence[str] = value if isinstance(value, tuple) else (value,)
    try:
        hits = [matcher(item) for item in items]
    except _Invalid:
        return False
    if cond.set_op == "forallvalues":
        return all(hits) if not cond.negated else not any(hits)
    if cond.set_op == "foranyvalue":
        return any(hits) if not cond.negated else not all(hits)
    return any(hits) if not cond.negated else not any(hits)


def _matcher(base: str, values: tuple[tuple[Literal | Exact, ...], ...]) -> Callable[[str], bool]:
    """A predicate "request value matches at least one policy value" for a positive operator."""
    if base == "stringequals":
        wanted = frozenset(plain_text(v) for v in values)
        return wanted.__contains__
    if base == "stringequalsignorecase":
        folded = frozenset(plain_text(v).casefold() for v in values)
        return lambda item: item.casefold() in folded
    if base == "stringlike":
        regex = _regex("|".join(f"(?:{glob_regex(v)})" for v in values))
        return lambda item: regex.fullmatch(item) is not None
    if base == "binaryequals":
        wanted = frozenset(plain_text(v) for v in values)
        return wanted.__contains__
    if base == "bool":
        flags = frozenset(_bool(plain_text(v)) for v in values)
        return lambda item: _bool(item) in flags
    if base.startswith("numeric"):
        numbers = tuple(_number(plain_text(v)) for v in values)
        compare = _ORDER[base[len("numeric") :]]
        return lambda item: any(compare(_number(item), n) for n in numbers)
    if base.startswith("date"):
        instants = tuple(_date(plain_text(v)) for v in values)
        compare = _ORDER[base[len("date") :]]
        return lambda item: any(compare(_date(item), n) for n in instants)
    if base == "ipaddress":
        networks = tuple(_network(plain_text(v)) for v in values)
        return lambda item: _in_networks(item, networks)
    if base in ("arnequals", "arnlike"):
        arn_regex = _regex("|".join(f"(?:{_arn_regex(v)})" for v in values))
        return lambda item: _arn_matches(arn_regex, item)
    raise AssertionError(f"no matcher for {base}")


_ORDER: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "equals": lambda a, b: a == b,
    "lessthan": lambda a, b: a < b,
    "lessthanequals": lambda a, b: a <= b,
    "greaterthan": lambda a, b: a > b,
    "greaterthanequals": lambda a, b: a >= b,
}


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise _Invalid(text)


def _number(text: str) -> Decimal:
    if not _NUMBER.match(text):
        raise _Invalid(text)
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise _Invalid(text) from exc


def _date(text: str) -> Decimal:
    """Seconds since the epoch: ISO 8601 dates and times, or epoch (UNIX) seconds as AWS documents."""
    stripped = text.strip()
    if _EPOCH.match(stripped):
        return Decimal(stripped)
    try:
        moment = datetime.fromisoformat(stripped.replace("z", "Z"))
    except ValueError as exc:
        raise _Invalid(text) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return Decimal(str(moment.timestamp()))


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise _Invalid(text) from exc


def _in_networks(item: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    address = _address(item)
    if address is None:
        raise _Invalid(item)
    return any(address.version == net.version and address in net for net in networks)


@lru_cache(maxsize=4096)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _arn_regex(chunks: tuple[Literal | Exact, ...]) -> str:
    """Segment-wise ARN pattern: wildcards stay inside the first five segments; the resource part is free."""
    segments: list[list[Literal | Exact]] = [[]]
    for chunk in chunks:
        pieces = chunk.text.split(":")
        for i, piece in enumerate(pieces):
            if i:
                segments.append([])
            if piece:
                segments[-1].append(type(chunk)(piece))
    if len(segments) < 6 or plain_text(tuple(segments[0])) != "arn":
        raise _Invalid(plain_text(chunks))
    head = [glob_regex(tuple(seg), star="[^:]*", question="[^:]") for seg in segments[:5]]
    tail = ":".join(glob_regex(tuple(seg)) for seg in segments[5:])
    return ":".join([*head, tail])


def _arn_matches(regex: re.Pattern[str], item: str) -> bool:
    if item.count(":") < 5 or not item.startswith("arn:"):
        raise _Invalid(item)
    return regex.fullmatch(item) is not None


def describe_value(value: ContextValue | None) -> str:
    """How a request value reads in explanations: ``missing`` when the key is absent."""
    if value is None:
        return "missing"
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]" if value else "[] (empty)"
    return value
