"""The resource-policy registry: one reader per service, each turning read-only calls into a ResourceSide.

Adding a service is one reader function and one line in READERS. A reader raises a ReadError (or
ResourceMissing) when the resource's side cannot be read; the gatherer turns that into an unreadable layer.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from diagnostics.model import Layer
from diagnostics.policy import KmsGrant, NamedPolicy, PublicAccessBlock
from diagnostics.reader import AwsReader, NotFound, ReadError
from diagnostics.remediation import PolicyHolder, policy_holder
from diagnostics.snapshot import ResourceSide


class ResourceMissing(Exception):
    """The resource itself (not only its policy) was not found, or its owner could not be located."""


@dataclass(frozen=True)
class ResourceTarget:
    """What a reader is asked to read: the policy holder, and where to look for it."""

    holder: PolicyHolder
    # Accounts to look in, most likely owner first; only S3 (whose ARNs name no account) uses more than one.
    accounts: tuple[str, ...]
    region: str | None


Reader = Callable[[AwsReader, ResourceTarget], Awaitable[ResourceSide]]


def document(value: Any) -> Mapping[str, Any]:
    """A policy document as AWS returns it: already parsed, JSON text, or URL-encoded JSON text (IAM)."""
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a policy document must be JSON, got {type(value).__name__}")
    text = value.strip()
    if text.startswith(("%7B", "%7b")):
        text = urllib.parse.unquote(text)
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise ValueError("a policy document must be a JSON object")
    return parsed


async def read_bucket(reader: AwsReader, target: ResourceTarget) -> ResourceSide:
    """S3: the bucket policy (finding the owning account first), Block Public Access and default encryption."""
    bucket = target.holder.name
    first = target.accounts[0]
    # Most buckets belong to the first account tried: read its settings alongside the policy, not after it.
    early = asyncio.ensure_future(_bucket_settings(reader, bucket, first))
    owner, policy_text = await _locate_bucket(reader, bucket, target.accounts)
    settings = await early if owner == first else await _bucket_settings(reader, bucket, owner)
    if owner != first:
        await asyncio.gather(early, return_exceptions=True)
    policy = (
        NamedPolicy(f"bucket policy of {bucket}", document(policy_text), target.holder.arn) if policy_text else None
    )
    return ResourceSide(
        layer=Layer.RESOURCE,
        service="s3",
        arn=target.holder.arn,
        label=target.holder.label,
        account=owner,
        policy=policy,
        public_access_block=settings.block,
        default_kms_key=settings.default_key,
        encryption_read=settings.encryption_read,
        facts=settings.facts,
        region=settings.region,
    )


async def _locate_bucket(reader: AwsReader, bucket: str, accounts: Sequence[str]) -> tuple[str, str | None]:
    """(owning account, bucket policy text or None). S3 ARNs name no account, so each candidate is asked in turn;
    ExpectedBucketOwner makes AWS refuse the read in any account but the owner's."""
    tried: list[str] = []
    first, rest = accounts[0], accounts[1:]
    found = await _bucket_policy(reader, bucket, first)
    if found is not _ELSEWHERE:
        return first, found if isinstance(found, str) else None
    tried.append(first)
    answers = await asyncio.gather(*(_bucket_policy(reader, bucket, a) for a in rest))
    for account, answer in zip(rest, answers, strict=True):
        if answer is not _ELSEWHERE:
            return account, answer if isinstance(answer, str) else None
        tried.append(account)
    raise ResourceMissing(
        f"could not find the account that owns bucket {bucket} (asked {', '.join(tried)}): it may belong to an "
        "account outside IAMWHY_ACCOUNTS, or the read-only role may lack s3:GetBucketPolicy"
    )


_ELSEWHERE = object()


async def _bucket_policy(reader: AwsReader, bucket: str, account: str) -> object:
    """The policy text, None (the bucket is here and has no policy), or _ELSEWHERE."""
    try:
        answer = await reader.call(
            "s3", "GetBucketPolicy", {"Bucket": bucket, "ExpectedBucketOwner": account}, account=account
        )
    except NotFound as exc:
        return None if exc.code == "NoSuchBucketPolicy" else _ELSEWHERE
    except ReadError:
        return _ELSEWHERE
    return str(answer.get("Policy") or "") or None


