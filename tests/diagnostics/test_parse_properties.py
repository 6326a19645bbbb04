"""Properties of the parser on generated input: it never raises, is deterministic, and finds a denial again
when the denial is surrounded by noise or wrapped at any column."""

from __future__ import annotations

import textwrap

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from diagnostics.model import ScanResult
from diagnostics.parse import scan
from tests.diagnostics.parse_fixtures import denial_record, rows

# Fixture rows that hold exactly one denial written on one line: the ones any wrapping can apply to.
SINGLE_LINE = sorted(
    (name, row["text"]) for name, row in rows() if "\n" not in row["text"] and len(row["expected"]["denials"]) == 1
)

# Pieces of the shapes the parser looks for, to build near-misses that reach deep into it.
FRAGMENTS = (
    "User: ",
    "arn:aws:",
    "arn:aws:iam::123456789012:user/x",
    "arn:aws:sts::123456789012:assumed-role/r/s",
    " is not authorized to perform: ",
    "is not authorized ",
    " on resource: ",
    "s3:GetObject",
    "because no identity-based policy allows the ",
    " with an explicit deny in a ",
    "service control policy",
    ": arn:aws:organizations::111111111111:policy/o-x/service_control_policy/p-y",
    ". Go to https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/authorization-details/",
    "authorization id: ",
    "An error occurred (",
    "AccessDenied",
    ") when calling the ",
    " operation: ",
    "Access Denied",
    "s3://bucket/key ",
    "Encoded authorization failure message: ",
    "AbC_-123",
    '{"errorCode": "AccessDenied", "eventName": "GetObject", "eventSource": "s3.amazonaws.com"',
    '"Records": [',
    "<Error><Code>AccessDenied</Code><Message>",
    "</Message></Error>",
    "(Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; Request ID: R)",
    "operation error S3: GetObject, https response error StatusCode: 403, RequestID: R, api error ",
    "\tstatus code: 403, request id: R",
    "ExpiredToken",
    "AKIA",
    "Principal [",
    "] is not allowed to execute [",
    '"',
    "'",
    ":",
    "{",
    "}",
    "[",
    "]",
    "\\",
    "\n",
    "\n\n",
    " ",
    "> ",
    "```",
    "<https://x|",
    ">",
    "&gt;",
    "\u201c",
)

ANY_TEXT = st.text(max_size=2000)
NEAR_MISS = st.lists(st.sampled_from(FRAGMENTS), max_size=80).map("".join)
NOISE = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_never_raises_on_any_text(text: str) -> None:
    assert isinstance(scan(text), ScanResult)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NEAR_MISS)
def test_never_raises_on_near_misses_and_is_deterministic(text: str) -> None:
    first = scan(text)
    assert isinstance(first, ScanResult)
    assert scan(text) == first


@settings(max_examples=100, deadline=None)
@given(ANY_TEXT)
def test_is_deterministic(text: str) -> None:
    assert scan(text) == scan(text)


@settings(max_examples=150, deadline=None)
@given(
    row=st.sampled_from(SINGLE_LINE),
    before=NOISE,
    after=NOISE,
    # Noise on the same line, or in a paragraph of its own. Text on the very next line is not used: a
    # line break right after a token is exactly what a terminal wrap inside that token looks like.
    separator=st.sampled_from([" ", "\n\n", " \n\n"]),
)
def test_denial_is_found_again_among_noise(row: tuple[str, str], before: str, after: str, separator: str) -> None:
    _, text = row
    expected = denial_record(scan(text).denials[0])
    found = [denial_record(d) for d in scan(before + separator + text + separator + after).denials]
    assert expected in found


def _hard_wrap(text: str, width: int) -> str:
    """As a terminal does: a line break every ``width`` characters, nothing removed."""
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


def _word_wrap(text: str, width: int) -> str:
    """As chat and e-mail clients do: breaks at spaces (which it removes); a longer token stays whole."""
    return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)


def _row(name: str) -> tuple[str, str]:
    return next(row for row in SINGLE_LINE if row[0] == name)


@settings(max_examples=200, deadline=None)
@given(row=st.sampled_from(SINGLE_LINE), width=st.integers(min_value=20, max_value=160))
# Every line but the first cut just before a space: it looks indented, like JSON, and is still a wrap.
@example(row=_row("sdk:java-legacy-status-first"), width=54)
def test_denial_is_found_again_when_terminal_wrapped(row: tuple[str, str], width: int) -> None:
    _, text = row
    expected = denial_record(scan(text).denials[0])
    assert [denial_record(d) for d in scan(_hard_wrap(text, width)).denials] == [expected]


@settings(max_examples=100, deadline=None)
@given(row=st.sampled_from(SINGLE_LINE), width=st.integers(min_value=40, max_value=160))
def test_denial_is_found_again_when_terminal_wrapped_below_its_command(row: tuple[str, str], width: int) -> None:
    _, text = row
    expected = denial_record(scan(text).denials[0])
    pasted = f"$ ./deploy.sh --stage prod\n{_hard_wrap(text, width)}"
    assert [denial_record(d) for d in scan(pasted).denials] == [expected]


@settings(max_examples=200, deadline=None)
@given(row=st.sampled_from(SINGLE_LINE), width=st.integers(min_value=20, max_value=160))
def test_denial_is_found_again_when_word_wrapped(row: tuple[str, str], width: int) -> None:
    _, text = row
    wrapped = _word_wrap(text, width)
    # Two lines cannot tell a word wrap from a terminal wrap: the parser reads them as the latter.
    assume(wrapped.count("\n") >= 2)
    expected = denial_record(scan(text).denials[0])
    assert [denial_record(d) for d in scan(wrapped).denials] == [expected]


@settings(max_examples=100, deadline=None)
@given(
    row=st.sampled_from(SINGLE_LINE),
    width=st.integers(min_value=30, max_value=120),
    before=NOISE,
    after=NOISE,
)
def test_denial_is_found_again_when_wrapped_between_paragraphs_of_noise(
    row: tuple[str, str], width: int, before: str, after: str
) -> None:
    _, text = row
    expected = denial_record(scan(text).denials[0])
    found = [denial_record(d) for d in scan(f"{before}\n\n{_hard_wrap(text, width)}\n\n{after}").denials]
    assert expected in found
