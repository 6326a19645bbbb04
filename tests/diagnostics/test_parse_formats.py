"""The format table and the operation table are data: each row is checked against what it claims."""

from __future__ import annotations

import json
import re

import pytest

from diagnostics import catalog, formats, operations, parse
from diagnostics.formats import HTTP_403, LAYER_PHRASES, LOOK_ALIKES, SHAPES, Role, Shape
from diagnostics.model import DenialKind, Layer
from tests.diagnostics.parse_fixtures import FIXTURES


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{s.name}/{s.role}" for s in SHAPES])
def test_each_shape_matches_its_documented_example(shape: Shape) -> None:
    assert shape.example
    assert shape.pattern.search(shape.example)


def _gate_lets_through(row: Shape | formats.LookAlike, lower: str) -> bool:
    return all(not words or any(word in lower for word in words) for words in (row.needs, row.needs_also))


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{s.name}/{s.role}" for s in SHAPES])
def test_each_shape_example_passes_the_cheap_checks(shape: Shape) -> None:
    lower = shape.example.lower()
    # The row's own gate, and the parser's pre-filter, must both let its example through.
    assert _gate_lets_through(shape, lower)
    assert any(hint in lower for hint in parse._HINTS)


def _readings() -> list[str]:
    """Every fixture text and example as each reading of the parser sees it."""
    texts = [shape.example for shape in SHAPES] + [f"{look_alike.code}: failed" for look_alike in LOOK_ALIKES]
    for path in sorted(FIXTURES.glob("*.json")):
        texts.extend(row["text"] for row in json.loads(path.read_text(encoding="utf-8")))
    readings = []
    for text in texts:
        readings.append(parse._normalize(text))
        if "\n" in text:
            lines = parse._without_markers(text)
            readings += [parse._normalize(parse._unwrap(lines)), parse._normalize(parse._join_lines(lines))]
    return readings


@pytest.mark.parametrize(
    "row", [*SHAPES, *LOOK_ALIKES, HTTP_403], ids=lambda row: getattr(row, "name", getattr(row, "code", ""))
)
def test_no_row_is_skipped_where_its_pattern_matches(row: Shape | formats.LookAlike) -> None:
    # The gates are a shortcut: wherever the pattern matches, the words it needs are there. A row
    # that names no words is never tried at all.
    assert row.needs
    matched = [text for text in _readings() if row.pattern.search(text)]
    assert matched
    assert all(_gate_lets_through(row, text.lower()) for text in matched)


def test_every_reason_phrase_starts_with_a_listed_word() -> None:
    starts = formats.LAYER_PHRASE_STARTS
    assert all(re.match("|".join(starts), pattern.pattern) for pattern, _, _ in LAYER_PHRASES)


def test_shape_names_are_short_stable_words() -> None:
    assert all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", shape.name) for shape in SHAPES)
    assert SHAPES[0].role is Role.RECORD
    assert {shape.role for shape in SHAPES} == set(Role)


