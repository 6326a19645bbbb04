"""The resource-policy registry: each reader against the moto server, documents in every shape AWS returns."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.model import Layer
from diagnostics.remediation import policy_holder
from diagnostics.resources import (
    READERS,
    ResourceMissing,
    ResourceTarget,
    bucket_region,
    document,
    read_bucket,
    reader_for,
)
from tests.harness.world import HUB_ACCOUNT, MANAGEMENT_ACCOUNT, TARGET_ACCOUNT, AwsWorld, allow, policy

MakeAdapter = Callable[..., AwsAdapter]
T = TARGET_ACCOUNT
GRANT = policy(allow("*", "*", Sid="Partner", Principal={"AWS": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:root"}))


def target(arn: str, *accounts: str) -> ResourceTarget:
    holder = policy_holder(arn)
    assert holder is not None
    return ResourceTarget(holder, accounts or ((holder.account_id or T),), holder.region)


def test_documents_come_parsed_as_json_text_or_url_encoded() -> None:
    parsed = {"Version": "2012-10-17", "Statement": []}
    assert document(parsed) is parsed
    assert document(json.dumps(parsed)) == parsed
    assert document("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D") == parsed
    for bad in ("not json", "[1, 2]", 42):
        with pytest.raises(ValueError, match=r"JSON|Expecting|policy document"):
            document(bad)


def test_the_registry_covers_every_resource_policy_service_and_nothing_else() -> None:
    assert set(READERS) == {"s3", "kms", "sqs", "sns", "secretsmanager", "lambda", "ecr", "iam"}
    for arn, expected in [
        ("arn:aws:s3:::bucket/key", "s3"),
        (f"arn:aws:iam::{T}:role/deployer", "iam"),
        ("arn:aws:dynamodb:us-east-1:111122223333:table/t", None),
        (f"arn:aws:iam::{T}:user/someone", None),
        (f"arn:aws:s3:us-east-1:{T}:accesspoint/ap/object/k", None),
    ]:
        holder = policy_holder(arn)
        assert holder is not None
        reader = reader_for(holder)
        assert (reader is READERS[expected]) if expected else reader is None, arn


async def test_each_reader_returns_its_services_policy(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    _, queue = aws_world.create_queue(T, "jobs", queue_policy=GRANT)
    topic = aws_world.create_topic(T, "alerts", topic_policy=GRANT)
    secret = aws_world.create_secret(T, "db", secret_policy=GRANT)
    repository = aws_world.create_ecr_repository(T, "app", repository_policy=GRANT)
    function = aws_world.create_lambda_function(
        T, "handler", invoke_principal=f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:root"
    )
    role = aws_world.create_role(T, "deployer", trust_policy=GRANT)
    key = aws_world.create_kms_key(T, key_policy=GRANT)
    scope = make_adapter().scope()

    for arn in (queue, topic, secret, repository, function, key):
        holder = policy_holder(arn)
        assert holder is not None
        reader = reader_for(holder)
        assert reader is not None
        side = await reader(scope, target(arn))
        assert side.layer is Layer.RESOURCE
        assert side.account == T
        assert side.policy is not None, arn
        statements = side.policy.document["Statement"]
        assert any(MANAGEMENT_ACCOUNT in json.dumps(s.get("Principal")) for s in statements), arn
    trust = await READERS["iam"](scope, target(role))
    assert trust.layer is Layer.TRUST
    assert trust.policy is not None
    assert trust.policy.document == GRANT


async def test_a_resource_without_a_policy_has_none(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    _, queue = aws_world.create_queue(T, "plain")
    repository = aws_world.create_ecr_repository(T, "bare")
    function = aws_world.create_lambda_function(T, "quiet")
    scope = make_adapter().scope()
    for arn in (queue, repository, function):
        holder = policy_holder(arn)
        assert holder is not None
        reader = reader_for(holder)
        assert reader is not None
        assert (await reader(scope, target(arn))).policy is None, arn


async def test_a_missing_resource_is_said_to_be_missing(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    scope = make_adapter().scope()
    for arn, words in [
        (f"arn:aws:iam::{T}:role/ghost", "role ghost was not found"),
        (f"arn:aws:ecr:us-east-1:{T}:repository/ghost", "repository ghost was not found"),
        (f"arn:aws:lambda:us-east-1:{T}:function:ghost", "function ghost was not found"),
    ]:
        holder = policy_holder(arn)
        assert holder is not None
        reader = reader_for(holder)
        assert reader is not None
        with pytest.raises(ResourceMissing, match=words):
            await reader(scope, target(arn))


async def test_a_key_alias_is_resolved_and_grants_are_read(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    key = aws_world.create_kms_key(T)
    kms = aws_world.client("kms", T)
    kms.create_alias(AliasName="alias/artifacts", TargetKeyId=key)
    grantee = f"arn:aws:iam::{T}:role/build-bot-role"
    kms.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=["Decrypt"])
    scope = make_adapter().scope()

    side = await READERS["kms"](scope, target(f"arn:aws:kms:us-east-1:{T}:alias/artifacts"))

    assert side.arn == key
    assert side.policy is not None
    assert [(g.grantee_principal, g.operations) for g in side.kms_grants] == [(grantee, ("Decrypt",))]
    assert side.aws_managed is False


async def test_a_bucket_is_found_in_the_account_that_owns_it(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_bucket(MANAGEMENT_ACCOUNT, "shared-artifacts", bucket_policy=GRANT)
    for account in (T, HUB_ACCOUNT):
        aws_world.moto.deny("s3", "GetBucketPolicy", account=account, match={"Bucket": "shared-artifacts"})
    s3 = aws_world.client("s3", MANAGEMENT_ACCOUNT)
    s3.put_public_access_block(
        Bucket="shared-artifacts",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )
    scope = make_adapter(allowed_accounts=frozenset({T, MANAGEMENT_ACCOUNT})).scope()

    side = await read_bucket(scope, target("arn:aws:s3:::shared-artifacts/x", T, HUB_ACCOUNT, MANAGEMENT_ACCOUNT))

    assert side.account == MANAGEMENT_ACCOUNT
    assert side.policy is not None
    assert side.public_access_block is not None
    assert side.public_access_block.restrict_public_buckets is True
    assert side.encryption_read is True
    # The likeliest owners were asked first and refused; the owner answered.
    probes = aws_world.moto.seen("s3", "GetBucketPolicy")
    assert {p.account for p in probes} == {T, HUB_ACCOUNT, MANAGEMENT_ACCOUNT}


async def test_a_bucket_nobody_readable_owns(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_bucket(MANAGEMENT_ACCOUNT, "elsewhere")
    aws_world.moto.deny("s3", "GetBucketPolicy")
    scope = make_adapter().scope()
    with pytest.raises(ResourceMissing, match=r"could not find the account that owns bucket elsewhere \(asked "):
        await read_bucket(scope, target("arn:aws:s3:::elsewhere/x", T, HUB_ACCOUNT))


async def test_a_bucket_is_read_with_its_region(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_bucket(T, "home-artifacts")
    aws_world.create_bucket(T, "eu-artifacts", region="eu-west-1")
    scope = make_adapter().scope()

    home = await read_bucket(scope, target("arn:aws:s3:::home-artifacts/x", T))
    abroad = await read_bucket(scope, target("arn:aws:s3:::eu-artifacts/x", T))

    assert (home.region, abroad.region) == ("us-east-1", "eu-west-1")
    assert [(c.account, c.params["Bucket"]) for c in aws_world.moto.seen("s3", "GetBucketLocation")] == [
        (T, "home-artifacts"),
        (T, "eu-artifacts"),
    ]


def test_a_bucket_location_names_its_region_the_way_aws_spells_the_old_ones() -> None:
    # Buckets in us-east-1 have no location constraint; the oldest EU buckets say "EU".
    assert bucket_region({"LocationConstraint": None}) == "us-east-1"
    assert bucket_region({"LocationConstraint": ""}) == "us-east-1"
    assert bucket_region({}) == "us-east-1"
    assert bucket_region({"LocationConstraint": "EU"}) == "eu-west-1"
    assert bucket_region({"LocationConstraint": "ap-southeast-2"}) == "ap-southeast-2"


async def test_a_bucket_whose_region_cannot_be_read_says_so(make_adapter: MakeAdapter, aws_world: AwsWorld) -> None:
    aws_world.create_bucket(T, "prod-artifacts")
    aws_world.moto.deny("s3", "GetBucketLocation")
    scope = make_adapter().scope()

    side = await read_bucket(scope, target("arn:aws:s3:::prod-artifacts/x", T))

    assert side.region is None
    assert any(f.startswith("the bucket's region could not be read") for f in side.facts)
