"""Evidence commands: real values, shell-quoted, only those that apply, most useful first."""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import replace

import pytest

from diagnostics.commands import (
    ENCODED_MESSAGE_VARIABLE,
    authorization_details_command,
    boundary_command,
    decode_message_command,
    evidence_commands,
    layer_commands,
    resource_policy_command,
    simulate_command,
)
from diagnostics.model import DenialKind, Layer
from diagnostics.remediation import policy_holder, policy_readable
from tests.diagnostics.denials import (
    ACCOUNT,
    GUARDRAIL_ARN,
    KEY,
    OBJECT,
    OTHER_ACCOUNT,
    ROLE,
    SCP_ARN,
    SESSION,
    SSO_SESSION,
    USER,
    denial,
)

CALLER = "aws sts get-caller-identity"


def test_reported_identity_deny_for_a_user() -> None:
    request = denial(USER, "s3:GetObject", OBJECT, layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT)
    assert evidence_commands(request, [Layer.IDENTITY]) == (
        CALLER,
        f"aws iam simulate-principal-policy --policy-source-arn {USER} --action-names s3:GetObject "
        f"--resource-arns {OBJECT}",
    )


def test_simulation_of_a_session_resolves_the_role_arn_never_the_session() -> None:
    command = simulate_command(denial(SSO_SESSION, "s3:GetObject", OBJECT))
    assert command is not None
    assert SSO_SESSION not in command
    assert command.startswith(
        'aws iam simulate-principal-policy --policy-source-arn "$(aws iam get-role --role-name '
        'AWSReservedSSO_DataReaders_0123456789abcdef --query Role.Arn --output text)"'
    )


@pytest.mark.parametrize("principal", ["anonymous", "events.amazonaws.com", f"arn:aws:iam::{ACCOUNT}:root", None])
def test_no_simulation_for_callers_iam_cannot_simulate(principal: str | None) -> None:
    assert simulate_command(denial(principal, "s3:GetObject", OBJECT)) is None


def test_unsigned_api_gateway_call_reads_the_apis_policy_and_no_caller_identity() -> None:
    api = "arn:aws:execute-api:us-west-2:********2543:vd2gh6uqw3/api/GET/"
    assert evidence_commands(denial("anonymous", "execute-api:Invoke", api)) == (
        "aws apigateway get-rest-api --rest-api-id vd2gh6uqw3 --query policy --output text --region us-west-2",
        "aws apigateway get-resources --rest-api-id vd2gh6uqw3 --embed methods "
        "--query 'items[].[path, resourceMethods.*.[httpMethod, authorizationType]]' --region us-west-2",
    )


def test_lake_formation_refusal_lists_the_data_lake_admins_and_the_grants_on_its_resource() -> None:
    refusal = "Insufficient Lake Formation permission(s): Required Create Database on Catalog"
    request = replace(denial(SESSION, "glue:CreateDatabase", None, region="eu-west-1"), snippet=refusal)
    assert evidence_commands(request) == (
        CALLER,
        "aws lakeformation get-data-lake-settings --query DataLakeSettings.DataLakeAdmins --region eu-west-1",
        f"aws lakeformation list-permissions --principal DataLakePrincipalIdentifier={ROLE} "
        "--resource '{\"Catalog\": {}}' --region eu-west-1",
    )
    unnamed = replace(request, principal=None)
    assert (
        evidence_commands(unnamed)[-1]
        == "aws lakeformation list-permissions --resource '{\"Catalog\": {}}' --region eu-west-1"
    )


