"""The message fixture table, every field of every row; and what the parser guarantees about its output."""

from __future__ import annotations

from typing import Any

import pytest

from diagnostics import parse
from diagnostics.model import DenialKind, Layer, PrincipalType, ScanResult
from diagnostics.parse import ENCODED_PREVIEW, SNIPPET_LIMIT, find_denials, scan
from diagnostics.secrets import find_secrets
from tests.diagnostics.parse_fixtures import expected_record, rows, scan_record

ROWS = rows()
NAMES = [name for name, _ in ROWS]

ACCESS_KEY = "AKIAZ7QPLM4N5R6T7U8W"
SECRET_KEY = "q8Vw3Zr5Tb7Yn1Mc4Kd6Hf9Jg2Lp0Xs5Ua8Eo3Ri"
CLI_DENIAL = (
    "An error occurred (AccessDenied) when calling the GetObject operation: User: "
    "arn:aws:iam::123456789012:user/build-bot is not authorized to perform: s3:GetObject on resource: "
    '"arn:aws:s3:::prod-artifacts/release.tar.gz" because no identity-based policy allows the s3:GetObject action'
)


def test_the_table_holds_at_least_eighty_uniquely_named_rows() -> None:
    assert len(ROWS) >= 80
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize(("name", "row"), ROWS, ids=NAMES)
def test_row_parses_to_its_expected_record(name: str, row: dict[str, Any]) -> None:
    assert scan_record(scan(row["text"])) == expected_record(row["expected"])


@pytest.mark.parametrize(("name", "row"), ROWS, ids=NAMES)
def test_row_output_is_safe_to_show(name: str, row: dict[str, Any]) -> None:
    _assert_safe_to_show(scan(row["text"]))


def _assert_safe_to_show(result: ScanResult) -> None:
    for denial in result.denials:
        assert denial.snippet.strip()
        assert len(denial.snippet) <= SNIPPET_LIMIT
        shown = [denial.snippet, *denial.warnings, *(str(v) for v in denial.context.values())]
        shown += [denial.principal_arn or "", denial.action or "", denial.resource_arn or ""]
        assert all(find_secrets(text) == [] for text in shown)
        if denial.encoded_message and len(denial.encoded_message) > ENCODED_PREVIEW:
            assert denial.encoded_message not in denial.snippet
        if denial.authorization_id:
            assert denial.authorization_id not in denial.snippet
    for other in result.other_errors:
        assert other.explanation.strip()
        assert "\n" not in other.explanation
        assert find_secrets(other.snippet) == []


def test_find_denials_is_the_list_of_scanned_denials() -> None:
    text = f"{CLI_DENIAL}\n\nAn error occurred (ExpiredToken) when calling the ListBuckets operation: expired"
    assert find_denials(text) == list(scan(text).denials)
    assert len(find_denials(text)) == 1


@pytest.mark.parametrize("text", ["", " ", "\n\n", "ok thanks!", "the build is green again"])
def test_text_without_errors_finds_nothing(text: str) -> None:
    assert scan(text) == ScanResult(denials=())


def test_a_credential_in_the_paste_is_reported_and_never_echoed() -> None:
    text = f"export AWS_ACCESS_KEY_ID={ACCESS_KEY}\nexport AWS_SECRET_ACCESS_KEY={SECRET_KEY}\n{CLI_DENIAL}"
    result = scan(text)
    assert result.secrets_found
    assert len(result.denials) == 1
    assert ACCESS_KEY not in repr(result)
    assert SECRET_KEY not in repr(result)


def test_a_credential_inside_the_denial_itself_is_redacted_from_every_field() -> None:
    text = CLI_DENIAL.replace("release.tar.gz", f"{ACCESS_KEY}.json")
    result = scan(text)
    assert result.secrets_found
    assert ACCESS_KEY not in repr(result)
    assert result.denials[0].resource_arn == "arn:aws:s3:::prod-artifacts/[redacted access key id].json"


