"""Finds every AWS access denial in pasted text, and the look-alikes that are not denials.

The text is normalised (Slack markup, smart quotes, quote markers), then the shapes of
``diagnostics.formats`` are located by their anchors and parsed locally, in windows that do not
overlap, with every "what is near this" question answered from sorted indexes, so the work stays
linear in the size of the paste. A paste with line breaks inside paragraphs is read twice, as pasted
and with its lines re-joined (terminal and e-mail wrapping), and the reading that yields the more
complete denials wins.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import ipaddress
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import unquote

from diagnostics import catalog, operations
from diagnostics.arn import ArnError, has_taken_out_part, is_account_id, parse_arn, parse_principal
from diagnostics.formats import (
    DENIAL_CODES,
    HTTP_403,
    LAYER_PHRASE_STARTS,
    LAYER_PHRASES,
    LOOK_ALIKES,
    PHRASE_WORDS,
    SHAPES,
    STATUS_CODES,
    LookAlike,
    Role,
    Shape,
)
from diagnostics.model import (
    ContextValue,
    DenialKind,
    DeniedRequest,
    Layer,
    OtherError,
    Principal,
    PrincipalType,
    Reported,
    ScanResult,
)
from diagnostics.secrets import (
    SecretSpan,
    find_secrets,
    line_may_hold_secrets,
    might_hold_secrets,
    rarest_character,
    redact,
    redact_spans,
)

SNIPPET_LIMIT = 1000
# How much of an encoded authorization message a snippet shows (the whole blob is in encoded_message).
ENCODED_PREVIEW = 24

_EMPTY = ScanResult(denials=())
_EMPTY_WITH_SECRETS = ScanResult(denials=(), secrets_found=True)

# Lower-cased words one of which every shape and look-alike contains: a text with none is not read further.
_HINTS = (
    "authoriz",
    "denied",
    "forbidden",
    "execute",
    "403",
    "token",
    "expired",
    "signature",
    "unrecognized",
    "authfailure",
    "credentials",
    "accesskeyid",
    "access key id",
)
# Lower-case words one of which every credential find_secrets looks for contains (or its label: a
# labelled token follows "session" or "security"; YXdz is the base64 of "aws" unlabelled tokens start with;
# a request signature's label holds "signature", one of _HINTS).
_SECRET_HINTS = ("akia", "asia", "secret", "session", "security", "yxdz", "iqoj")
_ANY_HINTS = _HINTS + _SECRET_HINTS
_SQUEEZE = re.compile(r"\n[ \t>│]*")
# The ASCII characters _normalize rewrites or acts on (every other one it rewrites is not ASCII).
_REWRITTEN = ("&", "<", ">", "`", "\r")
# The re-joined reading is for pasted text (a Slack message holds at most 40,000 characters); a larger
# input is a file or a log, whose lines are records rather than wrapped sentences.
_REJOIN_LIMIT = 65_536
# What a denial must add to a reading's score to be worth counting (see _score).
_DENIAL_COST = 4


def scan(text: str) -> ScanResult:
    """Every access denial in ``text``, plus look-alikes (``other_errors``) and whether it held credentials."""
    if not text:
        return _EMPTY
    lower = text.lower()
    broken = "\n" in lower
    # The words are looked for with the lines re-joined, so a terminal wrap inside a word cannot hide it (only
    # texts small enough to be read re-joined need this; on a longer one, credentials are always looked for).
    checked = not broken or len(lower) <= _REJOIN_LIMIT
    if checked and not _mentions_rejoined(lower, _ANY_HINTS):
        return _EMPTY
    # Normalising leaves a plain line as it is: its one reading is the line, and the rows it opens are known now.
    plain = not broken and _is_plain(text)
    open_rows = _rows_open_in(lower) if plain else None
    # A line without the words credentials need holds none, and nothing taken from it can.
    hinted = None if broken else line_may_hold_secrets(lower)
    if plain and not open_rows:
        return _EMPTY_WITH_SECRETS if hinted and find_secrets(text) else _EMPTY
    spans = [] if hinted is False else find_secrets(text)
    if checked and not _mentions_rejoined(lower, _HINTS):
        return _EMPTY_WITH_SECRETS if spans else _EMPTY
    if spans:
        # Every field is read from the text with its credentials already replaced, so that no field can hold a
        # piece of one (the first line of a wrapped token taken for a resource, a token glued to an ARN by re-joining).
        text = redact_spans(text, spans)
    # The wrap is judged on the lines as the terminal or client produced them (only the quote markers
    # before them removed): normalising can change a line's width.
    lines = _without_markers(text) if "\n" in text and len(text) <= _REJOIN_LIMIT else ""
    # (A plain line stays plain when its credentials are replaced: the markers are plain too.)
    normalized = text if plain else _rewrite(lines) if lines else _normalize(text)
    # Normalising can reveal a credential (an HTML entity or a Slack link around it).
    normalized_spans = [] if normalized == text else find_secrets(normalized)
    paragraphs = _paragraph_lines(lines) if lines else []
    if any(len(paragraph) > 1 for paragraph in paragraphs):
        denials, others = _best_reading(lines, paragraphs, normalized, normalized_spans)
    elif plain and not spans:
        denials, others = _Pass(normalized, normalized_spans, lower=lower, open_rows=open_rows, hinted=hinted).run()
    else:
        denials, others = _Pass(normalized, normalized_spans).run()
    found = {"denials": tuple(denials), "other_errors": tuple(others), "secrets_found": bool(spans or normalized_spans)}
    return _frozen(ScanResult, found)


def _is_plain(text: str) -> bool:
    """Whether ``_normalize`` leaves ``text`` as it is (ASCII, with none of the characters it rewrites)."""
    return text.isascii() and not _mentions(text, _REWRITTEN)


def _mentions(lower: str, words: tuple[str, ...]) -> bool:
    # A plain loop: a third faster than any() over a generator, on the short texts every chat line is.
    for word in words:  # noqa: SIM110
        if word in lower:
            return True
    return False


def _mentions_rejoined(lower: str, words: tuple[str, ...]) -> bool:
    """Whether ``lower`` holds one of ``words`` once its lines are re-joined (see _SQUEEZE), or nothing is left of it.

    No word holds a line break or starts with what _SQUEEZE removes after one, so re-joining keeps every word
    the text holds as it is: the lines are only re-joined when the text as it is holds none.
    """
    if _mentions(lower, words):
        return True
    if "\n" not in lower:
        return False
    probe = _SQUEEZE.sub("", lower)
    return not probe or _mentions(probe, words)


def _best_reading(
    text: str, paragraphs: list[list[str]], normalized: str, spans: list[SecretSpan]
) -> tuple[list[DeniedRequest], list[OtherError]]:
    """The most complete of up to three readings of a text with line breaks inside paragraphs.

    ``text`` is the paste without quote markers, ``paragraphs`` its ``_paragraph_lines``, ``normalized``
    its ``_rewrite`` (the whole paste normalised) and ``spans`` the credentials in it. The readings: as
    pasted; re-wrapped (see _unwrap); and, where a paragraph may have been wrapped by a terminal, with
    every line re-joined with nothing between, which undoes a terminal wrap exactly. Where a paragraph
    certainly was, the pasted reading is not used (its pieces of cut sentences can add up to more than the
    sentences) and ties go to the last reading; otherwise ties go to the first. Readings that come out the
    same text are parsed once.
    """
    wraps = [_wrap_kind(lines) for lines in paragraphs]
    kinds = [kind for kind, _ in wraps]
    terminal = _TERMINAL in kinds
    # Each reading is normalised after re-joining: a wrap can split an HTML entity or a Slack link.
    texts = [] if terminal else [normalized]
    texts.append(_renormalize(_unwrap(text, wraps), text, normalized))
    # Gluing every line also glues words together: it is only tried where a terminal may have wrapped.
    if terminal or _AMBIGUOUS in kinds:
        texts.append(_renormalize(_join_lines(text), text, normalized))
    passes: dict[str, _Pass] = {}
    # A reading only removes line breaks: where no credential can hide across them, none is in any reading.
    hidden = might_hold_secrets(normalized)
    for reading in texts:
        if reading not in passes:
            pasted = reading == normalized
            passes[reading] = _Pass(reading, spans if pasted or not hidden else None, hinted=hidden if pasted else None)
            passes[reading].read()
    if len(passes) == 1:
        return passes[texts[0]].result()
    # Only the reading that wins is taken further than what ranks it.
    rank_of = {reading: reading_pass.rank for reading, reading_pass in passes.items()}
    ranks = [rank_of[reading] for reading in texts]
    best = max(ranks)
    order = reversed(range(len(texts))) if terminal else range(len(texts))
    return next(passes[texts[index]].result() for index in order if ranks[index] == best)


def _renormalize(reading: str, text: str, normalized: str) -> str:
    """``_normalize(reading)``, where ``normalized`` is ``_rewrite(text)``: the same when no quote marker is left."""
    stripped = _without_markers(reading)
    return normalized if stripped == text else _rewrite(stripped)


_PARAGRAPH_BREAK = re.compile(r"(\n(?:[ \t]*\n)+)")
# What a word ends with before a hyphen a wrap broke at (see _unwrap).
_HYPHENATED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
# A shell prompt starting a line: "$ aws ...", "# ...", "PS C:\> ...", "C:\work> ...".
_PROMPT = re.compile(r"\s*(?:[$#%]\s|PS\s|[A-Za-z]:\\)")
_LAYOUT_STARTS = frozenset(" \t{}[]()<`")
# How a paragraph was wrapped, as far as its line widths tell.
_UNWRAPPED, _WORDS, _AMBIGUOUS, _TERMINAL = range(4)


def _paragraph_lines(text: str) -> list[list[str]]:
    return [part.split("\n") for part in _paragraphs(text)[::2]]


def _paragraphs(text: str) -> list[str]:
    """``text`` split into its paragraphs and, between them, the blank lines that part them (every odd item).

    The split keeps each break, and a break is as long as it can be, so a paragraph is never one.
    """
    return _PARAGRAPH_BREAK.split(text)


def _wrap_kind(lines: list[str]) -> tuple[int, int]:
    """How a paragraph was wrapped, and the line its wrapped block starts at.

    A terminal cuts lines at one width, inside words: a block of lines of the paragraph's widest
    width, then one no wider, ending the paragraph (lines before the block, such as the command that
    failed, are left alone). Four or more lines in the block are taken for a terminal wrap; two or
    three could be a word wrap too: two lines meeting without a space are taken for a terminal wrap;
    otherwise a space kept at a break, a line starting with the punctuation that ends a word (word
    wrappers do neither) or a token visibly cut settles it.
    Anything else was wrapped at spaces, or not wrapped at all.
    """
    # A text ending in a line break (a file, a terminal's output) is read as the same text without it.
    while len(lines) > 1 and not lines[-1].strip():
        lines = lines[:-1]
    if len(lines) == 1:
        return _UNWRAPPED, 0
    # Lines that all start indented, with a bracket or with a code fence are the layout of JSON, XML or a
    # stack trace (under a line saying what it is): no wrapper indents the lines it makes or starts them all
    # with brackets, and a terminal that cut every line just before a space is too unlikely (two lines can
    # be one cut, and are judged below).
    width = max(map(len, lines))
    # ... unless the whole paragraph has a terminal's shape: two or more lines of one width (its widest)
    # and a last one no wider. A terminal that cuts just before a space on each line makes exactly this.
    even = len(lines) > 2 and all(len(line) == width for line in lines[:-1])
    if len(lines) > 2 and _column(lines):
        return _WORDS, 0
    if not even and len(lines) > 2 and all(line[:1] in _LAYOUT_STARTS for line in lines[1:]):
        return _UNWRAPPED, 0
    start = next(index for index, line in enumerate(lines) if len(line) == width)
    block = lines[start:]
    if len(block) < 2 or any(len(line) != width for line in block[:-1]):
        return _WORDS, 0
    if len(block) >= 4:
        return _TERMINAL, start
    # Two lines meeting without a space, alone or under the shell prompt that ran the command: a line
    # as wide as the terminal, and what did not fit. (A long error line with a comment starting right
    # under it reads the same; the wrap is likelier.)
    alone = all(_PROMPT.match(line) for line in lines[:start])
    if alone and len(block) == 2 and block[0][-1:].strip() and block[1][:1].strip():
        return _TERMINAL, start
    # Word wrappers drop the spaces at a break and never start a line with the punctuation that ends a
    # word; a terminal does both.
    spaced = any(line[-1:] in (" ", "\t") for line in block[:-1]) or any(line[:1] in " \t" for line in block[1:])
    attached = any(line[:1] in _ATTACHED_PUNCTUATION for line in block[1:])
    if spaced or attached or _cuts_a_token(block):
        return _TERMINAL, start
    return _AMBIGUOUS, start


def _column(lines: list[str]) -> bool:
    """Whether the lines after the first are a column of text: all indented by the same run of 8 or more blanks, as a
    tool lays out a long message beside its other columns (CDK's deploy output), wrapping it at spaces."""
    margin = len(lines[1]) - len(lines[1].lstrip(" \t"))
    return margin >= 8 and all(
        line[:margin] == lines[1][:margin] and line[margin : margin + 1] not in ("", " ", "\t") for line in lines[1:]
    )


def _cuts_a_token(lines: list[str]) -> bool:
    """Whether a line break in these lines cuts a token.

    The line's last word is token-like (a ":" or "/" inside it: an ARN, a URL, a path) and ends on a
    separator, or the next line goes on with more of it, or holds its rest and ends the lines. Or the
    break cuts a long run of base64 characters (an encoded authorization message).
    """
    for index, (previous, line) in enumerate(itertools.pairwise(lines)):
        if _BASE64_RUN.fullmatch(previous[-40:]) and _WORD_START.match(line):
            return True
        words = previous.split()
        if not words or not previous[-1:].strip() or not _TOKEN_LIKE.search(words[-1]):
            continue
        last_line = index == len(lines) - 2
        if words[-1][-1] in "/._:-" and _WORD_START.match(line):
            return True
        if _TOKEN_GOES_ON.match(line) or (last_line and _TOKEN_REST.match(line)):
            return True
    return False


def _join_lines(text: str) -> str:
    """Each paragraph's lines joined with nothing between (a terminal wrap keeps its spaces: they are the text's)."""
    parts = _paragraphs(text)
    parts[::2] = [part.replace("\n", "") for part in parts[::2]]
    return "".join(parts)


def _unwrap(text: str, wraps: list[tuple[int, int]] | None = None) -> str:
    """Paragraphs re-joined as they were before a wrap, as far as _wrap_kind can tell how.

    ``wraps``, when known, is what _wrap_kind says of each of ``_paragraph_lines(text)``. A terminal-wrapped block
    is joined with nothing between its lines, and the lines before it keep their breaks. Lines wrapped
    at spaces (which the wrap removed) are joined with a space, or with nothing after a hyphen the
    wrap broke at.
    """
    if wraps is None:
        wraps = [_wrap_kind(lines) for lines in _paragraph_lines(text)]
    if all(kind == _UNWRAPPED for kind, _ in wraps):
        return text
    out = _paragraphs(text)
    for index, (kind, start) in zip(range(0, len(out), 2), wraps, strict=True):
        if kind == _UNWRAPPED:
            continue
        lines = out[index].split("\n")
        if kind == _TERMINAL:
            out[index] = "\n".join([*lines[:start], "".join(lines[start:])])
        else:
            joined = lines[0].rstrip(" \t")
            for previous, line in itertools.pairwise(lines):
                line = line.strip(" \t")
                hyphen = previous[-1:] == "-" and previous[-2:-1] in _HYPHENATED
                joined += line if hyphen else " " + line
            out[index] = joined
    return "".join(out)


def find_denials(text: str) -> list[DeniedRequest]:
    """Every access denial in ``text``."""
    return list(scan(text).denials)


# --- normalisation -------------------------------------------------------------------------------

_SLACK_LINK = re.compile(r"<((?:https?|mailto|ftp|tel):[^\s<>|]{0,4096})(?:\|([^<>\n]{0,4096}))?>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|apos|#39|#34|#x27);")
_ENTITIES = {
    "&lt;": "<",
    "&gt;": ">",
    "&amp;": "&",
    "&quot;": '"',
    "&apos;": "'",
    "&#39;": "'",
    "&#34;": '"',
    "&#x27;": "'",
}
_FENCE = re.compile(r"```[A-Za-z0-9_+-]{0,20}[ \t]*(?=\n|$)|```")
# Slack quote markers: Slack escapes the ">" a quote starts with, so these are always markers.
_SLACK_QUOTE = re.compile(r"(?m)^[ \t]*(?:&gt;[ \t]?)+")
# E-mail quote markers and the box-drawing gutter Terraform prints its errors in: only markers when
# every line of the paragraph has one (a wrapped line can start with the ">" closing a Slack link).
_MARKER = re.compile(r"[ \t]*(?:[>│┃║╷╵](?=[ \t>│]|$)[ \t]?)+")
_MARKER_CHARACTERS = tuple(">│┃║╷╵")
_PIPE_GUTTER = re.compile(r"[ \t]*(?:-[ \t]+)?(?P<pipe>\|)(?:[ \t]|$)")
_TRANSLATION = str.maketrans(
    {
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
        **dict.fromkeys("\u00a0\u2007\u202f\u2009\u200a\u3000`", " "),
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad"),
        **dict.fromkeys("\u2010\u2011\u2012\u2013", "-"),
    }
)
# The same rewriting as a pattern: str.translate looks every character up, which costs more than finding the few.
_TRANSLATED = re.compile("[" + "".join(re.escape(chr(code)) for code in _TRANSLATION) + "]")
_REPLACEMENTS = {chr(code): replacement or "" for code, replacement in _TRANSLATION.items()}


def _normalize(text: str) -> str:
    return _rewrite(_without_markers(text))


def _rewrite(text: str) -> str:
    """``text``, already without quote markers, normalised (Slack links and markup, HTML entities, typography)."""
    if "<" in text:
        text = _SLACK_LINK.sub(_unlink, text)
    if "&" in text:
        text = _ENTITY.sub(lambda m: _ENTITIES[m.group()], text)
    if "`" in text:
        text = _FENCE.sub(" ", text)
    if text.isascii():
        # The backtick is the one ASCII character the translation rewrites (str.translate looks up every character).
        return text.replace("`", " ")
    return _TRANSLATED.sub(lambda match: _REPLACEMENTS[match.group()], text)


def _without_markers(text: str) -> str:
    """``text`` with Unix line ends and without the quote markers and gutters at the start of its lines."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&gt;" in text:
        text = _SLACK_QUOTE.sub("", text)
    if "|" in text:
        text = _without_pipe_gutters(text)
    if not _mentions(text, _MARKER_CHARACTERS):
        return text
    out: list[str] = []
    for part in _PARAGRAPH_BREAK.split(text):
        lines = part.split("\n")
        if all(_MARKER.match(line) for line in lines if line.strip()):
            lines = [_MARKER.sub("", line, count=1) for line in lines]
        out.append("\n".join(lines))
    return "".join(out)


def _without_pipe_gutters(text: str) -> str:
    """``text`` without an ASCII gutter ("| " in one column, the first line maybe a list item's "- | ") before two or
    more lines in a row, as tools print a multi-line message under a heading of their own."""
    lines = text.split("\n")
    gutters = [_PIPE_GUTTER.match(line) for line in lines]
    columns = [gutter.end("pipe") if gutter else -1 for gutter in gutters]
    index = 0
    while index < len(lines):
        end = index + 1
        while columns[index] >= 0 and end < len(lines) and columns[end] == columns[index]:
            end += 1
        if end - index >= 2:
            for line in range(index, end):
                gutter = gutters[line]
                if gutter is not None:
                    lines[line] = lines[line][gutter.end() :]
        index = end
    return "\n".join(lines)


def _unlink(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    return label if label else target.removeprefix("mailto:")


# --- patterns used inside a located message ----------------------------------------------------------

_REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}"
_REGION_RE = re.compile(_REGION)
# A placeholder written where a value was taken out before pasting: <account-id>, <arn here>, <redacted>, <>. Never a
# closing XML tag (no "/"), so a resource followed by "</Message>" still ends there.
_PLACEHOLDER_WORDS = r"[A-Za-z][\w.=-]{0,63}(?: [\w.=-]{1,30}){0,3}"
_PLACEHOLDER = rf"<(?:{_PLACEHOLDER_WORDS})?>"
# The same words in square or curly brackets ("[account id]", "{role-arn}").
_SQUARE_PLACEHOLDER = rf"\[{_PLACEHOLDER_WORDS}\]"
_CURLY_PLACEHOLDER = rf"\{{{_PLACEHOLDER_WORDS}\}}"
_ANY_PLACEHOLDER = re.compile(rf"{_PLACEHOLDER}|{_SQUARE_PLACEHOLDER}|{_CURLY_PLACEHOLDER}")
# Where an unquoted token ends, also when re-joined lines glued the next words to it.
_TOKEN_END = (
    r"(?=because\s*no|because\s*the\s*resource|with\s*an\s*explicit|\.\s*Go\s*to|User\s*:|\(\s*Service\s*:"
    rf"|An\s*error\s*occurred|Encoded\s*authori|[\s\"'>\\]|<(?!{_PLACEHOLDER[1:]})|$)"
)
# (An ARN where the action belongs is no action: no service is called "arn".)
_ACTION = re.compile(
    r"\s*:?\s*(?P<action>(?![Aa][Rr][Nn]:)[A-Za-z][A-Za-z0-9-]{0,60}:[A-Za-z0-9*]{1,128}?)"
    r"(?=on\s*(?:the\s*)?resources?\b|because|with\s*an|[^A-Za-z0-9*]|$)"
)
# What the subject of an "is not authorized to perform" sentence that names no action holds for it to be AWS's.
_PRINCIPAL_WORDS = ("arn:", "anonymous", ".amazonaws.com")
_NULL_ACTION = re.compile(r"\s*:?\s*null\b")
_ON_RESOURCE = re.compile(r"\s*on\s*(?:(?:the\s*)?resources?\b\s*:?\s*|(?=\\?[\"']|arn:))")
_KMS_CIPHERTEXT = re.compile(r"associated\s*with\s*this\s*ciphertext")
# An ARN with a part taken out and the spaces around the gap left in: "arn:aws:sts:: ... :assumed-role/x",
# "arn:aws:iam::xxxx :user/x" (at least one gap; the parts are joined again without the spaces).
_SPACED_ARN_PART = r"[ \t]+(?:\.\.\.|…|[xX*#]{2,}|<[^<>\s]{0,30}>)?[ \t]*:[^\s\"'<>]*"
_SPACED_ARN = re.compile(rf"arn:[^\s\"'<>]*(?:{_SPACED_ARN_PART})+")
# What can follow a gap's blanks in _SPACED_ARN_PART: a marker's first character, or the colon after the gap.
_GAP_STARTS = frozenset(":.…xX*#<")
_WHITESPACE = re.compile(r"\s+")
# IAM names its own entities by kind and name: "on resource: role cdk-hnb659fds-deploy-role-...".
_IAM_NAMED = re.compile(
    r"(?P<kind>role|user|group|instance-profile)[ \t]+(?P<name>(?!arn:)[\w+=,.@-]{1,128})(?=[\s\"',;)]|$)"
)
# The shortest value up to its closing quote, which a backslash before it is not part of (a value ending in one
# character before a backslash and a closing quote is the same as that lazily matched, with less backtracking).
_QUOTED = re.compile(r"\\?([\"'])(?P<value>[^\"'\n]{0,2047}[^\"'\n\\]|[^\"'\n])\\?\1")
_UNQUOTED = re.compile(rf"(?P<value>(?:[^\s\"'<>]|{_PLACEHOLDER}|{_SQUARE_PLACEHOLDER}){{1,2048}}?)" + _TOKEN_END)
# Where a run of the characters a plain unquoted token is made of ends, and the words _TOKEN_END looks for glued to
# a token (see _unquoted).
_TOKEN_RUN_END = re.compile(r"[\s\"'<>\\]")
_GLUED_WORDS = ("because", "with", "User", "(", "An", "Encoded", ".Go")
# Where the first run of an ARN's characters ends (see _spaced_arn).
_ARN_RUN_END = re.compile(r"[\s\"'<>]")
_REASON_LEAD = re.compile(r"[\s.,;]*")
_POLICY_ARN = re.compile(
    r"\s*(?::|,?\s*with\s*policy\s*ARN\s*:?)\s*(?P<arn>arn:[^\s\"'<>]{1,2048}?)"
    r"(?=\.\s*Go\s*to|\.(?:\s|$)|[\s\"'<>,;)\\]|$)"
)
_AUTH_URL = re.compile(
    r"https?://(?P<host>[a-z0-9.-]{1,100})/iam/home\?(?P<query>[^#\s]{0,300})#/authorization-details/"
    r"(?P<id>[A-Za-z0-9]{1,200})"
)
_AUTH_ID = re.compile(r"authori[sz]ation\s*id\s*:\s*(?P<id>[A-Za-z0-9]{1,200})")
_CONSOLE_REGION = re.compile(rf"^(?P<region>{_REGION})\.console\.")
_QUERY_REGION = re.compile(rf"(?:^|&)region=(?P<region>{_REGION})")
_TRUNCATED = re.compile(r"\(truncated|truncated\.\.\.\)")
_REDACTED = re.compile(
    rf"^[*xX.…#<>-]+$|\*{{3}}|[xX]{{4}}|(?<![A-Za-z0-9])[xX]{{3}}(?![A-Za-z0-9])|\.\.\.|…|{_ANY_PLACEHOLDER.pattern}"
    r"|\$[A-Z][A-Z0-9_]{1,40}"
)
_API_GATEWAY_BODY = re.compile(r"[\"']Message[\"']\s*:\s*[\"']\s*User\s*$")
_SQS_QUEUE_URL = re.compile(
    r"https?://sqs\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?P<cn>\.cn)?/(?P<account>\d{12})/(?P<name>[\w.-]+)"
)
_BLOB_LINE = re.compile(r"\n[ \t]*([\w-]+)[ \t]*(?=\n|$)")
_BLOB_TAIL = re.compile(r"[0-9_-]")
_SPACED_HYPHEN = re.compile(r"\s+-\s*|-\s+")
_PHRASE_WORD = re.compile("|".join(re.escape(w) for w in sorted(PHRASE_WORDS, key=len, reverse=True)) + "|[,.;]")
# What follows a line break that cut a token: more token characters (":/._*", digits, "-"), or the
# token's rest and then the error sentence.
_TOKEN_GOES_ON = re.compile(
    r"[ \t]*(?:(?=[\w./*:-]*[:/._*0-9-])[\w./*:-]+(?=[\s\"'),;]|$)"
    r"|\S+\s+(?:because\b|with\s+an\b|is\s+not\b|\.?\s*Go\s+to\b|\(Service\b))"
)
_TOKEN_REST = re.compile(r"[ \t]*[\w./*:-]+\s*$")
_TOKEN_LIKE = re.compile(r"[^:/][:/].")
_ATTACHED_PUNCTUATION = frozenset(":;,.!?)]}\"'”’")
_FIRST_SENTENCE = re.compile(r".*?(?:\.(?=\s|$)|$)", re.DOTALL)
_BASE64_RUN = re.compile(r"[\w-]{40}")
_WORD_START = re.compile(r"[ \t]*[\w*-]")
_QUALIFIED = re.compile(r"[\w.$]*\.$")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_ENDPOINT_HOST = re.compile(r"https?://(?P<host>[a-z0-9.-]{1,200}?)\.(?:amazonaws\.com(?:\.cn)?|api\.aws)\b")
_CLI_COMMAND = re.compile(
    r"aws(?:\s+(?:--(?:debug|no-[\w-]+)|--[\w-]+[= ](?!-)\S+))*\s+(?P<service>[a-z0-9][a-z0-9-]{1,40})"
    r"\s+(?P<command>[a-z0-9][a-z0-9-]{1,80})"
)
_JS_COMMAND = re.compile(r"new\s+(?P<operation>[A-Z][A-Za-z0-9]{1,100})Command\s*\(")
# An SDK's stack frame or debug line that names the operation which failed, for an error that does not name it.
# Each starts with a literal, so the engine skips ahead to it. (A Kotlin frame is found by its class name's end.)
_FRAME_OPERATIONS = (
    # The SDK for JavaScript v3: "at deserializeAws_queryCreateQueueCommandError", "at de_GetObjectCommandError".
    re.compile(
        r"(?:deserializeAws_(?:restJson1|restXml|json1_0|json1_1|query|ec2)|\bde_)"
        r"(?P<operation>[A-Z][A-Za-z0-9]{1,100}?)CommandError\b"
    ),
    # The SDK for Go v1's debug log: "DEBUG: Response ec2/DescribeInstances Details:", "Validate Response ec2/X failed".
    re.compile(
        r"Response\s+(?P<service>[a-z0-9-]{2,40})/(?P<operation>[A-Z][A-Za-z0-9]{1,100})\s+(?:Details|failed)\b"
    ),
)
_KOTLIN_DESERIALIZER = "OperationDeserializer"
_NAME_BEFORE = re.compile(r"[A-Z][A-Za-z0-9]{1,100}$")
_FRAMES_AFTER = 2000
# S3 is the service that answers with exactly this message (the others name the principal and action).
_S3_MESSAGE = re.compile(r"\s*Access\s*Denied\.?\s*(?:$|\n|\(Service|<)")
# AWS Organizations' message for every denied call (ListPolicies, an IAM operation too, is Organizations' here).
_ORGANIZATIONS_MESSAGE = re.compile(r"\s*You\s*don['’]t\s*have\s*permissions\s*to\s*access\s*this\s*resource\b")
_CLI_REGION = re.compile(rf"--region[= ](?P<region>{_REGION})\b")
_QUEUE_URL = re.compile(r"https?://[^/\s]+/(?P<account>\d{12})/(?P<name>[^/?\s]+)")

_BUCKET = r"(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])"
_S3_REFS: tuple[re.Pattern[str], ...] = (
    re.compile(r"s3://" + _BUCKET + r"(?:/(?P<key>[^\s\"'<>]*))?"),
    re.compile(
        r"https?://" + _BUCKET + rf"\.s3(?:[.-](?:dualstack\.)?(?P<region>{_REGION}))?\.amazonaws\.com(?:\.cn)?"
        r"(?:/(?P<key>[^\s\"'<>?#]*))?"
    ),
    re.compile(
        rf"https?://s3(?:[.-](?:dualstack\.)?(?P<region>{_REGION}))?\.amazonaws\.com(?:\.cn)?/"
        + _BUCKET
        + r"(?:/(?P<key>[^\s\"'<>?#]*))?"
    ),
    re.compile(r"arn:aws[a-z-]{0,10}:s3:::" + _BUCKET + r"(?:/(?P<key>[^\s\"'<>]*))?"),
    re.compile(r"--bucket[= ]+[\"']?" + _BUCKET + r"\b"),
    # Terraform's AWS provider names the bucket it was working on: "reading S3 Bucket (tf-state-prod)".
    re.compile(r"S3 Bucket \(" + _BUCKET + r"\)"),
    re.compile(
        r"Bucket[\"']?\s*[=:]\s*[\"']"
        + _BUCKET
        + r"[\"'](?:\s*,\s*[\"']?Key[\"']?\s*[=:]\s*[\"'](?P<key>[^\"'\n]{1,1024})[\"'])?"
    ),
)
_URL_REFS = frozenset({1, 2})
_CLI_BUCKET_REF = 4
_CLI_KEY = re.compile(r"--key[= ]+[\"']?(?P<key>[^\s\"']{1,1024})")

_BACK_WINDOW = 1024
# A "line" is never taken to reach further than this from where a lookup starts.
_LINE_LIMIT = 4096
_FORWARD_WINDOW = 8192
_TAIL_WINDOW = 1500
_ENCODED_REACH = 800
_S3_BEFORE, _S3_AFTER = 1500, 500
_COMMAND_BEFORE = 2000
_GROUP_GAP = 600
# CloudTrail puts errorCode near the start of a record (also with sorted keys); what follows can be long.
_RECORD_BACK = 16_384
_RECORD_FORWARD = 262_144
_RECORD_NEAR = 8_192
_RECORD_ATTEMPTS = 40
# JSON decoding attempts one reading may spend looking for records, so a hostile paste stays cheap.
_DECODE_BUDGET = 2_000
# Tokens one reading may spend reading records that are not JSON (cut off, or printed by Python).
_LOOSE_BUDGET = 50_000
_LOOSE_ATTEMPTS = 12

_SHAPE_ORDER = {shape: index for index, shape in enumerate(SHAPES)}
_CORE_SHAPES = tuple(shape for shape in SHAPES if shape.role is Role.CORE)
_ENCODED_SHAPES = tuple(shape for shape in SHAPES if shape.role is Role.ENCODED)
_WRAPPER_SHAPES = tuple(shape for shape in SHAPES if shape.role in (Role.HEAD, Role.TAIL, Role.BODY))
_TERSE_SHAPES = tuple(shape for shape in SHAPES if shape.role is Role.TERSE)
_HEAD_SHAPES = tuple(shape for shape in _WRAPPER_SHAPES if shape.role is Role.HEAD)
_SENTENCE_SHAPES = frozenset(_CORE_SHAPES + _ENCODED_SHAPES)
_RECORD_SHAPE = next(shape for shape in SHAPES if shape.role is Role.RECORD)
# The same rows as sets, to ask whether a reading tries any of them.
_TERSE_SET = frozenset(_TERSE_SHAPES)
_LOOK_ALIKE_SET = frozenset(LOOK_ALIKES)
_Row = TypeVar("_Row", Shape, LookAlike)
_Frozen = TypeVar("_Frozen", DeniedRequest, ScanResult)
# Each word a row of the table needs, with the rows that need it: a pass checks every word once. (A
# row must name the words it needs: one that names none is never tried.)
_ROWS_NEEDING: dict[str, list[Shape | LookAlike]] = {}
_ALL_ROWS: tuple[Shape | LookAlike, ...] = (*SHAPES, *LOOK_ALIKES, HTTP_403)
for _row in _ALL_ROWS:
    for _word in _row.needs:
        _ROWS_NEEDING.setdefault(_word, []).append(_row)
# Shorter words inside several of those (not needed by any row themselves).
_GATE_FILTERS = ("expired", "token", "signature", "credentials", "invalid", "error")


def _gate_tree(words: Iterable[str], filters: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The words as a tree, each under the longest other word inside it ("" is the root).

    A word is only looked for where the word above it was found: a text without "denied" cannot
    hold "accessdenied". That halves the searches, each a pass over the text.
    """
    words = set(words)
    nodes = words | {f for f in filters if any(f in word and f != word for word in words)}
    children: dict[str, list[str]] = {}
    for node in sorted(nodes):
        parent = max((other for other in nodes if other != node and other in node), key=len, default="")
        children.setdefault(parent, []).append(node)
    return {parent: tuple(nodes) for parent, nodes in children.items()}


_GATE_TREE = _gate_tree(_ROWS_NEEDING, _GATE_FILTERS)
# The shapes a text holding one "not authorized to perform" sentence is read by (see _Pass._one_sentence): the
# sentence's own, the AWS CLI's prefix and the terse "Access Denied" (its error code holds the words). Any other
# shape but the CloudTrail record's may be open (a resource or a code can hold its words) but must not match.
_PERFORM = next(shape for shape in _CORE_SHAPES if shape.name == "plain")
_CLI = next(shape for shape in _WRAPPER_SHAPES if shape.name == "cli")
_SILENT_ROWS = frozenset(SHAPES) - {_PERFORM, _CLI, _RECORD_SHAPE, *_TERSE_SHAPES}
# The reason phrases a reason starting with each word could be, in table order.
_PHRASES_BY_START = tuple(
    (
        word,
        tuple(
            row
            for row in LAYER_PHRASES
            if not row[0].pattern.startswith(LAYER_PHRASE_STARTS) or row[0].pattern.startswith(word)
        ),
    )
    for word in LAYER_PHRASE_STARTS
)
_RAREST = {word: rarest_character(word) for words in _GATE_TREE.values() for word in words}
# Past this length a word is only looked for where its rarest character is.
_SHORT_TEXT = 4096
# Reported is immutable, so one instance serves every denial whose message gives no reason.
_NOTHING_REPORTED = Reported()
_LOOK_ALIKE_BY_CODE = {look_alike.code: look_alike for look_alike in LOOK_ALIKES}
# Every word a look-alike needs: a message with none of them is no look-alike.
_LOOK_ALIKE_WORDS = tuple(dict.fromkeys(word for look_alike in LOOK_ALIKES for word in look_alike.needs))
_ACCESS_DENIED_START = re.compile(r"\s*Access\s*Denied", re.IGNORECASE)
_DECODER = json.JSONDecoder()
_LOOKUP_EVENT = re.compile(r"[\"']CloudTrailEvent[\"']\s*:\s*\"")
# How every JSON object starts: JSON's blanks, then a key's quote or the closing brace.
_JSON_OBJECT_START = re.compile(r'\{[ \t\n\r]*["}]')


def _words_in(lower: str, words: tuple[str, ...]) -> list[str]:
    """The words of the gate tree under ``words`` that a short lower-cased text holds."""
    present: list[str] = []
    for word in words:
        if word in lower:
            present.append(word)
            children = _GATE_TREE.get(word)
            if children:
                present += _words_in(lower, children)
    return present


def _rows_open_in(lower: str) -> set[Shape | LookAlike]:
    """The rows of the table whose needed words a lower-cased text holds: no other row can match."""
    if len(lower) <= _SHORT_TEXT:
        present = _words_in(lower, _GATE_TREE[""])
    else:
        present = []
        words = list(_GATE_TREE[""])
        while words:
            word = words.pop()
            # Looking for one character costs a tenth of looking for a word that is absent.
            if _RAREST[word] in lower and word in lower:
                present.append(word)
                words.extend(_GATE_TREE.get(word, ()))
    return {
        row
        for word in present
        for row in _ROWS_NEEDING.get(word, ())
        if not row.needs_also or _mentions(lower, row.needs_also)
    }


def _holds_words(row: Shape | LookAlike, lower: str) -> bool:
    """Whether a lower-cased text holds the words every match of the row contains."""
    return _mentions(lower, row.needs) and (not row.needs_also or _mentions(lower, row.needs_also))


def _order(shape: Shape) -> int:
    return _SHAPE_ORDER[shape]


# --- indexes: answers to "is there one between" and "which is nearest" in O(log n) ------------------


class _Positions:
    """Sorted positions of one kind of thing in the text (and, when given, what is at each)."""

    def __init__(self, positions: Iterable[int], values: Mapping[int, str] | None = None) -> None:
        self.positions = sorted(positions)
        self.values = values or {}

    @classmethod
    def of(cls, values: Mapping[int, str]) -> _Positions:
        """The positions of ``values``' keys, with what is at each."""
        return cls(values, values)

    def count(self, lo: int, hi: int) -> int:
        return bisect.bisect_left(self.positions, hi) - bisect.bisect_left(self.positions, lo)

    def last_before(self, position: int, lo: int = 0) -> int | None:
        index = bisect.bisect_left(self.positions, position) - 1
        return self.positions[index] if index >= 0 and self.positions[index] >= lo else None

    def first_from(self, position: int) -> int | None:
        index = bisect.bisect_left(self.positions, position)
        return self.positions[index] if index < len(self.positions) else None


class _Spans:
    """Disjoint sorted spans, merged from any set of (start, end) pairs."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        for start, end in sorted(spans):
            if self.ends and start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.starts.append(start)
                self.ends.append(end)

    def contains(self, position: int) -> bool:
        index = bisect.bisect_right(self.starts, position) - 1
        return index >= 0 and position < self.ends[index]


class _Matches:
    """Matches in text order, for "the last one before here"."""

    def __init__(self, matches: Iterable[re.Match[str]]) -> None:
        self.matches = list(matches)
        self.starts = [m.start() for m in self.matches]

    def last_before(self, lo: int, position: int) -> re.Match[str] | None:
        index = bisect.bisect_left(self.starts, position) - 1
        return self.matches[index] if index >= 0 and self.starts[index] >= lo else None


# --- what a reading finds --------------------------------------------------------------------------


class _Wrapper:
    """A HEAD, TAIL or BODY shape found in the text (a plain class, as _Core is)."""

    def __init__(
        self, shape: Shape, start: int, end: int, fields: dict[str, str], message_start: int, message_end: int
    ) -> None:
        self.shape = shape
        self.start = start
        self.end = end
        self.fields = fields
        # Where the message it wraps is, for a wrapper whose message has no sentence of its own.
        self.message_start = message_start
        self.message_end = message_end
        self.attached = False
        # Its shape's place in the table, and the text it and its message cover (asked for many times).
        self.order = _order(shape)
        self.span = min(start, message_start), max(end, message_end)


class _Core:
    """The sentence of one denial, as parsed, plus the wrappers found around it.

    (A plain class: a compiled build runs its __init__ natively, where a dataclass's generated one is interpreted.)
    """

    def __init__(self, shape: Shape, start: int, end: int, *, orders: set[int]) -> None:
        self.shape = shape
        self.start = start
        self.end = end
        self.principal: Principal | None = None
        self.action: str | None = None
        self.resource: str | None = None
        self.resource_unnamed = False
        self.reported = _NOTHING_REPORTED
        self.authorization_id: str | None = None
        self.authorization_region: str | None = None
        self.encoded: str | None = None
        self.encoded_span: tuple[int, int] | None = None
        # What a sentence with no principal ARN says itself ("User with accountId: N is not authorized to perform Op").
        self.account: str | None = None
        self.operation: str | None = None
        self.orders = orders
        self.wrappers: list[_Wrapper] = []
        self.warnings: list[str] = []

    @property
    def valid(self) -> bool:
        """Whether this names enough to be an AWS denial rather than any app's "not authorized" sentence."""
        named = self.principal is not None and (
            self.principal.type is not PrincipalType.UNKNOWN or self.principal.arn.startswith("arn:")
        )
        return bool(self.action or named or self.encoded or self.resource)


class _S3Ref:
    """A bucket and key the text names, and the region its URL gives."""

    def __init__(self, bucket: str, key: str, region: str | None) -> None:
        self.bucket = bucket
        self.key = key
        self.region = region


class _Draft:
    """Everything known about one denial before it becomes a DeniedRequest (a plain class, as _Core is)."""

    def __init__(
        self,
        *,
        start: int,
        end: int,
        source_order: int,
        principal: Principal | None = None,
        action: str | None = None,
        resource: str | None = None,
        resource_unnamed: bool = False,
        reported: Reported = _NOTHING_REPORTED,
        authorization_id: str | None = None,
        authorization_region: str | None = None,
        encoded: str | None = None,
        encoded_span: tuple[int, int] | None = None,
        error_code: str | None = None,
        operation: str | None = None,
        service: str | None = None,
        endpoint: str | None = None,
        s3_ref: _S3Ref | None = None,
        account: str | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.start = start
        self.end = end
        self.source_order = source_order
        self.principal = principal
        self.action = action
        self.resource = resource
        self.resource_unnamed = resource_unnamed
        self.reported = reported
        self.authorization_id = authorization_id
        self.authorization_region = authorization_region
        self.encoded = encoded
        self.encoded_span = encoded_span
        self.error_code = error_code
        self.operation = operation
        self.service = service
        self.endpoint = endpoint
        self.s3_ref = s3_ref
        self.account = account
        self.warnings = [] if warnings is None else warnings


class _Found:
    """A denial and where it was found, for ordering and de-duplication."""

    def __init__(self, start: int, end: int, request: DeniedRequest, level: int = 2) -> None:
        self.start = start
        self.end = end
        self.request = request
        # How much of a message it was found in (see _absorb_fragments): a terse "Access Denied" next to an
        # S3 name, an SDK's wrapper with no sentence of its own, or a whole sentence or record.
        self.level = level


_TERSE_LEVEL, _WRAPPER_LEVEL = 0, 1


class _Pass:
    """One reading of one normalised text."""

    def __init__(
        self,
        text: str,
        secret_spans: list[SecretSpan] | None = None,
        *,
        lower: str | None = None,
        open_rows: set[Shape | LookAlike] | None = None,
        hinted: bool | None = None,
    ) -> None:
        """``lower`` and ``open_rows``, when given, are the text lower-cased and the rows it opens (see _tried);
        ``hinted`` is ``might_hold_secrets(text)``, or True where it may be (that only costs checks of values)."""
        self.text = text
        self.lower = text.lower() if lower is None else lower
        self._may_hold_secrets: bool | None = None if hinted is None else "\\" in text or "%" in text or hinted
        self._open = open_rows
        self.secret_spans: list[SecretSpan] = find_secrets(text) if secret_spans is None else secret_spans
        self.secret_starts = [span.start for span in self.secret_spans]
        self.claimed = _Spans(())
        # The rows open in the text after the last claimed span (see _unclaimed).
        self._tail_rows: set[Shape | LookAlike] | None = None
        self._s3_refs: list[tuple[int, int, re.Match[str]]] | None = None
        self._s3_positions: list[int] = []
        self._cli_commands: _Matches | None = None
        self._cli_regions: _Matches | None = None
        self._frame_index: tuple[_Positions, _Positions] | None = None
        self._decode_budget = _DECODE_BUDGET
        self._loose_budget = _LOOSE_BUDGET
        self._found: list[_Found] = []
        self._others: list[tuple[int, OtherError]] = []
        self._wrappers_found: list[_Wrapper] = []

    # --- lines: every lookup is bounded, so none can walk the whole text --------------------------------

    def _line_start(self, position: int) -> int:
        floor = max(0, position - _LINE_LIMIT)
        return self.text.rfind("\n", floor, position) + 1 or floor

    def _line_end(self, position: int) -> int:
        ceiling = min(len(self.text), position + _LINE_LIMIT)
        found = self.text.find("\n", position, ceiling)
        return ceiling if found < 0 else found

    def _breaks(self, lo: int, hi: int) -> int:
        return self.text.count("\n", lo, hi) if hi > lo else 0

    def _blank_between(self, lo: int, hi: int) -> bool:
        return hi > lo and _BLANK_LINE.search(self.text, lo, hi) is not None

    def _open_rows(self) -> set[Shape | LookAlike]:
        if self._open is None:
            self._open = _rows_open_in(self.lower)
        return self._open

    def _tried(self, row: Shape | LookAlike) -> bool:
        return row in self._open_rows()

    def _tried_rows(self, rows: tuple[_Row, ...]) -> list[_Row]:
        open_rows = self._open_rows()
        return [row for row in rows if row in open_rows]

    def _tries_any(self, rows: frozenset[Shape] | frozenset[LookAlike]) -> bool:
        return not self._open_rows().isdisjoint(rows)

    def _unclaimed(self, shape: Shape) -> Iterator[re.Match[str]]:
        """The matches of ``shape`` that start outside the text records claimed, in the order finditer finds them.

        A match that starts in claimed text is left out, yet it takes its text as before (the next match
        can only start where it ends). The search stops at the start of the last claimed span when the
        text after that span holds none of the words every match of the shape contains: no match can start
        after the span then, so every match from its start on would start in it.
        """
        claimed, text = self.claimed, self.text
        if not claimed.starts:
            return shape.pattern.finditer(text)
        if self._tail_rows is None:
            self._tail_rows = _rows_open_in(text[claimed.ends[-1] :].lower())
        stop = len(text) if shape in self._tail_rows else claimed.starts[-1]
        return _starting_outside(shape.pattern.finditer(text), claimed, stop) if stop else iter(())

    @property
    def rank(self) -> tuple[bool, int]:
        """How the reading compares with others, on what it found before fragments were absorbed.

        A reading that broke a message into a fragment and the rest must not look as complete as one
        that read it whole.
        """
        return _rank(_dedupe(self._found))

    def run(self) -> tuple[list[DeniedRequest], list[OtherError]]:
        self.read()
        return self.result()

    def read(self) -> None:
        """Find every denial and error of the text, as far as ranking the reading needs (see result)."""
        open_rows = self._open_rows()
        if not open_rows or (_PERFORM in open_rows and _RECORD_SHAPE not in open_rows and self._one_sentence()):
            return
        found: list[_Found] = []
        others: list[tuple[int, OtherError]] = []
        records = self._records()
        self.claimed = _Spans((start, end) for start, end, _ in records)
        self._tail_rows = None
        for start, end, outcome in records:
            if isinstance(outcome, DeniedRequest):
                found.append(_Found(start, end, outcome))
            else:
                others.append((start, outcome))
        wrappers = self._wrappers()
        cores = self._cores(wrappers)
        self._attach(cores, wrappers)
        found.extend(self._from_core(core) for core in cores)
        for group in self._coreless_groups(wrappers, cores):
            result = self._from_wrappers(group)
            if isinstance(result, _Found):
                result.level = _WRAPPER_LEVEL
                found.append(result)
            elif result is not None:
                others.append((group[0].span[0], result))
        if self._tries_any(_TERSE_SET):
            found.extend(self._terse(found, wrappers))
        found.sort(key=lambda f: f.start)
        self._found = found
        self._others = others
        self._wrappers_found = wrappers

    def _one_sentence(self) -> bool:
        """Read a text whose one sentence is a "not authorized to perform" sentence, at most under the AWS CLI's
        prefix; False, having found nothing, for any other text.

        What the rest of ``read`` finds in such a text, step for step (terse "Access Denied" fragments included;
        look-alikes are left to ``result`` as always), without the search for records, other sentences and
        wrappers: any other shape whose words the text holds (a resource or an error code can) must not match.
        """
        text = self.text
        for row in self._open_rows():
            if row in _SILENT_ROWS and row.pattern.search(text):
                return False
        anchor = _PERFORM.pattern.search(text)
        if anchor is None or _PERFORM.pattern.search(text, anchor.end()):
            return False
        start, end = anchor.span()
        hi = min(len(text), end + _FORWARD_WINDOW)
        wrappers: list[_Wrapper] = []
        prefix = _CLI.pattern.search(text) if _CLI in self._open_rows() else None
        if prefix is not None:
            if _CLI.pattern.search(text, prefix.end()):
                return False
            wrappers.append(self._wrapper(_CLI, prefix))
            if prefix.start() >= end:
                hi = min(hi, prefix.start())
        core = self._parse_perform(_PERFORM, anchor, max(0, start - _BACK_WINDOW), hi)
        if core is None or not core.valid:
            return False
        self._attach([core], wrappers)
        if not all(wrapper.attached for wrapper in wrappers):
            return False
        found = [self._from_core(core)]
        if self._tries_any(_TERSE_SET):
            found.extend(self._terse(found, wrappers))
            found.sort(key=lambda f: f.start)
        self._found, self._others, self._wrappers_found = found, [], wrappers
        return True

    def result(self) -> tuple[list[DeniedRequest], list[OtherError]]:
        """The denials and look-alikes of a reading ``read`` has found."""
        if not self._open_rows():
            return [], []
        found, others, wrappers = self._found, self._others, self._wrappers_found
        denials = _dedupe(_absorb_fragments(found))
        others.sort(key=lambda item: item[0])
        all_others = [other for _, other in others]
        if self._tries_any(_LOOK_ALIKE_SET):
            # A wrapper's whole line is covered: its message repeats what its code already said.
            wrapper_lines = [(self._line_start(w.span[0]), self._line_end(w.span[1])) for w in wrappers]
            all_others.extend(self._look_alikes(_Spans([(f.start, f.end) for f in found] + wrapper_lines)))
        if not denials and not all_others:
            all_others.extend(self._http_403())
        return denials, _dedupe_others(all_others)

    # --- cores --------------------------------------------------------------------------------------

    def _cores(self, wrappers: list[_Wrapper]) -> list[_Core]:
        text = self.text
        anchors: list[tuple[int, int, Shape, re.Match[str]]] = []
        for shape in self._tried_rows(_CORE_SHAPES):
            anchors.extend((m.start(), m.end(), shape, m) for m in self._unclaimed(shape))
        anchors.sort(key=lambda a: a[0])
        boundaries = _Positions([a[0] for a in anchors] + [w.start for w in wrappers if w.shape.role is Role.HEAD])
        cores: list[_Core] = []
        previous_end = 0
        for start, end, shape, match in anchors:
            if start < previous_end:
                continue
            following = boundaries.first_from(end)
            hi = min(len(text) if following is None else following, end + _FORWARD_WINDOW)
            lo = max(previous_end, start - _BACK_WINDOW)
            core = self._parse_core(shape, match, lo, hi)
            previous_end = end
            if core is not None and core.valid:
                cores.append(core)
                previous_end = core.end
        cores.extend(self._encoded(cores, boundaries))
        cores.sort(key=lambda c: c.start)
        return cores

    def _parse_core(self, shape: Shape, match: re.Match[str], lo: int, hi: int) -> _Core | None:
        if shape.name == "plain":
            return self._parse_perform(shape, match, lo, hi)
        core = _Core(shape, match.start(), match.end(), orders={_order(shape)})
        groups = match.groupdict()
        if groups.get("principal"):
            core.principal = self._principal(groups["principal"], labelled=True, warnings=core.warnings)
        if groups.get("action"):
            core.action = groups["action"]
        if shape.name == "access-resource":
            core.start = self._subject(core, lo, match.start())
            if core.principal is None and not _API_GATEWAY_BODY.search(
                self.text, max(0, match.start() - 60), match.start()
            ):
                return None
            core.resource_unnamed = True
            if groups.get("explicit"):
                core.reported = Reported(kind=DenialKind.EXPLICIT, phrase="with an explicit deny")
            hosts = [h.group("host") for h in _ENDPOINT_HOST.finditer(self.text, max(0, lo - 600), match.start())]
            if hosts and not any("execute-api" in host for host in hosts):
                # Another service's endpoint is named just before (Route 53 also words it this way): its operation,
                # not API Gateway, tells the action.
                return core
            core.action = "execute-api:Invoke"
            core.warnings.append(
                "API Gateway words a denied execute-api:Invoke this way (a resource policy or a Lambda authorizer); "
                "the message names no resource."
            )
        elif shape.name == "service-assume":
            core.action = "sts:AssumeRole"
            core.reported = Reported(layer=Layer.TRUST, phrase=_respace(match.group()))
            core.resource_unnamed = True
        elif shape.name == "not-allowed":
            core.resource_unnamed = True
        elif shape.name in ("kms-ciphertext", "secretsmanager-kms"):
            # What the wording means is explained from the action, the operation and the unnamed key.
            core.action = "kms:Decrypt"
            core.resource_unnamed = True
        elif shape.name == "logs-account":
            operation_action = operations.resolve(groups["operation"], shape.implied("service")).action
            core.operation = groups["operation"]
            core.account = groups["account"]
            core.action = operation_action
            if groups.get("tags"):
                # Tags given at creation need the tagging permission as well; "with Tags" is CloudWatch Logs saying
                # that is the one missing (a missing logs:CreateLogGroup is worded as any other denial).
                core.action = "logs:TagResource"
                core.warnings.append(
                    f'CloudWatch Logs says "{groups["operation"]} with Tags": tags given when a log group is created '
                    "need logs:TagResource (or the older logs:TagLogGroup) as well as "
                    f"{operation_action or groups['operation']}, and that is the permission missing here."
                )
        elif shape.name == "sqs-denied":
            queue = _SQS_QUEUE_URL.match(groups["resource"])
            if queue:
                partition = "aws-cn" if queue.group("cn") else _partition(queue.group("region"), None)
                core.resource = (
                    f"arn:{partition}:sqs:{queue.group('region')}:{queue.group('account')}:{queue.group('name')}"
                )
        return core

    def _parse_perform(self, shape: Shape, match: re.Match[str], lo: int, hi: int) -> _Core | None:
        text = self.text
        negation = _negation_before(text, max(lo, match.start() - 16), match.start())
        if negation is None:
            return None
        negation_start, verb = negation
        pos = match.end()
        action = _ACTION.match(text, pos, hi)
        # Most anchors in a hostile paste fail here, before anything is built.
        if action is None and (
            verb != "is" or not any(text.find(word, lo, negation_start) >= 0 for word in _PRINCIPAL_WORDS)
        ):
            return None
        core = _Core(shape, negation_start, match.end(), orders={_order(shape)})
        if verb == "is":
            core.start = self._subject(core, lo, negation_start)
        if action:
            core.action = action.group("action")
            pos = action.end()
        elif core.principal is None:
            return None
        elif null := _NULL_ACTION.match(text, pos, hi):
            core.warnings.append(
                'The message says "null" where the action belongs: the service did not name the action; it is taken '
                "from the API operation when the text names one."
            )
            pos = null.end()
        on_resource = _ON_RESOURCE.match(text, pos, hi)
        if on_resource:
            pos = on_resource.end()
            kms = _KMS_CIPHERTEXT.match(text, pos, hi)
            named = _IAM_NAMED.match(text, pos, hi) if not kms and (core.action or "").startswith("iam:") else None
            spaced = None if kms or named else _spaced_arn(text, pos, hi)
            value = None if kms or named or spaced else _resource_value(text, pos, hi)
            if spaced:
                core.resource = _trim_token(_WHITESPACE.sub("", spaced.group())) or None
                pos = spaced.end()
            elif named:
                self._iam_named(core, named)
                pos = named.end()
            elif kms:
                core.resource_unnamed = True
                core.warnings.append(
                    'The message does not name the KMS key ("the resource associated with this ciphertext").'
                )
                pos = kms.end()
            elif value:
                core.resource = _trim_token(value[0]) or None
                pos = value[1]
        core.end = self._reason(core, pos, hi)
        self._authorization_tail(core, hi)
        if core.action is None and _TRUNCATED.search(text, match.end(), min(hi, match.end() + 200)):
            core.warnings.append("The error message is truncated: the action it denied is cut off.")
        return core

    def _iam_named(self, core: _Core, named: re.Match[str]) -> None:
        """IAM's "on resource: role NAME" (also user, group, instance-profile): the entity in the caller's own
        account, where every IAM call acts, named without its path."""
        kind, name = named.group("kind"), _trim_token(named.group("name"))
        principal = core.principal
        account = principal.account_id if principal and principal.account_id else None
        if principal is not None and account and is_account_id(account):
            core.resource = f"arn:{principal.partition or 'aws'}:iam::{account}:{kind}/{name}"
            core.warnings.append(
                f"IAM names the {kind} by its name only ({kind} {name}); its ARN is taken to be {core.resource}, "
                f"in the caller's account, where IAM calls act. A {kind} created with a path has it between "
                f"{kind}/ and the name."
            )
        else:
            core.resource_unnamed = True
            core.warnings.append(
                f"IAM names the {kind} by its name only ({kind} {name}); it is in the caller's account, which the "
                "message does not give."
            )

    def _subject(self, core: _Core, lo: int, end: int) -> int:
        """Parse the principal written before ``end`` into ``core``; return where the sentence starts."""
        text = self.text
        segment = text[lo:end].rstrip()
        cut = max(segment.rfind(" "), segment.rfind("\n"), segment.rfind("\t"))
        token = segment[cut + 1 :]
        token_start = lo + cut + 1
        labelled = segment[max(0, cut - 12) : cut + 1].rstrip().endswith(("User:", "User", "Principal:"))
        if "User:" in token:
            offset = token.rfind("User:") + len("User:")
            token, token_start, labelled = token[offset:], token_start + offset, True
        elif "arn:" in token and not token.startswith("arn:"):
            offset = token.find("arn:")
            token, token_start = token[offset:], token_start + offset
        start = _spaced_placeholder_start(segment, cut + 1)
        if start is not None:
            # A placeholder with spaces in it ("User: <arn here> is not", "arn:aws:sts::[account id]:assumed-role/x"):
            # the token starts at the word the placeholder opens in.
            token, token_start = segment[start:], lo + start
            labelled = segment[max(0, start - 12) : start].rstrip().endswith(("User:", "User", "Principal:"))
        elif token.startswith(":") and (spaced := _SPACED_ARN.fullmatch(segment, max(0, segment.rfind("arn:")))):
            # An ARN with a part taken out and spaces left around the gap ("arn:aws:iam::xxxx :user/x").
            token, token_start = _WHITESPACE.sub("", spaced.group()), lo + spaced.start()
            labelled = segment[max(0, spaced.start() - 12) : spaced.start()].rstrip().endswith(("User:", "User"))
        token = _strip_unpaired(token, "\"'()[]{}<>,;", "\"'()[]{}<>,;")
        sentence_start = token_start
        if labelled:
            label_at = text.rfind("User", max(lo, token_start - 12), token_start)
            sentence_start = label_at if label_at >= 0 else token_start
        if token.lower() in ("user", "principal", "you", "") or token.endswith(":"):
            return sentence_start
        core.principal = self._principal(token, labelled=labelled, warnings=core.warnings)
        return sentence_start

    def _principal(self, token: str, *, labelled: bool, warnings: list[str]) -> Principal | None:
        token = _trim_token(token)
        if token.startswith("arn:"):
            principal = _parse_principal(token)
            if principal.type is PrincipalType.UNKNOWN and _REDACTED.search(token):
                warnings.append(
                    f"The principal ARN looks redacted ({redact(token)}); iamwhy needs the real ARN to investigate."
                )
            elif principal.type is PrincipalType.UNKNOWN and token.endswith(("user/", "role/")):
                warnings.append(
                    f"The principal ARN has no name ({redact(token)}); iamwhy needs the full ARN to investigate."
                )
            return principal
        if token == "anonymous" or token.endswith(".amazonaws.com"):
            return _parse_principal(token)
        if _REDACTED.search(token):
            if labelled:
                warnings.append("The principal is redacted in the message; iamwhy needs its ARN to investigate.")
            return None
        if labelled:
            warnings.append(f"The message names the principal as {redact(token)!r}, which is not an ARN.")
        return None

    def _reason(self, core: _Core, pos: int, hi: int) -> int:
        text = self.text
        lead = _REASON_LEAD.match(text, pos, hi)
        start = lead.end() if lead else pos
        phrases = next((rows for word, rows in _PHRASES_BY_START if text.startswith(word, start, hi)), None)
        if phrases is None:
            return pos
        for pattern, layer, kind in phrases:
            phrase = pattern.match(text, start, hi)
            if phrase is None:
                continue
            end = phrase.end()
            policy_arn = None
            if kind is DenialKind.EXPLICIT:
                policy = _POLICY_ARN.match(text, end, hi)
                if policy:
                    policy_arn = _trim_token(policy.group("arn"))
                    end = policy.end()
            core.reported = _reported(layer, kind, policy_arn, _phrase(phrase))
            return end
        return pos

    def _authorization_tail(self, core: _Core, hi: int) -> None:
        text = self.text
        limit = min(hi, core.end + _TAIL_WINDOW)
        url = _AUTH_URL.search(text, core.end, limit)
        phrase = _AUTH_ID.search(text, core.end, limit)
        if phrase is not None:
            core.authorization_id = phrase.group("id")
            core.end = max(core.end, phrase.end())
        if url is not None:
            core.authorization_id = core.authorization_id or url.group("id")
            region = _CONSOLE_REGION.match(url.group("host")) or _QUERY_REGION.search(url.group("query"))
            core.authorization_region = region.group("region") if region else None
            core.end = max(core.end, url.end())

    def _encoded(self, cores: list[_Core], boundaries: _Positions) -> list[_Core]:
        """Attach each encoded authorization message to its sentence; those with none become denials."""
        standalone: list[_Core] = []
        shapes = self._tried_rows(_ENCODED_SHAPES)
        if not shapes:
            return standalone
        ends = [core.end for core in cores]
        for shape in shapes:
            for match in self._unclaimed(shape):
                blob, blob_end = self._blob(match)
                index = bisect.bisect_right(ends, match.start()) - 1
                owner = cores[index] if index >= 0 else None
                if owner is not None and not self._owns_encoded(owner, match.start(), boundaries):
                    owner = None
                if owner is None:
                    owner = _Core(shape, match.start(), blob_end, orders={_order(shape)})
                    standalone.append(owner)
                owner.orders.add(_order(shape))
                owner.end = max(owner.end, blob_end)
                owner.encoded = blob
                owner.encoded_span = (match.start("blob"), blob_end)
        return standalone

    def _owns_encoded(self, core: _Core, position: int, boundaries: _Positions) -> bool:
        if core.encoded is not None or position - core.end > _ENCODED_REACH:
            return False
        if self._blank_between(core.end, position):
            return False
        between = boundaries.first_from(core.end)
        return between is None or between >= position

    def _blob(self, match: re.Match[str]) -> tuple[str, int]:
        """The encoded message, followed onto the next lines when a terminal wrapped it.

        Continuation lines hold nothing but blob characters and are all as wide as the first one; the
        last may be shorter. A long first line is required, so a short word on the next line is not taken.
        """
        text = self.text
        parts = [match.group("blob")]
        end = match.end("blob")
        if end - self._line_start(match.start("blob")) < 40:
            return parts[0], end
        width: int | None = None
        while len(parts) < 500:
            if width is not None and len(parts[-1]) < width:
                break
            line = _BLOB_LINE.match(text, end)
            if line is None:
                break
            segment = line.group(1)
            if len(segment) < 20 and not _BLOB_TAIL.search(segment):
                break
            parts.append(segment)
            end = line.end(1)
            width = width or len(segment)
        return "".join(parts), end

    # --- wrappers -----------------------------------------------------------------------------------

    def _wrappers(self, shapes: tuple[Shape, ...] = _WRAPPER_SHAPES) -> list[_Wrapper]:
        """The wrappers of ``shapes`` (rows of one role only compete with each other for the text)."""
        found: list[_Wrapper] = []
        taken: dict[Role, list[tuple[int, int]]] = {}
        for shape in self._tried_rows(shapes):
            spans = taken.setdefault(shape.role, [])
            for match in self._unclaimed(shape):
                start, end = match.start(), match.end()
                if _overlaps(spans, start, end):
                    continue
                bisect.insort(spans, (start, end))
                found.append(self._wrapper(shape, match))
        found.sort(key=lambda w: w.span[0])
        return found

    def _wrapper(self, shape: Shape, match: re.Match[str]) -> _Wrapper:
        """The wrapper a match of ``shape`` makes: the fields its groups and the shape give, and its message."""
        fields = {k: v for k, v in match.groupdict().items() if v}
        for key, implied in shape.implies:
            fields.setdefault(key, implied)
        start = match.start()
        if self.text.startswith(".", start):
            # A qualified class name (software.amazon.awssdk.services...): show it whole.
            qualified = _QUALIFIED.search(self.text, max(0, start - 200), start + 1)
            start = qualified.start() if qualified else start
        return _Wrapper(shape, start, match.end(), fields, *self._message_of(shape, match))

    def _message_of(self, shape: Shape, match: re.Match[str]) -> tuple[int, int]:
        start, end = match.start(), match.end()
        if shape.role is Role.HEAD:
            return end, min(self._line_end(end), end + shape.reach + 200)
        if shape.role is Role.TAIL:
            first = self._line_start(start)
            if shape.line_breaks and first > 0:
                first = self._line_start(first - 1)
            return max(first, start - shape.reach - 200), start
        if match.groupdict().get("message") is not None:
            return match.start("message"), match.end("message")
        return start, start

    def _attach(self, cores: list[_Core], wrappers: list[_Wrapper]) -> None:
        starts = [core.start for core in cores]
        ends = [core.end for core in cores]
        heads: dict[Shape, list[int]] = {}
        for w in wrappers:
            if w.shape.role is Role.HEAD:
                heads.setdefault(w.shape, []).append(w.start)
        for positions in heads.values():
            positions.sort()
        for wrapper in sorted(wrappers, key=lambda w: w.order):
            shape = wrapper.shape
            chosen: _Core | None = None
            if shape.role is Role.HEAD:
                index = bisect.bisect_left(starts, wrapper.end - 2)
                if index < len(cores):
                    core = cores[index]
                    gap = core.start - wrapper.end
                    if (
                        gap <= shape.reach
                        and self._breaks(wrapper.end, core.start) <= shape.line_breaks
                        and not self._own_message_before(wrapper, heads[shape], core.start)
                    ):
                        chosen = core
            elif shape.role is Role.TAIL:
                index = bisect.bisect_right(ends, wrapper.start + 2) - 1
                if index >= 0:
                    core = cores[index]
                    gap = wrapper.start - core.end
                    if gap <= shape.reach and self._breaks(core.end, wrapper.start) <= shape.line_breaks:
                        chosen = core
            elif wrapper.message_end > wrapper.message_start:
                index = bisect.bisect_left(starts, wrapper.message_start)
                if index < len(cores) and cores[index].start < wrapper.message_end:
                    chosen = cores[index]
                elif index > 0 and cores[index - 1].end > wrapper.message_start:
                    chosen = cores[index - 1]
            else:
                chosen = self._nearest(cores, starts, wrapper)
            if chosen is not None:
                chosen.wrappers.append(wrapper)
                chosen.orders.add(wrapper.order)
                wrapper.attached = True

    def _own_message_before(self, wrapper: _Wrapper, heads: list[int], limit: int) -> bool:
        """Whether a HEAD has a message of its own before another HEAD of its shape (``heads``: where they start) that
        starts before ``limit``: two errors one after the other ("... ListBuckets operation: The provided token has
        expired. An error occurred ..."). Prefixes of different shapes chain over one message ("Error executing
        "AssumeRole" ...: AccessDenied (client): User: ...")."""
        index = bisect.bisect_right(heads, wrapper.end - 1)
        if index >= len(heads) or heads[index] >= limit:
            return False
        return self._text_between(wrapper.end, heads[index])

    def _text_between(self, start: int, end: int) -> bool:
        """Whether words stand between two positions (more than the quoting and punctuation around a message)."""
        return bool(self.text[start:end].strip(" \t\r\n\"'`:;,.([{"))

    def _nearest(self, cores: list[_Core], starts: list[int], wrapper: _Wrapper) -> _Core | None:
        index = bisect.bisect_left(starts, wrapper.start)
        best: tuple[int, _Core] | None = None
        for core in cores[max(0, index - 1) : index + 1]:
            if core.start <= wrapper.start < core.end:
                return core
            lo, hi = (core.end, wrapper.start) if core.end <= wrapper.start else (wrapper.end, core.start)
            distance = hi - lo
            if distance > wrapper.shape.reach or self._blank_between(lo, hi):
                continue
            if self._breaks(lo, hi) > wrapper.shape.line_breaks:
                continue
            if best is None or distance < best[0]:
                best = (distance, core)
        return best[1] if best else None

    def _coreless_groups(self, wrappers: list[_Wrapper], cores: list[_Core]) -> list[list[_Wrapper]]:
        groups: list[list[_Wrapper]] = []
        if all(wrapper.attached for wrapper in wrappers):
            return groups
        core_starts = _Positions(core.start for core in cores)
        last_end = -1
        for wrapper in wrappers:
            if wrapper.attached:
                continue
            start, end = wrapper.span
            if groups:
                close = start - last_end <= _GROUP_GAP
                low, high = min(last_end, start), max(last_end, start)
                separated = core_starts.count(low, high) > 0 or self._blank_between(low, high)
                # A prefix starts an error: one of the same shape again, after a message of the first's own, is the
                # next error (two CLI errors on consecutive lines), not more of the same one.
                again = wrapper.shape.role is Role.HEAD and any(
                    other.shape is wrapper.shape and self._text_between(other.end, wrapper.start)
                    for other in groups[-1]
                )
                if close and not separated and not again:
                    groups[-1].append(wrapper)
                    last_end = max(last_end, end)
                    continue
            groups.append([wrapper])
            last_end = end
        return groups

    # --- building requests --------------------------------------------------------------------------

    def _from_core(self, core: _Core) -> _Found:
        wrappers = core.wrappers
        fields = _merge_fields(wrappers) if wrappers else {}
        draft = _Draft(
            start=min(core.start, *(w.start for w in wrappers)) if wrappers else core.start,
            end=max(core.end, *(w.end for w in wrappers)) if wrappers else core.end,
            source_order=min(core.orders),
            principal=core.principal,
            action=core.action,
            resource=core.resource,
            resource_unnamed=core.resource_unnamed,
            reported=core.reported,
            authorization_id=core.authorization_id,
            authorization_region=core.authorization_region,
            encoded=core.encoded,
            encoded_span=core.encoded_span,
            error_code=_clean_code(fields.get("code")) or _exception_code(fields.get("exception")),
            operation=fields.get("operation") or core.operation,
            service=fields.get("service"),
            endpoint=fields.get("endpoint"),
            account=core.account,
            warnings=list(core.warnings),
        )
        return self._finish(draft)

    def _from_wrappers(self, group: list[_Wrapper]) -> _Found | OtherError | None:
        fields = _merge_fields(group)
        start = min(w.span[0] for w in group)
        end = max(w.span[1] for w in group)
        code = _clean_code(fields.get("code")) or _exception_code(fields.get("exception"))
        if (
            code is not None
            and code not in DENIAL_CODES
            and code not in STATUS_CODES
            and code not in _LOOK_ALIKE_BY_CODE
        ):
            # A tool's own code around an SDK's ("HandlerErrorCode: GeneralServiceException" around
            # "AccessDeniedException"): the denial is the SDK's.
            inner = (_clean_code(w.fields.get("code")) for w in group if "code" in w.fields)
            code = next((c for c in inner if c in DENIAL_CODES), code)
        message = " ".join(
            self.text[w.message_start : w.message_end].strip() for w in group if w.message_end > w.message_start
        )
        if code in _LOOK_ALIKE_BY_CODE and code not in STATUS_CODES:
            return OtherError(code, _LOOK_ALIKE_BY_CODE[code].explanation, self._snippet(start, end))
        # The message's first sentence: a wrapper's message runs to the end of its line, which can hold more.
        sentence = _FIRST_SENTENCE.match(message)
        first = sentence.group() if sentence else message
        lower = first.lower()
        # A service's own denial wording stays a denial when the message it wraps reads like a look-alike (Lambda's
        # "unable to decrypt" over KMS's "security token ... is invalid" for a re-created execution role).
        look_alike = (
            next((la for la in LOOK_ALIKES if _holds_words(la, lower) and la.pattern.search(first)), None)
            if _mentions(lower, _LOOK_ALIKE_WORDS) and not any(w.shape.implied("code") in DENIAL_CODES for w in group)
            else None
        )
        if look_alike is not None:
            return OtherError(look_alike.code, look_alike.explanation, self._snippet(start, end))
        operation = fields.get("operation")
        denied = (
            code in DENIAL_CODES
            or (code in STATUS_CODES and (operation is not None or "service" in fields))
            or (
                code is None
                and fields.get("status") == "403"
                # Any wrapper's own message: a tail's runs from its line's start, where an exception's name can be.
                and any(_ACCESS_DENIED_START.match(self.text, w.message_start, w.message_end) for w in group)
            )
        )
        if not denied:
            return None
        service = fields.get("service")
        if service is None and _S3_MESSAGE.match(message):
            service = "s3"
        elif service is None and _ORGANIZATIONS_MESSAGE.match(message):
            service = "organizations"
        operation = operation or self._code_operation(max(0, start - _COMMAND_BEFORE), start)
        if operation is None:
            operation, frame_service = self._frame_operation(start, end)
            service = service or frame_service
        draft = _Draft(
            start=start,
            end=end,
            source_order=min(w.order for w in group),
            action=fields.get("action"),
            error_code=code,
            operation=operation,
            service=service,
            endpoint=fields.get("endpoint"),
        )
        return self._finish(draft)

    def _terse(self, fuller: list[_Found], wrappers: list[_Wrapper]) -> list[_Found]:
        """Terse "Access Denied" messages beside an S3 name, outside what ``fuller`` findings and ``wrappers`` cover."""
        found: list[_Found] = []
        covered: _Spans | None = None
        for shape in self._tried_rows(_TERSE_SHAPES):
            for match in self._unclaimed(shape):
                if covered is None:
                    spans = [(f.start, f.end) for f in fuller] + [w.span for w in wrappers]
                    covered = _Spans(spans + list(zip(self.claimed.starts, self.claimed.ends, strict=True)))
                if covered.contains(match.start()):
                    continue
                ref = self._s3_ref(match.start(), match.end())
                if ref is not None:
                    draft = _Draft(
                        start=match.start(), end=match.end(), source_order=_order(shape), service="s3", s3_ref=ref
                    )
                    terse = self._finish(draft)
                    terse.level = _TERSE_LEVEL
                    found.append(terse)
        return found

    def _finish(self, draft: _Draft) -> _Found:
        warnings = draft.warnings
        # The command that failed is looked for nearby, across the blank line the AWS CLI prints.
        paragraph = max(0, draft.start - _COMMAND_BEFORE)
        service = draft.service or self._endpoint_service(draft)
        if service is None:
            service = self._cli_service(paragraph, draft.start)
            if service is not None and draft.operation and not draft.action:
                named, own = operations.resolve(draft.operation, service), operations.resolve(draft.operation)
                if named.action is None and own.service is not None and own.service != named.service:
                    # The command before is another service's than the operation's own: it ran another error's call.
                    service = None
        action = draft.action
        if action:
            canonical = _canonical_action(action)
            if canonical:
                action = canonical
            else:
                warnings.append(_unknown_action(action))
        elif draft.operation:
            resolution = operations.resolve(draft.operation, service)
            action = resolution.action
            if resolution.warning:
                warnings.append(resolution.warning)
        operation = _clean_operation(draft.operation) if draft.operation else None
        region = (
            _resource_region(draft.resource) or self._endpoint_region(draft) or self._cli_region(paragraph, draft.start)
        )
        resource = draft.resource
        principal = draft.principal
        if resource and _looks_redacted(resource):
            warnings.append(
                f"The resource looks redacted ({redact(resource)}); iamwhy needs its real ARN to read its policy."
            )
        if resource is None and not draft.resource_unnamed and _is_s3(action, operation, service):
            ref = draft.s3_ref or self._s3_ref(draft.start, draft.end)
            if ref is not None:
                region = region or ref.region
                resource = _s3_arn(ref, action, _partition(region, principal))
        request = _new_request(
            principal=principal,
            action=self._safe(action),
            resource_arn=self._safe(resource),
            account_id=_account(principal, resource) or draft.account,
            api_operation=self._safe(operation),
            region=region,
            reported=draft.reported,
            authorization_id=draft.authorization_id,
            authorization_region=draft.authorization_region,
            encoded_message=draft.encoded,
            error_code=self._safe(draft.error_code),
            source_format=SHAPES[draft.source_order].name,
            context={},
            snippet=self._snippet(draft.start, draft.end, draft.encoded_span, draft.authorization_id),
            warnings=tuple(self._safe(w) or w for w in dict.fromkeys(warnings)) if warnings else (),
        )
        return _Found(draft.start, draft.end, request)

    def _snippet(
        self,
        start: int,
        end: int,
        encoded_span: tuple[int, int] | None = None,
        authorization_id: str | None = None,
        encoded: str | None = None,
    ) -> str:
        """The text a denial came from: secrets redacted, the encoded blob and authorization id hidden, clipped."""
        end = min(end, start + SNIPPET_LIMIT * 8)
        if encoded_span and start <= encoded_span[0] < end:
            blob_start, blob_end = encoded_span
            shown = _preview(self.text[blob_start:blob_end])
            snippet = self._redacted(start, blob_start) + shown + self._redacted(blob_end, max(blob_end, end))
        else:
            snippet = self._redacted(start, end)
        if encoded and len(encoded) > ENCODED_PREVIEW:
            snippet = snippet.replace(encoded, _preview(encoded))
        if authorization_id:
            snippet = snippet.replace(authorization_id, "[authorization id]")
        snippet = snippet.strip()
        if len(snippet) > SNIPPET_LIMIT:
            snippet = snippet[: SNIPPET_LIMIT - 3].rstrip() + "..."
        return self._safe(snippet) or snippet

    def _safe(self, value: str | None) -> str | None:
        """A value taken from the text, or built from pieces of it, with any credential in it redacted.

        Where the text holds no word a credential contains, no piece of it can; escapes (JSON's \\u,
        URL encoding) can spell one, so a text with them is always checked.
        """
        if not value:
            return None
        if self._may_hold_secrets is None:
            text = self.text
            self._may_hold_secrets = "\\" in text or "%" in text or might_hold_secrets(text)
        return redact(value) if self._may_hold_secrets else value

    def _redacted(self, start: int, end: int) -> str:
        if not self.secret_spans:
            return self.text[start:end]
        first = max(0, bisect.bisect_left(self.secret_starts, start) - 1)
        last = bisect.bisect_left(self.secret_starts, end)
        return redact_spans(self.text[start:end], self.secret_spans[first:last], start)

    # --- what the surrounding text says ---------------------------------------------------------------

    def _endpoint_host(self, draft: _Draft) -> str | None:
        match = _ENDPOINT_HOST.search(draft.endpoint) if draft.endpoint else None
        return match.group("host") if match else None

    def _endpoint_service(self, draft: _Draft) -> str | None:
        host = self._endpoint_host(draft)
        if host is None:
            return None
        labels = host.split(".")
        if "s3" in labels or any(label.startswith("s3-") for label in labels):
            return "s3"
        return labels[0]

    def _endpoint_region(self, draft: _Draft) -> str | None:
        host = self._endpoint_host(draft)
        if host is None:
            return None
        return next((label for label in host.split(".") if _REGION_RE.fullmatch(label)), None)

    def _cli_service(self, lo: int, position: int) -> str | None:
        # Nothing lies between lo and position (a denial at the start of its text): there is nothing to look for.
        if position <= lo:
            return None
        if self._cli_commands is None:
            self._cli_commands = _Matches(
                m for m in _CLI_COMMAND.finditer(self.text) if m.start() == 0 or self.text[m.start() - 1] in " \t\n$>#"
            )
        match = self._cli_commands.last_before(lo, position)
        return match.group("service") if match else None

    def _code_operation(self, lo: int, position: int) -> str | None:
        """The operation a JavaScript SDK v3 command pasted just before the error names (new GetObjectCommand)."""
        commands = list(_JS_COMMAND.finditer(self.text, lo, position))
        return commands[-1].group("operation") if commands else None

    def _frame_operation(self, start: int, end: int) -> tuple[str | None, str | None]:
        """The operation and the service that an SDK's stack frames or debug lines next to an error spanning
        ``start``-``end`` name, each None where none does: the first from the error on (stack frames follow it),
        else the nearest before it (the Go SDK's debug log names the response first)."""
        if self._frame_index is None:
            self._frame_index = self._index_frames()
        operations_found, services_found = self._frame_index
        lo, hi = max(0, start - _COMMAND_BEFORE), min(len(self.text), end + _FRAMES_AFTER)
        return _nearest_in(operations_found, lo, start, hi), _nearest_in(services_found, lo, start, hi)

    def _index_frames(self) -> tuple[_Positions, _Positions]:
        """Where the text's SDK frames and debug lines name an operation, and a service, with what they name (found
        once for the whole text, however many errors ask)."""
        text = self.text
        operations_found: dict[int, str] = {}
        services_found: dict[int, str] = {}
        for pattern in _FRAME_OPERATIONS:
            for match in pattern.finditer(text):
                groups = match.groupdict()
                if groups.get("operation"):
                    operations_found.setdefault(match.start(), groups["operation"])
                if groups.get("service"):
                    services_found.setdefault(match.start(), groups["service"])
        position = text.find(_KOTLIN_DESERIALIZER)
        while position >= 0:
            name = _NAME_BEFORE.search(text, max(0, position - 101), position)
            if name is not None:
                operations_found.setdefault(name.start(), name.group())
            position = text.find(_KOTLIN_DESERIALIZER, position + 1)
        return _Positions.of(operations_found), _Positions.of(services_found)

    def _cli_region(self, lo: int, position: int) -> str | None:
        if position <= lo:
            return None
        if self._cli_regions is None:
            self._cli_regions = _Matches(_CLI_REGION.finditer(self.text))
        match = self._cli_regions.last_before(lo, position)
        return match.group("region") if match else None

    def _s3_ref(self, start: int, end: int) -> _S3Ref | None:
        """The S3 bucket or object the text names nearest a denial: same line first, then before, then after."""
        if self._s3_refs is None:
            self._s3_refs = sorted(
                ((m.start(), index, m) for index, pattern in enumerate(_S3_REFS) for m in pattern.finditer(self.text)),
                key=lambda ref: (ref[0], ref[1]),
            )
            self._s3_positions = [ref[0] for ref in self._s3_refs]
        refs, positions = self._s3_refs, self._s3_positions
        if not refs:
            return None
        # Not bounded by the paragraph: the AWS CLI prints a blank line between the command and its error.
        lo = max(0, start - _S3_BEFORE)
        hi = min(len(self.text), end + _S3_AFTER)
        line_lo, line_hi = self._line_start(start), self._line_end(end)
        before = bisect.bisect_left(positions, start) - 1
        after = bisect.bisect_left(positions, end)
        candidates = []
        if before >= 0 and refs[before][0] >= max(lo, line_lo):
            candidates.append(refs[before])
        if after < len(refs) and refs[after][0] < min(hi, line_hi):
            candidates.append(refs[after])
        if not candidates and before >= 0 and refs[before][0] >= lo:
            candidates.append(refs[before])
        if not candidates and after < len(refs) and refs[after][0] < hi:
            candidates.append(refs[after])
        if not candidates:
            return None
        _, index, match = min(candidates, key=lambda ref: abs(ref[0] - start))
        return self._make_ref(index, match)

    def _make_ref(self, index: int, match: re.Match[str]) -> _S3Ref:
        groups = match.groupdict()
        key = groups.get("key") or ""
        if index == _CLI_BUCKET_REF:
            key_match = _CLI_KEY.search(self.text, self._line_start(match.start()), self._line_end(match.end()))
            key = key_match.group("key") if key_match else ""
        if index in _URL_REFS:
            key = unquote(key)
        return _S3Ref(match.group("bucket"), _trim_token(key), groups.get("region"))

    # --- CloudTrail -----------------------------------------------------------------------------------

    def _records(self) -> list[tuple[int, int, DeniedRequest | OtherError]]:
        text = self.text
        results: list[tuple[int, int, DeniedRequest | OtherError]] = []
        covered_until = -1
        if not self._tried(_RECORD_SHAPE):
            return results
        for match in _RECORD_SHAPE.pattern.finditer(text):
            if match.start() < covered_until:
                continue
            located = self._decode_record(match.start())
            if located is None:
                continue
            start, end, record, cut = located
            covered_until = end
            outcome = self._from_record(start, end, record, cut=cut)
            if outcome is not None:
                results.append((start, end, outcome))
        if "CloudTrailEvent" in text:
            results.extend(self._lookup_events(_Spans((s, e) for s, e, _ in results)))
        return results

    def _lookup_events(self, covered: _Spans) -> list[tuple[int, int, DeniedRequest | OtherError]]:
        """Records as ``aws cloudtrail lookup-events`` prints them: each a JSON string inside the output."""
        results: list[tuple[int, int, DeniedRequest | OtherError]] = []
        for match in _LOOKUP_EVENT.finditer(self.text):
            if covered.contains(match.start()):
                continue
            try:
                inner, end = _DECODER.raw_decode(self.text, match.end() - 1)
                record = json.loads(inner) if isinstance(inner, str) else None
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict) and "errorCode" in record:
                outcome = self._from_record(match.start(), end, record)
                if outcome is not None:
                    results.append((match.start(), end, outcome))
        return results

    def _decode_record(self, position: int) -> tuple[int, int, dict[str, Any], bool] | None:
        """The innermost object around ``position`` (an errorCode key), if it is a CloudTrail event.

        The object is read as JSON; where no JSON object holds the key, as a record a chat client cut
        off or Python printed (see _loose_object), and then the last item says whether it was cut off.
        """
        text = self.text
        near = max(0, position - _RECORD_NEAR), position + _RECORD_NEAR
        if text.find("eventName", *near) < 0 and text.find("eventSource", *near) < 0:
            return None
        lo = max(0, position - _RECORD_BACK)
        hi = min(len(text), position + _RECORD_FORWARD)
        start = position
        for _ in range(_RECORD_ATTEMPTS):
            start = text.rfind("{", lo, start)
            if start < 0 or self._decode_budget <= 0:
                break
            self._decode_budget -= 1
            if not _JSON_OBJECT_START.match(text, start, hi):
                # The decoder would stop at once (a Python literal's quote, most often), at the cost of its error.
                continue
            # A bounded copy keeps a failed attempt cheap: json counts lines from the start of what it is
            # given up to the error position.
            try:
                value, length = _DECODER.raw_decode(text[start:hi])
            except (ValueError, RecursionError):
                continue
            end = start + length
            if end <= position:
                continue
            if isinstance(value, dict) and _is_event(value):
                return start, end, value, False
            return None
        return self._loose_record(position, lo, hi)

    def _loose_record(self, position: int, lo: int, hi: int) -> tuple[int, int, dict[str, Any], bool] | None:
        text = self.text
        start = position
        # The objects read so far: each attempt starts further back, at an object holding the earlier ones.
        known: dict[int, tuple[dict[str, Any], int, int]] = {}
        for _ in range(_LOOSE_ATTEMPTS):
            start = text.rfind("{", lo, start)
            if start < 0 or self._loose_budget <= 0:
                return None
            value, end, cut, spent = _loose_object(text, start, hi, self._loose_budget, known)
            self._loose_budget -= spent
            if not cut:
                known[start] = value, end, spent
            if end <= position:
                continue
            if _is_event(value) and "errorCode" in value and (not cut or self._cut_off_at(end)):
                return start, end, value, cut
            return None
        return None

    def _cut_off_at(self, position: int) -> bool:
        """Whether a record that stops making sense at ``position`` was cut off there, not merely wrapped.

        A chat client cuts the record at the end of what it shows: the paragraph ends with the cut line,
        or with one line more holding only its note ("... (truncated)"). A record whose lines go on
        (a wrap that broke a string) is read in the re-joined reading instead.
        """
        text = self.text
        blank = _BLANK_LINE.search(text, position, position + _RECORD_NEAR)
        rest = text[position : blank.start() if blank else position + _RECORD_NEAR].rstrip().split("\n")
        return len(rest) == 1 or (len(rest) == 2 and _RECORD_PUNCTUATION.search(rest[1]) is None)

    def _from_record(
        self, start: int, end: int, record: Mapping[str, Any], *, cut: bool = False
    ) -> DeniedRequest | OtherError | None:
        code = _clean_code(_str(record.get("errorCode")))
        message = _str(record.get("errorMessage")) or ""
        if code in _LOOK_ALIKE_BY_CODE and code not in STATUS_CODES:
            return OtherError(code, _LOOK_ALIKE_BY_CODE[code].explanation, self._snippet(start, end))
        # The rows open in the text hold those open in a message that is part of it (see _message_core). Looked for
        # in the record only: a paste of many records would otherwise search the whole text once for each.
        rows = self._open_rows() if message and self.text.find(message, start, end) >= 0 else None
        sentence = _message_core(message, rows) if message else None
        if code not in DENIAL_CODES and sentence is None:
            return None
        warnings: list[str] = []
        if cut:
            warnings.append("The CloudTrail event is cut off; only the fields before the cut were read.")
        identity = _dict(record.get("userIdentity"))
        principal = _record_principal(identity, warnings)
        event_source = _str(record.get("eventSource"))
        service = operations.service_prefix(event_source) if event_source else None
        operation = _clean_operation(_str(record.get("eventName")) or "") or None
        region = _str(record.get("awsRegion"))
        action: str | None = None
        if sentence is not None:
            principal = principal or sentence.principal
            warnings.extend(sentence.warnings)
            action = sentence.action
        if action:
            canonical = _canonical_action(action)
            if canonical is None:
                warnings.append(_unknown_action(action))
            action = canonical or action
        elif operation:
            resolution = operations.resolve(operation, service)
            action = resolution.action
            if resolution.warning:
                warnings.append(resolution.warning)
        caller_account = _str(identity.get("accountId"))
        owner = _str(record.get("recipientAccountId")) or caller_account
        resource = sentence.resource if sentence else None
        if resource is None and not (sentence and sentence.resource_unnamed):
            resource = _record_resource(record, action, service, region, owner, _partition(region, principal))
        # The caller's account is known even when CloudTrail does not name the caller.
        known_caller = caller_account if caller_account and is_account_id(caller_account) else None
        account = _account(principal, None) or known_caller or _account(None, resource)
        shown_warnings = tuple(dict.fromkeys(warnings))
        context = _record_context(record, identity, principal)
        fields = [value for value in (action, resource, operation) if value]
        contexts = [value for value in context.values() if isinstance(value, str)]
        if not _none_hold_secrets(itertools.chain(fields, shown_warnings, contexts)):
            action, resource, operation = _clean(action), _clean(resource), _clean(operation)
            shown_warnings = tuple(redact(w) for w in shown_warnings)
            context = _redacted_context(context, self._safe)
        return _new_request(
            principal=principal,
            action=action or None,
            resource_arn=resource or None,
            account_id=account,
            api_operation=operation or None,
            region=region,
            reported=sentence.reported if sentence else _NOTHING_REPORTED,
            authorization_id=sentence.authorization_id if sentence else None,
            authorization_region=sentence.authorization_region if sentence else None,
            encoded_message=sentence.encoded if sentence else None,
            error_code=code,
            source_format=_RECORD_SHAPE.name,
            context=context,
            snippet=self._snippet(
                start,
                end,
                authorization_id=sentence.authorization_id if sentence else None,
                encoded=sentence.encoded if sentence else None,
            ),
            warnings=shown_warnings,
        )

    # --- look-alikes ----------------------------------------------------------------------------------

    def _look_alikes(self, covered: _Spans) -> list[OtherError]:
        found: list[OtherError] = []
        for look_alike in self._tried_rows(LOOK_ALIKES):
            for match in look_alike.pattern.finditer(self.text):
                if not covered.contains(match.start()):
                    found.append(self._other(look_alike, match))
                    break
        return found

    def _http_403(self) -> list[OtherError]:
        match = HTTP_403.pattern.search(self.text) if self._tried(HTTP_403) else None
        return [self._other(HTTP_403, match)] if match else []

    def _other(self, look_alike: LookAlike, match: re.Match[str]) -> OtherError:
        snippet = self._snippet(self._line_start(match.start()), self._line_end(match.end()))
        return OtherError(look_alike.code, look_alike.explanation, snippet)


def _nearest_in(found: _Positions, lo: int, start: int, hi: int) -> str | None:
    """What is at the first position from ``start`` up to ``hi`` (a wrapper's message runs to its line's end, and
    re-joined lines put the frames on that line), else at the last one from ``lo`` up to ``start``."""
    after = found.first_from(start)
    if after is not None and after < hi:
        return found.values[after]
    before = found.last_before(start, lo)
    return found.values[before] if before is not None else None


def _preview(blob: str) -> str:
    """An encoded authorization message as a snippet shows it: its start and its length."""
    return f"{blob[:ENCODED_PREVIEW]}... ({len(blob)} characters)" if len(blob) > ENCODED_PREVIEW else blob


def _message_core(message: str, rows: set[Shape | LookAlike] | None = None) -> _Core | None:
    """The sentence inside a CloudTrail errorMessage, parsed like any pasted text (the first core of its reading).

    ``rows``, when given, are the rows open in a normalised text ``message`` is part of: they include every row
    open in the message, when it is its own normal form, and a row it does not open finds nothing in it.
    """
    plain = _is_plain(message)
    # Only the sentence's fields are used, and _from_record redacts each: the message's own credentials
    # need not be located.
    reading = _Pass(message if plain else _normalize(message), [], open_rows=rows if plain else None)
    # Only a sentence or an encoded message makes a core: a message with the words of neither (CloudTrail's
    # "Access Denied", most often) has none.
    if reading._open_rows().isdisjoint(_SENTENCE_SHAPES):
        return None
    # Of the wrappers, _cores only uses where the heads start (the bounds of each sentence's reach).
    cores = reading._cores(reading._wrappers(_HEAD_SHAPES))
    return cores[0] if cores else None


# --- CloudTrail fields --------------------------------------------------------------------------------


def _is_event(value: Any) -> bool:
    return isinstance(value, dict) and ("eventName" in value or "eventSource" in value)


# One token of JSON or of a Python literal (as print() shows a dict: single quotes, True, None), or a
# constructor call Python prints for values JSON has no word for (datetime.datetime(2024, 5, 1, ...)).
# A quoted string (named <prefix>double or <prefix>single by its quotes), and a word or number value.
# A string holds at most _LOOSE_STRING_UNITS characters or escapes, which _too_long checks: the same bound as a
# repeat in the pattern, at a tenth of the cost (the engine walks a repeated group character by character).
_LOOSE_STRING = r""""(?P<{0}double>[^"\\\n]*+(?:\\.[^"\\\n]*+)*+)"|'(?P<{0}single>[^'\\\n]*+(?:\\.[^'\\\n]*+)*+)'"""
_LOOSE_STRING_UNITS = 8192
_LOOSE_STRING_GROUPS = ("key_double", "key_single", "double", "single")
_ESCAPE = re.compile(r"\\.")
_LOOSE_SCALAR = (
    r"(?P<word>true|false|null|True|False|None)\b|(?P<number>-?\d{1,40}(?:\.\d{1,40})?(?:[eE][+-]?\d{1,5})?)"
)
_LOOSE_TOKEN = re.compile(
    rf"\s*(?:(?P<punct>[{{}}\[\],:])|{_LOOSE_STRING.format('')}|{_LOOSE_SCALAR}"
    r"|(?P<call>[A-Za-z_][\w.]{0,100}\([^()\n]{0,400}\)))"
)
# A key, its colon, a string, word or number value and the comma after it: four tokens of _LOOSE_TOKEN
# read in one step (the tokens of a record are mostly these). Or a key, its colon and the bracket opening its value.
_LOOSE_PAIR = re.compile(
    rf"\s*(?:{_LOOSE_STRING.format('key_')})\s*:\s*"
    rf"(?:(?:{_LOOSE_STRING.format('')}|{_LOOSE_SCALAR})(?P<comma>\s*,)?|(?P<opening>[{{\[]))"
)
_RECORD_PUNCTUATION = re.compile(r"[\"':{}\[\]]")
_LOOSE_WORDS: dict[str, Any] = {"true": True, "True": True, "false": False, "False": False, "null": None, "None": None}


def _loose_object(
    text: str, start: int, hi: int, budget: int, known: Mapping[int, tuple[dict[str, Any], int, int]]
) -> tuple[dict[str, Any], int, bool, int]:
    """The object that opens at ``text[start]``, read as JSON or a Python literal up to where the text stops
    making sense (a chat client's cut, its "... (truncated)") or ``hi``, and closed there.

    Returns the object, where it ends, whether it was cut off before it closed, and the tokens spent. A
    string or key left unfinished by the cut is left out. ``known`` holds objects already read whole (the
    object, where it ends, its tokens) by where they open: one met again is taken as read, for its tokens.
    """
    root: dict[str, Any] = {}
    # Each open container, what it expects next ("key", "colon", "value", "comma") and its pending key.
    stack: list[list[Any]] = [[root, "key", None]]
    pos = last = start + 1
    spent = 0
    while stack and spent < budget:
        frame = stack[-1]
        if frame[1] == "key" and spent + 4 <= budget:
            pair = _LOOSE_PAIR.match(text, pos, hi)
            if pair is not None and (pair.end() - pos <= _LOOSE_STRING_UNITS or not _too_long(pair)):
                double_key, single_key, double, single, word, number, comma, opening = pair.groups()
                if double_key is not None:
                    key = _loose_string(double_key, "double")
                else:
                    key = _loose_string(single_key, "single")
                if opening is not None:
                    # Two tokens read: the bracket is read next as any value's first token is.
                    frame[1], frame[2] = "value", key
                    spent += 2
                    pos = last = pair.start("opening")
                    continue
                scalar: Any
                if double is not None:
                    scalar = _loose_string(double, "double")
                elif single is not None:
                    scalar = _loose_string(single, "single")
                elif word is not None:
                    scalar = _LOOSE_WORDS[word]
                else:
                    scalar = number
                frame[0][key] = scalar
                frame[1] = "comma" if comma is None else "key"
                spent += 3 if comma is None else 4
                pos = last = pair.end()
                continue
        match = _LOOSE_TOKEN.match(text, pos, hi)
        if match is None or (match.end() - pos > _LOOSE_STRING_UNITS and _too_long(match)):
            break
        spent += 1
        pos = match.end()
        frame = stack[-1]
        container, expect = frame[0], frame[1]
        kind, token = match.lastgroup, match.group(match.lastgroup or 0)
        is_dict = isinstance(container, dict)
        if kind == "punct" and token in "}]" and expect in ("key", "comma", "value"):
            if (token == "}") != is_dict or (expect == "value" and is_dict):
                break
            stack.pop()
        elif expect == "key":
            if kind not in ("double", "single"):
                break
            frame[1], frame[2] = "colon", _loose_string(token, kind)
        elif expect == "colon":
            if token != ":":
                break
            frame[1] = "value"
        elif expect == "comma":
            if token != ",":
                break
            frame[1] = "key" if is_dict else "value"
        else:
            if kind == "punct" and token not in "{[":
                break
            value: Any
            if kind == "punct":
                read = known.get(pos - 1) if token == "{" else None
                if read is not None and spent + read[2] <= budget:
                    # Reading it again would spend the same tokens and build the same object.
                    value, pos, inner = read
                    spent += inner
                    if is_dict:
                        container[frame[2]] = value
                    else:
                        container.append(value)
                    frame[1] = "comma"
                    last = pos
                    continue
                value = {} if token == "{" else []
            elif kind in ("double", "single"):
                value = _loose_string(token, kind)
            elif kind == "word":
                value = _LOOSE_WORDS[token]
            else:
                value = token
            if is_dict:
                container[frame[2]] = value
            else:
                container.append(value)
            frame[1] = "comma"
            if kind == "punct":
                stack.append([value, "key" if token == "{" else "value", None])
        last = pos
    return root, last, bool(stack), spent


def _too_long(match: re.Match[str]) -> bool:
    """Whether a match of _LOOSE_TOKEN or _LOOSE_PAIR holds a string longer than _LOOSE_STRING_UNITS.

    Such a match is no match: with the bound in the pattern, the string could end nowhere else (its
    closing quote is the first one not escaped), and nothing else the pattern reads starts with a quote.
    """
    if match.end() - match.start() <= _LOOSE_STRING_UNITS:
        return False
    groups = match.groupdict()
    for name in _LOOSE_STRING_GROUPS:
        body = groups.get(name)
        if body is not None and len(body) - len(_ESCAPE.findall(body)) > _LOOSE_STRING_UNITS:
            return True
    return False


def _loose_string(body: str, kind: str) -> str:
    """A string token's value, from what is between its quotes."""
    if "\\" not in body:
        return body
    try:
        value = json.loads(f'"{body}"') if kind == "double" else ast.literal_eval(f"'{body}'")
    except (ValueError, SyntaxError):
        return body
    return value if isinstance(value, str) else body


def _record_principal(identity: Mapping[str, Any], warnings: list[str]) -> Principal | None:
    kind = _str(identity.get("type")) or ""
    arn = _str(identity.get("arn"))
    account = _str(identity.get("accountId"))
    if kind == "AWSService":
        invoked_by = _str(identity.get("invokedBy"))
        return _parse_principal(invoked_by) if invoked_by else None
    if account == "ANONYMOUS_PRINCIPAL" or kind == "Anonymous":
        return _parse_principal("anonymous")
    if arn:
        return _parse_principal(arn)
    if kind == "AWSAccount" and account:
        warnings.append(
            f"CloudTrail records the caller only as account {account} (a request from another account); "
            "it does not name the principal."
        )
    return None


def _record_resource(
    record: Mapping[str, Any],
    action: str | None,
    service: str | None,
    region: str | None,
    account: str | None,
    partition: str,
) -> str | None:
    resources = record.get("resources")
    arns = [
        (_str(entry.get("ARN")) or "", _str(entry.get("type")) or "")
        for entry in (resources if isinstance(resources, list) else [])
        if isinstance(entry, dict) and _str(entry.get("ARN"))
    ]
    if arns:
        if service == "s3" and "object" in _resource_types(action):
            return next((arn for arn, kind in arns if kind == "AWS::S3::Object"), arns[0][0])
        prefix = action.split(":", 1)[0] if action else service
        return next((arn for arn, _ in arns if arn.split(":")[2:3] == [prefix]), arns[0][0])
    params = record.get("requestParameters")
    if not isinstance(params, dict):
        return None
    return _resource_from_parameters(params, action, service, region, account, partition)


def _resource_from_parameters(
    params: Mapping[str, Any],
    action: str | None,
    service: str | None,
    region: str | None,
    account: str | None,
    partition: str,
) -> str | None:
    """The ARN a request's parameters name, for the services whose parameters name one unambiguously."""

    def value(name: str) -> str:
        found = params.get(name)
        if isinstance(found, list) and found:
            found = found[0]
        return found if isinstance(found, str) else ""

    where = f"{region or ''}:{account or ''}"
    if service == "s3" and value("bucketName"):
        return _s3_arn(_S3Ref(value("bucketName"), value("key"), None), action, partition)
    if service == "kms" and value("keyId"):
        key = value("keyId")
        if key.startswith("arn:"):
            return key
        return f"arn:{partition}:kms:{where}:{key if key.startswith('alias/') else 'key/' + key}"
    if service == "sqs" and value("queueUrl"):
        queue = _QUEUE_URL.match(value("queueUrl"))
        if queue:
            return f"arn:{partition}:sqs:{region or ''}:{queue.group('account')}:{queue.group('name')}"
    if service == "lambda" and value("functionName"):
        name = value("functionName")
        return name if name.startswith("arn:") else f"arn:{partition}:lambda:{where}:function:{name}"
    if service == "dynamodb" and value("tableName"):
        name = value("tableName")
        return name if name.startswith("arn:") else f"arn:{partition}:dynamodb:{where}:table/{name}"
    if service == "ssm" and (value("name") or value("names")):
        name = value("name") or value("names")
        return name if name.startswith("arn:") else f"arn:{partition}:ssm:{where}:parameter/{name.lstrip('/')}"
    if service == "logs" and value("logGroupName"):
        return f"arn:{partition}:logs:{where}:log-group:{value('logGroupName')}"
    if service == "iam" and value("roleName"):
        return f"arn:{partition}:iam::{account or ''}:role/{value('roleName')}"
    if service == "iam" and value("userName"):
        return f"arn:{partition}:iam::{account or ''}:user/{value('userName')}"
    for name in ("roleArn", "topicArn", "targetArn", "secretId", "policyArn", "resourceArn", "stateMachineArn"):
        if value(name).startswith("arn:"):
            return value(name)
    return next((v for v in params.values() if isinstance(v, str) and v.startswith("arn:")), None)


# CloudTrail's userIdentity.type -> the value of aws:PrincipalType.
_PRINCIPAL_TYPES = {
    "IAMUser": "User",
    "AssumedRole": "AssumedRole",
    "FederatedUser": "FederatedUser",
    "Root": "Account",
}


def _record_context(
    record: Mapping[str, Any], identity: Mapping[str, Any], principal: Principal | None
) -> dict[str, ContextValue]:
    """The request-context keys a CloudTrail event reveals, under AWS's own key names, as the event spells them."""
    context: dict[str, ContextValue] = {}
    source_ip = _str(record.get("sourceIPAddress"))
    if source_ip and _is_ip(source_ip):
        context["aws:SourceIp"] = source_ip
    for key, name in (
        ("aws:SourceVpce", "vpcEndpointId"),
        ("aws:RequestedRegion", "awsRegion"),
        ("aws:UserAgent", "userAgent"),
        ("aws:CurrentTime", "eventTime"),
    ):
        value = _str(record.get(name))
        if value:
            context[key] = value
    if record.get("tlsDetails"):
        context["aws:SecureTransport"] = "true"
    session = _dict(identity.get("sessionContext"))
    attributes = _dict(session.get("attributes"))
    mfa = _str(attributes.get("mfaAuthenticated"))
    if mfa in ("true", "false"):
        context["aws:MultiFactorAuthPresent"] = mfa
    issued = _str(attributes.get("creationDate"))
    if issued:
        context["aws:TokenIssueTime"] = issued
    issuer_arn = _str(_dict(session.get("sessionIssuer")).get("arn"))
    kind = _str(identity.get("type")) or ""
    if principal is not None and principal.type in (
        PrincipalType.USER,
        PrincipalType.ROOT,
        PrincipalType.ROLE,
        PrincipalType.ASSUMED_ROLE,
    ):
        context["aws:PrincipalArn"] = issuer_arn or principal.role_arn or principal.arn
    if kind in _PRINCIPAL_TYPES:
        context["aws:PrincipalType"] = _PRINCIPAL_TYPES[kind]
    account = _str(identity.get("accountId"))
    if account and is_account_id(account):
        context["aws:PrincipalAccount"] = account
    principal_id = _str(identity.get("principalId"))
    if principal_id:
        context["aws:userid"] = principal_id
    user_name = _str(identity.get("userName"))
    if kind == "IAMUser" and user_name:
        context["aws:username"] = user_name
    return context


def _redacted_context(context: dict[str, ContextValue], safe: Callable[[str], str | None]) -> dict[str, ContextValue]:
    """``context`` with credentials redacted; ``safe`` redacts a value the event holds as the text it was read from
    spells it (see _Pass._safe)."""
    for key, known in context.items():
        if isinstance(known, str):
            # Every value but the principal's ARN (which can come from the parsed errorMessage) is the event's own.
            context[key] = redact(known) if key == "aws:PrincipalArn" else safe(known) or known
    return context


def _none_hold_secrets(values: Iterable[str]) -> bool:
    """Whether no credential can be in any of ``values``, so redacting would return each as it is.

    One ``might_hold_secrets`` look at them all, joined by a character no hint word holds and no line
    break pattern reaches across, answers for every value: a hint word is in the joined text exactly
    when it is in one of them.
    """
    return not might_hold_secrets("\0".join(values))


# --- helpers ------------------------------------------------------------------------------------------


def _starting_outside(matches: Iterator[re.Match[str]], claimed: _Spans, stop: int) -> Iterator[re.Match[str]]:
    """The ``matches`` (in text order) that start before ``stop`` and outside ``claimed``."""
    for match in matches:
        start = match.start()
        if start >= stop:
            return
        if not claimed.contains(start):
            yield match


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    index = bisect.bisect_left(spans, (start, end))
    return any(s < end and start < e for s, e in spans[max(0, index - 1) : index + 1])


def _merge_fields(wrappers: Iterable[_Wrapper]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for wrapper in sorted(wrappers, key=lambda w: w.order):
        for key, value in wrapper.fields.items():
            merged.setdefault(key, value.strip())
    return merged


def _clean_code(code: str | None) -> str | None:
    return code.strip().rsplit("#", 1)[-1] or None if code else None


def _exception_code(exception: str | None) -> str | None:
    """An SDK exception class that is itself an AWS error code (not the generic per-service class)."""
    if exception in DENIAL_CODES or exception in _LOOK_ALIKE_BY_CODE:
        return exception
    return None


# The catalogue builds its answer afresh on every call; a parse asks the same few questions many times.
_action_info = lru_cache(maxsize=4096)(catalog.action_info)
# A channel sees the same few principals fail again and again; a Principal is immutable, so one serves all.
_parse_principal = lru_cache(maxsize=4096)(parse_principal)


def _canonical_action(action: str) -> str | None:
    info = _action_info(action)
    return info.action if info else None


@lru_cache(maxsize=4096)
def _unknown_action(action: str) -> str:
    closest = catalog.closest_action(action)
    if closest and closest.lower() != action.lower():
        return f"{action} is not a known IAM action; did you mean {closest}?"
    return f"{action} is not a known IAM action."


# Reported is immutable, and a channel's denials give the same few reasons: one instance serves each.
_reported = lru_cache(maxsize=1024)(Reported)


def _phrase(match: re.Match[str]) -> str:
    """A reason phrase with single spaces, also where re-joined lines had glued its words together."""
    if match.groupdict().get("allowed") is None:
        return _respace(match.group())
    text, start, end = match.string, match.start(), match.end()
    allowed_start, allowed_end = match.span("allowed")
    return " ".join((_respace(text[start:allowed_start]), match.group("allowed"), _respace(text[allowed_end:end])))


def _negation_before(text: str, lo: int, end: int) -> tuple[int, str | None] | None:
    """Where "is not", "are not" or a bare "Not" ends ``text[lo:end]`` (blanks may follow) starts, and its verb.

    What a search for ``(?:(?P<verb>is|are)\\s*)?[Nn]ot\\s*$`` in the span finds, read from its end.
    """
    stop = end
    while stop > lo and text[stop - 1].isspace():
        stop -= 1
    start = stop - 3
    if start < lo or text[start + 1 : stop] != "ot" or text[start] not in "Nn":
        return None
    verb_end = start
    while verb_end > lo and text[verb_end - 1].isspace():
        verb_end -= 1
    for verb in ("is", "are"):
        if verb_end - len(verb) >= lo and text.startswith(verb, verb_end - len(verb)):
            return verb_end - len(verb), verb
    return start, None


def _spaced_arn(text: str, pos: int, hi: int) -> re.Match[str] | None:
    """``_SPACED_ARN.match(text, pos, hi)``, not tried where it cannot match: its gaps start with a blank, the ARN's
    first run of characters can only end where one does, and after the blanks comes a marker or a colon."""
    if not text.startswith("arn:", pos, hi):
        return None
    run = _ARN_RUN_END.search(text, pos, hi)
    if run is None or text[run.start()] not in " \t":
        return None
    # After the blanks, a gap's marker or the colon that goes on with the ARN.
    after = run.start()
    while after < hi and text[after] in " \t":
        after += 1
    if after >= hi or text[after] not in _GAP_STARTS:
        return None
    return _SPACED_ARN.match(text, pos, hi)


def _resource_value(text: str, pos: int, hi: int) -> tuple[str, int] | None:
    """The value of a resource named at ``pos``, quoted or not, and where it ends."""
    quoted = _QUOTED.match(text, pos, hi)
    return (quoted.group("value"), quoted.end()) if quoted else _unquoted(text, pos, hi)


def _unquoted(text: str, pos: int, hi: int) -> tuple[str, int] | None:
    """The value ``_UNQUOTED.match(text, pos, hi)`` finds and where it ends, read without the regex where a plain run
    of token characters ends it.

    The lazy pattern stops at the first place _TOKEN_END allows: in a run with none of the words it looks for (nor a
    placeholder, which starts with "<"), that is where the run ends.
    """
    run = _TOKEN_RUN_END.search(text, pos, hi)
    end = hi if run is None else run.start()
    if pos < end <= pos + 2048 and text[end : end + 1] != "<" and not text.endswith(".", pos, end):
        value = text[pos:end]
        if not any(word in value for word in _GLUED_WORDS):
            return value, end
    match = _UNQUOTED.match(text, pos, hi)
    return (match.group("value"), match.end()) if match else None


@lru_cache(maxsize=1024)
def _respace(text: str) -> str:
    words: list[str] = []
    for chunk in _SPACED_HYPHEN.sub("-", text).split():
        pieces = _PHRASE_WORD.findall(chunk)
        words.extend(pieces if "".join(pieces) == chunk else [chunk])
    return " ".join(words).replace(" ,", ",").replace(" .", ".")


def _spaced_placeholder_start(segment: str, token_at: int) -> int | None:
    """Where the token ending ``segment`` starts when a placeholder with spaces in it ("<arn here>", "[account id]")
    was cut at its spaces: the start of the word it opens in; None when the token holds no such cut placeholder."""
    token = segment[token_at:]
    if ">" not in token and "]" not in token and "}" not in token:
        return None
    for position, character in enumerate(token):
        opener = _CLOSING.get(character)
        if opener is None or opener in token[:position]:
            continue
        closer = token_at + position
        if segment[closer + 1 : closer + 2] not in ("", ":", "/"):
            # Inside an ARN a placeholder stands for a part: an account (":"), a name ("/"), or all of it.
            return None
        opening = segment.rfind(opener, max(0, closer - 60), closer)
        if (
            opening < 0
            or "\n" in segment[opening:closer]
            or not _ANY_PLACEHOLDER.fullmatch(segment, opening, closer + 1)
        ):
            return None
        return max(segment.rfind(" ", 0, opening), segment.rfind("\t", 0, opening), segment.rfind("\n", 0, opening)) + 1
    return None


def _trim_token(token: str) -> str:
    """A token without the punctuation around it; an ellipsis (a redaction) is kept."""
    trimmed = _strip_unpaired(token.strip(), "([{'\"", ",;:)]}\\'\"")
    if trimmed.endswith(".") and not trimmed.endswith(".."):
        trimmed = trimmed[:-1]
    return trimmed


_CLOSING = {")": "(", "]": "[", "}": "{", ">": "<"}
_OPENING = {opener: closer for closer, opener in _CLOSING.items()}


def _strip_unpaired(token: str, leading: str, trailing: str) -> str:
    """``token`` without the ``leading`` and ``trailing`` characters around it, except a bracket paired inside it:
    the quoting and parentheses around a value go, "<account-id>" and "{role-arn}" placeholders stay whole."""
    while token and token[0] in leading:
        closer = _OPENING.get(token[0])
        if closer is not None and token.count(closer) >= token.count(token[0]):
            break
        token = token[1:]
    while token and token[-1] in trailing:
        opener = _CLOSING.get(token[-1])
        if opener is not None and token.count(opener) >= token.count(token[-1]):
            break
        token = token[:-1]
    return token


def _clean(value: str | None) -> str | None:
    return redact(value) if value else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


# A trail records the same few source addresses again and again.
@lru_cache(maxsize=4096)
def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


_clean_operation = lru_cache(maxsize=4096)(operations.clean_operation)


@lru_cache(maxsize=4096)
def _looks_redacted(resource: str) -> bool:
    """Whether a resource as the message names it had a part taken out, or is all redaction (a "*" is no name)."""
    return (resource != "*" and not _is_arn(resource) and _REDACTED.search(resource) is not None) or has_taken_out_part(
        resource
    )


@lru_cache(maxsize=4096)
def _resource_region(resource: str | None) -> str | None:
    """The region an ARN names, also when another part of it was redacted (its account, most often)."""
    if not resource or not resource.startswith("arn:"):
        return None
    parts = resource.split(":", 4)
    region = parts[3] if len(parts) > 4 else ""
    return region if _REGION_RE.fullmatch(region) else None


def _account(principal: Principal | None, resource: str | None) -> str | None:
    if principal is not None and principal.account_id and is_account_id(principal.account_id):
        return principal.account_id
    if resource and resource.startswith("arn:"):
        try:
            account = parse_arn(resource).account
        except ArnError:
            return None
        return account if is_account_id(account) else None
    return None


def _partition(region: str | None, principal: Principal | None) -> str:
    if region:
        if region.startswith("cn-"):
            return "aws-cn"
        if region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"
    if principal is not None and principal.partition:
        return principal.partition
    return "aws"


def _resource_types(action: str | None) -> set[str]:
    info = _action_info(action) if action else None
    return {rt.name for rt in info.resource_types} if info else set()


def _is_s3(action: str | None, operation: str | None, service: str | None) -> bool:
    if action:
        return action.startswith("s3:")
    if service:
        return operations.service_prefix(service) == "s3"
    return operations.SERVICE_OF_OPERATION.get(operation or "") == "s3"


def _s3_arn(ref: _S3Ref, action: str | None, partition: str) -> str | None:
    """The ARN of the bucket or object an S3 action acts on; None when the text does not name enough."""
    types = _resource_types(action)
    bucket_arn = f"arn:{partition}:s3:::{ref.bucket}"
    if "object" in types:
        return f"{bucket_arn}/{ref.key}" if ref.key else None
    if "bucket" in types:
        return bucket_arn
    if action and _action_info(action) is not None:
        return None
    return f"{bucket_arn}/{ref.key}" if ref.key else bucket_arn


def _dedupe(found: list[_Found]) -> list[DeniedRequest]:
    """One request per distinct denial: SDKs and CLIs often print the same one twice.

    Two denials that differ only in that one's resource is cut short (a prefix of the other's, as a
    wrap or a truncating SDK leaves it) are the same denial.
    """
    if len(found) == 1:
        return [found[0].request]
    kept: dict[tuple[Any, ...], list[tuple[int, DeniedRequest]]] = {}
    for position, item in enumerate(found):
        request = item.request
        key = (
            request.principal_arn,
            request.action,
            request.reported.layer,
            request.reported.kind,
            request.reported.policy_arn,
            request.authorization_id,
            request.encoded_message,
        )
        same = kept.setdefault(key, [])
        resource = request.resource_arn or ""
        for index, (first, other) in enumerate(same):
            known = other.resource_arn or ""
            if known == resource or (known and resource and (known.startswith(resource) or resource.startswith(known))):
                merged = _fill(other, request)
                if len(resource) > len(known):
                    merged = _replace(merged, resource_arn=request.resource_arn, region=merged.region or request.region)
                same[index] = (first, merged)
                break
        else:
            same.append((position, request))
    return [request for _, request in sorted(entry for group in kept.values() for entry in group)]


def _absorb_fragments(found: list[_Found]) -> list[_Found]:
    """``found`` (in text order) without the fragments that belong to a denial next to them.

    An alert's title ("AccessDenied"), a terse "Access Denied" beside an S3 name or an SDK wrapper
    with no sentence of its own, printed just before or after a fuller message of the same request,
    is that request again: its blanks are filled from it and it is not a denial of its own. The
    request is the same when nothing either names contradicts the other.
    """
    found = list(found)
    if len(found) < 2:
        return found
    absorbed: set[int] = set()
    for index, item in enumerate(found):
        if item.level >= 2:
            continue
        best: tuple[int, int] | None = None
        for neighbour in (index - 1, index + 1):
            if not 0 <= neighbour < len(found) or neighbour in absorbed:
                continue
            other = found[neighbour]
            gap = max(other.start - item.end, item.start - other.end, 0)
            if other.level <= item.level or gap > _GROUP_GAP or not _same_request(item.request, other.request):
                continue
            if best is None or gap < best[0]:
                best = (gap, neighbour)
        if best is not None:
            into = found[best[1]]
            found[best[1]] = _Found(
                min(into.start, item.start), max(into.end, item.end), _complete(into.request, item.request), into.level
            )
            absorbed.add(index)
    return [item for index, item in enumerate(found) if index not in absorbed]


def _same_request(fragment: DeniedRequest, full: DeniedRequest) -> bool:
    for mine, theirs in (
        (fragment.principal_arn, full.principal_arn),
        (fragment.action, full.action),
        (fragment.api_operation, full.api_operation),
        (fragment.region, full.region),
        (fragment.account_id, full.account_id),
    ):
        if mine and theirs and mine != theirs:
            return False
    mine, theirs = fragment.resource_arn or "", full.resource_arn or ""
    if mine and theirs:
        return mine.startswith(theirs) or theirs.startswith(mine)
    if mine and full.action and _action_info(full.action) is not None:
        # Only S3 names reach a fragment: the bucket or object must be what the fuller denial's action acts on.
        kind = "object" if "/" in mine.split(":::", 1)[-1] else "bucket"
        return kind in _resource_types(full.action)
    return True


def _complete(full: DeniedRequest, fragment: DeniedRequest) -> DeniedRequest:
    """``full`` with the blanks a fragment of the same request fills."""
    filled = _fill(full, fragment)
    return _replace(
        filled,
        action=full.action or fragment.action,
        resource_arn=full.resource_arn or fragment.resource_arn,
        account_id=full.account_id or fragment.account_id,
    )


def _fill(first: DeniedRequest, later: DeniedRequest) -> DeniedRequest:
    """``first`` with the blanks that ``later`` (the same denial, printed again) can fill."""
    return _replace(
        first,
        api_operation=first.api_operation or later.api_operation,
        error_code=first.error_code or later.error_code,
        region=first.region or later.region,
        account_id=first.account_id or later.account_id,
        authorization_region=first.authorization_region or later.authorization_region,
        context=first.context or later.context,
        warnings=tuple(dict.fromkeys(first.warnings + later.warnings)),
    )


def _replace(request: DeniedRequest, **changes: Any) -> DeniedRequest:
    """``dataclasses.replace`` for a request, without its per-call look at the class's fields."""
    return _new_request(**{**vars(request), **changes})


_REQUEST_FIELDS = frozenset(field.name for field in dataclasses.fields(DeniedRequest))


def _new_request(**values: Any) -> DeniedRequest:
    """A request from a value for every one of its fields."""
    assert values.keys() == _REQUEST_FIELDS
    return _frozen(DeniedRequest, values)


def _frozen(cls: type[_Frozen], values: dict[str, Any]) -> _Frozen:
    """An instance of a frozen dataclass of the model from a value for each of its fields.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``: for a request's
    fifteen fields that costs as much as parsing a short message's sentence.
    """
    instance: _Frozen = object.__new__(cls)
    instance.__dict__.update(values)
    return instance


def _dedupe_others(others: list[OtherError]) -> list[OtherError]:
    seen: dict[str, OtherError] = {}
    for other in others:
        seen.setdefault(other.code, other)
    return list(seen.values())


def _rank(denials: list[DeniedRequest]) -> tuple[bool, int]:
    """Readings compare on whether they found a denial at all, then on how completely they parsed them."""
    return bool(denials), _score(denials)


def _score(denials: list[DeniedRequest]) -> int:
    """How completely a reading parsed its denials.

    Every denial costs something, so a reading that breaks one denial into fragments (each with a
    part of the fields) scores below the reading that parsed it whole.
    """
    total = 0
    for d in denials:
        principal = d.principal
        total -= _DENIAL_COST
        total += 3 if principal and principal.type is not PrincipalType.UNKNOWN else 1 if principal else 0
        total += (3 if _action_info(d.action) is not None else 1) if d.action else 0
        total += (2 if _is_arn(d.resource_arn) else 1) if d.resource_arn else 0
        total += sum(
            1
            for value in (
                d.reported.layer,
                d.reported.kind,
                d.reported.policy_arn,
                d.authorization_id,
                d.authorization_region,
                d.encoded_message,
                d.api_operation,
                d.error_code,
                d.region,
            )
            if value
        )
        # A longer reason phrase is a more specific one (the chained VPC endpoint/SCP wording).
        total += len(d.reported.phrase.split()) if d.reported.phrase else 0
    return total


@lru_cache(maxsize=4096)
def _is_arn(text: str | None) -> bool:
    try:
        parse_arn(text or "")
    except ArnError:
        return False
    return True