@pytest.mark.parametrize(
    ("resource", "readable"),
    [
        (OBJECT, True),
        (KEY, True),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs", True),
        (f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts", True),
        (f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf", True),
        (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:worker", True),
        (f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/images", True),
        (f"arn:aws:iam::{ACCOUNT}:role/deployer", True),
        (f"arn:aws:iam::{ACCOUNT}:user/build-bot", False),
        (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders", False),
    ],
)
def test_a_resource_policy_command_exists_exactly_where_the_fixes_say_one_does(resource: str, readable: bool) -> None:
    holder = policy_holder(resource)
    assert policy_readable(holder) is readable
    assert (resource_policy_command(holder) is not None) is readable


def test_values_are_shell_quoted() -> None:
    odd_object = "arn:aws:s3:::prod-artifacts/it's $HOME; rm -rf *.tar.gz"
    command = simulate_command(denial(USER, "s3:GetObject", odd_object))
    assert command is not None
    words = shlex.split(command)
    assert words[words.index("--resource-arns") + 1] == odd_object


def test_simulation_without_resource_omits_resource_arns() -> None:
    command = simulate_command(denial(USER, "sts:GetCallerIdentity", None))
    assert command == (
        f"aws iam simulate-principal-policy --policy-source-arn {USER} --action-names sts:GetCallerIdentity"
    )


def test_authorization_record_and_decoding_come_first() -> None:
    request = denial(
        USER,
        "iam:CreateInstanceProfile",
        f"arn:aws:iam::{ACCOUNT}:instance-profile/my-instance-profile",
        layer=Layer.IDENTITY,
        kind=DenialKind.EXPLICIT,
        policy_arn=GUARDRAIL_ARN,
        authorization_id="example1a2b3c4d5e6f",
        authorization_region="us-east-1",
        encoded_message="x" * 2000,
    )
    commands = evidence_commands(request, [Layer.IDENTITY])
    assert commands[0] == (
        "aws iam-toolbox get-request-authorization-details --authorization-id example1a2b3c4d5e6f --region us-east-1"
    )
    assert commands[1] == (
        'aws sts decode-authorization-message --encoded-message "$ENCODED" --query DecodedMessage --output text'
    )
    assert commands[2] == CALLER
    assert "x" * 100 not in " ".join(commands)
    assert commands[-1] == (
        f"aws iam get-policy-version --policy-arn {GUARDRAIL_ARN} --version-id "
        f'"$(aws iam get-policy --policy-arn {GUARDRAIL_ARN} --query Policy.DefaultVersionId --output text)"'
    )


def test_decode_reads_the_shell_variable() -> None:
    assert f'"${ENCODED_MESSAGE_VARIABLE}"' in decode_message_command()


def test_authorization_command_without_region() -> None:
    assert (
        authorization_details_command("abc")
        == "aws iam-toolbox get-request-authorization-details --authorization-id abc"
    )


def test_explicit_scp_shows_the_policy_and_the_account_scps() -> None:
    request = denial(SESSION, "ec2:RunInstances", None, layer=Layer.SCP, kind=DenialKind.EXPLICIT, policy_arn=SCP_ARN)
    assert layer_commands(request, Layer.SCP) == (
        "aws organizations describe-policy --policy-id p-examplescp --query Policy.Content --output text",
        f"aws organizations list-policies-for-target --target-id {ACCOUNT} --filter SERVICE_CONTROL_POLICY",
        'aws iam simulate-principal-policy --policy-source-arn "$(aws iam get-role --role-name build-bot-role '
        '--query Role.Arn --output text)" --action-names ec2:RunInstances',
    )


def test_rcp_lists_the_resource_accounts_policies() -> None:
    queue = f"arn:aws:sqs:eu-west-1:{OTHER_ACCOUNT}:jobs"
    assert layer_commands(denial(ROLE, "sqs:SendMessage", queue), Layer.RCP) == (
        f"aws organizations list-policies-for-target --target-id {OTHER_ACCOUNT} --filter RESOURCE_CONTROL_POLICY",
    )


def test_rcp_is_skipped_for_services_it_does_not_govern() -> None:
    request = denial(ROLE, "ec2:DescribeInstances", None)
    assert layer_commands(request, Layer.RCP) == ()


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (USER, "aws iam get-user --user-name build-bot --query User.PermissionsBoundary"),
        (ROLE, "aws iam get-role --role-name build-bot-role --query Role.PermissionsBoundary"),
        (SESSION, "aws iam get-role --role-name build-bot-role --query Role.PermissionsBoundary"),
        (f"arn:aws:iam::{ACCOUNT}:root", None),
    ],
)
def test_boundary_command(principal: str, expected: str | None) -> None:
    assert boundary_command(denial(principal).principal) == expected


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (OBJECT, "aws s3api get-bucket-policy --bucket prod-artifacts --query Policy --output text"),
        (
            KEY,
            f"aws kms get-key-policy --key-id {KEY} --policy-name default --query Policy --output text "
            "--region us-east-1",
        ),
        (
            f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/build",
            'aws kms get-key-policy --key-id "$(aws kms describe-key --key-id '
            f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/build "
            '--query KeyMetadata.Arn --output text --region us-east-1)" --policy-name default --query Policy '
            "--output text --region us-east-1",
        ),
        (
            f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs",
            f"aws sqs get-queue-attributes --queue-url https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/jobs "
            "--attribute-names Policy --region eu-west-1",
        ),
        (
            f"arn:aws-cn:sqs:cn-north-1:{ACCOUNT}:jobs",
            f"aws sqs get-queue-attributes --queue-url https://sqs.cn-north-1.amazonaws.com.cn/{ACCOUNT}/jobs "
            "--attribute-names Policy --region cn-north-1",
        ),
        (
            f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts",
            f"aws sns get-topic-attributes --topic-arn arn:aws:sns:us-east-1:{ACCOUNT}:alerts "
            "--query Attributes.Policy --output text --region us-east-1",
        ),
        (
            f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf",
            "aws secretsmanager get-resource-policy --secret-id "
            f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf "
            "--query ResourcePolicy --output text --region us-east-1",
        ),
        (
            f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:resize:live",
            f"aws lambda get-policy --function-name arn:aws:lambda:us-east-1:{ACCOUNT}:function:resize "
            "--qualifier live --query Policy --output text --region us-east-1",
        ),
        (
            f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app",
            f"aws ecr get-repository-policy --repository-name team/app --registry-id {ACCOUNT} --query policyText "
            "--output text --region us-east-1",
        ),
        (
            f"arn:aws:s3:us-east-1:{ACCOUNT}:accesspoint/ap1/object/a.txt",
            f"aws s3control get-access-point-policy --account-id {ACCOUNT} --name ap1 --region us-east-1",
        ),
        (
            f"arn:aws:iam::{ACCOUNT}:role/ops/deployer",
            "aws iam get-role --role-name deployer --query Role.AssumeRolePolicyDocument",
        ),
        (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t", None),
    ],
)
def test_resource_policy_getters(resource: str, expected: str | None) -> None:
    assert resource_policy_command(policy_holder(resource)) == expected


def test_trust_commands_only_for_assume_role() -> None:
    target = f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer"
    assert layer_commands(denial(SESSION, "sts:AssumeRole", target), Layer.TRUST) == (
        "aws iam get-role --role-name deployer --query Role.AssumeRolePolicyDocument",
    )
    assert layer_commands(denial(SESSION, "iam:GetRole", target), Layer.TRUST) == ()


def test_vpc_endpoint_command_needs_the_endpoint_id() -> None:
    assert layer_commands(denial(ROLE), Layer.VPCE) == ()
    request = denial(ROLE, context={"aws:SourceVpce": "vpce-0abc1234"}, region="us-east-1")
    assert layer_commands(request, Layer.VPCE) == (
        "aws ec2 describe-vpc-endpoints --vpc-endpoint-ids vpce-0abc1234 --query 'VpcEndpoints[].PolicyDocument' "
        "--region us-east-1",
    )


def test_all_layers_when_the_message_gives_no_reason() -> None:
    commands = evidence_commands(denial(ROLE, "kms:Decrypt", KEY))
    assert commands == (
        CALLER,
        f"aws iam simulate-principal-policy --policy-source-arn {ROLE} --action-names kms:Decrypt "
        f"--resource-arns {KEY}",
        f"aws kms get-key-policy --key-id {KEY} --policy-name default --query Policy --output text --region us-east-1",
        "aws iam get-role --role-name build-bot-role --query Role.PermissionsBoundary",
        f"aws organizations list-policies-for-target --target-id {ACCOUNT} --filter SERVICE_CONTROL_POLICY",
        f"aws organizations list-policies-for-target --target-id {ACCOUNT} --filter RESOURCE_CONTROL_POLICY",
    )


def test_no_duplicates_and_caller_identity_once() -> None:
    request = denial(SESSION, "s3:GetObject", OBJECT)
    commands = evidence_commands(request, [Layer.IDENTITY, Layer.BOUNDARY, Layer.SESSION, Layer.IDENTITY])
    assert len(commands) == len(set(commands))
    assert commands.count(CALLER) == 1


def _run_in_shell(command: str) -> list[str]:
    """The arguments a POSIX shell passes to `aws` for this command, with `aws` replaced by an echo."""
    stub = "aws() { printf '%s\\0' \"$@\"; }; ENCODED=encoded-blob; "
    out = subprocess.run(["sh", "-c", stub + command], capture_output=True, check=True)
    return out.stdout.decode().split("\0")[:-1]


def test_commands_keep_odd_values_intact_in_a_real_shell() -> None:
    alias = f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/it's $HOME"
    odd_object = "arn:aws:s3:::prod-artifacts/a b;$(reboot)`id`.txt"
    request = denial(SSO_SESSION, "s3:GetObject", odd_object, encoded_message="e")
    args = [_run_in_shell(c) for c in evidence_commands(request)]
    simulate = next(a for a in args if a[:2] == ["iam", "simulate-principal-policy"])
    assert simulate[simulate.index("--resource-arns") + 1] == odd_object
    decode = next(a for a in args if a[:2] == ["sts", "decode-authorization-message"])
    assert decode[decode.index("--encoded-message") + 1] == "encoded-blob"
    key_policy = _run_in_shell(resource_policy_command(policy_holder(alias)) or "")
    resolved = key_policy[key_policy.index("--key-id") + 1]
    # The shell drops the NUL separators inside $(...): the inner call's arguments arrive concatenated.
    inner = ["kms", "describe-key", "--key-id", alias, "--query", "KeyMetadata.Arn", "--output", "text"]
    assert resolved == "".join([*inner, "--region", "us-east-1"])
