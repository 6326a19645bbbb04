"""Detects AWS credentials in pasted text and redacts them, so no output can ever echo one."""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Container
from dataclasses import dataclass
from enum import StrEnum


class SecretKind(StrEnum):
    ACCESS_KEY_ID = "access key id"
    SECRET_ACCESS_KEY = "secret access key"
    SESSION_TOKEN = "session token"
    # A pre-signed URL (or a logged Authorization header) works for whoever holds it until it expires.
    SIGNATURE = "request signature"


@dataclass(frozen=True)
class SecretSpan:
    kind: SecretKind
    start: int
    end: int


# Every pattern starts with a literal (a leading look-behind would stop the regex engine from skipping
# ahead to it, making each scan ten times slower); the boundary before it is checked in code.

# AKIA: long-term access key; ASIA: temporary (STS) access key. AIDA/AROA/... are unique ids, not credentials.
_ACCESS_KEY_ID = re.compile(r"A[KS]IA[A-Z0-9]{16}")
# Matched on the lower-cased text. A 40-character secret key only counts where the text labels it
# (aws_secret_access_key, SecretAccessKey, AWS_SECRET_ACCESS_KEY=, secret_key = ...): a bare 40-character
# base64 run is far too common.
_SECRET_KEY = re.compile(r"secret(?:_?access)?(?:_?key)?[\"']?\s*(?:[:=]|\s)\s*[\"']?(?P<secret>[a-z0-9/+]{40})")
# Matched on the lower-cased text: aws_session_token, SessionToken, X-Amz-Security-Token, security_token.
_SESSION_TOKEN_LABELLED = re.compile(
    r"se(?:ssion|curity)[_-]?token[\"']?\s*(?:[:=]|\s)\s*[\"']?(?P<secret>[a-z0-9/+=%]{40,})"
)
# Matched on the lower-cased text: a Signature Version 4 signature (X-Amz-Signature=, or Signature= in an
# Authorization header) is 64 hex digits; a Signature Version 2 one is a URL-encoded base64 query value.
_SIGNATURE = re.compile(
    r"signature[\"']?\s*[:=]\s*[\"']?(?P<secret>[0-9a-f]{64})"
    r"|signature=(?P<v2>[a-z0-9%/+]{20,120}=*)(?=[&\s\"'<>]|$)"
)
# STS session tokens have recognisable base64 prefixes even when unlabelled.
_SESSION_TOKEN_BARE = tuple(
    (prefix, re.compile(prefix + r"[A-Za-z0-9/+=%]{40,}"))
    for prefix in ("IQoJb3JpZ2lu", "FwoGZXIvYXdz", "FQoGZXIvYXdz", "AQoDYXdz")
)
# A secret key printed right next to its access key id (a credentials CSV, `aws configure list`, a log line).
# An "=" after 40 characters cannot be base64 padding (40 is a whole number of base64 quanta): it ends the key.
_BARE_SECRET = re.compile(r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])")
_NEAR_KEY_ID = 80
_HEX = re.compile(r"[0-9a-f]{40}")
_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+=")
# Base64 without its padding: "=" only ever ends base64, so a credential right after one (TOKEN=IQoJ...) starts
# there, and one of 40 characters (whole base64 quanta, no padding) ends before one.
_BASE64_DIGITS = _BASE64 - {"="}
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

