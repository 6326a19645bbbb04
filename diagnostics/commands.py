"""The AWS CLI commands that confirm a diagnosis, filled in with the request's real values and shell-quoted.

Commands are plain strings a person can paste. They may carry an authorization id, which is sensitive:
whoever renders them decides where that may be shown. An encoded authorization message is never pasted
into a command (it runs to kilobytes); the command reads it from the shell variable ENCODED instead.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence

from diagnostics import catalog
from diagnostics.model import DeniedRequest, Layer, Principal, PrincipalType
from diagnostics.remediation import (
    FEDERATED_ACTIONS,
    TRUST_ACTIONS,
    LakeFormationNeed,
    PolicyHolder,
    action_service,
    can_simulate,
    grantee,
    lake_formation_need,
    lambda_environment_decrypt,
    policy_holder,
    policy_readable,
    request_action,
    rest_api_id,
    root_cannot_assume,
    unsigned_api_call,
    usable_arn,
)

# The shell variable the decode command reads the encoded message from.
ENCODED_MESSAGE_VARIABLE = "ENCODED"

# Without a given list, the layers that can be checked, most often the culprit first.
DEFAULT_LAYER_ORDER = (
    Layer.IDENTITY,
    Layer.TRUST,
    Layer.RESOURCE,
    Layer.BOUNDARY,
    Layer.SCP,
    Layer.RCP,
    Layer.VPCE,
    Layer.SESSION,
)

# The SQS endpoint domain per partition, for building a queue URL from a queue ARN.
_SQS_DOMAINS = {"aws": "amazonaws.com", "aws-us-gov": "amazonaws.com", "aws-cn": "amazonaws.com.cn"}


CALLER_IDENTITY_COMMAND = "aws sts get-caller-identity"


def evidence_commands(request: DeniedRequest, layers: Sequence[Layer] | None = None) -> tuple[str, ...]:
    """The commands that confirm which layer denies ``request``, most useful first.

    ``layers`` names the layers to confirm (most suspect first); None means every layer that can apply.
    AWS's own records of the evaluation (authorization id, encoded message) always come first, then who
    the caller really is, then one or more commands per layer. Commands that do not apply are left out.
    """
    commands: list[str] = []
    if request.authorization_id:
        commands.append(authorization_details_command(request.authorization_id, _authorization_region(request)))
    if request.encoded_message:
        commands.append(decode_message_command())
    if root_cannot_assume(request):
        # STS refused the root user outright: which credentials made the call is all there is to confirm.
        return (*commands, CALLER_IDENTITY_COMMAND)
    lambda_environment = lambda_environment_decrypt(request)
    if lambda_environment:
        # The caller is the function's execution role, used by Lambda: the function's configuration names it.
        commands.extend(lambda_environment_commands(request))
    elif request_action(request) not in FEDERATED_ACTIONS and not unsigned_api_call(request):
        # A caller that signs in with an identity provider's token, or calls an API unsigned, has no credentials to
        # ask this with.
        commands.append(CALLER_IDENTITY_COMMAND)
    need = lake_formation_need(request)
    if need is not None:
        # Lake Formation refused the call, not IAM: its grants are the evidence, not the IAM layers.
        commands.extend(lake_formation_commands(request, need))
        return tuple(dict.fromkeys(commands))
    for layer in layers if layers is not None else DEFAULT_LAYER_ORDER:
        commands.extend(layer_commands(request, layer))
    return tuple(dict.fromkeys(commands))


def lambda_environment_commands(request: DeniedRequest) -> tuple[str, ...]:
    """The function's execution role and key, and the key's state, for a function whose environment variables Lambda
    could not decrypt (the function is not named in Lambda's message)."""
    region = _region_flag(request.region)
    # (The same key the fix names: a redacted or cut ARN is no key to describe.)
    key = shlex.quote(request.resource_arn) if request.resource_arn and usable_arn(request.resource_arn) else None
    return (
        "aws lambda get-function-configuration --function-name <function> --query '[Role, KMSKeyArn]'" + region,
        f"aws kms describe-key --key-id {key or '<KMSKeyArn>'} --query 'KeyMetadata.[KeyState, KeyManager]'" + region,
    )


def lake_formation_commands(request: DeniedRequest, need: LakeFormationNeed) -> tuple[str, ...]:
    """Who administers the data lake (and so can grant), and what the caller, or everyone when the caller is not
    known, holds on the resource Lake Formation named."""
    region = _region_flag(request.region)
    caller = grantee(request.principal)
    principal = f" --principal DataLakePrincipalIdentifier={shlex.quote(caller)}" if caller else ""
    return (
        "aws lakeformation get-data-lake-settings --query DataLakeSettings.DataLakeAdmins" + region,
        f"aws lakeformation list-permissions{principal} --resource {shlex.quote(need.resource)}" + region,
    )


def layer_commands(request: DeniedRequest, layer: Layer) -> tuple[str, ...]:
    """The commands that show one layer's policies for this request (empty when none can)."""
    principal = request.principal
    match layer:
        case Layer.IDENTITY:
            return _present(simulate_command(request), *_explicit_policy_commands(request, layer))
        case Layer.BOUNDARY:
            return _present(
                boundary_command(principal), *_explicit_policy_commands(request, layer), simulate_command(request)
            )
        case Layer.SESSION:
            # No API returns a session's policy; the simulation without it shows whether the session policy is
            # what makes the difference.
            return _present(simulate_command(request))
        case Layer.SCP if principal is not None and principal.type in (PrincipalType.ANONYMOUS, PrincipalType.SERVICE):
            # SCPs bind the principals of member accounts, not a caller without credentials or an AWS service.
            return ()
        case Layer.SCP:
            return _present(
                *_explicit_policy_commands(request, layer),
                org_policies_command(_principal_account(request), "SERVICE_CONTROL_POLICY"),
                simulate_command(request),
            )
        case Layer.RCP:
            holder = policy_holder(request.resource_arn)
            service = holder.service if holder is not None else action_service(request.action)
            if service is not None and service not in catalog.rcp_services():
                return ()
            account = (holder.account_id if holder is not None else None) or request.account_id
            return _present(
                *_explicit_policy_commands(request, layer),
                org_policies_command(account or _principal_account(request), "RESOURCE_CONTROL_POLICY"),
            )
        case Layer.RESOURCE if action_service(request_action(request)) == "execute-api":
            return rest_api_commands(request)
        case Layer.RESOURCE | Layer.TRUST:
            holder = policy_holder(request.resource_arn)
            if layer is Layer.TRUST and (request_action(request) not in TRUST_ACTIONS or holder is None):
                return ()
            return _present(resource_policy_command(holder, request.region))
        case Layer.VPCE:
            endpoint = request.context.get("aws:SourceVpce")
            if not isinstance(endpoint, str) or not endpoint:
                return ()
            return (
                "aws ec2 describe-vpc-endpoints --vpc-endpoint-ids "
                f"{shlex.quote(endpoint)} --query 'VpcEndpoints[].PolicyDocument'" + _region_flag(request.region),
            )
    return ()


def authorization_details_command(authorization_id: str, region: str | None = None) -> str:
    """IAM Access Troubleshooter: AWS's own record of a denied request's evaluation (kept for at least 24 hours)."""
    return f"aws iam-toolbox get-request-authorization-details --authorization-id {shlex.quote(authorization_id)}" + (
        _region_flag(region)
    )


def decode_message_command() -> str:
    """Decode an encoded authorization message held in the shell variable ENCODED."""
    return (
        f'aws sts decode-authorization-message --encoded-message "${ENCODED_MESSAGE_VARIABLE}" '
        "--query DecodedMessage --output text"
    )


def simulate_command(request: DeniedRequest) -> str | None:
    """iam simulate-principal-policy for the user or role behind the caller; None for callers it cannot simulate."""
    source = _policy_source(request.principal)
    action = request_action(request)
    if not can_simulate(request) or source is None or action is None:
        return None
    command = f"aws iam simulate-principal-policy --policy-source-arn {source} --action-names {shlex.quote(action)}"
    if request.resource_arn and request.resource_arn != "*":
        command += f" --resource-arns {shlex.quote(request.resource_arn)}"
    return command


def boundary_command(principal: Principal | None) -> str | None:
    """Show the permissions boundary of the user or role behind the caller."""
    if principal is None or not principal.name:
        return None
    if principal.type is PrincipalType.USER:
        return f"aws iam get-user --user-name {shlex.quote(principal.name)} --query User.PermissionsBoundary"
    if principal.type in (PrincipalType.ROLE, PrincipalType.ASSUMED_ROLE):
        return f"aws iam get-role --role-name {shlex.quote(principal.name)} --query Role.PermissionsBoundary"
    return None


def org_policies_command(account_id: str | None, policy_filter: str) -> str | None:
    """List the SCPs or RCPs attached directly to an account (run with the management or delegated-admin account)."""
    if not account_id:
        return None
    return f"aws organizations list-policies-for-target --target-id {shlex.quote(account_id)} --filter {policy_filter}"


def resource_policy_command(holder: PolicyHolder | None, region: str | None = None) -> str | None:
    """Show the resource-based policy that governs a resource, for the services that have a getter."""
    if holder is None or not policy_readable(holder):
        return None
    region_flag = _region_flag(holder.region or region)
    name = shlex.quote(holder.name)
    match holder.service:
        case "s3":
            if holder.account_id is None:
                return f"aws s3api get-bucket-policy --bucket {name} --query Policy --output text"
            account = shlex.quote(holder.account_id)
            return f"aws s3control get-access-point-policy --account-id {account} --name {name}" + region_flag
        case "kms":
            key = shlex.quote(holder.arn)
            if holder.name.startswith("alias/"):
                # GetKeyPolicy takes a key id or key ARN, not an alias: resolve the alias first.
                key = f'"$(aws kms describe-key --key-id {key} --query KeyMetadata.Arn --output text{region_flag})"'
            return f"aws kms get-key-policy --key-id {key} --policy-name default --query Policy --output text" + (
                region_flag
            )
        case "sqs":
            return (
                f"aws sqs get-queue-attributes --queue-url {_queue_url(holder)} --attribute-names Policy" + region_flag
            )
        case "sns":
            return (
                f"aws sns get-topic-attributes --topic-arn {shlex.quote(holder.arn)} --query Attributes.Policy "
                "--output text" + region_flag
            )
        case "secretsmanager":
            return (
                f"aws secretsmanager get-resource-policy --secret-id {shlex.quote(holder.arn)} "
                "--query ResourcePolicy --output text" + region_flag
            )
        case "lambda":
            command = f"aws lambda get-policy --function-name {shlex.quote(_unqualified_function(holder))}"
            qualifier = _function_qualifier(holder)
            if qualifier:
                command += f" --qualifier {shlex.quote(qualifier)}"
            return command + " --query Policy --output text" + region_flag
        case "ecr":
            registry = f" --registry-id {shlex.quote(holder.account_id)}" if holder.account_id else ""
            return (
                f"aws ecr get-repository-policy --repository-name {name}{registry} --query policyText --output text"
                + (region_flag)
            )
        case "iam" if ":role/" in holder.arn:
            return f"aws iam get-role --role-name {name} --query Role.AssumeRolePolicyDocument"
    return None


def rest_api_commands(request: DeniedRequest) -> tuple[str, ...]:
    """An API Gateway REST API's resource policy, and the authorization type of each of its methods."""
    api_id = rest_api_id(request.resource_arn)
    if api_id is None:
        return ()
    region = (request.resource_arn or "").split(":", 4)[3] or request.region
    return (
        f"aws apigateway get-rest-api --rest-api-id {api_id} --query policy --output text" + _region_flag(region),
        f"aws apigateway get-resources --rest-api-id {api_id} --embed methods "
        "--query 'items[].[path, resourceMethods.*.[httpMethod, authorizationType]]'" + _region_flag(region),
    )


def _explicit_policy_commands(request: DeniedRequest, layer: Layer) -> Iterable[str]:
    """When the message named the denying policy, the command that prints that policy's document."""
    reported = request.reported
    arn = reported.policy_arn
    if not arn or reported.layer is not layer:
        return ()
    quoted = shlex.quote(arn)
    if layer in (Layer.SCP, Layer.RCP):
        policy_id = arn.rsplit("/", 1)[-1]
        return (
            f"aws organizations describe-policy --policy-id {shlex.quote(policy_id)} "
            "--query Policy.Content --output text",
        )
    if ":iam:" in arn and ":policy/" in arn:
        return (
            f"aws iam get-policy-version --policy-arn {quoted} --version-id "
            f'"$(aws iam get-policy --policy-arn {quoted} --query Policy.DefaultVersionId --output text)"',
        )
    return ()


def _policy_source(principal: Principal | None) -> str | None:
    """The --policy-source-arn for a caller: a user or role ARN, never a session ARN."""
    if principal is None:
        return None
    if principal.type in (PrincipalType.USER, PrincipalType.ROLE):
        return shlex.quote(principal.arn)
    if principal.type is PrincipalType.ASSUMED_ROLE and principal.name:
        # The session ARN drops the role's path (IAM Identity Center roles always have one), so ask IAM for the ARN.
        return f'"$(aws iam get-role --role-name {shlex.quote(principal.name)} --query Role.Arn --output text)"'
    return None


def _principal_account(request: DeniedRequest) -> str | None:
    principal = request.principal
    return (principal.account_id if principal is not None else None) or request.account_id


def _authorization_region(request: DeniedRequest) -> str | None:
    return request.authorization_region or request.region


def _region_flag(region: str | None) -> str:
    return f" --region {shlex.quote(region)}" if region else ""


def _queue_url(holder: PolicyHolder) -> str:
    domain = _SQS_DOMAINS.get(holder.partition)
    if domain and holder.region and holder.account_id:
        return shlex.quote(f"https://sqs.{holder.region}.{domain}/{holder.account_id}/{holder.name}")
    owner = f" --queue-owner-aws-account-id {shlex.quote(holder.account_id)}" if holder.account_id else ""
    region = _region_flag(holder.region)
    lookup = f"aws sqs get-queue-url --queue-name {shlex.quote(holder.name)}{owner} --query QueueUrl --output text"
    return f'"$({lookup}{region})"'


def _unqualified_function(holder: PolicyHolder) -> str:
    prefix, _, _ = holder.arn.partition(":function:")
    return f"{prefix}:function:{holder.name}"


def _function_qualifier(holder: PolicyHolder) -> str | None:
    rest = holder.arn.partition(":function:")[2]
    _, sep, qualifier = rest.partition(":")
    return qualifier if sep and qualifier else None


def _present(*commands: str | None) -> tuple[str, ...]:
    return tuple(c for c in commands if c)
