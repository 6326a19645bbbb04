"""Reads every policy layer of a sandbox request through the real AwsAdapter and assembles the evaluator's PolicySet.

Deliberately independent of the live investigation: it is how the sandbox tests prove the seed reproduces each
scenario, with nothing but the adapter, the AWS APIs of the troubleshooting guide's manual workflow, and the
evaluator.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from diagnostics.arn import parse_arn, parse_principal
from diagnostics.model import Principal, PrincipalType
from diagnostics.policy import EvalRequest, NamedPolicy, PolicySet, PublicAccessBlock
from diagnostics.reader import AwsReader, NotFound, RoleKind
from diagnostics.sandbox import ScenarioRequest
from diagnostics.sandbox.world import MANAGEMENT_ACCOUNT, WORKLOAD_ACCOUNT


def _document(value: Any) -> Mapping[str, Any]:
    """IAM documents arrive decoded by botocore; S3, KMS and Organizations hand back JSON text."""
    return json.loads(value) if isinstance(value, str) else dict(value)


async def managed_policy(reader: AwsReader, arn: str) -> NamedPolicy:
    details = await reader.call("iam", "GetPolicy", {"PolicyArn": arn}, account=WORKLOAD_ACCOUNT)
    version = await reader.call(
        "iam",
        "GetPolicyVersion",
        {"PolicyArn": arn, "VersionId": details["Policy"]["DefaultVersionId"]},
        account=WORKLOAD_ACCOUNT,
    )
    return NamedPolicy(details["Policy"]["PolicyName"], _document(version["PolicyVersion"]["Document"]), arn)


async def identity_policies(reader: AwsReader, principal: Principal) -> tuple[NamedPolicy, ...]:
    """Inline and attached policies of the user, or of the role behind a role session (and a user's groups)."""
    if principal.type is PrincipalType.USER:
        kind, name = "User", principal.name
    elif principal.type is PrincipalType.ASSUMED_ROLE:
        kind, name = "Role", principal.name
    else:
        raise ValueError(f"no identity policies for {principal.arn}")
    owners = [(kind, name)]
    if kind == "User":
        groups = await reader.call("iam", "ListGroupsForUser", {"UserName": name}, account=WORKLOAD_ACCOUNT)
        owners += [("Group", g["GroupName"]) for g in groups["Groups"]]
    found: list[NamedPolicy] = []
    for owner_kind, owner in owners:
        key = {f"{owner_kind}Name": owner}
        inline = await reader.call("iam", f"List{owner_kind}Policies", key, account=WORKLOAD_ACCOUNT, paginate=True)
        for policy_name in inline["PolicyNames"]:
            got = await reader.call(
                "iam", f"Get{owner_kind}Policy", {**key, "PolicyName": policy_name}, account=WORKLOAD_ACCOUNT
            )
            found.append(NamedPolicy(policy_name, _document(got["PolicyDocument"])))
        attached = await reader.call(
            "iam", f"ListAttached{owner_kind}Policies", key, account=WORKLOAD_ACCOUNT, paginate=True
        )
        for item in attached["AttachedPolicies"]:
            found.append(await managed_policy(reader, item["PolicyArn"]))
    return tuple(found)


async def boundary_policies(reader: AwsReader, principal: Principal) -> tuple[NamedPolicy, ...]:
    if principal.type is not PrincipalType.ASSUMED_ROLE:
        user = await reader.call("iam", "GetUser", {"UserName": principal.name}, account=WORKLOAD_ACCOUNT)
        holder = user["User"]
    else:
        role = await reader.call("iam", "GetRole", {"RoleName": principal.name}, account=WORKLOAD_ACCOUNT)
        holder = role["Role"]
    boundary = holder.get("PermissionsBoundary")
    if boundary is None:
        return ()
    return (await managed_policy(reader, boundary["PermissionsBoundaryArn"]),)


async def organization_path(reader: AwsReader, account: str) -> list[str]:
    """The targets from the root down to the account: root id, OU ids, the account id."""
    path = [account]
    child = account
    while True:
        parents = await reader.call("organizations", "ListParents", {"ChildId": child}, role=RoleKind.ORG)
        parent = parents["Parents"][0]
        path.insert(0, parent["Id"])
        if parent["Type"] == "ROOT":
            return path
        child = parent["Id"]


async def control_policy_levels(
    reader: AwsReader, path: list[str], policy_type: str
) -> tuple[tuple[NamedPolicy, ...], ...]:
    levels = []
    for target in path:
        listed = await reader.call(
            "organizations",
            "ListPoliciesForTarget",
            {"TargetId": target, "Filter": policy_type},
            role=RoleKind.ORG,
            paginate=True,
        )
        level = []
        for summary in listed["Policies"]:
            described = await reader.call(
                "organizations", "DescribePolicy", {"PolicyId": summary["Id"]}, role=RoleKind.ORG
            )
            level.append(NamedPolicy(summary["Name"], _document(described["Policy"]["Content"]), summary["Arn"]))
        levels.append(tuple(level))
    return tuple(levels)


def bucket_of(resource: str) -> str | None:
    arn = parse_arn(resource)
    return arn.resource.split("/", 1)[0] if arn.service == "s3" else None


async def resource_policy(reader: AwsReader, resource: str) -> NamedPolicy | None:
    arn = parse_arn(resource)
    bucket = bucket_of(resource)
    if bucket is not None:
        try:
            got = await reader.call("s3", "GetBucketPolicy", {"Bucket": bucket}, account=WORKLOAD_ACCOUNT)
        except NotFound:
            return None
        return NamedPolicy(f"bucket policy of {bucket}", _document(got["Policy"]))
    if arn.service == "kms":
        got = await reader.call(
            "kms", "GetKeyPolicy", {"KeyId": resource, "PolicyName": "default"}, account=WORKLOAD_ACCOUNT
        )
        return NamedPolicy("default", _document(got["Policy"]))
    return None


async def public_access_block(reader: AwsReader, resource: str) -> PublicAccessBlock | None:
    bucket = bucket_of(resource)
    if bucket is None:
        return None
    got = await reader.call("s3", "GetPublicAccessBlock", {"Bucket": bucket}, account=WORKLOAD_ACCOUNT)
    settings = got["PublicAccessBlockConfiguration"]
    return PublicAccessBlock(
        block_public_acls=settings["BlockPublicAcls"],
        ignore_public_acls=settings["IgnorePublicAcls"],
        block_public_policy=settings["BlockPublicPolicy"],
        restrict_public_buckets=settings["RestrictPublicBuckets"],
    )


async def gather(reader: AwsReader, request: ScenarioRequest) -> tuple[EvalRequest, PolicySet]:
    """The evaluator's request and every policy layer that bears on it, as read from the sandbox."""
    principal = parse_principal(request.principal)
    path = await organization_path(reader, WORKLOAD_ACCOUNT)
    policies = PolicySet(
        identity=await identity_policies(reader, principal),
        boundary=await boundary_policies(reader, principal),
        scp_levels=await control_policy_levels(reader, path, "SERVICE_CONTROL_POLICY"),
        rcp_levels=await control_policy_levels(reader, path, "RESOURCE_CONTROL_POLICY"),
        resource=await resource_policy(reader, request.resource),
        scp_level_names=tuple(path),
        rcp_level_names=tuple(path),
        s3_public_access_block=await public_access_block(reader, request.resource),
    )
    evaluated = EvalRequest(
        principal=principal,
        action=request.action,
        resource=request.resource,
        # Every resource the scenarios touch lives in the workload account (S3 ARNs do not say so themselves).
        resource_account=WORKLOAD_ACCOUNT,
        context=request.context,
        management_account=MANAGEMENT_ACCOUNT,
    )
    return evaluated, policies
