"""Turns the raw bytes someone pasted or piped in into text, or one clear line saying why it cannot be read."""

from __future__ import annotations

import codecs
from typing import BinaryIO

# An error message is a few hundred bytes; a CloudTrail export or a CI log excerpt can reach a megabyte.
# 2 MiB leaves room for that while keeping a mistaken `cat big-file |` from being parsed at all.
MAX_INPUT_BYTES = 2 * 1024 * 1024

# Above this share of control characters (or undecodable bytes) the input is not text someone pasted.
_BINARY_SHARE = 0.30
_TEXT_CONTROLS = "\t\n\r\f\v\x1b"
_DROP_CONTROLS = dict.fromkeys(c for c in (*range(0x20), 0x7F) if chr(c) not in _TEXT_CONTROLS)


class InputError(ValueError):
    """Input that cannot be explained; the message is one line meant for the person who gave it."""


def decode_input(data: bytes) -> str:
    """Decode pasted bytes as UTF-8 text with LF line endings; raise InputError when that is not possible.

    A UTF-8 byte-order mark is dropped. UTF-16 with a byte-order mark (what Windows PowerShell writes
    when output is redirected to a file) is decoded too, since that is still text someone meant to paste.
    """
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(
            f"input is {_size(len(data))}, over the {_size(MAX_INPUT_BYTES)} limit: "
            "pass only the error message or the log lines around it"
        )
    text = _decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError("input is empty: pass the AWS error message as an argument or on standard input")
    if "\x00" in text or _control_share(text) > _BINARY_SHARE:
        raise InputError("input looks like binary data, not text: pass the AWS error message as text")
    return text


def read_input(stream: BinaryIO) -> str:
    """Read and decode a whole stream, never holding more than one byte past the limit."""
    return decode_input(stream.read(MAX_INPUT_BYTES + 1))


def argument_input(text: str) -> str:
    """Decode text given as a command-line argument.

    Python hands undecodable argument bytes over as surrogate escapes; turning them back into bytes
    lets them be reported with their offset like any other invalid UTF-8.
    """
    return decode_input(text.encode("utf-8", "surrogateescape"))


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"input starts like UTF-16 text but is not valid UTF-16 at byte {exc.start}") from None
    if b"\x00" in data:
        raise InputError("input looks like binary data, not text: pass the AWS error message as text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if _undecodable_share(data) > _BINARY_SHARE:
            raise InputError("input looks like binary data, not text: pass the AWS error message as text") from None
        raise InputError(
            f"input is not valid UTF-8 (first bad byte 0x{data[exc.start]:02x} at byte offset {exc.start}): "
            "save or paste it as UTF-8"
        ) from None


def _undecodable_share(data: bytes) -> float:
    text = data.decode("utf-8", "replace")
    return (text.count("\ufffd") + _controls(text)) / len(text)


def _control_share(text: str) -> float:
    return _controls(text) / len(text)


def _controls(text: str) -> int:
    # str.translate runs in C: a megabyte is counted in milliseconds, where a Python loop takes a tenth of a second.
    return len(text) - len(text.translate(_DROP_CONTROLS))


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"
