"""Credential detection and redaction: what counts as a credential, what does not, and that none survives."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.secrets import (
    SecretKind,
    SecretSpan,
    find_secrets,
    has_secrets,
    rarest_character,
    redact,
    redact_spans,
)

ACCESS_KEY = "AKIAZ7QPLM4N5R6T7U8W"
TEMPORARY_KEY = "ASIAQ2W3E4R5T6Y7U8I9"
SECRET_KEY = "q8Vw3Zr5Tb7Yn1Mc4Kd6Hf9Jg2Lp0Xs5Ua8Eo3Ri"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDm8hHhTr3example+token/value=="
SIGNATURE = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
# A pre-signed URL works for anyone who holds it until it expires: its signature is a credential in effect.
PRESIGNED_URL = (
    "https://prod-artifacts.s3.us-east-1.amazonaws.com/release.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    f"&X-Amz-Credential={ACCESS_KEY}%2F20240501%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240501T101500Z"
    f"&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature={SIGNATURE}"
)


def kinds(text: str) -> list[SecretKind]:
    return [span.kind for span in find_secrets(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"aws_access_key_id = {ACCESS_KEY}", [SecretKind.ACCESS_KEY_ID]),
        (f"export AWS_ACCESS_KEY_ID={TEMPORARY_KEY}", [SecretKind.ACCESS_KEY_ID]),
        (f"aws_secret_access_key = {SECRET_KEY}", [SecretKind.SECRET_ACCESS_KEY]),
        (f"export AWS_SECRET_ACCESS_KEY='{SECRET_KEY}'", [SecretKind.SECRET_ACCESS_KEY]),
        (f'"SecretAccessKey": "{SECRET_KEY}",', [SecretKind.SECRET_ACCESS_KEY]),
        (f'secret_key = "{SECRET_KEY}"', [SecretKind.SECRET_ACCESS_KEY]),
        (f"aws configure set aws_secret_access_key {SECRET_KEY}", [SecretKind.SECRET_ACCESS_KEY]),
        (f"aws_session_token={SESSION_TOKEN}", [SecretKind.SESSION_TOKEN]),
        (f'"SessionToken": "{SESSION_TOKEN}"', [SecretKind.SESSION_TOKEN]),
        (f"X-Amz-Security-Token: {SESSION_TOKEN}", [SecretKind.SESSION_TOKEN]),
        (f"the token was {SESSION_TOKEN} I think", [SecretKind.SESSION_TOKEN]),
        (f"FwoGZXIvYXdzEBYaDHh{'A1b2C3d4' * 8} expired", [SecretKind.SESSION_TOKEN]),
        # A credentials CSV: the secret key sits next to its access key id, unlabelled.
        (
            f"Access key ID,Secret access key\n{ACCESS_KEY},{SECRET_KEY}",
            [SecretKind.ACCESS_KEY_ID, SecretKind.SECRET_ACCESS_KEY],
        ),
        (f"key={ACCESS_KEY} secret={SECRET_KEY}", [SecretKind.ACCESS_KEY_ID, SecretKind.SECRET_ACCESS_KEY]),
        (PRESIGNED_URL, [SecretKind.ACCESS_KEY_ID, SecretKind.SIGNATURE]),
        (
            PRESIGNED_URL.replace("%2F", "/").replace(ACCESS_KEY, TEMPORARY_KEY)
            + f"&X-Amz-Security-Token={SESSION_TOKEN.replace('/', '%2F')}",
            [SecretKind.ACCESS_KEY_ID, SecretKind.SIGNATURE, SecretKind.SESSION_TOKEN],
        ),
        (f'"X-Amz-Signature": "{SIGNATURE}"', [SecretKind.SIGNATURE]),
        # Signature version 2 pre-signed URLs: a URL-encoded base64 HMAC.
        (
            f"https://b.s3.amazonaws.com/k?AWSAccessKeyId={ACCESS_KEY}&Expires=1714560000"
            "&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D",
            [SecretKind.ACCESS_KEY_ID, SecretKind.SIGNATURE],
        ),
        # The Authorization header a debug log prints: the same signature, valid for minutes.
        (
            f"Authorization: AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240501/us-east-1/s3/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={SIGNATURE}",
            [SecretKind.ACCESS_KEY_ID, SecretKind.SIGNATURE],
        ),
    ],
)
def test_credentials_are_found(text: str, expected: list[SecretKind]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # Unique ids of users, roles and policies are not credentials.
        "principalId AIDAJQABLZS4A3QDU576Q and AROAEXAMPLEROLEID1234:session",
        "policy ANPAJ2UCCR6DPCEXAMPLE attached",
        # Inside a longer upper-case run it is not an access key id.
        "XAKIAZ7QPLM4N5R6T7U8W and AKIAZ7QPLM4N5R6T7U8WX",
        # A bare 40-character base64 run far from any access key id is too common to be flagged.
        f"checksum {SECRET_KEY} ok",
        # A commit hash next to an access key id is a hash, not a secret key.
        f"{ACCESS_KEY[:-1]} 3f2a9c1b7d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a",
        "my token expired, can someone re-run the job?",
        "The security token included in the request is expired",
        "SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided.",
        "X-Amz-SignedHeaders=host&X-Amz-Signature=REDACTED",
        "",
    ],
)
def test_lookalikes_are_not_credentials(text: str) -> None:
    assert find_secrets(text) == []
    assert not has_secrets(text)


def test_redact_replaces_each_credential_with_a_marker_naming_its_kind() -> None:
    text = f"id={ACCESS_KEY} secret_access_key={SECRET_KEY} token: session_token={SESSION_TOKEN} end"
    assert redact(text) == (
        "id=[redacted access key id] secret_access_key=[redacted secret access key] "
        "token: session_token=[redacted session token] end"
    )


def test_redact_leaves_text_without_credentials_alone() -> None:
    text = "User: arn:aws:iam::123456789012:user/x is not authorized to perform: s3:GetObject"
    assert redact(text) == text


def test_a_pre_signed_url_keeps_everything_but_its_key_id_and_signature() -> None:
    assert redact(PRESIGNED_URL) == (
        "https://prod-artifacts.s3.us-east-1.amazonaws.com/release.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=[redacted access key id]%2F20240501%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20240501T101500Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=[redacted request signature]"
    )


def test_a_signature_split_by_a_line_wrap_is_still_found() -> None:
    text = f"{PRESIGNED_URL[:-20]}\n{PRESIGNED_URL[-20:]}\nreturns 403"
    assert SIGNATURE[-20:] not in redact(text)
    assert SIGNATURE[:20] not in redact(text)


def test_a_credential_split_by_a_line_wrap_is_still_found() -> None:
    text = f"AWS_SECRET_ACCESS_KEY={SECRET_KEY[:17]}\n{SECRET_KEY[17:]}\nnext line"
    spans = find_secrets(text)
    assert [span.kind for span in spans] == [SecretKind.SECRET_ACCESS_KEY]
    assert SECRET_KEY[:17] not in redact(text)
    assert redact(text).endswith("next line")


def test_a_credential_split_inside_its_prefix_is_still_found() -> None:
    text = f"> export AWS_ACCESS_KEY_ID=AK\n> {ACCESS_KEY[2:]}"
    assert [span.kind for span in find_secrets(text)] == [SecretKind.ACCESS_KEY_ID]
    assert ACCESS_KEY[2:] not in redact(text)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"aws_session_token = {SESSION_TOKEN}", [SecretKind.SESSION_TOKEN]),
        (f"aws_secret_access_key={SECRET_KEY}", [SecretKind.SECRET_ACCESS_KEY]),
        (f"key={ACCESS_KEY}", [SecretKind.ACCESS_KEY_ID]),
        (f"https://x.example/?Signature={SIGNATURE}", [SecretKind.SIGNATURE]),
        # Wrapped by a terminal: found only once the lines are joined.
        (f"aws_session_token = {SESSION_TOKEN[:30]}\n{SESSION_TOKEN[30:]}", [SecretKind.SESSION_TOKEN]),
    ],
)
def test_a_credential_deep_inside_a_long_log_is_found(line: str, expected: list[SecretKind]) -> None:
    # Long texts are ruled out by the rarest character of each hint word before the word is looked for.
    filler = "deploy ok: all tests passed on main\n" * 400
    assert kinds(filler + line + "\n" + filler) == expected


def test_the_rarest_character_of_a_word_is_one_of_its_characters() -> None:
    assert rarest_character("token") == "k"
    assert rarest_character("403") == "0"
    assert rarest_character("AKIA") == "K"
    assert rarest_character("session") in "session"


def test_spans_are_ordered_and_do_not_overlap() -> None:
    text = f"{ACCESS_KEY} {SECRET_KEY} aws_secret_access_key={SECRET_KEY} {TEMPORARY_KEY}"
    spans = find_secrets(text)
    assert spans == sorted(spans, key=lambda span: span.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_redact_spans_redacts_a_slice_of_the_indexed_text() -> None:
    text = f"prefix {ACCESS_KEY} suffix"
    spans = find_secrets(text)
    # A slice that cuts the credential in half still shows none of it.
    assert redact_spans(text[10:], spans, offset=10) == "[redacted access key id] suffix"
    assert redact_spans(text[:12], spans) == "prefix [redacted access key id]"
    assert redact_spans("other", [SecretSpan(SecretKind.ACCESS_KEY_ID, 100, 120)]) == "other"


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(max_size=100),
    after=st.text(max_size=100),
    credential=st.sampled_from([ACCESS_KEY, TEMPORARY_KEY, SESSION_TOKEN, f"X-Amz-Signature={SIGNATURE}"]),
)
def test_no_credential_survives_redaction(before: str, after: str, credential: str) -> None:
    text = f"{before} {credential} {after}"
    credential = credential.removeprefix("X-Amz-Signature=")
    assert credential not in redact(text)
    assert has_secrets(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_never_raises_and_is_deterministic(text: str) -> None:
    assert find_secrets(text) == find_secrets(text)
    assert redact(text) == redact(text)
