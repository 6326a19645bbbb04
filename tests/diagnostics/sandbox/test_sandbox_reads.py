"""What the sandbox seeds reads back through the real AwsAdapter, as the bot, its read roles and its org role."""

from __future__ import annotations

import pytest

from diagnostics.arn import parse_principal
from diagnostics.aws import AwsAdapter
from diagnostics.reader import NotFound, RoleKind, Unavailable
from diagnostics.sandbox import world
from diagnostics.sandbox.world import MANAGEMENT_ACCOUNT, WORKLOAD_ACCOUNT
from tests.diagnostics.sandbox.policy_reads import (
    boundary_policies,
    control_policy_levels,
    identity_policies,
    organization_path,
    public_access_block,
    resource_policy,
)


async def test_the_bot_is_its_own_user_in_the_management_account(adapter: AwsAdapter) -> None:
    identity = await adapter.call("sts", "GetCallerIdentity")
    assert (identity["Arn"], identity["Account"]) == (world.BOT_USER_ARN, MANAGEMENT_ACCOUNT)


@pytest.mark.parametrize("account", [WORKLOAD_ACCOUNT, MANAGEMENT_ACCOUNT])
async def test_both_accounts_have_the_read_role_trusting_the_bot_with_the_external_id(
    adapter: AwsAdapter, account: str
) -> None:
    identity = await adapter.call("sts", "GetCallerIdentity", account=account)
    role = await adapter.call("iam", "GetRole", {"RoleName": world.READ_ROLE}, account=account)

    assert identity["Arn"] == f"arn:aws:sts::{account}:assumed-role/{world.READ_ROLE}/iamwhy"
    [statement] = role["Role"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": world.BOT_USER_ARN}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": world.EXTERNAL_ID}}


async def test_the_org_role_reads_the_organization_from_the_management_account(adapter: AwsAdapter) -> None:
    identity = await adapter.call("sts", "GetCallerIdentity", role=RoleKind.ORG)
    from_management = await adapter.call("organizations", "DescribeOrganization", role=RoleKind.ORG)
    from_member = await adapter.call("organizations", "DescribeOrganization", account=WORKLOAD_ACCOUNT)

    assert identity["Arn"] == f"arn:aws:sts::{MANAGEMENT_ACCOUNT}:assumed-role/{world.ORG_ROLE}/iamwhy"
    assert from_management["Organization"]["MasterAccountId"] == MANAGEMENT_ACCOUNT
    assert from_member["Organization"] == from_management["Organization"]


async def test_build_bots_only_grants_are_its_user_policies(adapter: AwsAdapter) -> None:
    policies = await identity_policies(adapter, parse_principal(world.BUILD_BOT_ARN))

    assert {p.name: p.document for p in policies} == {
        "S3Access": world.S3_ACCESS,
        "AssumeBuildRole": world.ASSUME_BUILD_ROLE,
    }


async def test_the_build_role_has_its_pipeline_policies_and_the_guardrail(adapter: AwsAdapter) -> None:
    session = parse_principal(f"arn:aws:sts::{WORKLOAD_ACCOUNT}:assumed-role/{world.BUILD_ROLE}/ci-1")

    policies = await identity_policies(adapter, session)

    assert {p.name: (p.arn, p.document) for p in policies} == {
        "BuildPipeline": (None, world.BUILD_PIPELINE),
        "ArtifactsRead": (f"arn:aws:iam::{WORKLOAD_ACCOUNT}:policy/ArtifactsRead", world.ARTIFACTS_READ),
        "ProdGuardrails": (f"arn:aws:iam::{WORKLOAD_ACCOUNT}:policy/ProdGuardrails", world.PROD_GUARDRAILS),
    }


async def test_the_build_role_is_capped_by_dev_boundary_and_build_bot_is_not(adapter: AwsAdapter) -> None:
    session = parse_principal(f"arn:aws:sts::{WORKLOAD_ACCOUNT}:assumed-role/{world.BUILD_ROLE}/ci-1")

    [boundary] = await boundary_policies(adapter, session)

    assert (boundary.name, boundary.arn, boundary.document) == (world.BOUNDARY, world.BOUNDARY_ARN, world.DEV_BOUNDARY)
    assert await boundary_policies(adapter, parse_principal(world.BUILD_BOT_ARN)) == ()


async def test_the_scps_along_the_ou_chain_put_the_region_guardrail_on_the_workloads_ou(adapter: AwsAdapter) -> None:
    path = await organization_path(adapter, WORKLOAD_ACCOUNT)
    levels = await control_policy_levels(adapter, path, "SERVICE_CONTROL_POLICY")
    root = await adapter.call("organizations", "ListRoots", role=RoleKind.ORG)

    assert len(path) == 3
    assert path[0] == root["Roots"][0]["Id"]
    assert path[1].startswith("ou-")
    assert path[2] == WORKLOAD_ACCOUNT
    assert [[p.name for p in level] for level in levels] == [
        ["FullAWSAccess"],
        ["FullAWSAccess", "DenyOutsideUSRegions"],
        ["FullAWSAccess"],
    ]
    assert levels[1][1].document == world.DENY_OUTSIDE_US_REGIONS