# Short texts (chat lines, the fields of a parsed denial) are ruled out by these before any pattern
# runs; on long texts the literal-led patterns are as cheap as the checks would be.
_CASED_HINTS = ("AKIA", "ASIA", "IQoJb3JpZ2lu", "FwoGZXIvYXdz", "FQoGZXIvYXdz", "AQoDYXdz")
_LOWER_HINTS = ("secret", "session", "security", "signature")
# Lower-cased, a word one of the cased hints holds, a lower-cased hint, or "token" (see _literal_in).
_LINE_WORDS = ("akia", "asia", "iqoj", "yxdz", *_LOWER_HINTS, "token")
_SHORT = 4096
# Characters from the rarest in English text, logs and code to the most common.
_RARITY = {character: rank for rank, character in enumerate("$.0123456789qjzxkvbpgywfmculdhrsnioate")}
# A line break as terminals, e-mail and Slack quoting put it inside a long token.
_BREAK = re.compile(r"\n[ \t]*(?:>[ \t]?)*")
# Every character of every credential the patterns match: the break glue check below needs no other.
_CREDENTIAL_CHARACTERS = _BASE64 | {"%"}
# What _BREAK removes after a break besides further breaks (the empty string: an empty line is all of them).
_RUN_CHARACTERS = frozenset((" ", "\t", ">", ""))
# Past this length a text is asked whether joining its lines glues anything before they are joined (see _joined).
_GLUE_CHECK = 512
# The text _joined last joined, and its answer: a paste is asked both for its credentials and whether it may hold
# any, and each asks. (One pair, replaced whole, so threads can share it.)
_last_joined: tuple[str, str | None] = ("", None)

_MARKERS = {
    SecretKind.ACCESS_KEY_ID: "[redacted access key id]",
    SecretKind.SECRET_ACCESS_KEY: "[redacted secret access key]",
    SecretKind.SESSION_TOKEN: "[redacted session token]",
    SecretKind.SIGNATURE: "[redacted request signature]",
}


def find_secrets(text: str) -> list[SecretSpan]:
    """Every credential in ``text``, as non-overlapping spans in order, including ones a line wrap split."""
    if text.isascii():
        # In ASCII the literals the patterns need (looked for with the lines joined, as a wrapped credential is) are
        # the sharper check: most fields and pastes with a hint word fail it.
        joined = _joined(text)
        if not _literal_in(text if joined is None else joined, len(text) <= _SHORT):
            return []
    elif len(text) <= _SHORT and not might_hold_secrets(text):
        return []
    else:
        joined = _joined(text)
    spans = _detect(text)
    if joined is not None:
        spans.extend(_detect_wrapped(text, joined))
    if not spans:
        return spans
    spans.sort(key=lambda s: (s.start, -s.end))
    merged: list[SecretSpan] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            continue
        merged.append(span)
    return merged


def might_hold_secrets(text: str) -> bool:
    """A cheap check: when False, ``find_secrets(text)`` finds nothing."""
    joined = _joined(text)
    return _hinted(text if joined is None else joined)


def line_may_hold_secrets(lower: str) -> bool:
    """Whether a lower-cased text of one line holds a word both ``find_secrets`` and ``might_hold_secrets`` need (see
    _literal_in and _hinted): when False, neither finds anything in the text. Coarser than either, and cheaper when
    the text is already lower-cased."""
    for word in _LINE_WORDS:  # noqa: SIM110 (a plain loop, as in _hinted)
        if word in lower:
            return True
    return False


def has_secrets(text: str) -> bool:
    return bool(find_secrets(text))


def _glues(text: str) -> bool:
    """Whether removing the line breaks of ASCII ``text`` (see _joined) puts two characters a credential is made of
    side by side that a break kept apart.

    When it does not, every word and credential of the joined text is one of ``text``: literals, hints and
    credentials are runs of those characters, and a run that is not in ``text`` must span a removed break.

    Line by line: a break and what _BREAK removes after it (blanks and quote markers) end where a line holds more,
    and glue that line's first character left to the last one before the break. (A regex search for the same is
    ten times slower: nearly every character of a text is a credential character it would stop at.)
    """
    lines = text.split("\n")
    before = lines[0][-1:]
    for line in itertools.islice(lines, 1, None):
        if before in _CREDENTIAL_CHARACTERS:
            start = _run_end(line)
            if start < len(line) and line[start] in _CREDENTIAL_CHARACTERS:
                return True
        elif line[-1:] not in _RUN_CHARACTERS:
            # The line ends in text, so it does not end in the run: only where it ends matters.
            before = line[-1]
            continue
        else:
            start = _run_end(line)
        if start < len(line):
            before = line[-1]
        # else the line is all blanks and markers: the removed run goes on past the next break
    return False


