"""Detects AWS credentials in pasted text and redacts them, so no output can ever echo one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class SecretKind(StrEnum):
    ACCESS_KEY_ID = "access key id"
    SECRET_ACCESS_KEY = "secret access key"
    SESSION_TOKEN = "session token"


@dataclass(frozen=True)
class SecretSpan:
    kind: SecretKind
    start: int
    end: int


# AKIA: long-term access key; ASIA: temporary (STS) access key. AIDA/AROA/... are unique ids, not credentials.
_ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
# A 40-character secret key only counts where the text says it is one: a bare 40-char base64 run is too common.
_SECRET_KEY = re.compile(
    r"(?i:aws_?secret_?access_?key|secret_?access_?key|secretkey|aws_secret)"
    r"[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
)
_SESSION_TOKEN_LABELLED = re.compile(
    r"(?i:aws_?session_?token|session_?token|security_?token|x-amz-security-token)"
    r"[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+=%]{40,})"
)
# STS session tokens have recognisable base64 prefixes even when unlabelled.
_SESSION_TOKEN_BARE = re.compile(r"(?<![A-Za-z0-9/+])(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=]{40,}")

_MARKERS = {
    SecretKind.ACCESS_KEY_ID: "[redacted access key id]",
    SecretKind.SECRET_ACCESS_KEY: "[redacted secret access key]",
    SecretKind.SESSION_TOKEN: "[redacted session token]",
}


def find_secrets(text: str) -> list[SecretSpan]:
    """Every credential in ``text``, as non-overlapping spans in order."""
    spans: list[SecretSpan] = []
    spans.extend(SecretSpan(SecretKind.ACCESS_KEY_ID, m.start(), m.end()) for m in _ACCESS_KEY_ID.finditer(text))
    for pattern, kind in (
        (_SECRET_KEY, SecretKind.SECRET_ACCESS_KEY),
        (_SESSION_TOKEN_LABELLED, SecretKind.SESSION_TOKEN),
    ):
        spans.extend(SecretSpan(kind, m.start("secret"), m.end("secret")) for m in pattern.finditer(text))
    spans.extend(SecretSpan(SecretKind.SESSION_TOKEN, m.start(), m.end()) for m in _SESSION_TOKEN_BARE.finditer(text))
    spans.sort(key=lambda s: (s.start, -s.end))
    merged: list[SecretSpan] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            continue
        merged.append(span)
    return merged


def has_secrets(text: str) -> bool:
    return bool(find_secrets(text))


def redact(text: str) -> str:
    """``text`` with every credential replaced by a marker naming its kind."""
    spans = find_secrets(text)
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append(_MARKERS[span.kind])
        pos = span.end
    out.append(text[pos:])
    return "".join(out)
