"""Credentials the fuzzer found slipping past redaction, kept as fixed cases."""

from __future__ import annotations

import dataclasses
import json

import pytest

from diagnostics.parse import scan
from diagnostics.secrets import SecretKind, find_secrets, redact

TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleexampleexample0000AbCd"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        # A bare session token right after "=": "=" only ever ends base64, so the token starts there.
        (f"export TOKEN={TOKEN}", [SecretKind.SESSION_TOKEN]),
        # A secret key beside its key id, followed by "=": 40 characters are whole base64 quanta, "=" ends them.
        (f"{KEY_ID},{SECRET}=", [SecretKind.ACCESS_KEY_ID, SecretKind.SECRET_ACCESS_KEY]),
        # A labelled secret key followed by "=" and more text: the "=" is not padding, the key ends before it.
        (f"aws_secret_access_key = {SECRET}=An error occurred", [SecretKind.SECRET_ACCESS_KEY]),
        # A wrapped token starting a line whose previous line ends in a letter.
        (f"credentials\n{TOKEN[:20]}\n{TOKEN[20:]}\nnext", [SecretKind.SESSION_TOKEN]),
    ],
)
def test_found_and_redacted(text: str, kinds: list[SecretKind]) -> None:
    assert [s.kind for s in find_secrets(text)] == kinds
    redacted = redact(text)
    for secret in (TOKEN, TOKEN[:20], TOKEN[20:], KEY_ID, SECRET):
        assert secret not in redacted


def test_a_longer_base64_run_is_still_not_a_secret_key() -> None:
    blob = "A" * 30 + SECRET + "=="
    assert [s.kind for s in find_secrets(f"{KEY_ID} {blob}")] == [SecretKind.ACCESS_KEY_ID]


ZEROS = "IQoJb3JpZ2lu" + "0" * 79 + "A"
SEED = (
    "An error occurred (AccessDenied) when calling the DeleteObject operation: User: "
    "arn:aws:iam::123456789012:user/build-bot{principal_tail} is not authorized to perform: s3:DeleteObject on "
    'resource: {resource_head}"arn:aws:s3:::prod-artifacts/release.tar.gz" with an explicit deny in an '
    "identity-based policy: arn:aws:iam::123456789012:policy/ProdGuardrails"
)


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        # The first line of a wrapped token where the resource belongs.
        (
            SEED.format(principal_tail="", resource_head=f"{ZEROS[:20]}\n{ZEROS[20:-1]}=A "),
            (ZEROS[:20], ZEROS[20:-1]),
        ),
        # A token on the line after the principal, which re-joining wrapped lines glued to the ARN.
        (SEED.format(principal_tail=f"\n{ZEROS}\n\n{KEY_ID}", resource_head=""), (ZEROS, KEY_ID)),
    ],
)
def test_no_parsed_field_holds_a_piece_of_a_credential(text: str, pieces: tuple[str, ...]) -> None:
    found = scan(text)
    assert found.secrets_found
    assert found.denials
    fields = json.dumps([dataclasses.asdict(d) for d in found.denials], default=str)
    for piece in pieces:
        assert piece not in fields