@pytest.mark.parametrize(
    ("phrase", "layer", "kind"),
    [
        ("because no identity-based policy allows the s3:GetObject action", Layer.IDENTITY, DenialKind.IMPLICIT),
        ("with an explicit deny in an identity-based policy", Layer.IDENTITY, DenialKind.EXPLICIT),
        ("because no resource-based policy allows the kms:Decrypt action", Layer.RESOURCE, DenialKind.IMPLICIT),
        ("with an explicit deny in a resource-based policy", Layer.RESOURCE, DenialKind.EXPLICIT),
        ("because no role trust policy allows the sts:AssumeRole action", Layer.TRUST, DenialKind.IMPLICIT),
        ("with an explicit deny in the role trust policy", Layer.TRUST, DenialKind.EXPLICIT),
        (
            "because no permissions boundary allows the codedeploy:ListDeployments action",
            Layer.BOUNDARY,
            DenialKind.IMPLICIT,
        ),
        ("with an explicit deny in a permissions boundary", Layer.BOUNDARY, DenialKind.EXPLICIT),
        ("because no session policy allows the codecommit:ListRepositories action", Layer.SESSION, DenialKind.IMPLICIT),
        ("with an explicit deny in a sessions policy", Layer.SESSION, DenialKind.EXPLICIT),
        ("with an explicit deny in a session policy", Layer.SESSION, DenialKind.EXPLICIT),
        (
            "because no service control policy allows the codecommit:ListRepositories action",
            Layer.SCP,
            DenialKind.IMPLICIT,
        ),
        ("with an explicit deny in a service control policy", Layer.SCP, DenialKind.EXPLICIT),
        ("with an explicit deny in a resource control policy", Layer.RCP, DenialKind.EXPLICIT),
        (
            "because no VPC endpoint policy allows the codecommit:ListRepositories action",
            Layer.VPCE,
            DenialKind.IMPLICIT,
        ),
        ("with an explicit deny in a VPC endpoint policy", Layer.VPCE, DenialKind.EXPLICIT),
        (
            "with an explicit deny in a VPC endpoint policy transitively through a service control policy",
            Layer.SCP,
            DenialKind.EXPLICIT,
        ),
        (
            "because the resource does not exist in this Region, no resource-based policies allow access, or a "
            "resource-based policy explicitly denies access",
            Layer.RESOURCE,
            None,
        ),
        ("with an explicit deny", None, DenialKind.EXPLICIT),
    ],
)
def test_each_documented_reason_names_its_layer_and_kind(
    phrase: str, layer: Layer | None, kind: DenialKind | None
) -> None:
    first = next((layer, kind) for pattern, layer, kind in LAYER_PHRASES if pattern.match(phrase))
    assert first == (layer, kind)
    # The whole phrase is consumed: a shorter, less specific row must not have matched first.
    matched = next(pattern.match(phrase) for pattern, _, _ in LAYER_PHRASES if pattern.match(phrase))
    assert matched is not None
    assert matched.end() == len(phrase)


@pytest.mark.parametrize("look_alike", [*LOOK_ALIKES, HTTP_403], ids=lambda la: la.code)
def test_each_look_alike_explains_itself_in_one_line(look_alike: formats.LookAlike) -> None:
    assert look_alike.explanation.endswith(".")
    assert "\n" not in look_alike.explanation
    assert look_alike.needs


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation",
            "InvalidClientTokenId",
        ),
        ("The security token included in the request is expired", "ExpiredToken"),
        ("ExpiredTokenException: The security token included in the request is expired", "ExpiredTokenException"),
        ("SignatureDoesNotMatch", "SignatureDoesNotMatch"),
        ("UnrecognizedClientException: The security token included in the request is invalid", "InvalidClientTokenId"),
        ("AuthFailure: AWS was not able to validate the provided access credentials", "AuthFailure"),
        ("RequestExpired: Request has expired.", "RequestExpired"),
        ('Error from server (Forbidden): pods is forbidden: User "x" cannot list resource "pods"', "Forbidden"),
        ("Unable to locate credentials", "NoCredentialsError"),
    ],
)
def test_look_alike_texts_are_named_by_the_first_matching_row(text: str, code: str) -> None:
    first = next(look_alike for look_alike in LOOK_ALIKES if look_alike.pattern.search(text))
    assert first.code == code
    assert any(word in text.lower() for word in first.needs)


def test_the_code_words_have_hints_that_find_them() -> None:
    for code in formats._CODES:
        assert any(hint in code.lower() for hint in formats._CODE_HINTS), code


def test_every_table_action_is_a_real_action() -> None:
    for (service, operation), action in operations.ACTION_OF_OPERATION.items():
        assert catalog.canonical_action(action) == action, (service, operation)
        assert action.startswith(f"{service}:") or service == "bedrock"


def test_every_listed_operation_resolves_to_a_real_action() -> None:
    unresolved = [
        (operation, service)
        for operation, service in operations.SERVICE_OF_OPERATION.items()
        if operations.resolve(operation).action is None
    ]
    assert unresolved == []


