"""The shortcut for a text holding one "not authorized to perform" sentence reads exactly what the full reading does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.diagnostics.parse_fixtures import rows
from tests.harness.plain import plain_module

ROWS = rows()
# The parser as plain Python: these tests replace its shortcut (see tests.harness.plain).
parse = plain_module("parse")
scan = parse.scan
CLI_DENIAL = (
    "An error occurred (AccessDenied) when calling the GetObject operation: User: "
    "arn:aws:iam::123456789012:user/build-bot is not authorized to perform: s3:GetObject on resource: "
    '"arn:aws:s3:::prod-artifacts/release.tar.gz" because no identity-based policy allows the s3:GetObject action'
)
# Pieces of the sentence, its prefixes and the shapes that must send a text down the full reading.
FRAGMENTS = (
    "User: ",
    "User ",
    "arn:aws:iam::123456789012:user/build-bot",
    "arn:aws:sts::123456789012:assumed-role/app/session-1",
    " is not authorized to perform: ",
    "s3:GetObject",
    "s3:GetObjet",
    "kms:Decrypt",
    " on resource: ",
    '"arn:aws:s3:::prod-artifacts/release.tar.gz"',
    "arn:aws:kms:eu-west-1:123456789012:key/abc",
    " because no identity-based policy allows the s3:GetObject action",
    " with an explicit deny in a service control policy",
    "An error occurred (AccessDenied) when calling the GetObject operation: ",
    "An error occurred (ExpiredToken) when calling the GetObject operation: ",
    "AccessDenied: ",
    "Access Denied",
    "s3://prod-artifacts/release.tar.gz",
    " is not authorized to access this resource",
    "Encoded authorization failure message: AbC_-123",
    "(Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; Request ID: R)",
    "Authorization id: AbC123",
    "(truncated...)",
    ".",
    " ",
    "\n",
    '"',
    "xxxx",
)


def _read_in_full(reading: parse._Pass) -> bool:
    return False


def _both_readings(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    with monkeypatch.context() as patch:
        patch.setattr(parse._Pass, "_one_sentence", _read_in_full)
        full = repr(scan(text))
    return repr(scan(text)), full


def _variants(text: str) -> Iterator[str]:
    yield text
    yield text + "."
    yield "retried, same thing: " + text
    yield text + " " + text
    yield text.replace("User: ", "User ")
    yield "\n".join(text[start : start + 60] for start in range(0, len(text), 60))


@pytest.mark.parametrize(("name", "row"), ROWS, ids=[name for name, _ in ROWS])
def test_every_fixture_reads_the_same_with_and_without_the_shortcut(
    name: str, row: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for text in _variants(row["text"]):
        shortcut, full = _both_readings(text, monkeypatch)
        assert shortcut == full, text


@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14).map("".join))
def test_texts_built_from_the_sentence_pieces_read_the_same(text: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse._Pass, "_one_sentence", _read_in_full)
        full = repr(scan(text))
    assert repr(scan(text)) == full


def _takes_shortcut(text: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    taken: list[bool] = []
    one_sentence = parse._Pass._one_sentence

    def recording(reading: parse._Pass) -> bool:
        taken.append(one_sentence(reading))
        return taken[-1]

    with monkeypatch.context() as patch:
        patch.setattr(parse._Pass, "_one_sentence", recording)
        scan(text)
    return any(taken)


@pytest.mark.parametrize(
    "text",
    [
        CLI_DENIAL,
        CLI_DENIAL.split(": ", 1)[1],
        "AccessDenied\n" + CLI_DENIAL,
        "An error occurred (ExpiredToken) when calling the GetObject operation: expired\n"
        + CLI_DENIAL.split(": ", 1)[1],
    ],
)
def test_a_text_whose_one_sentence_is_a_denial_takes_the_shortcut(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _takes_shortcut(text, monkeypatch)


@pytest.mark.parametrize(
    "text",
    [
        CLI_DENIAL + " " + CLI_DENIAL.replace("build-bot", "deploy-bot"),
        "An error occurred (AccessDenied) when calling the GetObject operation: Access Denied\n" + CLI_DENIAL,
        CLI_DENIAL + " (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; Request ID: R)",
        '{"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "errorCode": "AccessDenied", "errorMessage": "'
        + CLI_DENIAL.split(": ", 1)[1].replace('"', '\\"')
        + '"}',
    ],
)
def test_a_text_holding_more_than_the_sentence_is_read_in_full(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _takes_shortcut(text, monkeypatch)
