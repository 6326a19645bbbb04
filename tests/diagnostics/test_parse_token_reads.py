"""The sentence's pieces read without a regex, or with a cheaper one, give what the regex they replace gives."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics import parse

# The patterns as they were: the lazy ones stop at the first place their end allows, which is what is kept.
NOT_BEFORE = re.compile(r"(?:(?P<verb>is|are)\s*)?[Nn]ot\s*$")
QUOTED = re.compile(r"\\?([\"'])(?P<value>[^\"'\n]{1,2048}?)\\?\1")
PIECES = (
    "a",
    "Z",
    "9",
    ":",
    "/",
    ".",
    "-",
    "\\",
    '"',
    "'",
    " ",
    "\t",
    "\n",
    "\u00a0",
    "<",
    ">",
    "<account id>",
    "[account id]",
    "because",
    " because no",
    "with",
    " with an explicit",
    "User:",
    "(Service:",
    "An error occurred",
    "Encoded authori",
    ".Go to",
    ". Go to",
    "arn:",
    "arn:aws:iam::",
    " xxxx ",
    " ... ",
    "is",
    "are",
    "not",
    "Not",
    "NOT",
    " is not",
    "é",
)
texts = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


def _value(match: re.Match[str] | None) -> tuple[str, int] | None:
    return (match.group("value"), match.end()) if match else None


@st.composite
def spans(draw: st.DrawFn) -> tuple[str, int, int]:
    text = draw(texts)
    pos = draw(st.integers(0, len(text)))
    return text, pos, draw(st.integers(pos, len(text)))


@settings(max_examples=1000)
@given(spans())
def test_the_negation_is_what_the_search_from_its_end_finds(span: tuple[str, int, int]) -> None:
    text, lo, end = span
    found = NOT_BEFORE.search(text, lo, end)
    assert parse._negation_before(text, lo, end) == ((found.start(), found.group("verb")) if found else None)


@settings(max_examples=1000)
@given(spans())
def test_a_quoted_value_is_the_shortest_one(span: tuple[str, int, int]) -> None:
    text, pos, hi = span
    assert _value(parse._QUOTED.match(text, pos, hi)) == _value(QUOTED.match(text, pos, hi))


@settings(max_examples=1000)
@given(spans())
def test_an_unquoted_value_is_what_the_pattern_finds(span: tuple[str, int, int]) -> None:
    text, pos, hi = span
    assert parse._unquoted(text, pos, hi) == _value(parse._UNQUOTED.match(text, pos, hi))


@settings(max_examples=1000)
@given(spans())
def test_a_spaced_arn_is_only_skipped_where_the_pattern_finds_none(span: tuple[str, int, int]) -> None:
    text, pos, hi = span
    found, now = parse._SPACED_ARN.match(text, pos, hi), parse._spaced_arn(text, pos, hi)
    assert (now.span() if now else None) == (found.span() if found else None)


@pytest.mark.parametrize("length", [2046, 2047, 2048, 2049, 2050])
@pytest.mark.parametrize("tail", ["", "\\"])
def test_values_at_the_length_limit_read_the_same(length: int, tail: str) -> None:
    quoted = '"' + "a" * length + tail + '" because'
    assert _value(parse._QUOTED.match(quoted)) == _value(QUOTED.match(quoted))
    plain = "a" * length + tail + " because"
    assert parse._unquoted(plain, 0, len(plain)) == _value(parse._UNQUOTED.match(plain))


def test_a_resource_glued_to_the_reason_stops_where_the_pattern_does() -> None:
    text = "arn:aws:s3:::bucket/keybecause no identity-based policy"
    assert parse._unquoted(text, 0, len(text)) == ("arn:aws:s3:::bucket/key", len("arn:aws:s3:::bucket/key"))


@pytest.mark.parametrize(
    "text",
    [
        "User: arn:aws:iam::1:user/x is not authorized",
        "Users are not authorized",
        "this not",
        "Not",
        "NOT",
        "isnot",
        "x  are \u00a0 not  ",
        "are\nnot",
        "s not",
    ],
)
def test_the_negation_before_known_endings(text: str) -> None:
    end = len(text) if "authorized" not in text else text.index(" authorized")
    for lo in range(end + 1):
        found = NOT_BEFORE.search(text, lo, end)
        assert parse._negation_before(text, lo, end) == ((found.start(), found.group("verb")) if found else None)


@pytest.mark.parametrize(
    "text",
    [
        "arn:aws:s3:::bucket/key. Go to https://console",
        "arn:aws:s3:::bucket/key.Go to",
        "arn:aws:s3:::bucket/key.",
        "arn:aws:s3:::bucket/<key name> because",
        "arn:aws:iam::1:role/AnalyticsRole because",
        "arn:aws:iam::1:user/xUser: arn:aws:iam::1:user/y",
        "arn:aws:sqs:us-east-1:1:q(Service: Sqs)",
        'arn:aws:s3:::b\\"',
        "[account id]:role/x because",
    ],
)
def test_an_unquoted_value_at_known_ends(text: str) -> None:
    for pos in range(len(text) + 1):
        assert parse._unquoted(text, pos, len(text)) == _value(parse._UNQUOTED.match(text, pos, len(text)))
