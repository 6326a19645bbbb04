"""The shortcuts of the CloudTrail record reading give exactly what the full reading gives."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from diagnostics.formats import Shape
from diagnostics.secrets import might_hold_secrets, redact
from tests.diagnostics.parse_fixtures import rows
from tests.harness.plain import plain_module

ROWS = rows()
# The parser as plain Python: these tests replace its shortcuts (see tests.harness.plain).
parse = plain_module("parse")
scan = parse.scan
RECORD_ROWS = [(name, row) for name, row in ROWS if "errorcode" in row["text"].lower()]
SENTENCE = (
    "User: arn:aws:sts::123456789012:assumed-role/build-bot-role/ci-42 is not authorized to perform: s3:GetObject "
    'on resource: "arn:aws:s3:::prod-artifacts/release.tar.gz" with an explicit deny in a VPC endpoint policy'
)
EVENT = {
    "eventVersion": "1.09",
    "userIdentity": {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEROLEID1234:ci-42",
        "arn": "arn:aws:sts::123456789012:assumed-role/build-bot-role/ci-42",
        "accountId": "123456789012",
        "sessionContext": {"attributes": {"creationDate": "2024-05-01T09:58:02Z", "mfaAuthenticated": "false"}},
    },
    "eventTime": "2024-05-01T10:02:11Z",
    "eventSource": "s3.amazonaws.com",
    "eventName": "GetObject",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "10.20.30.40",
    "userAgent": "[aws-cli/2.15.0]",
    "errorCode": "AccessDenied",
    "errorMessage": SENTENCE,
    "requestParameters": {"bucketName": "prod-artifacts", "key": "release.tar.gz"},
    "recipientAccountId": "123456789012",
}
# Pieces of records, and of the messages around and inside them, that the shortcuts must read as the full path does.
FRAGMENTS = (
    json.dumps(EVENT),
    json.dumps(EVENT, indent=2),
    json.dumps({**EVENT, "errorMessage": "Access Denied"}),
    json.dumps({**EVENT, "errorCode": "ExpiredToken", "errorMessage": "The security token included is expired"}),
    str({**EVENT, "errorMessage": "Access Denied"}),
    json.dumps(EVENT, indent=2)[:700],
    '{"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "errorCode": "AccessDenied", "errorMessage": "',
    '"}',
    SENTENCE,
    "Access Denied",
    "AccessDenied: ",
    "An error occurred (AccessDenied) when calling the GetObject operation: ",
    "(Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; Request ID: R)",
    " (Service: S3; Status Code: 403; Request ID: abc",
    ")",
    "operation error S3: GetObject, https response error StatusCode: 403, RequestID: ",
    "Encoded authorization failure message: AbC_-123xyz",
    "s3://prod-artifacts/release.tar.gz",
    "AKIAIOSFODNN7EXAMPLE",
    "aws_session_token=",
    "here is the event:\n",
    "\n… (message truncated)",
    "\n",
    " ",
    "{",
    "}",
    '"',
)


def _every_unclaimed(reading: parse._Pass, shape: Shape) -> Iterator[re.Match[str]]:
    """What _unclaimed stands for: every match of the shape that does not start in claimed text."""
    return (m for m in shape.pattern.finditer(reading.text) if not reading.claimed.contains(m.start()))


def _described(value: object) -> object:
    """A parsed core as plain data, its wrappers too, to compare two of them field by field."""
    if isinstance(value, (parse._Core, parse._Wrapper)):
        return type(value).__name__, {name: _described(field) for name, field in vars(value).items()}
    if isinstance(value, list):
        return [_described(item) for item in value]
    return value


def _full_message_core(message: str, rows: object = None) -> parse._Core | None:
    """What _message_core stands for: the first core of a reading of the message with all its wrappers."""
    reading = parse._Pass(parse._normalize(message), [])
    cores = reading._cores(reading._wrappers())
    return cores[0] if cores else None


def _read_in_full(text: str) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse._Pass, "_unclaimed", _every_unclaimed)
        patch.setattr(parse, "_message_core", _full_message_core)
        patch.setattr(parse, "_none_hold_secrets", lambda values: False)
        return repr(scan(text))


def _variants(text: str) -> Iterator[str]:
    yield text
    yield "here is the event from cloudtrail:\n" + text
    yield text + "\n"
    yield text + "\nAccess Denied on s3://prod-artifacts/release.tar.gz"
    yield text + " An error occurred (AccessDenied) when calling the GetObject operation: Access Denied"
    yield text + "\n" + SENTENCE
    yield text + " " + text
    yield text.replace('"errorMessage"', '"errorMessage": "Access Denied (Service: S3; Request ID: x", "m"')


@pytest.mark.parametrize(("name", "row"), RECORD_ROWS, ids=[name for name, _ in RECORD_ROWS])
def test_every_record_fixture_reads_the_same_as_in_full(name: str, row: dict[str, str]) -> None:
    for text in _variants(row["text"]):
        assert repr(scan(text)) == _read_in_full(text), text


@pytest.mark.parametrize(("name", "row"), ROWS, ids=[name for name, _ in ROWS])
def test_every_fixture_reads_the_same_as_in_full(name: str, row: dict[str, str]) -> None:
    assert repr(scan(row["text"])) == _read_in_full(row["text"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8).map("".join))
def test_texts_built_from_record_pieces_read_the_same_as_in_full(text: str) -> None:
    assert repr(scan(text)) == _read_in_full(text)


def test_a_match_running_out_of_a_record_still_hides_what_it_covers() -> None:
    # The Java SDK's tail starts in the record's message and ends after the record: its text is taken as before.
    text = json.dumps({**EVENT, "errorMessage": "Access Denied (Service: S3; Status Code: 403; Request ID: a"})
    text += " b) (Service: S3; Status Code: 403; Request ID: c)"
    assert repr(scan(text)) == _read_in_full(text)


def test_text_after_the_record_is_still_read() -> None:
    text = json.dumps({**EVENT, "errorMessage": "Access Denied"}) + "\n" + SENTENCE.replace("build-bot", "deployer")
    denials = scan(text).denials
    assert [d.source_format for d in denials] == ["cloudtrail", "plain"]
    assert denials[1].principal_arn == "arn:aws:sts::123456789012:assumed-role/deployer-role/ci-42"


class _Unsearchable:
    """A pattern the test fails on if it is searched."""

    def finditer(self, *args: object) -> Iterator[re.Match[str]]:
        raise AssertionError("searched")


def _read(text: str) -> parse._Pass:
    reading = parse._Pass(text, [])
    reading.read()
    return reading


def test_a_record_claiming_the_text_to_its_end_is_not_searched_again() -> None:
    reading = _read(json.dumps(EVENT, indent=2) + "\n")
    assert reading.claimed.starts == [0]
    unsearchable = dataclasses.replace(parse._TERSE_SHAPES[0], pattern=_Unsearchable())
    assert list(reading._unclaimed(unsearchable)) == []


def test_the_text_after_a_record_is_searched_when_it_holds_the_shapes_words() -> None:
    reading = _read(json.dumps({**EVENT, "errorMessage": "Access Denied"}) + " Access Denied")
    matches = list(reading._unclaimed(parse._TERSE_SHAPES[0]))
    assert [m.group() for m in matches] == ["Access Denied"]
    assert matches[0].start() == reading.claimed.ends[0] + 1


@pytest.mark.parametrize(
    "message",
    [
        SENTENCE,
        "Access Denied",
        "",
        "AccessDenied: " + SENTENCE,
        SENTENCE + ". Encoded authorization failure message: AbC_-123xyz",
        "You are not authorized to perform this operation. Encoded authorization failure message: AbC_-123xyz",
        "User: arn:aws:iam::123456789012:user/x is not authorized to access this resource",
        "Access to KMS is not allowed",
        "An error occurred (AccessDenied) when calling the GetObject operation: " + SENTENCE + " " + SENTENCE,
    ],
)
def test_the_message_core_is_the_full_readings_first_core(message: str) -> None:
    assert _described(parse._message_core(message)) == _described(_full_message_core(message))
    for text in (message, f"{{'errorMessage': '{message}', 'eventName': 'x'}}", "Access Denied. " + message):
        rows = parse._Pass(text, [])._open_rows()
        assert _described(parse._message_core(message, rows)) == _described(_full_message_core(message)), text


@given(st.lists(st.sampled_from(FRAGMENTS[7:]), max_size=8).map("".join))
def test_the_message_core_of_any_message_is_the_full_readings_first_core(message: str) -> None:
    assert _described(parse._message_core(message)) == _described(_full_message_core(message))
    rows = parse._Pass(SENTENCE + message + " AccessDenied", [])._open_rows()
    assert _described(parse._message_core(message, rows)) == _described(_full_message_core(message))


# Pieces of credentials and their labels, whole and split, and the line breaks a wrap puts in them.
SECRET_PIECES = ("AKIA", "AK", "IA", "IOSFODNN7EXAMPLE", "secret", "session", "ses", "sion", "_token=", "a" * 40)
SECRET_PIECES += ("\n", "\n  > ", "x", "/")


@given(st.lists(st.lists(st.sampled_from(SECRET_PIECES), max_size=6).map("".join), max_size=5))
@example(["ses", "sion"])
@example(["AK", "IAIOSFODNN7EXAMPLE"])
@example(["x\n", "  > session"])
def test_values_none_of_which_can_hold_a_secret_are_told_apart_in_one_look(values: list[str]) -> None:
    assert parse._none_hold_secrets(values) == (not any(might_hold_secrets(value) for value in values))
    if parse._none_hold_secrets(values):
        assert [redact(value) for value in values] == values


def _bounded_patterns(units: int) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The loose reader's token and pair patterns with the bound on a string's length written in them."""
    double = rf"""(?:[^"\\\n]|\\.){{{{0,{units}}}}}"""
    single = rf"""(?:[^'\\\n]|\\.){{{{0,{units}}}}}"""
    string = f""""(?P<{{0}}double>{double})"|'(?P<{{0}}single>{single})'"""
    token = re.compile(
        rf"\s*(?:(?P<punct>[{{}}\[\],:])|{string.format('')}|{parse._LOOSE_SCALAR}"
        r"|(?P<call>[A-Za-z_][\w.]{0,100}\([^()\n]{0,400}\)))"
    )
    pair = re.compile(
        rf"\s*(?:{string.format('key_')})\s*:\s*"
        rf"(?:(?:{string.format('')}|{parse._LOOSE_SCALAR})(?P<comma>\s*,)?|(?P<opening>[{{\[]))"
    )
    return token, pair


