"""Principals read from ARNs: a name cut off leaves no principal a policy or a read could use, and says so."""

from __future__ import annotations

import pytest

from diagnostics.arn import is_placeholder, parse_principal
from diagnostics.model import PrincipalType
from diagnostics.parse import scan


@pytest.mark.parametrize("text", ["arn:aws:iam::457910130955:user/", "arn:aws:iam::457910130955:role/team/"])
def test_a_user_or_role_without_a_name_is_unknown(text: str) -> None:
    principal = parse_principal(text)
    assert principal.type is PrincipalType.UNKNOWN
    assert (principal.arn, principal.account_id, principal.name) == (text, "457910130955", None)


def test_a_named_user_keeps_its_path() -> None:
    principal = parse_principal("arn:aws:iam::457910130955:user/ops/dns-bot")
    assert (principal.type, principal.name, principal.path) == (PrincipalType.USER, "dns-bot", "/ops/")


def test_a_nameless_principal_is_warned_about() -> None:
    text = "User: arn:aws:iam::457910130955:user/ is not authorized to perform: route53:ListHostedZones"
    (denial,) = scan(text).denials
    assert denial.warnings == (
        "The principal ARN has no name (arn:aws:iam::457910130955:user/); iamwhy needs the full ARN to investigate.",
    )


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("<arn here>", True),
        ("{role-arn}", True),
        ("***", True),
        ("XXXX", True),
        ("+358....", False),
        ("arn:aws:iam::<account>:role/x", False),
        ("my-bucket", False),
    ],
)
def test_a_placeholder_is_one_only_as_a_whole(text: str, placeholder: bool) -> None:
    assert is_placeholder(text) is placeholder