def test_a_pre_signed_url_is_a_credential_and_its_signature_is_never_echoed() -> None:
    signature = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    url = (
        f"https://prod-artifacts.s3.amazonaws.com/release.tar.gz?X-Amz-Signature={signature}"
        "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAQ2W3E4R5T6Y7U8I9%2F20240501%2Fus-east-1%2Fs3%2F"
        "aws4_request&X-Amz-Date=20240501T101500Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    )
    result = scan(f"AccessDenied: Access Denied fetching {url}")
    assert result.secrets_found
    assert len(result.denials) == 1
    assert "?X-Amz-Signature=[redacted request signature]&" in result.denials[0].snippet
    assert "X-Amz-Credential=[redacted access key id]%2F" in result.denials[0].snippet
    assert signature not in repr(result)
    assert "ASIAQ2W3E4R5T6Y7U8I9" not in repr(result)


def test_a_wrapped_credential_is_still_redacted_from_the_snippet() -> None:
    text = f"{CLI_DENIAL} (AWS_ACCESS_KEY_ID={ACCESS_KEY[:10]}\n{ACCESS_KEY[10:]})"
    result = scan(text)
    assert result.secrets_found
    assert ACCESS_KEY[:10] not in result.denials[0].snippet


def test_the_snippet_of_a_long_message_is_clipped() -> None:
    # S3 keys may be 1,024 characters long.
    text = CLI_DENIAL.replace("release.tar.gz", "x" * 1024)
    denial = scan(text).denials[0]
    assert len(denial.snippet) == SNIPPET_LIMIT
    assert denial.snippet.endswith("...")
    assert denial.resource_arn == f"arn:aws:s3:::prod-artifacts/{'x' * 1024}"


def test_the_encoded_message_is_kept_whole_but_shown_clipped() -> None:
    blob = "Ab9_-" * 200
    text = (
        "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not "
        f"authorized to perform this operation. Encoded authorization failure message: {blob}"
    )
    denial = scan(text).denials[0]
    assert denial.encoded_message == blob
    assert f"{blob[:ENCODED_PREVIEW]}... ({len(blob)} characters)" in denial.snippet


def test_an_encoded_message_wrapped_by_a_terminal_is_joined_again() -> None:
    blob = "Zx9kT2pQW0-b4LmN7_qRsT1uVwXyZ3aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789-_AbCdEfGhIjKlMnOpQr"
    lines = [blob[i : i + 30] for i in range(0, len(blob), 30)]
    text = (
        "An error occurred (UnauthorizedOperation) when calling the CreateVpc operation: You are not authorized "
        "to perform this operation. Encoded authorization failure message: " + "\n".join(lines) + "\n\nthanks"
    )
    assert scan(text).denials[0].encoded_message == blob


@pytest.mark.parametrize(
    "layout",
    [
        '{\n  "errorCode": "AccessDenied",\n  "errorMessage": "Access Denied"\n}',
        "<Error>\n  <Code>AccessDenied</Code>\n</Error>",
        "S3Exception: Access Denied\n\tat software.amazon.awssdk.core.Response.handle(Response.java:9)\n"
        "\tat software.amazon.awssdk.core.Pipeline.execute(Pipeline.java:22)",
    ],
)
def test_indented_layout_is_not_taken_for_a_wrap(layout: str) -> None:
    # JSON, XML and stack traces keep their lines: only text a wrapper broke is re-joined.
    assert parse._unwrap(layout) == layout


def test_the_authorization_id_is_kept_but_not_shown_in_the_snippet() -> None:
    text = (
        "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: ec2:StopInstances with an explicit "
        "deny in an identity-based policy. Go to https://eu-west-1.console.aws.amazon.com/iam/home?region=eu-west-1"
        "#/authorization-details/q1w2e3r4t5y6 for complete details, or call the GetRequestAuthorizationDetails API "
        "with the following authorization id: q1w2e3r4t5y6"
    )
    denial = scan(text).denials[0]
    assert (denial.authorization_id, denial.authorization_region) == ("q1w2e3r4t5y6", "eu-west-1")
    assert denial.snippet.count("[authorization id]") == 2


def test_an_assumed_role_keeps_the_session_and_derives_the_role() -> None:
    denial = scan(CLI_DENIAL.replace("iam::123456789012:user/build-bot", "sts::123456789012:assumed-role/ci/run-7"))
    principal = denial.denials[0].principal
    assert principal is not None
    assert (principal.type, principal.arn) == (
        PrincipalType.ASSUMED_ROLE,
        "arn:aws:sts::123456789012:assumed-role/ci/run-7",
    )
    assert principal.role_arn == "arn:aws:iam::123456789012:role/ci"


def test_denials_come_in_the_order_they_were_pasted() -> None:
    second = CLI_DENIAL.replace("s3:GetObject", "s3:PutObject").replace("GetObject operation", "PutObject operation")
    actions = [d.action for d in scan(f"{second}\n{CLI_DENIAL}").denials]
    assert actions == ["s3:PutObject", "s3:GetObject"]


def test_the_same_input_always_gives_the_same_result() -> None:
    text = "\n".join(row["text"] for _, row in ROWS[:40])
    assert scan(text) == scan(text)


def test_a_large_paste_of_many_denials_finds_each_once() -> None:
    denials = [CLI_DENIAL.replace("build-bot", f"bot-{i}") for i in range(300)]
    result = scan("\n".join(denials))
    assert [d.principal_arn for d in result.denials] == [f"arn:aws:iam::123456789012:user/bot-{i}" for i in range(300)]


def test_a_record_cut_inside_a_string_reads_every_field_before_the_cut() -> None:
    text = (
        '{"eventSource": "kms.amazonaws.com", "eventName": "Decrypt", "awsRegion": "us-east-1", '
        '"userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/ops", '
        '"accountId": "123456789012"}, '
        '"errorCode": "AccessDenied", "errorMessage": "User: arn:aws:iam::123456789012:user/ops is not auth'
    )
    denial = scan(text).denials[0]
    assert (denial.principal_arn, denial.action, denial.error_code) == (
        "arn:aws:iam::123456789012:user/ops",
        "kms:Decrypt",
        "AccessDenied",
    )
    assert denial.warnings == ("The CloudTrail event is cut off; only the fields before the cut were read.",)


def test_a_record_printed_by_python_reads_its_escapes_and_constructor_calls() -> None:
    text = (
        "{'eventTime': datetime.datetime(2024, 5, 1, 10, 2, 11), 'eventSource': 'sqs.amazonaws.com', "
        "'eventName': 'SendMessage', 'awsRegion': 'eu-west-1', 'readOnly': False, 'responseElements': None, "
        "'userIdentity': {'type': 'IAMUser', 'arn': 'arn:aws:iam::123456789012:user/o\\'brien'}, "
        "'requestParameters': {'queueUrl': 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs'}, "
        "'errorCode': 'AccessDenied', 'errorMessage': \"Access to the resource isn't allowed\"}"
    )
    denial = scan(text).denials[0]
    assert denial.principal_arn == "arn:aws:iam::123456789012:user/o'brien"
    assert (denial.action, denial.resource_arn) == ("sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:jobs")
    assert denial.warnings == ()


def test_a_resource_ends_at_a_closing_tag_but_keeps_a_placeholder() -> None:
    text = (
        "<Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/build-bot is not authorized to "
        "perform: s3:GetObject on resource: arn:aws:s3:::prod-artifacts/<object-key></Message></Error>"
    )
    (denial,) = scan(text).denials
    assert denial.resource_arn == "arn:aws:s3:::prod-artifacts/<object-key>"
    closing = text.replace("<object-key>", "release.tar.gz")
    (denial,) = scan(closing).denials
    assert denial.resource_arn == "arn:aws:s3:::prod-artifacts/release.tar.gz"


@pytest.mark.parametrize(("name", "row"), ROWS, ids=NAMES)
def test_a_final_line_break_changes_nothing(name: str, row: dict[str, Any]) -> None:
    # Files and terminals end a paste with a line break, Slack messages usually without: both read alike.
    text = row["text"].rstrip("\n")
    expected = scan_record(scan(text))
    assert scan_record(scan(text + "\n")) == expected
    assert scan_record(scan(text + "\n\n")) == expected


def test_an_sdk_denial_code_inside_a_tools_own_code_is_the_denial() -> None:
    text = (
        'Resource handler returned message: "Service returned error code AccessDeniedException (Service: Sqs, Status '
        'Code: 403, Request ID: 5d0c1a4e)" (RequestToken: 0a1b2c3d, HandlerErrorCode: GeneralServiceException)'
    )
    (denial,) = scan(text).denials
    assert (denial.error_code, denial.source_format) == ("AccessDeniedException", "cloudformation")
    expired = text.replace("AccessDeniedException", "ExpiredTokenException")
    assert scan(expired).denials == ()


def test_cloudwatch_logs_names_an_account_and_an_operation() -> None:
    text = (
        'Resource handler returned message: "User with accountId: 310987654321 is not authorized to perform '
        'CreateLogGroup with Tags (Service: CloudWatchLogs, Status Code: 400, Request ID: 1a2b3c4d)"'
    )
    (denial,) = scan(text).denials
    assert (denial.account_id, denial.api_operation) == ("310987654321", "CreateLogGroup")
    # "with Tags": the tagging permission is the one missing.
    assert denial.action == "logs:TagResource"
    assert "logs:TagResource" in denial.warnings[0]
    assert "logs:CreateLogGroup" in denial.warnings[0]


def test_cloudwatch_logs_without_tags_names_the_operation_action() -> None:
    (denial,) = scan("User with accountId: 310987654321 is not authorized to perform PutRetentionPolicy").denials
    assert (denial.action, denial.api_operation, denial.warnings) == (
        "logs:PutRetentionPolicy",
        "PutRetentionPolicy",
        (),
    )


def test_an_sdk_frame_names_the_operation_an_error_left_out() -> None:
    go_debug = (
        "DEBUG: Response ec2/DescribeVolumes Details:\nHTTP/1.1 403 Forbidden\n\n"
        "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this "
        "operation.</Message></Error></Errors></Response>"
    )
    js_frame = "AccessDenied: Access Denied\n    at de_PutObjectCommandError (/app/index.js:44:21)"
    kotlin_frame = (
        "aws.sdk.kotlin.services.s3.model.S3Exception: Service returned error code 403: Forbidden\n"
        "    at aws.sdk.kotlin.services.s3.serde.HeadObjectOperationDeserializerKt.throwHeadObjectError(x.kt:9)"
    )
    found = [(d.action, d.api_operation) for text in (go_debug, js_frame, kotlin_frame) for d in scan(text).denials]
    assert found == [
        ("ec2:DescribeVolumes", "DescribeVolumes"),
        ("s3:PutObject", "PutObject"),
        ("s3:GetObject", "HeadObject"),
    ]


def test_a_frame_far_from_the_error_or_an_operation_the_error_names_wins_over_frames() -> None:
    named = (
        "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied\n"
        "    at de_GetObjectCommandError (x.js:1:1)"
    )
    (denial,) = scan(named).denials
    assert denial.api_operation == "ListBuckets"
    far = "AccessDenied: Access Denied\n" + "x" * 3000 + "\n    at de_PutObjectCommandError (x.js:1:1)"
    (denial,) = scan(far).denials
    assert denial.api_operation is None


def test_consecutive_cli_errors_without_a_sentence_are_separate_denials() -> None:
    text = (
        "ERROR: An error occurred (AccessDeniedException) when calling the ListPolicies operation: You don't have "
        "permissions to access this resource.\n"
        "ERROR: An error occurred (AccessDeniedException) when calling the ListRoots operation: You don't have "
        "permissions to access this resource."
    )
    # Organizations' own message tells its ListPolicies from IAM's.
    assert [(d.action, d.api_operation) for d in scan(text).denials] == [
        ("organizations:ListPolicies", "ListPolicies"),
        ("organizations:ListRoots", "ListRoots"),
    ]


def test_a_look_alike_line_does_not_swallow_the_denial_after_it() -> None:
    text = (
        "An error occurred (ExpiredToken) when calling the ListBuckets operation: The provided token has expired.\n"
        "An error occurred (AccessDenied) when calling the ListBuckets operation: Access Denied"
    )
    result = scan(text)
    assert [(d.action, d.error_code) for d in result.denials] == [("s3:ListAllMyBuckets", "AccessDenied")]
    assert [other.code for other in result.other_errors] == ["ExpiredToken"]


def test_a_cli_command_of_another_service_does_not_name_the_next_errors_service() -> None:
    text = (
        "$ aws s3 ls s3://finance-exports/\n"
        "An error occurred (AccessDenied) when calling the ListObjectsV2 operation: Access Denied\n"
        "An error occurred (AccessDeniedException) when calling the TransactWriteItems operation: Access denied"
    )
    first, second = scan(text).denials
    assert (first.action, first.resource_arn) == ("s3:ListBucket", "arn:aws:s3:::finance-exports")
    # DynamoDB's operation, with no S3 object of the command's attached to it.
    assert (second.api_operation, second.resource_arn) == ("TransactWriteItems", None)
    assert "dynamodb:PutItem" in second.warnings[0]


def test_two_cli_errors_one_after_the_other_keep_their_own_operations() -> None:
    text = (
        "An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token included "
        "in the request is expired\nafter re-login:\n" + CLI_DENIAL
    )
    result = scan(text)
    (denial,) = result.denials
    assert (denial.api_operation, denial.error_code) == ("GetObject", "AccessDenied")
    assert [other.code for other in result.other_errors] == ["ExpiredToken"]


def test_go_sdk_prefix_with_its_request_id_trimmed_still_names_the_operation() -> None:
    text = (
        "operation error Bedrock: PutModelInvocationLoggingConfiguration, https response error StatusCode: 403, "
        "User: arn:aws:sts::310987654321:assumed-role/terraform-apply/run-7 is not authorized to perform: "
        "iam:PassRole on resource: arn:aws:iam::310987654321:role/bedrock-logging"
    )
    (denial,) = scan(text).denials
    assert (denial.action, denial.api_operation) == ("iam:PassRole", "PutModelInvocationLoggingConfiguration")
    neighbour = (
        "$ aws s3 cp s3://team-exports/q3.parquet .\nfatal error: An error occurred (403) when calling the HeadObject "
        "operation: Forbidden\noperation error S3: HeadBucket, https response error StatusCode: 403,"
    )
    (denial,) = scan(neighbour).denials
    assert denial.api_operation == "HeadObject"


def test_an_empty_placeholder_is_part_of_the_arn() -> None:
    text = (
        "User: arn:aws:sts::<>:assumed-role/api-role/api is not authorized to perform: kms:Decrypt on resource: "
        "arn:aws:kms:us-east-1:<>:key/<> because no identity-based policy allows the kms:Decrypt action"
    )
    (denial,) = scan(text).denials
    assert denial.resource_arn == "arn:aws:kms:us-east-1:<>:key/<>"
    assert denial.reported.layer is Layer.IDENTITY


@pytest.mark.parametrize("placeholder", ["[account id]", "<account id>"])
def test_a_placeholder_with_spaces_inside_the_principal_arn_keeps_the_principal(placeholder: str) -> None:
    principal = f"arn:aws:sts::{placeholder}:assumed-role/limit-monitor/check"
    text = f"AccessDeniedException: User: {principal} is not authorized to perform: servicequotas:GetServiceQuota"
    (denial,) = scan(text).denials
    assert denial.principal is not None
    assert denial.principal.arn == principal
    assert denial.warnings == (
        f"The principal ARN looks redacted ({principal}); iamwhy needs the real ARN to investigate.",
    )


def test_a_json_block_under_a_line_of_prose_keeps_its_layout() -> None:
    record = (
        '{\n  "eventVersion": "1.09",\n  "userIdentity": {"type": "IAMUser", '
        '"arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012"},\n'
        '  "eventSource": "s3.amazonaws.com",\n  "eventName": "GetObject",\n  "awsRegion": "eu-west-1",\n'
        '  "errorCode": "AccessDenied",\n  "errorMessage": "Access Denied"\n}'
    )
    for text in (f"the event from the alert:\n{record}", f"the event from the alert:\n```\n{record}\n```"):
        (denial,) = scan(text).denials
        assert (denial.action, denial.source_format) == ("s3:GetObject", "cloudtrail")
        # Read as laid out, not as one re-joined line: the snippet is the record as pasted.
        assert denial.snippet == record


def test_iam_names_its_own_role_or_user_by_name() -> None:
    text = (
        "User: arn:aws:iam::444455556666:user/deployer is not authorized to perform: iam:GetRole on resource: "
        "role cdk-hnb659fds-deploy-role-444455556666-eu-west-1 because no identity-based policy allows the "
        "iam:GetRole action"
    )
    (denial,) = scan(text).denials
    assert denial.resource_arn == "arn:aws:iam::444455556666:role/cdk-hnb659fds-deploy-role-444455556666-eu-west-1"
    # The reason after the name is still read.
    assert (denial.reported.layer, denial.reported.kind) == (Layer.IDENTITY, DenialKind.IMPLICIT)
    assert "path" in denial.warnings[0]
    masked = (
        "User: arn:aws:sts::XXXXXXXXXXXX:assumed-role/admin/s is not authorized to perform: iam:GetLoginProfile "
        "on resource: user vault"
    )
    (denial,) = scan(masked).denials
    assert denial.resource_arn is None
    assert any("user vault" in warning for warning in denial.warnings)
    # Only IAM's own actions name their resources this way.
    (denial,) = scan(
        "User: arn:aws:iam::444455556666:user/d is not authorized to perform: s3:GetObject on resource: role x"
    ).denials
    assert denial.resource_arn == "role"


def test_an_arn_with_spaces_left_around_a_taken_out_part_is_read_whole() -> None:
    text = (
        "User: arn:aws:iam::xxxx :user/xxxx is not authorized to perform: dynamodb:PutItem on resource: "
        "arn:aws:dynamodb:eu-west-1: ... :table/Orders because no identity-based policy allows the "
        "dynamodb:PutItem action"
    )
    (denial,) = scan(text).denials
    assert denial.principal is not None
    assert denial.principal.arn == "arn:aws:iam::xxxx:user/xxxx"
    assert (denial.resource_arn, denial.region) == ("arn:aws:dynamodb:eu-west-1:...:table/Orders", "eu-west-1")
    # The reason after the resource is no longer lost, and both ARNs are flagged as redacted.
    assert denial.reported.layer is Layer.IDENTITY
    assert len([w for w in denial.warnings if "redacted" in w]) == 2


def test_an_ascii_gutter_under_a_heading_is_taken_off_before_the_message_is_read() -> None:
    text = (
        "Release backend: FAILED\n"
        "  - | decrypting secrets.enc.yaml failed: operation\n"
        "    | error KMS: Decrypt, https response error StatusCode: 400,\n"
        "    | RequestID: 0f1e2d3c, api error AccessDeniedException: The\n"
        "    | ciphertext refers to a customer master key that does not\n"
        "    | exist, does not exist in this region, or you are not allowed to access."
    )
    (denial,) = scan(text).denials
    assert (denial.action, denial.api_operation, denial.error_code) == (
        "kms:Decrypt",
        "Decrypt",
        "AccessDeniedException",
    )
    # A table keeps its rows: one row's pipe is no gutter of the next row's sentence.
    table = "| check | result |\n|---|---|\n| deploy | " + CLI_DENIAL + " |"
    (denial,) = scan(table).denials
    assert denial.action == "s3:GetObject"
