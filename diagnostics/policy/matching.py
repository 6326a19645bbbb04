"""Matching a request against Action/NotAction, Resource/NotResource and Principal/NotPrincipal elements."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Final

from diagnostics.arn import is_account_id
from diagnostics.model import Principal, PrincipalType
from diagnostics.policy.variables import (
    Context,
    Exact,
    Literal,
    Template,
    UnknownValue,
    Unresolved,
    glob_regex,
    parse_template,
)

# --- actions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionMatcher:
    """Action names compared case-insensitively, ``*`` and ``?`` as wildcards, no trimming of spaces."""

    exact: frozenset[str]
    regex: re.Pattern[str] | None
    everything: bool

    def matches(self, action_lower: str) -> bool:
        if self.everything or action_lower in self.exact:
            return True
        return self.regex is not None and self.regex.fullmatch(action_lower) is not None


def compile_actions(patterns: tuple[str, ...]) -> ActionMatcher:
    exact: set[str] = set()
    globs: list[str] = []
    everything = False
    for pattern in patterns:
        lowered = pattern.lower()
        if lowered == "*":
            everything = True
        elif "*" in lowered or "?" in lowered:
            globs.append(glob_regex((Literal(lowered),)))
        else:
            exact.add(lowered)
    regex = re.compile("|".join(f"(?:{g})" for g in globs), re.DOTALL) if globs else None
    return ActionMatcher(frozenset(exact), regex, everything)


# --- resources -----------------------------------------------------------------------------------


class ShortArn(Enum):
    """What a policy type does with an ARN of fewer than six segments (observed AWS behaviour)."""

    EXPAND = "expand"  # missing trailing segments read as "*"
    NO_MATCH = "no_match"  # matches nothing (and so NotResource excludes nothing)
    REJECT = "reject"  # not a valid resource for the policy type: the element fails


@dataclass(frozen=True)
class ShortArnRules:
    without_wildcard: ShortArn
    with_wildcard: ShortArn
    # SCPs only accept a short ARN whose last segment ends with "*"; other types accept any wildcard.
    trailing_wildcard_only: bool = False


class Hit(Enum):
    MATCH = "match"
    NO_MATCH = "no_match"
    # The entry could not be compared (invalid for the policy type, a variable without a value, an expanded
    # short ARN that missed): neither Resource nor NotResource applies on its strength.
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ResourcePattern:
    source: str
    template: Template | None  # set when the pattern holds policy variables
    regex: re.Pattern[str] | None  # precompiled when it does not
    everything: bool
    short: ShortArn | None  # how this pattern was treated if it is a short ARN

    def match(self, resource: str, context: Context, unknown: frozenset[str]) -> Hit:
        if self.everything:
            return Hit.MATCH
        if self.short is ShortArn.REJECT:
            return Hit.FAIL
        if self.short is ShortArn.NO_MATCH:
            return Hit.NO_MATCH
        regex = self.regex
        if regex is None:
            assert self.template is not None
            try:
                chunks = self.template.resolve(context, unknown)
            except UnknownValue:
                return Hit.UNKNOWN
            except Unresolved:
                return Hit.FAIL
            regex = _resource_regex(chunks, self.short)
        if regex.fullmatch(resource) is not None:
            return Hit.MATCH
        return Hit.FAIL if self.short is ShortArn.EXPAND else Hit.NO_MATCH


def compile_resource(pattern: str, rules: ShortArnRules, *, variables: bool) -> ResourcePattern:
    if pattern == "*":
        return ResourcePattern(pattern, None, None, True, None)
    template = parse_template(pattern, variables=variables)
    short: ShortArn | None = None
    segments = pattern.split(":")
    if pattern.startswith("arn:") and len(segments) < 6:
        wild = segments[-1].endswith("*") if rules.trailing_wildcard_only else ("*" in pattern or "?" in pattern)
        short = rules.with_wildcard if wild else rules.without_wildcard
    if short in (ShortArn.REJECT, ShortArn.NO_MATCH):
        return ResourcePattern(pattern, None, None, False, short)
    if template.has_variables:
        return ResourcePattern(pattern, template, None, False, short)
    return ResourcePattern(pattern, None, _resource_regex(template.resolve({}, frozenset()), short), False, short)


def _resource_regex(chunks: tuple[Literal | Exact, ...], short: ShortArn | None) -> re.Pattern[str]:
    text = "".join(chunk.text for chunk in chunks)
    if not text.startswith("arn:"):
        return _compiled(glob_regex(chunks))
    segments = _split_chunks(chunks)
    if short is ShortArn.EXPAND:
        while len(segments) < 6:
            segments.append((Literal("*"),))
    if len(segments) < 6:
        return _compiled(glob_regex(chunks))
    head = [glob_regex(seg, star="[^:]*", question="[^:]") for seg in segments[:5]]
    resource = _join(segments[5:])
    service = "".join(c.text for c in segments[2])
    region = "".join(c.text for c in segments[3])
    account = "".join(c.text for c in segments[4])
    product, rest = _product(resource, s3_bucket_style=service == "s3" and not region and not account)
    return _compiled(":".join(head) + ":" + re.escape(product) + glob_regex(rest))


def _split_chunks(chunks: tuple[Literal | Exact, ...]) -> list[tuple[Literal | Exact, ...]]:
    segments: list[list[Literal | Exact]] = [[]]
    for chunk in chunks:
        for i, piece in enumerate(chunk.text.split(":")):
            if i:
                segments.append([])
            if piece:
                segments[-1].append(type(chunk)(piece))
    return [tuple(seg) for seg in segments]


def _join(segments: list[tuple[Literal | Exact, ...]]) -> tuple[Literal | Exact, ...]:
    out: list[Literal | Exact] = []
    for i, seg in enumerate(segments):
        if i:
            out.append(Literal(":"))
        out.extend(seg)
    return tuple(out)


def _product(
    resource: tuple[Literal | Exact, ...], *, s3_bucket_style: bool
) -> tuple[str, tuple[Literal | Exact, ...]]:
    """Split off the resource type ("instance/", "log-group:"), which is compared literally.

    The IAM User Guide ("Identify AWS resources with ARNs", incorrect wildcard usage) does not allow
    wildcards in the resource-type part; S3 bucket and object ARNs have no resource type.
    """
    if s3_bucket_style:
        return "", resource
    prefix = ""
    for i, chunk in enumerate(resource):
        if not isinstance(chunk, Literal):
            return "", resource
        cuts = [j for j in (chunk.text.find("/"), chunk.text.find(":")) if j >= 0]
        if not cuts:
            prefix += chunk.text
            continue
        cut = min(cuts)
        remainder = chunk.text[cut + 1 :]
        rest = ((Literal(remainder),) if remainder else ()) + resource[i + 1 :]
        return prefix + chunk.text[: cut + 1], rest
    return "", resource


@lru_cache(maxsize=8192)
def _compiled_cached(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


def _compiled(pattern: str) -> re.Pattern[str]:
    return _compiled_cached(pattern)


# --- principals ----------------------------------------------------------------------------------


class Grant(Enum):
    """How a resource-policy statement names the requester (it decides what still limits the grant)."""

    DIRECT = "direct"  # the exact user, session, federated user, service, or "*": a grant of its own
    ROLE = "role"  # the role behind a session: limited by the session's boundary and session policies
    ACCOUNT = "account"  # the account: delegates to the account's IAM policies


_PRINCIPAL_KEYS: Final = ("AWS", "Service", "Federated", "CanonicalUser")
_ROLE_KINDS: Final = (PrincipalType.ROLE, PrincipalType.ASSUMED_ROLE)


@dataclass(frozen=True)
class PrincipalMatcher:
    everyone: bool
    accounts: frozenset[str]
    arns: frozenset[str]
    # Role ARNs by (partition, account, role name): sessions drop the role's path.
    roles: frozenset[tuple[str, str, str]]
    services: frozenset[str]

    def grant_for(self, principal: Principal) -> Grant | None:
        if self.everyone:
            return Grant.DIRECT
        kind = principal.type
        if kind is PrincipalType.ANONYMOUS:
            return None
        if kind is PrincipalType.SERVICE:
            return Grant.DIRECT if (principal.name or "").lower() in self.services else None
        if principal.arn in self.arns:
            return Grant.ROLE if kind is PrincipalType.ROLE else Grant.DIRECT
        if kind is PrincipalType.ROOT and principal.account_id in self.accounts:
            return Grant.DIRECT
        if (
            kind in _ROLE_KINDS
            and principal.name
            and principal.account_id
            and (principal.partition or "aws", principal.account_id, principal.name) in self.roles
        ):
            return Grant.ROLE
        if principal.account_id and principal.account_id in self.accounts:
            return Grant.ACCOUNT
        return None


class PrincipalSyntaxError(ValueError):
    pass


def compile_principal(element: object) -> PrincipalMatcher:
    if element == "*":
        return PrincipalMatcher(True, frozenset(), frozenset(), frozenset(), frozenset())
    if isinstance(element, str):
        # A bare ARN string is not valid policy grammar but appears in the wild; read it as {"AWS": ...}.
        element = {"AWS": element}
    if not isinstance(element, dict) or not element:
        raise PrincipalSyntaxError('Principal must be "*" or an object such as {"AWS": [...]}')
    everyone = False
    accounts: set[str] = set()
    arns: set[str] = set()
    roles: set[tuple[str, str, str]] = set()
    services: set[str] = set()
    for key, raw in element.items():
        if key not in _PRINCIPAL_KEYS:
            raise PrincipalSyntaxError(f"unknown principal type {key!r} (expected one of {', '.join(_PRINCIPAL_KEYS)})")
        values = raw if isinstance(raw, list) else [raw]
        if not values or not all(isinstance(v, str) for v in values):
            raise PrincipalSyntaxError(f"Principal {key} must be a string or a list of strings")
        for value in values:
            if key == "Service":
                services.add(value.lower())
            elif key == "AWS":
                if value == "*":
                    everyone = True
                elif is_account_id(value):
                    accounts.add(value)
                else:
                    _add_aws_arn(value, accounts, arns, roles)
            # Federated (SAML/OIDC providers) and CanonicalUser never name the principals iamwhy evaluates.
    return PrincipalMatcher(everyone, frozenset(accounts), frozenset(arns), frozenset(roles), frozenset(services))


def _add_aws_arn(value: str, accounts: set[str], arns: set[str], roles: set[tuple[str, str, str]]) -> None:
    parts = value.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[5] == "root":
        accounts.add(parts[4])
        return
    arns.add(value)
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        roles.add((parts[1], parts[4], parts[5].rsplit("/", 1)[-1]))
