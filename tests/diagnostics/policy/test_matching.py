"""Action, Resource and Principal matching."""

from __future__ import annotations

import pytest

from diagnostics.arn import parse_principal
from diagnostics.policy.documents import SHORT_ARNS, PolicyKind
from diagnostics.policy.matching import (
    Grant,
    Hit,
    PrincipalSyntaxError,
    compile_actions,
    compile_principal,
    compile_resource,
)


@pytest.mark.parametrize(
    ("patterns", "action", "expected"),
    [
        (("s3:GetObject",), "s3:getobject", True),
        (("S3:GET*",), "s3:getobjectacl", True),
        (("s3:Get?bject",), "s3:getobject", True),
        (("s3:Get?bject",), "s3:getxxobject", False),
        (("*",), "anything:atall", True),
        (("s3:GetObject,PutObject",), "s3:getobject", False),
        (("s3: GetObject",), "s3:getobject", False),  # spaces are not trimmed
        (("s3:",), "s3:getobject", False),
        (("ec2:*", "s3:List*"), "s3:listbucket", True),
    ],
)
def test_actions(patterns: tuple[str, ...], action: str, expected: bool) -> None:
    assert compile_actions(patterns).matches(action) is expected


def hit(
    pattern: str, resource: str, kind: PolicyKind = PolicyKind.IDENTITY, context: dict[str, str] | None = None
) -> Hit:
    compiled = compile_resource(pattern, SHORT_ARNS[kind], variables=True)
    return compiled.match(resource, {k.lower(): v for k, v in (context or {}).items()}, frozenset())


QUEUE = "arn:aws:sqs:us-east-1:111122223333:orders"


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("*", QUEUE, Hit.MATCH),
        (QUEUE, QUEUE, Hit.MATCH),
        ("arn:aws:sqs:*:111122223333:orders", QUEUE, Hit.MATCH),
        ("arn:aws:sqs:us-east-1:111122223333:Orders", QUEUE, Hit.NO_MATCH),  # case-sensitive
        ("arn:aws:sqs:us-*:*:ord?rs", QUEUE, Hit.MATCH),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c", Hit.MATCH),
        ("arn:aws:s3:::bucket/*/test/*", "arn:aws:s3:::bucket/1/2/test/x.jpg", Hit.MATCH),
        ("arn:aws:s3:::bucket/*/test/*", "arn:aws:s3:::bucket/1-test/x.jpg", Hit.NO_MATCH),
        ("arn:aws:s3:::*/*", "arn:aws:s3:::any-bucket/key", Hit.MATCH),
        # the resource type part is literal: no wildcard stands for "instance/"
        ("arn:aws:ec2:us-east-1:111122223333:*/i-1", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", Hit.NO_MATCH),
        ("arn:aws:ec2:us-east-1:111122223333:*", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", Hit.MATCH),
        ("arn:aws:logs:*:*:log-group:app:*", "arn:aws:logs:us-east-1:1:log-group:app:log-stream:x", Hit.MATCH),
        # a wildcard in the region segment does not swallow the account
        ("arn:aws:sqs:*:orders", QUEUE, Hit.FAIL),
        ("arn:aws:s3:::bucket", "*", Hit.NO_MATCH),
        ("*", "*", Hit.MATCH),
    ],
)
def test_resources(pattern: str, resource: str, expected: Hit) -> None:
    assert hit(pattern, resource) is expected


@pytest.mark.parametrize(
    ("kind", "pattern", "expected"),
    [
        (PolicyKind.IDENTITY, "arn:aws:sqs", Hit.MATCH),  # short ARNs expand in identity-side policies
        (PolicyKind.IDENTITY, "arn:aws:sqs:us-west-2", Hit.FAIL),
        (PolicyKind.RESOURCE, "arn:aws:sqs", Hit.NO_MATCH),  # ... but need a wildcard in resource policies
        (PolicyKind.RESOURCE, "arn:aws:sqs:*:111122223333", Hit.MATCH),
        (PolicyKind.SCP, "arn:aws:sqs:us-east-1", Hit.FAIL),  # SCPs reject them without a trailing wildcard
        (PolicyKind.SCP, "arn:aws:sqs:us-east-1:*", Hit.MATCH),
        (PolicyKind.RCP, "arn:aws:sqs:*", Hit.FAIL),
    ],
)
def test_short_arns_by_policy_type(kind: PolicyKind, pattern: str, expected: Hit) -> None:
    assert hit(pattern, QUEUE, kind) is expected


def test_resource_variables() -> None:
    pattern = "arn:aws:s3:::home/${aws:username}/*"
    assert hit(pattern, "arn:aws:s3:::home/bob/x", context={"aws:username": "bob"}) is Hit.MATCH
    assert hit(pattern, "arn:aws:s3:::home/bob/x", context={"aws:username": "alice"}) is Hit.NO_MATCH
    assert hit(pattern, "arn:aws:s3:::home/bob/x") is Hit.FAIL  # no value: matches nothing
    assert hit(pattern, "arn:aws:s3:::home/b*/x", context={"aws:username": "b*"}) is Hit.MATCH
    assert hit(pattern, "arn:aws:s3:::home/bob/x", context={"aws:username": "b*"}) is Hit.NO_MATCH
    compiled = compile_resource(pattern, SHORT_ARNS[PolicyKind.IDENTITY], variables=True)
    assert compiled.match("arn:aws:s3:::home/bob/x", {}, frozenset({"aws:username"})) is Hit.UNKNOWN


SESSION = parse_principal("arn:aws:sts::111122223333:assumed-role/app/run-1")
USER = parse_principal("arn:aws:iam::111122223333:user/path/alice")


@pytest.mark.parametrize(
    ("element", "principal", "expected"),
    [
        ("*", SESSION, Grant.DIRECT),
        ({"AWS": "*"}, parse_principal("anonymous"), Grant.DIRECT),
        ({"AWS": "arn:aws:sts::111122223333:assumed-role/app/run-1"}, SESSION, Grant.DIRECT),
        ({"AWS": "arn:aws:iam::111122223333:role/team/app"}, SESSION, Grant.ROLE),  # sessions drop the path
        ({"AWS": "arn:aws:iam::111122223333:root"}, SESSION, Grant.ACCOUNT),
        ({"AWS": "111122223333"}, USER, Grant.ACCOUNT),
        ({"AWS": "arn:aws:iam::111122223333:user/path/alice"}, USER, Grant.DIRECT),
        ({"AWS": "arn:aws:iam::111122223333:user/alice"}, USER, None),
        ({"AWS": "444455556666"}, USER, None),
        ({"AWS": "arn:aws:iam::111122223333:root"}, parse_principal("anonymous"), None),
        ({"Service": "Lambda.amazonaws.com"}, parse_principal("service:lambda.amazonaws.com"), Grant.DIRECT),
        ({"Service": "lambda.amazonaws.com"}, SESSION, None),
        ({"Federated": "cognito-identity.amazonaws.com"}, SESSION, None),
    ],
)
def test_principals(element: object, principal: object, expected: Grant | None) -> None:
    assert compile_principal(element).grant_for(principal) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize("element", [{}, {"IAM": "x"}, {"AWS": 12}, {"AWS": []}, 7])
def test_malformed_principals(element: object) -> None:
    with pytest.raises(PrincipalSyntaxError):
        compile_principal(element)
