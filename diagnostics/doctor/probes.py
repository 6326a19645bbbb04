"""The harmless reads the doctor makes in every account, one per part of a diagnosis, and what their answers prove.

Each read names something that does not exist, or something that always does (the read role itself, the
account), so it works on an empty account and changes nothing. What an answer proves:

- an answer, or "not found" from a service that checks permissions before it looks the name up, proves the
  permission is granted (IAM, S3 account settings, Lambda, ECR, Secrets Manager, EC2, CloudTrail, iam-toolbox);
- "not found" from KMS, SQS and SNS proves only that the service was reached: they look the key, queue or topic
  up first (its own policy takes part in the decision), so a made-up name never reaches the permission check;
- AccessDenied (or the service's own spelling of it) proves the permission is missing: the line names it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from diagnostics.model import Layer

# Made-up names for the reads on resources: recognisable in CloudTrail, valid for every service's naming rules.
PROBE_NAME = "iamwhy-doctor-probe"
PROBE_KEY_ID = "00000000-0000-4000-8000-000000000000"
PROBE_AUTHORIZATION_ID = "0iamwhydoctorprobe0"


@dataclass(frozen=True)
class Target:
    """Where a probe runs: the account, the region, its partition and the read role."""

    account: str
    region: str
    partition: str
    role_arn: str

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Probe:
    """One harmless read standing for a part of every diagnosis."""

    id: str
    title: str
    service: str
    operation: str
    params: Callable[[Target], Mapping[str, Any]]
    # What it tried, for the checklist ("kms:GetKeyPolicy on a key that does not exist").
    describe: Callable[[Target], str]
    # The layers a diagnosis cannot read without it; empty for reads that feed the request context or a cross-check.
    layers: tuple[Layer, ...]
    # Whether "not found" proves the permission (the service checks it before looking the name up).
    not_found_proves: bool
    # What diagnoses lose without it, for the outlook.
    loses: str


def _probe(
    id: str,
    title: str,
    service: str,
    operation: str,
    params: Callable[[Target], Mapping[str, Any]],
    describe: Callable[[Target], str],
    layers: tuple[Layer, ...],
    *,
    not_found_proves: bool,
    loses: str,
) -> Probe:
    return Probe(id, title, service, operation, params, describe, layers, not_found_proves, loses)


PROBES: tuple[Probe, ...] = (
    _probe(
        "iam",
        "IAM policies",
        "iam",
        "GetRole",
        lambda t: {"RoleName": t.role_name},
        lambda t: f"iam:GetRole on the read role itself ({t.role_name})",
        (Layer.IDENTITY, Layer.BOUNDARY, Layer.TRUST),
        not_found_proves=True,
        loses="identity policies, permissions boundaries and trust policies",
    ),
    _probe(
        "s3",
        "S3 settings",
        "s3control",
        "GetPublicAccessBlock",
        lambda t: {"AccountId": t.account},
        lambda t: f"s3:GetAccountPublicAccessBlock on account {t.account}",
        (Layer.RESOURCE,),
        not_found_proves=True,
        loses="S3 bucket policies and Block Public Access",
    ),
    _probe(
        "kms",
        "KMS key policies",
        "kms",
        "GetKeyPolicy",
        lambda t: {
            "KeyId": f"arn:{t.partition}:kms:{t.region}:{t.account}:key/{PROBE_KEY_ID}",
            "PolicyName": "default",
        },
        lambda t: f"kms:GetKeyPolicy on a key that does not exist (key/{PROBE_KEY_ID})",
        (Layer.RESOURCE,),
        not_found_proves=False,
        loses="KMS key policies",
    ),
    _probe(
        "sqs",
        "SQS queue policies",
        "sqs",
        "GetQueueAttributes",
        lambda t: {
            "QueueUrl": f"https://sqs.{t.region}.amazonaws.com/{t.account}/{PROBE_NAME}",
            "AttributeNames": ["Policy"],
        },
        lambda t: f"sqs:GetQueueAttributes on a queue that does not exist ({PROBE_NAME})",
        (Layer.RESOURCE,),
        not_found_proves=False,
        loses="SQS queue policies",
    ),
    _probe(
        "sns",
        "SNS topic policies",
        "sns",
        "GetTopicAttributes",
        lambda t: {"TopicArn": f"arn:{t.partition}:sns:{t.region}:{t.account}:{PROBE_NAME}"},
        lambda t: f"sns:GetTopicAttributes on a topic that does not exist ({PROBE_NAME})",
        (Layer.RESOURCE,),
        not_found_proves=False,
        loses="SNS topic policies",
    ),
    _probe(
        "secretsmanager",
        "Secrets Manager policies",
        "secretsmanager",
        "GetResourcePolicy",
        lambda t: {"SecretId": f"{PROBE_NAME}"},
        lambda t: f"secretsmanager:GetResourcePolicy on a secret that does not exist ({PROBE_NAME})",
        (Layer.RESOURCE,),
        not_found_proves=True,
        loses="Secrets Manager resource policies",
    ),
    _probe(
        "lambda",
        "Lambda function policies",
        "lambda",
        "GetPolicy",
        lambda t: {"FunctionName": f"arn:{t.partition}:lambda:{t.region}:{t.account}:function:{PROBE_NAME}"},
        lambda t: f"lambda:GetPolicy on a function that does not exist ({PROBE_NAME})",
        (Layer.RESOURCE,),
        not_found_proves=True,
        loses="Lambda function policies",
    ),
    _probe(
        "ecr",
        "ECR repository policies",
        "ecr",
        "GetRepositoryPolicy",
        lambda t: {"registryId": t.account, "repositoryName": PROBE_NAME},
        lambda t: f"ecr:GetRepositoryPolicy on a repository that does not exist ({PROBE_NAME})",
        (Layer.RESOURCE,),
        not_found_proves=True,
        loses="ECR repository policies",
    ),
    _probe(
        "vpce",
        "VPC endpoint policies",
        "ec2",
        "DescribeVpcEndpoints",
        lambda t: {"MaxResults": 5},
        lambda t: f"ec2:DescribeVpcEndpoints in {t.region} (at most 5)",
        (Layer.VPCE,),
        not_found_proves=True,
        loses="VPC endpoint policies",
    ),
    _probe(
        "cloudtrail",
        "CloudTrail lookups",
        "cloudtrail",
        "LookupEvents",
        lambda t: {"MaxResults": 1},
        lambda t: f"cloudtrail:LookupEvents in {t.region} (one event)",
        (),
        not_found_proves=True,
        loses="the request context CloudTrail records (source IP, VPC endpoint, MFA), so more condition keys stay "
        "unknown",
    ),
    _probe(
        "simulate",
        "IAM policy simulator",
        "iam",
        "SimulatePrincipalPolicy",
        lambda t: {
            "PolicySourceArn": t.role_arn,
            "ActionNames": ["iam:GetRole"],
        },
        lambda t: f"iam:SimulatePrincipalPolicy of the read role itself for iam:GetRole ({t.role_name})",
        (),
        not_found_proves=True,
        loses="the simulator's cross-check, so a diagnosis with an unreadable layer cannot reach `simulated`",
    ),
)

TOOLBOX = _probe(
    "toolbox",
    "IAM Access Troubleshooter",
    "iam-toolbox",
    "GetRequestAuthorizationDetails",
    lambda t: {"authorizationId": PROBE_AUTHORIZATION_ID},
    lambda t: (
        f"iam:GetRequestAuthorizationDetails (iam-toolbox) in {t.region} for an authorization id that does not exist"
    ),
    (),
    not_found_proves=True,
    loses="`verified` answers for errors that carry an authorization id",
)

BY_ID: Mapping[str, Probe] = {p.id: p for p in (*PROBES, TOOLBOX)}
