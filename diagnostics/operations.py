"""API operation -> IAM action, as data, for messages that name only the operation (the CLI, SDKs, CloudTrail)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from diagnostics import catalog

# (service prefix, operation) -> the IAM action it is authorized as, where that is not "<service>:<operation>".
ACTION_OF_OPERATION: Mapping[tuple[str, str], str] = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "SelectObjectContent"): "s3:GetObject",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "ListMultipartUploads"): "s3:ListBucketMultipartUploads",
    ("s3", "ListParts"): "s3:ListMultipartUploadParts",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "CopyObject"): "s3:PutObject",
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "UploadPartCopy"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "DeleteBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "s3:PutLifecycleConfiguration",
    ("s3", "GetBucketReplication"): "s3:GetReplicationConfiguration",
    ("s3", "PutBucketReplication"): "s3:PutReplicationConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "GetBucketCors"): "s3:GetBucketCORS",
    ("s3", "PutBucketCors"): "s3:PutBucketCORS",
    ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
    ("s3", "PutObjectLockConfiguration"): "s3:PutBucketObjectLockConfiguration",
    ("s3", "GetBucketNotificationConfiguration"): "s3:GetBucketNotification",
    ("s3", "PutBucketNotificationConfiguration"): "s3:PutBucketNotification",
    ("s3", "GetBucketAccelerateConfiguration"): "s3:GetAccelerateConfiguration",
    ("s3", "GetBucketAnalyticsConfiguration"): "s3:GetAnalyticsConfiguration",
    ("s3", "GetBucketInventoryConfiguration"): "s3:GetInventoryConfiguration",
    ("s3", "GetBucketMetricsConfiguration"): "s3:GetMetricsConfiguration",
    ("lambda", "Invoke"): "lambda:InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "lambda:InvokeFunction",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    ("sns", "PublishBatch"): "sns:Publish",
    ("bedrock", "Converse"): "bedrock:InvokeModel",
    ("bedrock", "ConverseStream"): "bedrock:InvokeModelWithResponseStream",
    ("dynamodb", "TransactGetItems"): "dynamodb:GetItem",
}

# (service prefix, operation) -> the IAM actions it is authorized as, where one call is authorized item by item
# under several actions and only the denial's own sentence (which names the action) says which one failed.
ACTIONS_OF_OPERATION: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("dynamodb", "TransactWriteItems"): (
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    ),
    ("dynamodb", "ExecuteStatement"): (
        "dynamodb:PartiQLSelect",
        "dynamodb:PartiQLInsert",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
    ),
    ("dynamodb", "BatchExecuteStatement"): (
        "dynamodb:PartiQLSelect",
        "dynamodb:PartiQLInsert",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
    ),
    ("dynamodb", "ExecuteTransaction"): (
        "dynamodb:PartiQLSelect",
        "dynamodb:PartiQLInsert",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
    ),
    ("kms", "ReEncrypt"): ("kms:ReEncryptFrom", "kms:ReEncryptTo"),
}

# API Gateway's management API is authorized by HTTP verb, not by operation name.
_APIGATEWAY_VERBS: tuple[tuple[str, str], ...] = (
    ("Get", "GET"),
    ("Create", "POST"),
    ("Import", "PUT"),
    ("Put", "PUT"),
    ("Update", "PATCH"),
    ("Delete", "DELETE"),
)

# Service -> the operations that (almost) always belongs to, for messages that name no service (the CLI
# prints only the operation). Operations several services share are listed only when one is the
# overwhelmingly common reading; the rest are resolved from the catalogue or left unknown.
_OPERATIONS_BY_SERVICE: Mapping[str, str] = {
    "s3": (
        "GetObject PutObject HeadObject HeadBucket ListObjects ListObjectsV2 ListObjectVersions "
        "ListBuckets CreateBucket DeleteBucket DeleteObject DeleteObjects CopyObject GetBucketPolicy "
        "PutBucketPolicy DeleteBucketPolicy GetBucketAcl PutBucketAcl GetObjectAcl PutObjectAcl "
        "GetObjectTagging PutObjectTagging GetBucketTagging PutBucketTagging GetBucketLocation "
        "CreateMultipartUpload UploadPart UploadPartCopy CompleteMultipartUpload AbortMultipartUpload "
        "ListMultipartUploads ListParts GetBucketEncryption PutBucketEncryption GetBucketVersioning "
        "PutBucketVersioning GetPublicAccessBlock PutPublicAccessBlock RestoreObject SelectObjectContent "
        "GetObjectAttributes GetBucketLifecycleConfiguration PutBucketLifecycleConfiguration "
        "GetBucketReplication GetBucketCors PutBucketCors GetBucketWebsite GetBucketLogging "
        "GetBucketOwnershipControls GetObjectLockConfiguration GetBucketNotificationConfiguration "
        "PutBucketNotificationConfiguration GetObjectRetention GetObjectLegalHold GetBucketPolicyStatus"
    ),
    "dynamodb": (
        "GetItem PutItem UpdateItem DeleteItem Query Scan BatchGetItem BatchWriteItem DescribeTable "
        "CreateTable DeleteTable UpdateTable ListTables TransactGetItems"
    ),
    "kms": (
        "Decrypt Encrypt GenerateDataKey GenerateDataKeyWithoutPlaintext GenerateDataKeyPair DescribeKey "
        "CreateGrant Sign Verify GetPublicKey ListKeys ListAliases CreateKey ScheduleKeyDeletion "
        "GetKeyPolicy PutKeyPolicy"
    ),
    "sts": (
        "AssumeRole AssumeRoleWithWebIdentity AssumeRoleWithSAML GetCallerIdentity GetSessionToken "
        "GetFederationToken DecodeAuthorizationMessage TagSession AssumeRoot"
    ),
    "secretsmanager": (
        "GetSecretValue PutSecretValue DescribeSecret CreateSecret ListSecrets UpdateSecret DeleteSecret RotateSecret"
    ),
    "ssm": (
        "GetParameter GetParameters GetParametersByPath PutParameter DeleteParameter SendCommand "
        "StartSession DescribeInstanceInformation"
    ),
    "sns": "Publish Subscribe CreateTopic GetTopicAttributes SetTopicAttributes",
    "sqs": (
        "SendMessage SendMessageBatch ReceiveMessage DeleteMessage DeleteMessageBatch GetQueueUrl "
        "GetQueueAttributes SetQueueAttributes ListQueues PurgeQueue CreateQueue ChangeMessageVisibility"
    ),
    "lambda": (
        "Invoke InvokeWithResponseStream GetFunction GetFunctionConfiguration UpdateFunctionCode "
        "UpdateFunctionConfiguration CreateFunction DeleteFunction AddPermission ListFunctions "
        "PublishVersion CreateEventSourceMapping GetLayerVersion"
    ),
    "ec2": (
        "RunInstances DescribeInstances StartInstances StopInstances TerminateInstances RebootInstances "
        "CreateTags DeleteTags DescribeRegions CreateVpc DeleteVpc DescribeVpcs DescribeSubnets "
        "CreateSubnet CreateSecurityGroup AuthorizeSecurityGroupIngress AuthorizeSecurityGroupEgress "
        "DescribeSecurityGroups CreateVolume AttachVolume DetachVolume DescribeVolumes DescribeImages "
        "CreateImage CreateSnapshot DescribeSnapshots AssociateIamInstanceProfile DisassociateRouteTable "
        "AssociateRouteTable CreateRoute CreateRouteTable CreateKeyPair DescribeKeyPairs AllocateAddress "
        "AssociateAddress CreateLaunchTemplate DescribeLaunchTemplates ModifyInstanceAttribute "
        "CreateNetworkInterface DescribeNetworkInterfaces CreateInternetGateway AttachInternetGateway "
        "CreateNatGateway DescribeAvailabilityZones"
    ),
    "iam": (
        "CreateRole GetRole ListRoles DeleteRole PassRole CreateUser GetUser ListUsers DeleteUser "
        "AttachRolePolicy DetachRolePolicy PutRolePolicy GetRolePolicy AttachUserPolicy PutUserPolicy "
        "CreatePolicy GetPolicy GetPolicyVersion CreatePolicyVersion ListAttachedRolePolicies "
        "ListRolePolicies ListPolicies CreateAccessKey ListAccessKeys CreateInstanceProfile "
        "AddRoleToInstanceProfile GetInstanceProfile SimulatePrincipalPolicy "
        "GetAccountAuthorizationDetails UpdateAssumeRolePolicy TagRole CreateServiceLinkedRole "
        "ListGroupsForUser AddUserToGroup CreateGroup PutRolePermissionsBoundary "
        "CreateOpenIDConnectProvider CreateLoginProfile"
    ),
    "ecr": (
        "GetAuthorizationToken BatchGetImage GetDownloadUrlForLayer InitiateLayerUpload UploadLayerPart "
        "CompleteLayerUpload PutImage BatchCheckLayerAvailability DescribeRepositories CreateRepository"
    ),
    "logs": (
        "CreateLogGroup CreateLogStream PutLogEvents FilterLogEvents GetLogEvents DescribeLogGroups "
        "DescribeLogStreams PutRetentionPolicy PutSubscriptionFilter StartQuery"
    ),
    "cloudformation": (
        "CreateStack UpdateStack DescribeStacks DeleteStack CreateChangeSet ExecuteChangeSet "
        "DescribeStackEvents GetTemplate ListStacks DescribeStackResources"
    ),
    "organizations": (
        "DescribeOrganization ListAccounts ListPoliciesForTarget DescribePolicy ListParents ListRoots "
        "ListOrganizationalUnitsForParent DescribeAccount AttachPolicy"
    ),
    "states": "StartExecution DescribeExecution CreateStateMachine StartSyncExecution",
    "bedrock": "InvokeModel InvokeModelWithResponseStream Converse ConverseStream",
    "eks": "DescribeCluster ListNodegroups DescribeNodegroup",
    "ecs": "RunTask DescribeTasks RegisterTaskDefinition UpdateService DescribeServices CreateService",
    "route53": "ChangeResourceRecordSets ListHostedZones ListResourceRecordSets",
    "cloudwatch": "PutMetricData GetMetricData PutMetricAlarm GetMetricStatistics",
    "events": "PutEvents PutRule PutTargets",
    "kinesis": "PutRecords DescribeStreamSummary",
    "firehose": "PutRecordBatch",
    "athena": "StartQueryExecution GetQueryResults GetQueryExecution",
    "glue": "GetTable GetDatabase GetTables StartJobRun GetPartitions",
    "rds": "DescribeDBInstances CreateDBInstance DescribeDBClusters",
    "elasticloadbalancing": "DescribeLoadBalancers DescribeTargetGroups RegisterTargets",
    "autoscaling": "DescribeAutoScalingGroups UpdateAutoScalingGroup",
    "codebuild": "StartBuild BatchGetBuilds",
}
SERVICE_OF_OPERATION: Mapping[str, str] = {
    operation: service for service, names in _OPERATIONS_BY_SERVICE.items() for operation in names.split()
}
# The operations authorized under several actions belong to one service each, all but ExecuteStatement and
# BatchExecuteStatement (which other services have too) unambiguously.
_SERVICE_OF_MULTI_ACTION: Mapping[str, str] = {
    operation: service
    for (service, operation) in ACTIONS_OF_OPERATION
    if operation not in ("ExecuteStatement", "BatchExecuteStatement")
}

# Names SDKs, CLIs, endpoints and CloudTrail give a service -> its IAM prefix, where they differ.
# Keys are lower-case with spaces, dashes and a leading "aws"/"amazon" removed.
SERVICE_ALIASES: Mapping[str, str] = {
    "s3api": "s3",
    "s3control": "s3",
    "securitytokenservice": "sts",
    "securitytoken": "sts",
    "identitymanagement": "iam",
    "keymanagementservice": "kms",
    "simplesystemsmanagement": "ssm",
    "simplenotificationservice": "sns",
    "simplequeueservice": "sqs",
    "dynamodbv2": "dynamodb",
    "dynamodbstreams": "dynamodb",
    "streamsdynamodb": "dynamodb",
    "cloudwatchlogs": "logs",
    "monitoring": "cloudwatch",
    "email": "ses",
    "sesv2": "ses",
    "simpleemailservice": "ses",
    "sfn": "states",
    "stepfunctions": "states",
    "eventbridge": "events",
    "cloudwatchevents": "events",
    "elb": "elasticloadbalancing",
    "elbv2": "elasticloadbalancing",
    "elasticloadbalancingv2": "elasticloadbalancing",
    "apigatewayv2": "apigateway",
    "bedrockruntime": "bedrock",
    "bedrockagentruntime": "bedrock",
    "cognitoidentityprovider": "cognito-idp",
    "cognitoidp": "cognito-idp",
    "cognitoidentity": "cognito-identity",
    "ssooidc": "sso-oauth",
    "identitystore": "identitystore",
    "tagging": "tag",
    "resourcegroupstaggingapi": "tag",
    "kinesisfirehose": "firehose",
    "lambdaservice": "lambda",
    "iamtoolbox": "iam",
    "executeapi": "execute-api",
    "s3objectlambda": "s3-object-lambda",
    "secretsmanager": "secretsmanager",
    "certificatemanager": "acm",
    "ecrpublic": "ecr-public",
    "elasticfilesystem": "elasticfilesystem",
    "efs": "elasticfilesystem",
    "autoscalingplans": "autoscaling-plans",
    "applicationautoscaling": "application-autoscaling",
    "organization": "organizations",
}

# CloudTrail names Lambda events with the API version they were made against (Invoke20150331v2).
_VERSION_SUFFIX = re.compile(r"(?<=[a-z])\d{8}(?:v\d+)?$")
_NAME_NOISE = re.compile(r"[\s_.-]+")


@dataclass(frozen=True)
class Resolution:
    """The IAM action an operation is authorized as, or why it is unknown."""

    action: str | None
    service: str | None = None
    warning: str | None = None


def clean_operation(operation: str) -> str:
    """The operation name without CloudTrail's API-version suffix (``GetFunction20150331v2`` -> ``GetFunction``)."""
    return _VERSION_SUFFIX.sub("", operation.strip())