@dataclass(frozen=True)
class _BucketSettings:
    block: PublicAccessBlock | None
    default_key: str | None
    encryption_read: bool
    facts: tuple[str, ...]
    region: str | None


async def _bucket_settings(reader: AwsReader, bucket: str, account: str) -> _BucketSettings:
    owned = {"Bucket": bucket, "ExpectedBucketOwner": account}
    bucket_block, account_block, encryption, location = await asyncio.gather(
        _optional(reader.call("s3", "GetPublicAccessBlock", owned, account=account)),
        _optional(reader.call("s3control", "GetPublicAccessBlock", {"AccountId": account}, account=account)),
        _optional(reader.call("s3", "GetBucketEncryption", owned, account=account)),
        _optional(reader.call("s3", "GetBucketLocation", owned, account=account)),
    )
    facts: list[str] = []
    region = bucket_region(location) if isinstance(location, Mapping) else None
    if isinstance(location, ReadError):
        facts.append(f"the bucket's region could not be read ({location})")
    settings = [
        dict(answer.get("PublicAccessBlockConfiguration") or {})
        for answer in (bucket_block, account_block)
        if isinstance(answer, Mapping)
    ]
    for answer, what in ((bucket_block, "bucket"), (account_block, "account")):
        if isinstance(answer, ReadError):
            facts.append(f"the {what}'s S3 Block Public Access settings could not be read ({answer})")
    block = (
        PublicAccessBlock(
            block_public_acls=any(s.get("BlockPublicAcls") for s in settings),
            ignore_public_acls=any(s.get("IgnorePublicAcls") for s in settings),
            block_public_policy=any(s.get("BlockPublicPolicy") for s in settings),
            restrict_public_buckets=any(s.get("RestrictPublicBuckets") for s in settings),
        )
        if settings
        else None
    )
    default_key: str | None = None
    if isinstance(encryption, ReadError):
        facts.append(f"the bucket's default encryption could not be read ({encryption})")
    elif isinstance(encryption, Mapping):
        rules = (encryption.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
        for rule in rules:
            default = rule.get("ApplyServerSideEncryptionByDefault") or {}
            algorithm = str(default.get("SSEAlgorithm") or "")
            if algorithm.startswith("aws:kms"):
                key = default.get("KMSMasterKeyID")
                if key:
                    # Not a fact worth stating on its own: the KMS call it implies is evaluated (or said unreadable).
                    default_key = str(key)
                else:
                    facts.append(
                        f"bucket {bucket} encrypts new objects with the AWS managed key aws/s3 by default, "
                        "which allows every principal of the account that S3 calls on its behalf"
                    )
    return _BucketSettings(block, default_key, not isinstance(encryption, ReadError), tuple(facts), region)


def bucket_region(location: Mapping[str, Any]) -> str:
    """The region of a bucket from GetBucketLocation: no constraint means us-east-1, and "EU" is eu-west-1."""
    constraint = str(location.get("LocationConstraint") or "")
    return {"": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


async def _optional(call: Awaitable[Mapping[str, Any]]) -> Mapping[str, Any] | ReadError | None:
    """A setting that may be absent: None when AWS says there is none, the error when it could not be read."""
    try:
        return await call
    except NotFound:
        return None
    except ReadError as exc:
        return exc


async def read_key(reader: AwsReader, target: ResourceTarget) -> ResourceSide:
    """KMS: the key policy, the key's grants, and whether AWS manages the key (an alias is resolved first)."""
    holder = target.holder
    account, region = target.accounts[0], holder.region or target.region
    key_id = holder.arn
    described: Mapping[str, Any] | None = None
    if holder.name.startswith("alias/"):
        described = await reader.call("kms", "DescribeKey", {"KeyId": key_id}, account=account, region=region)
        key_id = str(described["KeyMetadata"]["Arn"])
    calls: list[Awaitable[Mapping[str, Any]]] = [
        reader.call("kms", "GetKeyPolicy", {"KeyId": key_id, "PolicyName": "default"}, account=account, region=region),
        reader.call("kms", "ListGrants", {"KeyId": key_id}, account=account, region=region, paginate=True),
    ]
    if described is None:
        calls.append(reader.call("kms", "DescribeKey", {"KeyId": key_id}, account=account, region=region))
    answers = await asyncio.gather(*calls, return_exceptions=True)
    policy_answer, grants_answer = answers[0], answers[1]
    if described is None:
        described_answer = answers[2]
        if isinstance(described_answer, BaseException):
            raise described_answer
        described = described_answer
    if isinstance(policy_answer, BaseException):
        raise policy_answer
    metadata = described.get("KeyMetadata") or {}
    key_arn = str(metadata.get("Arn") or key_id)
    facts: list[str] = []
    grants: tuple[KmsGrant, ...] = ()
    if isinstance(grants_answer, ReadError):
        facts.append(f"the key's grants could not be read ({grants_answer})")
    elif isinstance(grants_answer, BaseException):
        raise grants_answer
    else:
        grants = tuple(_grant(g, key_arn) for g in grants_answer.get("Grants") or [])
    key_name = key_arn.rsplit("/", 1)[-1]
    aws_managed = metadata.get("KeyManager") == "AWS"
    if aws_managed:
        facts.append(f"KMS key {key_name} is an AWS managed key: its key policy is AWS's and cannot be changed")
    if metadata.get("KeyState") not in (None, "Enabled"):
        facts.append(f"KMS key {key_name} is {metadata.get('KeyState')}: no request can use it until it is enabled")
    policy = NamedPolicy(f"key policy of {key_name}", document(policy_answer.get("Policy") or "{}"), key_arn)
    return ResourceSide(
        layer=Layer.RESOURCE,
        service="kms",
        arn=key_arn,
        label=f"key policy of key {key_name}",
        account=account,
        policy=policy,
        kms_grants=grants,
        aws_managed=aws_managed,
        facts=tuple(facts),
        region=region or None,
    )


def _grant(raw: Mapping[str, Any], key_arn: str) -> KmsGrant:
    constraints = raw.get("Constraints") or {}
    return KmsGrant(
        grant_id=str(raw.get("GrantId") or ""),
        grantee_principal=str(raw.get("GranteePrincipal") or ""),
        operations=tuple(str(op) for op in raw.get("Operations") or ()),
        key_arn=key_arn,
        encryption_context_equals=constraints.get("EncryptionContextEquals"),
        encryption_context_subset=constraints.get("EncryptionContextSubset"),
        name=raw.get("Name") or None,
    )


async def read_queue(reader: AwsReader, target: ResourceTarget) -> ResourceSide:
    """SQS: the queue policy (the queue URL is built from the ARN: no GetQueueUrl round trip)."""
    holder = target.holder
    account, region = target.accounts[0], holder.region or target.region
    url = f"https://sqs.{region}.amazonaws.com/{account}/{holder.name}"
    answer = await reader.call(
        "sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["Policy"]}, account=account, region=region
    )
    text = (answer.get("Attributes") or {}).get("Policy")
    return _side(holder, account, f"queue policy of {holder.name}", text)


async def read_topic(reader: AwsReader, target: ResourceTarget) -> ResourceSide:
    """SNS: the topic policy."""
    holder = target.holder
    account, region = target.accounts[0], holder.region or target.region
    answer = await reader.call("sns", "GetTopicAttributes", {"TopicArn": holder.arn}, account=account, region=region)
    text = (answer.get("Attributes") or {}).get("Policy")
    return _side(holder, account, f"topic policy of {holder.name}", text)


async def read_secret(reader: AwsReader, target: ResourceTarget) -> ResourceSide:
    """Secrets Manager: the secret's resource policy."""
    holder = target.holder
    account, region = target.accounts[0], holder.region or target.region
    answer = await reader.call(
        "secretsmanager", "GetResourcePolicy", {"SecretId": holder.arn}, account=account, region=region
    )
    return _side(holder, account, f"resource policy of secret {holder.name}", answer.get("ResourcePolicy"))


async def read_function(reader: AwsReader, target: ResourceTarget) -> ResourceSide:
    """Lambda: the function's resource-based policy (one code means "no function" and "no policy": the text tells)."""
    holder = target.holder
    account, region = target.accounts[0], holder.region or target.region
    params: dict[str, Any] = {"FunctionName": holder.name}
    qualifier = holder.arn.partition(":function:")[2].partition(":")[2]
    if qualifier:
        params["Qualifier"] = qualifier
    try:
        answer = await reader.call("lambda", "GetPolicy", params, account=account, region=region)
    except NotFound as exc:
        if "function not found" in str(exc).lower():
            raise ResourceMissing(f"function {holder.name} was not found in account {account}") from None
        return _side(holder, account, f"resource-based policy of function {holder.name}", None)
    return _side(holder, account, f"resource-based policy of function {holder.name}", answer.get("Policy"))


async def read_repository(reader: AwsReader, target: ResourceTarget) -> ResourceSide:
    """ECR: the repository policy."""
    holder = target.holder
    account, region = target.accounts[0], holder.region or target.region
    try:
        answer = await reader.call(
            "ecr",
            "GetRepositoryPolicy",
            {"repositoryName": holder.name, "registryId": account},
            account=account,
            region=region,
        )
    except NotFound as exc:
        if exc.code == "RepositoryNotFoundException":
            raise ResourceMissing(f"repository {holder.name} was not found in account {account}") from None
        return _side(holder, account, f"repository policy of {holder.name}", None)
    return _side(holder, account, f"repository policy of {holder.name}", answer.get("policyText"))


async def read_trust_policy(reader: AwsReader, target: ResourceTarget) -> ResourceSide:
    """IAM: a role's trust policy, for sts:AssumeRole* and sts:TagSession."""
    holder = target.holder
    account = target.accounts[0]
    try:
        answer = await reader.call("iam", "GetRole", {"RoleName": holder.name}, account=account)
    except NotFound:
        raise ResourceMissing(f"role {holder.name} was not found in account {account}") from None
    role = answer.get("Role") or {}
    policy = NamedPolicy(f"trust policy of {holder.name}", document(role.get("AssumeRolePolicyDocument") or "{}"))
    return ResourceSide(
        layer=Layer.TRUST,
        service="iam",
        arn=str(role.get("Arn") or holder.arn),
        label=holder.label,
        account=account,
        policy=policy,
    )


def _side(holder: PolicyHolder, account: str, name: str, text: Any) -> ResourceSide:
    policy = NamedPolicy(name, document(text), holder.arn) if text else None
    return ResourceSide(
        layer=Layer.RESOURCE,
        service=holder.service,
        arn=holder.arn,
        label=holder.label,
        account=account,
        policy=policy,
        region=holder.region,
    )


# One entry per service: adding a service is one reader above and one line here.
READERS: Mapping[str, Reader] = {
    "s3": read_bucket,
    "kms": read_key,
    "sqs": read_queue,
    "sns": read_topic,
    "secretsmanager": read_secret,
    "lambda": read_function,
    "ecr": read_repository,
    "iam": read_trust_policy,
}


def reader_for(holder: PolicyHolder) -> Reader | None:
    """The registry reader for a policy holder; None for services without a resource policy iamwhy reads."""
    if holder.service == "s3" and holder.arn.startswith("arn:") and ":accesspoint/" in holder.arn:
        return None
    if holder.service == "iam" and not holder.label.startswith("trust policy"):
        return None
    return READERS.get(holder.service)


def key_holder(key_arn: str) -> PolicyHolder | None:
    """The policy holder of a KMS key or alias ARN (for the S3 -> KMS chain)."""
    holder = policy_holder(key_arn)
    return holder if holder is not None and holder.service == "kms" else None
