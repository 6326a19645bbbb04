"""Decoding pasted input: what is accepted, how it is normalised, and the one-line reason when it is not."""

from __future__ import annotations

import codecs
import io

import pytest

from diagnostics.inputs import MAX_INPUT_BYTES, InputError, argument_input, decode_input, read_input

MESSAGE = (
    "An error occurred (AccessDenied) when calling the GetObject operation: User: "
    "arn:aws:iam::123456789012:user/build-bot is not authorized to perform: s3:GetObject"
)


def test_plain_utf8_is_returned_unchanged() -> None:
    assert decode_input(MESSAGE.encode()) == MESSAGE


def test_non_ascii_text_is_kept() -> None:
    text = "Zugriff verweigert für Benutzer: s3:GetObject — ✓"
    assert decode_input(text.encode()) == text


def test_bom_is_stripped() -> None:
    assert decode_input(codecs.BOM_UTF8 + MESSAGE.encode()) == MESSAGE


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_endings_become_lf(newline: str) -> None:
    data = newline.join(["line one", "line two", ""]).encode()
    assert decode_input(data) == "line one\nline two\n"


def test_utf16_with_bom_is_decoded() -> None:
    data = MESSAGE.encode("utf-16")
    assert data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    assert decode_input(data) == MESSAGE


def test_one_megabyte_paste_is_accepted() -> None:
    line = (MESSAGE + "\n").encode()
    data = line * (1024 * 1024 // len(line) + 1)
    assert len(data) > 1024 * 1024
    assert decode_input(data).count("\n") == data.count(b"\n")


def test_input_at_the_limit_is_accepted() -> None:
    data = b"a" * (MAX_INPUT_BYTES - 1) + b"\n"
    assert len(decode_input(data)) == MAX_INPUT_BYTES


def test_limit_accepts_one_megabyte_and_rejects_five() -> None:
    assert 1024 * 1024 <= MAX_INPUT_BYTES < 5 * 1000 * 1000


def test_five_megabytes_are_rejected_with_the_sizes() -> None:
    with pytest.raises(InputError) as err:
        decode_input(b"a" * (5 * 1024 * 1024))
    message = str(err.value)
    assert "5.0 MiB" in message
    assert "2.0 MiB limit" in message
    assert "\n" not in message


def test_one_byte_over_the_limit_is_rejected() -> None:
    with pytest.raises(InputError, match="over the"):
        decode_input(b"a" * (MAX_INPUT_BYTES + 1))


@pytest.mark.parametrize("data", [b"", b"   ", b"\n\r\n\t  \n", codecs.BOM_UTF8, codecs.BOM_UTF8 + b" \n"])
def test_empty_or_blank_input_is_rejected(data: bytes) -> None:
    with pytest.raises(InputError, match=r"^input is empty"):
        decode_input(data)


def test_nul_bytes_mean_binary() -> None:
    with pytest.raises(InputError, match="binary"):
        decode_input(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def test_mostly_undecodable_bytes_mean_binary() -> None:
    data = bytes(range(0x80, 0x100)) * 4
    with pytest.raises(InputError, match="binary"):
        decode_input(data)


def test_mostly_control_characters_mean_binary() -> None:
    data = b"\x01\x02\x03\x04\x05\x06ab" * 20
    with pytest.raises(InputError, match="binary"):
        decode_input(data)


def test_invalid_utf8_names_the_byte_offset() -> None:
    data = MESSAGE.encode() + b" \xff " + b"more text"
    with pytest.raises(InputError) as err:
        decode_input(data)
    offset = len(MESSAGE.encode()) + 1
    assert str(err.value) == (
        f"input is not valid UTF-8 (first bad byte 0xff at byte offset {offset}): save or paste it as UTF-8"
    )


def test_latin1_text_is_invalid_utf8_not_binary() -> None:
    data = "Benutzer: Müller is not authorized".encode("latin-1")
    with pytest.raises(InputError, match=r"not valid UTF-8 \(first bad byte 0xfc at byte offset 11\)"):
        decode_input(data)


def test_truncated_utf16_is_reported() -> None:
    data = codecs.BOM_UTF16_LE + "ok".encode("utf-16-le") + b"\x00"
    with pytest.raises(InputError, match="UTF-16"):
        decode_input(data)


def test_errors_are_one_line() -> None:
    bad_inputs = [b"", b"\x00\x01", b"a\xffb", b"a" * (MAX_INPUT_BYTES + 1)]
    for data in bad_inputs:
        with pytest.raises(InputError) as err:
            decode_input(data)
        assert "\n" not in str(err.value)
        assert str(err.value)


def test_read_input_never_reads_past_the_limit() -> None:
    class CountingStream(io.BytesIO):
        def __init__(self, data: bytes) -> None:
            super().__init__(data)
            self.requested: list[int] = []

        def read(self, size: int | None = -1) -> bytes:
            self.requested.append(-1 if size is None else size)
            return super().read(size)

    stream = CountingStream(b"a" * (MAX_INPUT_BYTES * 3))
    with pytest.raises(InputError, match="over the"):
        read_input(stream)
    assert stream.requested == [MAX_INPUT_BYTES + 1]


def test_read_input_decodes_a_stream() -> None:
    assert read_input(io.BytesIO(codecs.BOM_UTF8 + b"a\r\nb")) == "a\nb"


def test_argument_with_undecodable_bytes_reports_the_offset() -> None:
    # What Python makes of the argv bytes b"ab\xff" on a UTF-8 system.
    argument = b"ab\xffcd".decode("utf-8", "surrogateescape")
    with pytest.raises(InputError, match="byte offset 2"):
        argument_input(argument)


def test_argument_text_is_normalised() -> None:
    assert argument_input("one\r\ntwo") == "one\ntwo"
