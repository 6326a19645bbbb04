"""The exact fixes the doctor prints: the permission and where deploy/ grants it, the trust statement, the command.

Values that are secrets (the ExternalId) never appear: fixes name the variable that holds them instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from diagnostics.arn import parse_principal
from diagnostics.reader import DEFAULT_ROLE_NAME, RoleKind
from diagnostics.remediation import grantee

CLOUDFORMATION_TEMPLATE = "deploy/cloudformation/iamwhy-readonly.yaml"
TERRAFORM_POLICIES: Mapping[RoleKind, str] = {
    RoleKind.READ: "deploy/terraform/policies/read-only.json",
    RoleKind.ORG: "deploy/terraform/policies/org-read-only.json",
}
DEFAULT_ORG_ROLE_NAME = "IamWhyOrgReadOnly"
EXTERNAL_ID_PLACEHOLDER = "<the value of IAMWHY_EXTERNAL_ID>"
EXAMPLE_EXTERNAL_ID = "iamwhy-4f1c2b9e7d3a6051"

# The statement (by Sid) of each deployed role's policy that grants each action; tests/diagnostics/doctor checks
# this table against both templates, so a fix never points at a line that is not there.
TEMPLATE_STATEMENTS: Mapping[RoleKind, Mapping[str, tuple[str, ...]]] = {
    RoleKind.READ: {
        "IdentityPolicies": (
            "iam:GetUser",
            "iam:GetRole",
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:ListUserPolicies",
            "iam:GetUserPolicy",
            "iam:ListAttachedUserPolicies",
            "iam:ListRolePolicies",
            "iam:GetRolePolicy",
            "iam:ListAttachedRolePolicies",
            "iam:ListGroupPolicies",
            "iam:GetGroupPolicy",
            "iam:ListAttachedGroupPolicies",
            "iam:ListGroupsForUser",
            "iam:ListUserTags",
            "iam:ListRoleTags",
        ),
        "Evaluation": (
            "iam:SimulatePrincipalPolicy",
            "iam:GetContextKeysForPrincipalPolicy",
            "iam:GetRequestAuthorizationDetails",
            "iam:GetRequestAuthorizationPolicy",
            "sts:DecodeAuthorizationMessage",
            "cloudtrail:LookupEvents",
            "organizations:DescribeOrganization",
        ),
        "ResourcePolicies": (
            "s3:GetBucketPolicy",
            "s3:GetBucketPolicyStatus",
            "s3:GetBucketLocation",
            "s3:GetBucketPublicAccessBlock",
            "s3:GetEncryptionConfiguration",
            "s3:GetBucketAcl",
            "s3:GetBucketOwnershipControls",
            "s3:GetAccountPublicAccessBlock",
            "kms:GetKeyPolicy",
            "kms:ListGrants",
            "kms:DescribeKey",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sns:GetTopicAttributes",
            "secretsmanager:GetResourcePolicy",
            "lambda:GetPolicy",
            "ecr:GetRepositoryPolicy",
            "ec2:DescribeVpcEndpoints",
        ),
    },
    RoleKind.ORG: {
        "OrganizationPolicies": (
            "organizations:DescribeOrganization",
            "organizations:ListRoots",
            "organizations:ListParents",
            "organizations:DescribeOrganizationalUnit",
            "organizations:ListPoliciesForTarget",
            "organizations:DescribePolicy",
        ),
    },
}

_ROLE_WORDS: Mapping[RoleKind, str] = {RoleKind.READ: "read-only role", RoleKind.ORG: "organizations read role"}


def statement_of(role: RoleKind, action: str) -> str | None:
    """The Sid of the template statement that grants `action` to `role`, if deploy/ grants it."""
    return next((sid for sid, actions in TEMPLATE_STATEMENTS[role].items() if action in actions), None)


def bot_principal(caller_arn: str | None) -> tuple[str, str | None]:
    """The ARN a trust policy must name for the bot, and a caveat about it (a role session loses its path)."""
    principal = parse_principal(caller_arn) if caller_arn else None
    arn = grantee(principal)
    if arn is None or principal is None:
        return "<the ARN of the IAM role or user the bot runs as>", None
    if principal.role_arn is not None and principal.arn != arn:
        return arn, "if the bot's role has a path (role/path/name), put the path in this ARN"
    return arn, None


def _json(value: object) -> str:
    return json.dumps(value, separators=(", ", ": "))


def grant_fix(permission: str, role: RoleKind, role_arn: str, account: str | None, aws_message: str | None) -> str:
    """How to give a deployed role a permission it lacks."""
    name = role_arn.rsplit("/", 1)[-1]
    where = f" in {account}" if account else ""
    sid = statement_of(role, permission)
    lines = [f"Grant {permission} to {name}{where}."]
    if sid is not None:
        lines.append(
            f"deploy/ grants it: the `- {permission}` line of statement {sid} in {CLOUDFORMATION_TEMPLATE} "
            f"(and in {TERRAFORM_POLICIES[role]}); redeploy the current template to that account, or add to the "
            "role's policy:"
        )
    else:
        lines.append("Add to the role's policy:")
    lines.append(_json({"Effect": "Allow", "Action": permission, "Resource": "*"}))
    lines.append(
        "If the role's policy already grants it, a service control policy or a permissions boundary on the role "
        "denies it."
    )
    if aws_message:
        lines.append(f"AWS said: {aws_message[:300]}")
    return "\n".join(lines)


def trust_statement(bot_arn: str) -> dict[str, object]:
    return {
        "Sid": "IamWhyBot",
        "Effect": "Allow",
        "Principal": {"AWS": bot_arn},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID_PLACEHOLDER}},
    }


def deploy_command(role: RoleKind, role_arn: str, bot_arn: str) -> str:
    """The one-account `aws cloudformation deploy` that creates the role as the bot expects it."""
    name = role_arn.rsplit("/", 1)[-1]
    overrides = [f"BotPrincipalArn={bot_arn}", 'ExternalId="$IAMWHY_EXTERNAL_ID"']
    if role is RoleKind.ORG:
        stack = "iamwhy-org-readonly"
        overrides += ["CreateOrgRole=true", "CreateReadRole=false"]
        if name != DEFAULT_ORG_ROLE_NAME:
            overrides.append(f"OrgRoleName={name}")
    else:
        stack = "iamwhy-readonly"
        if name != DEFAULT_ROLE_NAME:
            overrides.append(f"ReadRoleName={name}")
    return (
        f"aws cloudformation deploy --stack-name {stack} --template-file {CLOUDFORMATION_TEMPLATE} "
        f"--capabilities CAPABILITY_NAMED_IAM --parameter-overrides {' '.join(overrides)}"
    )


def trust_fix(role: RoleKind, role_arn: str, caller_arn: str | None, *, external_id_set: bool) -> str:
    """How to make a role assumable by the bot: deploy it, or fix its trust policy, and let the bot assume it."""
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else "its account"
    bot_arn, caveat = bot_principal(caller_arn)
    lines = [
        f"AWS refuses AssumeRole in the same way whether the role does not exist in {account}, its trust policy does "
        "not name the bot, or it expects another ExternalId."
    ]
    if not external_id_set:
        lines.append(
            "IAMWHY_EXTERNAL_ID is not set, and the deploy/ templates require one: set it to the ExternalId the role "
            f"was deployed with (for example IAMWHY_EXTERNAL_ID={EXAMPLE_EXTERNAL_ID})."
        )
    where = "in the management (or delegated administrator) account" if role is RoleKind.ORG else f"in {account}"
    lines.append(f"1. Deploy the {_ROLE_WORDS[role]} {where}, with credentials for that account:")
    lines.append(f"   {deploy_command(role, role_arn, bot_arn)}")
    lines.append("   or, if it exists, make sure its trust policy has this statement:")
    lines.append(f"   {_json(trust_statement(bot_arn))}")
    if caveat:
        lines.append(f"   ({caveat})")
    lines.append(f"2. The bot's own policy ({bot_arn}) must allow assuming it:")
    lines.append(f"   {_json({'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Resource': role_arn})}")
    return "\n".join(lines)


def credentials_fix(code: str | None) -> str:
    if code in ("ExpiredToken", "ExpiredTokenException"):
        return "The bot's AWS credentials have expired: refresh them (temporary credentials need renewing)."
    return (
        "Give the bot AWS credentials through the standard chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
        "AWS_SESSION_TOKEN for temporary ones), or AWS_PROFILE, or the role of where it runs (EC2 instance profile, "
        "ECS task role, EKS IRSA or Pod Identity). These are the credentials the read roles' trust policies name."
    )


def unreachable_fix(service: str, region: str) -> str:
    return (
        f"Check that the bot can reach AWS {service} in {region} over HTTPS (egress rules, proxies such as "
        "HTTPS_PROXY / NO_PROXY), and that AWS_ENDPOINT_URL is not set to an emulator by mistake; then run the "
        "doctor again."
    )
