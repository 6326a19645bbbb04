"""Parsing and resolving policy variables."""

from __future__ import annotations

import pytest

from diagnostics.policy.variables import Exact, Literal, UnknownValue, Unresolved, Variable, parse_template


def test_parses_variables_defaults_and_escapes() -> None:
    template = parse_template("a/${aws:username}/${aws:PrincipalTag/team, 'ops'}/${*}${?}${$}", variables=True)
    assert template.chunks == (
        Literal("a/"),
        Variable("aws:username", None),
        Literal("/"),
        Variable("aws:principaltag/team", "ops"),
        Literal("/"),
        Exact("*"),
        Exact("?"),
        Exact("$"),
    )


def test_old_policy_version_keeps_text() -> None:
    assert parse_template("${aws:username}", variables=False).chunks == (Literal("${aws:username}"),)


def test_resolution() -> None:
    template = parse_template("x-${aws:username}", variables=True)
    assert template.resolve({"aws:username": "bob"}, frozenset()) == (Literal("x-"), Exact("bob"))
    assert template.resolve({"aws:username": ("bob",)}, frozenset()) == (Literal("x-"), Exact("bob"))
    with pytest.raises(Unresolved):
        template.resolve({}, frozenset())
    with pytest.raises(Unresolved):
        template.resolve({"aws:username": ("a", "b")}, frozenset())
    with pytest.raises(UnknownValue):
        template.resolve({}, frozenset({"aws:username"}))