def _shown(match: re.Match[str] | None) -> object:
    return None if match is None else (match.span(), match.groupdict())


LOOSE_PIECES = ('"', "'", "\\", "\\\\", '\\"', "\n", "ab", " ", ":", ",", "{", "True", "12", "x(1)")


@pytest.mark.parametrize("units", [0, 1, 3, 5])
@settings(max_examples=150, deadline=None)
@given(text=st.lists(st.sampled_from(LOOSE_PIECES), max_size=14).map("".join))
def test_the_string_bound_checked_in_code_reads_as_the_bound_in_the_pattern(units: int, text: str) -> None:
    token, pair = _bounded_patterns(units)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse, "_LOOSE_STRING_UNITS", units)
        for bounded, unbounded in ((token, parse._LOOSE_TOKEN), (pair, parse._LOOSE_PAIR)):
            match = unbounded.match(text)
            assert _shown(None if match is None or parse._too_long(match) else match) == _shown(bounded.match(text))


def test_a_string_reads_up_to_the_bound_with_an_escape_counted_once() -> None:
    limit = parse._LOOSE_STRING_UNITS
    for body, fits in (
        ("a" * limit, True),
        ("a" * (limit + 1), False),
        ("\\n" * limit, True),
        ("\\n" * limit + "a", False),
    ):
        match = parse._LOOSE_TOKEN.match(f'"{body}"')
        assert match is not None
        assert parse._too_long(match) is not fits


