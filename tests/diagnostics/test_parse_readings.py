"""The work around the readings of a paste takes shortcuts that answer what the longer way answers."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from diagnostics import parse
from tests.diagnostics.parse_fixtures import rows

# A hyphen a word wrap broke at: a letter or digit, then the hyphen ending the line.
HYPHEN_BREAK = re.compile(r"[A-Za-z0-9]-$")

ROWS = rows()
# Pieces of hint words, the line breaks, blanks and quote markers around them, and what normalising rewrites.
PIECES = (
    "denied",
    "deni",
    "ed",
    "access key id",
    "access",
    " key id",
    "403",
    "40",
    "3",
    "secret",
    "akia",
    "AKIA",
    "word",
    "arn:aws:s3:::bucket/",
    "s3:GetObject",
    "-",
    ":",
    " ",
    "  ",
    "\t",
    "\n",
    "\n  ",
    "\n\n",
    "\n \n",
    "\n> ",
    "\n>",
    "\n│ ",
    "> ",
    "│ ",
    "\r\n",
    "&gt; ",
    "&amp;",
    "<https://example.com/a|label>",
    "```",
    "`",
    "\u201c",
    "\u00a0",
    "}",
)
TEXTS = st.lists(st.sampled_from(PIECES), min_size=1, max_size=24).map("".join)


def _squeezed_mentions(lower: str, words: tuple[str, ...]) -> bool:
    probe = parse._SQUEEZE.sub("", lower) if "\n" in lower else lower
    return not probe or parse._mentions(probe, words)


def _paragraph_parts(text: str) -> list[tuple[bool, str]]:
    return [(bool(parse._PARAGRAPH_BREAK.fullmatch(part)), part) for part in parse._PARAGRAPH_BREAK.split(text)]


def _unwrapped_part_by_part(text: str) -> str:
    """_unwrap as it reads each part of the split: breaks kept, each paragraph re-joined as its wrap says."""
    out: list[str] = []
    wraps = iter([parse._wrap_kind(lines) for lines in parse._paragraph_lines(text)])
    for is_break, part in _paragraph_parts(text):
        if is_break:
            out.append(part)
            continue
        kind, start = next(wraps)
        lines = part.split("\n")
        if kind == parse._UNWRAPPED:
            out.append(part)
        elif kind == parse._TERMINAL:
            out.append("\n".join([*lines[:start], "".join(lines[start:])]))
        else:
            joined = lines[0].rstrip(" \t")
            for previous, line in itertools.pairwise(lines):
                line = line.strip(" \t")
                joined += line if HYPHEN_BREAK.search(previous) else " " + line
            out.append(joined)
    return "".join(out)


def test_no_hint_word_can_be_cut_by_what_rejoining_removes() -> None:
    for word in parse._ANY_HINTS:
        assert "\n" not in word
        assert parse._SQUEEZE.sub("", "\n" + word) == word


@given(TEXTS)
def test_hint_words_are_found_as_with_the_lines_always_rejoined(text: str) -> None:
    lower = text.lower()
    for words in (parse._ANY_HINTS, parse._HINTS):
        assert parse._mentions_rejoined(lower, words) == _squeezed_mentions(lower, words)


@given(TEXTS)
def test_paragraphs_and_the_breaks_between_them_alternate(text: str) -> None:
    parts = _paragraph_parts(text)
    assert [is_break for is_break, _ in parts] == [index % 2 == 1 for index in range(len(parts))]
    assert parse._paragraph_lines(text) == [part.split("\n") for is_break, part in parts if not is_break]


@given(TEXTS)
def test_unwrapping_and_joining_read_each_paragraph_as_the_split_gives_it(text: str) -> None:
    lines = parse._without_markers(text)
    assert parse._unwrap(lines) == _unwrapped_part_by_part(lines)
    assert parse._join_lines(lines) == "".join(
        part if is_break else part.replace("\n", "") for is_break, part in _paragraph_parts(lines)
    )


@given(TEXTS)
def test_a_reading_is_normalised_as_normalising_it_anew_would(text: str) -> None:
    lines = parse._without_markers(text)
    normalized = parse._rewrite(lines)
    for reading in (lines, parse._unwrap(lines), parse._join_lines(lines)):
        assert parse._renormalize(reading, lines, normalized) == parse._normalize(reading)


@pytest.mark.parametrize(("name", "row"), ROWS, ids=[name for name, _ in ROWS])
def test_every_fixture_wrapped_is_unwrapped_and_normalised_as_before(name: str, row: dict[str, str]) -> None:
    text = row["text"]
    for wrapped in (text, "\n".join(text[start : start + 41] for start in range(0, len(text), 41))):
        for variant in (wrapped, "> " + wrapped.replace("\n", "\n> "), wrapped + "\n\n" + wrapped):
            lines = parse._without_markers(variant)
            normalized = parse._rewrite(lines)
            assert parse._unwrap(lines) == _unwrapped_part_by_part(lines)
            for reading in (parse._unwrap(lines), parse._join_lines(lines)):
                assert parse._renormalize(reading, lines, normalized) == parse._normalize(reading)