def test_no_operation_is_listed_under_two_services() -> None:
    names = [name for names in operations._OPERATIONS_BY_SERVICE.values() for name in names.split()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("operation", "service", "action"),
    [
        ("ListObjectsV2", None, "s3:ListBucket"),
        ("HeadObject", None, "s3:GetObject"),
        ("HeadBucket", "S3", "s3:ListBucket"),
        ("ListBuckets", None, "s3:ListAllMyBuckets"),
        ("Invoke", None, "lambda:InvokeFunction"),
        ("GetFunction20150331v2", "lambda.amazonaws.com", "lambda:GetFunction"),
        ("SendMessageBatch", "AmazonSQS", "sqs:SendMessage"),
        ("GetItem", "DynamoDB", "dynamodb:GetItem"),
        ("Decrypt", "AWSKMS", "kms:Decrypt"),
        ("AssumeRole", "AWSSecurityTokenService", "sts:AssumeRole"),
        ("GetRestApis", "API Gateway", "apigateway:GET"),
        ("PutParameter", "AWSSimpleSystemsManagement", "ssm:PutParameter"),
        ("Converse", None, "bedrock:InvokeModel"),
        # A transaction of reads is authorized as GetItem on each item.
        ("TransactGetItems", None, "dynamodb:GetItem"),
        # Only the catalogue knows this one: the operation name is unique to one service.
        ("DescribeDBProxies", None, "rds:DescribeDBProxies"),
    ],
)
def test_operations_resolve_to_the_action_they_are_authorized_as(
    operation: str, service: str | None, action: str
) -> None:
    assert operations.resolve(operation, service) == operations.Resolution(action, action.split(":")[0])


def test_every_multi_action_operation_lists_real_actions_of_its_service() -> None:
    for (service, operation), actions in operations.ACTIONS_OF_OPERATION.items():
        assert len(actions) > 1, operation
        assert all(catalog.canonical_action(action) == action for action in actions), operation
        assert all(action.startswith(f"{service}:") for action in actions), operation


@pytest.mark.parametrize(("operation", "service"), [("TransactWriteItems", None), ("ReEncrypt", "AWSKMS")])
def test_an_operation_authorized_under_several_actions_names_them_and_guesses_none(
    operation: str, service: str | None
) -> None:
    resolution = operations.resolve(operation, service)
    prefix = "kms" if service else "dynamodb"
    actions = operations.ACTIONS_OF_OPERATION[(prefix, operation)]
    assert (resolution.action, resolution.service) == (None, prefix)
    assert resolution.warning is not None
    assert all(action in resolution.warning for action in actions)


def test_an_operation_of_many_services_is_not_guessed() -> None:
    resolution = operations.resolve("ListTagsForResource")
    assert resolution.action is None
    assert resolution.warning is not None
    assert "several services" in resolution.warning
    assert operations.resolve("ListTagsForResource", "Amazon SNS").action == "sns:ListTagsForResource"


def test_an_unknown_operation_is_reported() -> None:
    resolution = operations.resolve("FrobnicateWidgets")
    assert resolution == operations.Resolution(
        None,
        warning="FrobnicateWidgets is neither an IAM action name nor an operation iamwhy maps; "
        "its IAM action is unknown.",
    )


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("s3.amazonaws.com", "s3"),
        ("monitoring.amazonaws.com", "cloudwatch"),
        ("Secrets Manager", "secretsmanager"),
        ("AWSSecurityTokenService", "sts"),
        ("Amazon S3", "s3"),
        ("CloudWatch Logs", "logs"),
        ("DynamoDBv2", "dynamodb"),
        ("SecurityToken", "sts"),
        ("execute-api.amazonaws.com", "execute-api"),
        ("s3api", "s3"),
        ("not-a-service", None),
    ],
)
def test_service_names_map_to_iam_prefixes(name: str, prefix: str | None) -> None:
    assert operations.service_prefix(name) == prefix
