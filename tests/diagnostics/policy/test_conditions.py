"""Condition operators, one row per documented behaviour, evaluated three-valued."""

from __future__ import annotations

from typing import Any

import pytest

from diagnostics.policy.conditions import ConditionSyntaxError, compile_condition_block, evaluate_condition


def run(block: dict[str, Any], context: dict[str, Any], unknown: frozenset[str] = frozenset()) -> bool | None:
    (cond,) = compile_condition_block(block, variables=True)
    normalized = {k.lower(): tuple(v) if isinstance(v, list) else v for k, v in context.items()}
    return evaluate_condition(cond, normalized, unknown)


@pytest.mark.parametrize(
    ("block", "context", "expected"),
    [
        # strings
        ({"StringEquals": {"k": "a"}}, {"k": "a"}, True),
        ({"StringEquals": {"k": "a"}}, {"k": "A"}, False),
        ({"StringEquals": {"k": ["a", "b"]}}, {"k": "b"}, True),
        ({"StringEquals": {"k": "a*"}}, {"k": "abc"}, False),
        ({"StringNotEquals": {"k": "a"}}, {"k": "b"}, True),
        ({"StringNotEquals": {"k": "a"}}, {}, True),  # negated operator, key absent: true
        ({"StringEquals": {"k": "a"}}, {}, False),
        ({"StringEqualsIfExists": {"k": "a"}}, {}, True),
        ({"StringEqualsIfExists": {"k": "a"}}, {"k": "b"}, False),
        ({"StringEqualsIgnoreCase": {"k": "ABC"}}, {"k": "abc"}, True),
        ({"StringNotEqualsIgnoreCase": {"k": "ABC"}}, {"k": "abc"}, False),
        ({"StringLike": {"k": "pre?ix/*"}}, {"k": "prefix/a/b"}, True),
        ({"StringLike": {"k": "pre?ix/*"}}, {"k": "prefix"}, False),
        ({"StringNotLike": {"k": ["a*", "b*"]}}, {"k": "apple"}, False),
        # multi-valued request values
        ({"ForAnyValue:StringEquals": {"k": ["x"]}}, {"k": ["y", "x"]}, True),
        ({"ForAnyValue:StringEquals": {"k": ["x"]}}, {}, False),
        ({"ForAnyValue:StringEquals": {"k": ["x"]}}, {"k": []}, False),
        ({"ForAllValues:StringEquals": {"k": ["x", "y"]}}, {"k": ["x", "y"]}, True),
        ({"ForAllValues:StringEquals": {"k": ["x", "y"]}}, {"k": ["x", "z"]}, False),
        ({"ForAllValues:StringEquals": {"k": ["x"]}}, {}, True),
        ({"ForAllValues:StringEquals": {"k": ["x"]}}, {"k": []}, True),
        ({"ForAllValues:StringNotEquals": {"k": ["x"]}}, {"k": ["y", "z"]}, True),
        ({"ForAnyValue:StringNotEquals": {"k": ["x"]}}, {"k": ["x", "z"]}, True),
        ({"ForAnyValue:StringNotEquals": {"k": ["x"]}}, {"k": ["x"]}, False),
        # numbers
        ({"NumericLessThan": {"k": "10"}}, {"k": "9.5"}, True),
        ({"NumericLessThanEquals": {"k": "10"}}, {"k": "10.0"}, True),
        ({"NumericGreaterThan": {"k": "10"}}, {"k": "10"}, False),
        ({"NumericEquals": {"k": "10"}}, {"k": "ten"}, False),
        ({"NumericNotEquals": {"k": "10"}}, {"k": "ten"}, False),  # unreadable value: false either way
        ({"NumericEquals": {"k": 3600}}, {"k": "3600"}, True),
        # dates
        ({"DateGreaterThan": {"k": "2024-01-01T00:00:00Z"}}, {"k": "2024-06-01T12:00:00+02:00"}, True),
        ({"DateLessThan": {"k": "2024-01-01"}}, {"k": "2023-12-31T23:59:59Z"}, True),
        ({"DateEquals": {"k": "2024-01-01"}}, {"k": "1704067200"}, True),  # epoch seconds
        ({"DateEquals": {"k": "2024-01-01"}}, {"k": "1704067200000"}, False),
        ({"DateNotEquals": {"k": "not a date"}}, {"k": "2024-01-01"}, False),
        # booleans and binary
        ({"Bool": {"k": "true"}}, {"k": "TRUE"}, True),
        ({"Bool": {"k": True}}, {"k": "true"}, True),
        ({"Bool": {"k": "false"}}, {"k": "true"}, False),
        ({"Bool": {"k": "true"}}, {"k": "yes"}, False),
        ({"BoolIfExists": {"k": "false"}}, {}, True),
        ({"BinaryEquals": {"k": "QmluYXJ5"}}, {"k": "QmluYXJ5"}, True),
        # IP addresses
        ({"IpAddress": {"k": "203.0.113.0/24"}}, {"k": "203.0.113.9"}, True),
        ({"IpAddress": {"k": "203.0.113.7"}}, {"k": "203.0.113.7"}, True),
        ({"IpAddress": {"k": "2001:db8::/32"}}, {"k": "2001:db8:ffff::1"}, True),
        ({"IpAddress": {"k": "2001:db8::/32"}}, {"k": "203.0.113.9"}, False),
        ({"NotIpAddress": {"k": "2001:db8::/32"}}, {"k": "203.0.113.9"}, True),
        ({"NotIpAddress": {"k": "not-an-ip"}}, {"k": "203.0.113.9"}, False),
        ({"NotIpAddress": {"k": "10.0.0.0/8"}}, {}, True),
        # ARNs, segment by segment
        ({"ArnLike": {"k": "arn:aws:iam::*:role/ci-*"}}, {"k": "arn:aws:iam::111122223333:role/ci-main"}, True),
        ({"ArnLike": {"k": "arn:aws:iam::*:role/ci-*"}}, {"k": "arn:aws:iam::111122223333:user/ci-main"}, False),
        (
            {"ArnEquals": {"k": "arn:aws:sns:*:111122223333:topic"}},
            {"k": "arn:aws:sns:us-east-1:111122223333:topic"},
            True,
        ),
        ({"ArnLike": {"k": "arn:aws:s3:::b"}}, {"k": "arn:aws:s3:::B"}, False),
        ({"ArnNotLike": {"k": "arn:aws:iam::111122223333:*"}}, {"k": "arn:aws:iam::444455556666:root"}, True),
        ({"ArnNotLike": {"k": "arn:aws:iam::111122223333:*"}}, {"k": "not an arn"}, False),
        # Null
        ({"Null": {"k": "true"}}, {}, True),
        ({"Null": {"k": "true"}}, {"k": "v"}, False),
        ({"Null": {"k": "false"}}, {"k": "v"}, True),
        # key names ignore case
        ({"StringEquals": {"AWS:PrincipalTag/Team": "x"}}, {"aws:principaltag/team": "x"}, True),
    ],
)
def test_operator(block: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert run(block, context) is expected


@pytest.mark.parametrize(
    ("block", "context", "expected"),
    [
        ({"StringEquals": {"k": "${aws:username}"}}, {"k": "bob", "aws:username": "bob"}, True),
        ({"StringEquals": {"k": "${aws:username}"}}, {"k": "bob"}, False),  # no value: matches nothing
        ({"StringNotEquals": {"k": "${aws:username}"}}, {"k": "bob"}, False),  # ... not even negated
        ({"StringEquals": {"k": "${aws:PrincipalTag/team, 'none'}"}}, {"k": "none"}, True),
        ({"StringLike": {"k": "home/${aws:username}/*"}}, {"k": "home/a*/x", "aws:username": "a*"}, True),
        ({"StringLike": {"k": "home/${aws:username}/*"}}, {"k": "home/abc/x", "aws:username": "a*"}, False),
        ({"StringEquals": {"k": "a${*}b"}}, {"k": "a*b"}, True),
        ({"StringEquals": {"k": "${aws:TagKeys}"}}, {"k": "x", "aws:TagKeys": ["x", "y"]}, False),
        (
            {"ArnLike": {"k": "arn:aws:iam::*:user/${aws:username}"}},
            {"k": "arn:aws:iam::1:user/bob", "aws:username": "bob"},
            True,
        ),
        # variables only in string and ARN operators: elsewhere the text is literal
        ({"Bool": {"k": "${aws:SecureTransport}"}}, {"k": "true", "aws:SecureTransport": "true"}, False),
    ],
)
def test_policy_variables(block: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert run(block, context) is expected


def test_unknown_key_is_undecided_even_with_if_exists() -> None:
    unknown = frozenset({"aws:sourceip"})
    assert run({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {}, unknown) is None
    assert run({"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}, {}, unknown) is None
    assert run({"Null": {"aws:SourceIp": "true"}}, {}, unknown) is None


def test_unknown_variable_is_undecided() -> None:
    assert run({"StringEquals": {"k": "${aws:username}"}}, {"k": "bob"}, frozenset({"aws:username"})) is None


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"StringEqualz": {"k": "v"}}, "unknown condition operator 'StringEqualz'"),
        ({"ForSomeValues:StringEquals": {"k": "v"}}, "unknown condition operator qualifier"),
        ({"StringEquals": {"k": {"nested": 1}}}, "values must be strings"),
        ({"StringEquals": "v"}, "must map condition keys to values"),
        ({"Null": {"k": "maybe"}}, 'Null takes "true" or "false"'),
        ({"NullIfExists": {"k": "true"}}, "Null takes neither IfExists"),
        ("nope", "Condition must be an object"),
    ],
)
def test_malformed_conditions_are_rejected(block: Any, message: str) -> None:
    with pytest.raises(ConditionSyntaxError, match=message):
        compile_condition_block(block, variables=True)