@given(st.text(st.sampled_from("ab :/\n\r\t>&<`;\"'{}\u201c\u00a0"), max_size=30))
def test_a_plain_message_is_its_own_normal_form(message: str) -> None:
    if parse._is_plain(message):
        assert parse._normalize(message) == message


@given(st.text(st.sampled_from(" \t\n\r\x0b\x0c\"'}{:,1a\\"), max_size=12).map("{".__add__))
@example('{\x0b"a": 1}')
@example("{\x0c}")
def test_an_object_start_the_pre_check_turns_down_does_not_decode(text: str) -> None:
    if parse._JSON_OBJECT_START.match(text) is None:
        with pytest.raises(json.JSONDecodeError):
            parse._DECODER.raw_decode(text)


# The key-value pattern without its third way of matching: a key, its colon and the bracket opening its value.
PAIR_WITHOUT_OPENING = re.compile(parse._LOOSE_PAIR.pattern.replace(r"(?P<opening>[{\[])", r"(?P<opening>(?!))"))
LOOSE_RECORD_PIECES = (
    "{",
    "}",
    "[",
    "]",
    ", ",
    ": ",
    "'userIdentity': ",
    '"userIdentity" : ',
    "'type': 'AssumedRole', ",
    '"arn": "arn:aws:sts::1:assumed-role/r/s"',
    "'mfa': False",
    "'n': 12, ",
    "'t': datetime.datetime(2024, 5, 1, 10, 2, 11), ",
    "'k': \"it's\", ",
    "\n",
    "\n… (message truncated)",
    "'cut",
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(LOOSE_RECORD_PIECES), max_size=16).map("".join),
    st.integers(min_value=1, max_value=40),
)
def test_a_key_opening_its_value_is_read_as_its_three_tokens_are(body: str, budget: int) -> None:
    text = "{" + body
    read = parse._loose_object(text, 0, len(text), budget, {})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse, "_LOOSE_PAIR", PAIR_WITHOUT_OPENING)
        assert parse._loose_object(text, 0, len(text), budget, {}) == read


def test_the_pattern_without_the_opening_never_reads_one() -> None:
    assert PAIR_WITHOUT_OPENING.pattern != parse._LOOSE_PAIR.pattern
    assert PAIR_WITHOUT_OPENING.match("'a': {") is None
    assert PAIR_WITHOUT_OPENING.match("'a': 1,").groups() == parse._LOOSE_PAIR.match("'a': 1,").groups()