def _run_end(line: str) -> int:
    """Where the blanks and quote markers _BREAK removes at the start of a line end."""
    end = len(line) - len(line.lstrip(" \t"))
    while line[end : end + 1] == ">":
        end += 2 if line[end + 1 : end + 2] in (" ", "\t") else 1
    return end


def _joined(text: str) -> str | None:
    """``text`` with its line breaks removed (a credential may be split by a wrap), None if that would find nothing
    ``text`` does not hold: it has no line break or, in ASCII, removing them glues nothing together (see _glues; a
    short text is joined without asking, which costs no more than asking)."""
    global _last_joined
    last, joined = _last_joined
    if text == last:
        return joined
    if "\n" not in text or (len(text) > _GLUE_CHECK and text.isascii() and not _glues(text)):
        joined = None
    else:
        joined = _BREAK.sub("", text)
    _last_joined = text, joined
    return joined


def redact(text: str) -> str:
    """``text`` with every credential replaced by a marker naming its kind."""
    spans = find_secrets(text)
    return redact_spans(text, spans) if spans else text


def redact_spans(text: str, spans: list[SecretSpan], offset: int = 0) -> str:
    """``text`` (which starts at ``offset`` of the text the spans index) with the spans it overlaps replaced."""
    out: list[str] = []
    pos = 0
    for span in spans:
        start, end = span.start - offset, span.end - offset
        if end <= pos or start >= len(text):
            continue
        start = max(start, pos)
        out.append(text[pos:start])
        out.append(_MARKERS[span.kind])
        pos = min(end, len(text))
    out.append(text[pos:])
    return "".join(out)


def _hinted(text: str) -> bool:
    """Whether ``text`` holds a word every credential (or its label) contains."""
    if len(text) > _SHORT:
        return _holds_any(text, _CASED_HINTS) or _holds_any(text.lower(), _LOWER_HINTS)
    # Plain loops: a third faster than any() over a generator, on the short texts every chat line is.
    for hint in _CASED_HINTS:
        if hint in text:
            return True
    lower = text.lower()
    for hint in _LOWER_HINTS:  # noqa: SIM110
        if hint in lower:
            return True
    return False


def _literal_in(text: str, hinted: bool) -> bool:
    """Whether ASCII text with its lines joined holds a literal some pattern of _detect starts with or needs
    (and, when ``hinted``, a hint word too: see _hinted).

    Sharper than the hints alone: a labelled session token needs "token" after its "session" or "security"
    (an assumed role's session name, a CloudTrail sessionContext, have none).
    """
    for hint in _CASED_HINTS:
        if hint in text:
            return True
    lower = text.lower()
    if "secret" in lower or "signature" in lower:
        return True
    return "token" in lower and (not hinted or "session" in lower or "security" in lower)


def rarest_character(word: str) -> str:
    """The character of ``word`` least likely to be in a text (English, logs, code) that does not hold it."""
    return min(word, key=lambda character: _RARITY.get(character.lower(), len(_RARITY)))


def _holds_any(text: str, words: tuple[str, ...]) -> bool:
    # On a long text, looking for one character costs a tenth of looking for a word that is absent.
    return any(word in text for word in words if _RAREST[word] in text)


_RAREST = {hint: rarest_character(hint) for hint in _CASED_HINTS + _LOWER_HINTS}


