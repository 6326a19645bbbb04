"""Policy validation (clear errors naming policy and statement) and compilation caching."""

from __future__ import annotations

from typing import Any

import pytest
from policy_builders import allow, doc

from diagnostics.policy import NamedPolicy, PolicyError
from diagnostics.policy.documents import PolicyKind, compile_policy


def compile_doc(document: Any, kind: PolicyKind = PolicyKind.IDENTITY) -> None:
    compile_policy(NamedPolicy("guardrail", document), kind)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "policy 'guardrail': document must be a JSON object"),
        ({"Version": "2012-10-17"}, "missing Statement"),
        ({"Version": "2012-10-17", "Statement": "x"}, "Statement must be an object or a list"),
        ({"Version": "2012-10-17", "Statment": []}, "unknown top-level element"),
        ({"Version": "2020-01-01", "Statement": []}, "Version must be one of"),
        (
            doc({"Effect": "Allow", "Action": "*", "Resource": "*", "Condtion": {}}),
            "statement #0: unknown element(s) 'Condtion'",
        ),
        (
            doc({"Sid": "Guard", "Effect": "Permit", "Action": "*", "Resource": "*"}),
            "statement 'Guard': Effect must be",
        ),
        (doc({"Effect": "Allow", "Resource": "*"}), "needs Action or NotAction"),
        (
            doc({"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}),
            "has both Action and NotAction",
        ),
        (doc({"Effect": "Allow", "Action": 5, "Resource": "*"}), "Action must be a string or a non-empty list"),
        (doc({"Effect": "Allow", "Action": [], "Resource": "*"}), "Action must be a string or a non-empty list"),
        (doc(allow(), allow(Condition={"Bogus": {"k": "v"}})), "statement #1: unknown condition operator 'Bogus'"),
        (doc({"Sid": 3, "Effect": "Allow", "Action": "*", "Resource": "*"}), "Sid must be a string"),
        (doc("not a statement"), "statement #0: must be a JSON object"),
    ],
)
def test_malformed_documents_name_policy_and_statement(document: Any, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        compile_doc(document)
    assert message in str(caught.value)
    assert "guardrail" in str(caught.value)


def test_principal_errors_in_resource_policies() -> None:
    bad = doc({"Effect": "Allow", "Principal": {"IAM": "x"}, "Action": "*", "Resource": "*"})
    with pytest.raises(PolicyError, match="unknown principal type 'IAM'"):
        compile_doc(bad, PolicyKind.RESOURCE)
    # Identity policies ignore a stray Principal element rather than failing.
    compile_doc(bad, PolicyKind.IDENTITY)


def test_compilation_is_cached_per_document() -> None:
    document = doc(allow("s3:GetObject"))
    first = compile_policy(NamedPolicy("p", document), PolicyKind.IDENTITY)
    assert compile_policy(NamedPolicy("p", document), PolicyKind.IDENTITY) is first
    # An equal document held as another object reuses the same compilation.
    assert compile_policy(NamedPolicy("p", doc(allow("s3:GetObject"))), PolicyKind.IDENTITY) is first
    # The same text under another name or kind is compiled on its own.
    assert compile_policy(NamedPolicy("q", document), PolicyKind.IDENTITY) is not first
    assert compile_policy(NamedPolicy("p", document), PolicyKind.SCP) is not first


def test_located_error_keeps_the_details() -> None:
    error = PolicyError("Effect must be ...", policy="p", statement="#2").located("cases.json: case 3: identity[0]")
    assert str(error) == "cases.json: case 3: identity[0], policy 'p', statement #2: Effect must be ..."