@lru_cache(maxsize=4096)
def service_prefix(name: str) -> str | None:
    """The IAM prefix of a service as an SDK, CLI, endpoint or CloudTrail names it; None when unknown."""
    host = name.strip().lower().removesuffix(".amazonaws.com").removesuffix(".amazonaws.com.cn")
    key = _NAME_NOISE.sub("", host)
    for candidate in (key, _strip_vendor(key)):
        if not candidate:
            continue
        if candidate in SERVICE_ALIASES:
            return SERVICE_ALIASES[candidate]
        if catalog.service_exists(candidate):
            return candidate
    dashed = host.replace(" ", "-")
    return dashed if catalog.service_exists(dashed) else None


def _strip_vendor(key: str) -> str:
    for prefix in ("amazon", "aws"):
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    return key


@lru_cache(maxsize=4096)
def resolve(operation: str, service: str | None = None) -> Resolution:
    """The IAM action for an API operation, using the service when the text names one."""
    op = clean_operation(operation)
    if not op:
        return Resolution(None)
    prefix = service_prefix(service) if service else None
    if prefix is None:
        prefix = SERVICE_OF_OPERATION.get(op) or _SERVICE_OF_MULTI_ACTION.get(op)
    if prefix is None:
        owners = _operation_owners().get(op.lower(), ())
        if len(owners) > 1:
            shown = ", ".join(owners[:5]) + (", ..." if len(owners) > 5 else "")
            return Resolution(
                None,
                warning=f"{op} is an operation of several services ({shown}); the message does not say which, "
                "so its IAM action is unknown.",
            )
        if not owners:
            return Resolution(
                None,
                warning=f"{op} is neither an IAM action name nor an operation iamwhy maps; its IAM action is unknown.",
            )
        prefix = owners[0]
    several = ACTIONS_OF_OPERATION.get((prefix, op))
    if several:
        named = ", ".join(several[:-1]) + " or " + several[-1]
        return Resolution(
            None,
            prefix,
            f"{op} is authorized item by item, as {named}; the message does not say which item was denied, "
            "so its IAM action is unknown.",
        )
    action = ACTION_OF_OPERATION.get((prefix, op)) or _apigateway_action(prefix, op) or f"{prefix}:{op}"
    canonical = catalog.canonical_action(action)
    if canonical:
        return Resolution(canonical, prefix)
    return Resolution(None, prefix, f"{op} does not map to a known IAM action of {prefix}.")


def _apigateway_action(prefix: str, op: str) -> str | None:
    if prefix != "apigateway":
        return None
    for start, verb in _APIGATEWAY_VERBS:
        if op.startswith(start):
            return f"apigateway:{verb}"
    return None


@lru_cache(maxsize=1)
def _operation_owners() -> dict[str, tuple[str, ...]]:
    """Lower-case action name -> the services that have an action of that name."""
    owners: dict[str, list[str]] = {}
    for service in sorted(catalog.service_prefixes()):
        for name in catalog.actions_of(service):
            owners.setdefault(name.lower(), []).append(service)
    return {name: tuple(services) for name, services in owners.items()}