async def test_every_level_carries_the_default_rcp(adapter: AwsAdapter) -> None:
    path = await organization_path(adapter, WORKLOAD_ACCOUNT)
    levels = await control_policy_levels(adapter, path, "RESOURCE_CONTROL_POLICY")

    assert [[p.name for p in level] for level in levels] == [["RCPFullAWSAccess"]] * 3


async def test_the_artifact_bucket_denies_plain_http_and_is_encrypted_with_the_artifact_key(
    adapter: AwsAdapter,
) -> None:
    bucket_policy = await resource_policy(adapter, f"arn:aws:s3:::{world.ARTIFACTS_BUCKET}/release.tar.gz")
    encryption = await adapter.call(
        "s3", "GetBucketEncryption", {"Bucket": world.ARTIFACTS_BUCKET}, account=WORKLOAD_ACCOUNT
    )

    assert bucket_policy is not None
    assert bucket_policy.document == world.ARTIFACTS_BUCKET_POLICY
    [rule] = encryption["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": world.ARTIFACTS_KEY_ARN,
    }


@pytest.mark.parametrize("bucket", [world.ARTIFACTS_BUCKET, world.CACHE_BUCKET, world.CONFIG_BUCKET])
async def test_every_bucket_has_awss_defaults_for_new_buckets(adapter: AwsAdapter, bucket: str) -> None:
    settings = await public_access_block(adapter, f"arn:aws:s3:::{bucket}/any")
    ownership = await adapter.call("s3", "GetBucketOwnershipControls", {"Bucket": bucket}, account=WORKLOAD_ACCOUNT)

    assert settings is not None
    assert (settings.block_public_acls, settings.ignore_public_acls) == (True, True)
    assert (settings.block_public_policy, settings.restrict_public_buckets) == (True, True)
    assert ownership["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


@pytest.mark.parametrize("bucket", [world.CACHE_BUCKET, world.CONFIG_BUCKET])
async def test_the_other_buckets_have_no_policy(adapter: AwsAdapter, bucket: str) -> None:
    assert await resource_policy(adapter, f"arn:aws:s3:::{bucket}/any") is None
    with pytest.raises(NotFound):
        await adapter.call("s3", "GetBucketPolicy", {"Bucket": bucket}, account=WORKLOAD_ACCOUNT)


async def test_the_key_policy_never_mentions_the_build_role_nor_delegates_to_iam(adapter: AwsAdapter) -> None:
    key_policy = await resource_policy(adapter, world.ARTIFACTS_KEY_ARN)
    key = await adapter.call("kms", "DescribeKey", {"KeyId": world.ARTIFACTS_KEY_ARN}, account=WORKLOAD_ACCOUNT)
    grants = await adapter.call("kms", "ListGrants", {"KeyId": world.ARTIFACTS_KEY_ARN}, account=WORKLOAD_ACCOUNT)

    assert key_policy is not None
    assert key_policy.document == world.ARTIFACTS_KEY_POLICY
    principals = [s["Principal"]["AWS"] for s in key_policy.document["Statement"]]
    assert world.BUILD_BOT_ARN in principals
    assert world.BUILD_ROLE_ARN not in principals
    assert not [p for p in principals if p.endswith(":root") or p == WORKLOAD_ACCOUNT]
    assert (key["KeyMetadata"]["KeyId"], key["KeyMetadata"]["Arn"]) == (world.ARTIFACTS_KEY_ID, world.ARTIFACTS_KEY_ARN)
    assert key["KeyMetadata"]["KeyManager"] == "CUSTOMER"
    assert grants["Grants"] == []


async def test_s3_control_reaches_the_sandbox_under_its_account_host_name(adapter: AwsAdapter) -> None:
    # The account-level Block Public Access is not configured, as in a new account: an answer, not a failure.
    with pytest.raises(NotFound, match="NoSuchPublicAccessBlockConfiguration"):
        await adapter.call(
            "s3control", "GetPublicAccessBlock", {"AccountId": WORKLOAD_ACCOUNT}, account=WORKLOAD_ACCOUNT
        )


async def test_cloudtrail_has_recorded_nothing(adapter: AwsAdapter) -> None:
    found = await adapter.call(
        "cloudtrail",
        "LookupEvents",
        {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "GetObject"}]},
        account=WORKLOAD_ACCOUNT,
    )
    assert found["Events"] == []


async def test_an_operation_moto_lacks_fails_as_unavailable(adapter: AwsAdapter) -> None:
    with pytest.raises(Unavailable, match="may not be implemented"):
        await adapter.call(
            "iam",
            "SimulatePrincipalPolicy",
            {"PolicySourceArn": world.BUILD_BOT_ARN, "ActionNames": ["s3:GetObject"]},
            account=WORKLOAD_ACCOUNT,
        )