def _detect(text: str, breaks: Container[int] = frozenset()) -> list[SecretSpan]:
    """Credentials in ``text``; one may also start or end at one of ``breaks`` (removed line breaks: joining glues
    a line's first word to the previous line's last, and a fixed-length credential may end where its line did)."""
    lower = text.lower()

    def starts(position: int, characters: frozenset[str]) -> bool:
        return position == 0 or position in breaks or text[position - 1] not in characters

    def ends(position: int, characters: frozenset[str]) -> bool:
        return position == len(text) or text[position] not in characters or position in breaks

    # A pattern whose literal the text does not hold is not run: most texts checked here (the fields of a
    # parsed denial) hold one hint word and none of the other patterns' literals.
    spans = (
        [
            SecretSpan(SecretKind.ACCESS_KEY_ID, m.start(), m.end())
            for m in _ACCESS_KEY_ID.finditer(text)
            if starts(m.start(), _KEY_CHARS) and ends(m.end(), _KEY_CHARS)
        ]
        if "AKIA" in text or "ASIA" in text
        else []
    )
    for key_id in list(spans):
        spans.extend(_secrets_beside(text, key_id, starts))
    for prefix, pattern in _SESSION_TOKEN_BARE:
        if prefix in text:
            spans.extend(
                SecretSpan(SecretKind.SESSION_TOKEN, m.start(), m.end())
                for m in pattern.finditer(text)
                if starts(m.start(), _BASE64_DIGITS)
            )
    # Lower-casing keeps every position only when no character changes length (always, for ASCII).
    same_length = len(lower) == len(text)
    searched = lower if same_length else text
    for pattern, kind, literal in (
        (_SECRET_KEY, SecretKind.SECRET_ACCESS_KEY, "secret"),
        (_SESSION_TOKEN_LABELLED, SecretKind.SESSION_TOKEN, "token"),
    ):
        if same_length and literal not in lower:
            continue
        found = pattern if same_length else re.compile(pattern.pattern, re.IGNORECASE)
        spans.extend(
            SecretSpan(kind, m.start("secret"), m.end("secret"))
            for m in found.finditer(searched)
            if kind is SecretKind.SESSION_TOKEN or ends(m.end("secret"), _BASE64_DIGITS)
        )
    if same_length and "signature" not in lower:
        return spans
    signatures = _SIGNATURE if same_length else re.compile(_SIGNATURE.pattern, re.IGNORECASE)
    for m in signatures.finditer(searched):
        if m.group("secret"):
            if ends(m.end("secret"), _BASE64):
                spans.append(SecretSpan(SecretKind.SIGNATURE, m.start("secret"), m.end("secret")))
        # Version 2 signatures only as a query parameter, where nothing else is called "Signature".
        elif m.start() > 0 and searched[m.start() - 1] in "?&":
            spans.append(SecretSpan(SecretKind.SIGNATURE, m.start("v2"), m.end("v2")))
    return spans


def _secrets_beside(text: str, key_id: SecretSpan, starts: Callable[[int, frozenset[str]], bool]) -> list[SecretSpan]:
    lo, hi = max(0, key_id.start - _NEAR_KEY_ID), min(len(text), key_id.end + _NEAR_KEY_ID)
    return [
        SecretSpan(SecretKind.SECRET_ACCESS_KEY, m.start(), m.end())
        for m in _BARE_SECRET.finditer(text, lo, hi)
        if starts(m.start(), _BASE64_DIGITS)
        # A 40-character lower-case hex run is a SHA-1 (a commit, a checksum), never a secret key.
        and not _HEX.fullmatch(m.group())
    ]


class _Breaks:
    """Where the line breaks of ``text`` are once removed, worked out on the first question (most texts ask none)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._positions: frozenset[int] | None = None
        # Position of each break in the joined text, and how many characters were removed up to and including it.
        self.joined_at: list[int] = []
        self.removed_through: list[int] = []

    def __contains__(self, position: object) -> bool:
        return position in self.load()

    def load(self) -> frozenset[int]:
        if self._positions is None:
            removed = 0
            for match in _BREAK.finditer(self._text):
                self.joined_at.append(match.start() - removed)
                removed += match.end() - match.start()
                self.removed_through.append(removed)
            self._positions = frozenset(self.joined_at)
        return self._positions


def _detect_wrapped(text: str, joined: str) -> list[SecretSpan]:
    """Secrets that only appear once line breaks are removed (``joined``), mapped back onto ``text``."""
    if not _hinted(joined):
        return []
    breaks = _Breaks(text)
    found = _detect(joined, breaks)
    if not found:
        return []
    breaks.load()
    joined_at, removed_through = breaks.joined_at, breaks.removed_through

    def original(index: int) -> int:
        count = bisect.bisect_right(joined_at, index)
        return index + (removed_through[count - 1] if count else 0)

    spans = []
    for span in found:
        start, end = original(span.start), original(span.end - 1) + 1
        if "\n" in text[start:end]:
            spans.append(SecretSpan(span.kind, start, end))
    return spans
