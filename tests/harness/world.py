"""Seeding AWS accounts in the moto server with boto3: IAM, an organization with SCPs, and resources with policies.

Setup calls choose their account with moto's `x-moto-account-id` header; the product under test never does:
it reaches other accounts the real way, by assuming a role.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from tests.harness.moto_ext import EXTENSIONS, MotoExtensions
from tests.harness.servers import MotoServer
from tests.harness.toolbox import FakeToolbox

HUB_ACCOUNT = "111111111111"
TARGET_ACCOUNT = "222222222222"
MANAGEMENT_ACCOUNT = "333333333333"
OUTSIDE_ACCOUNT = "999999999999"
REGION = "us-east-1"

Document = Mapping[str, Any]


def policy(*statements: Mapping[str, Any]) -> dict[str, Any]:
    """A policy document from statements."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | Sequence[str], resource: str | Sequence[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | Sequence[str], resource: str | Sequence[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(principal_arn: str, *, external_id: str | None = None) -> dict[str, Any]:
    """A role trust policy for one AWS principal, optionally requiring an ExternalId."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole"}
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return policy(statement)


@dataclass(frozen=True)
class AccessKey:
    user_arn: str
    access_key_id: str
    secret_access_key: str


@dataclass
class Organization:
    id: str
    root_id: str
    management_account: str
    accounts: dict[str, str] = field(default_factory=dict)
    ous: dict[str, str] = field(default_factory=dict)


class AwsWorld:
    """Setup helpers over one moto server; every method returns what a test needs to refer to (ARNs, ids)."""

    def __init__(self, server: MotoServer, toolbox: FakeToolbox, *, region: str = REGION):
        self.server = server
        self.toolbox = toolbox
        self.region = region
        self.moto: MotoExtensions = EXTENSIONS
        self._session = boto3.session.Session(
            aws_access_key_id="AKIAHARNESSSETUP0000", aws_secret_access_key="harness-setup-secret", region_name=region
        )
        self._clients: dict[tuple[str, str, str], Any] = {}

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def reset(self) -> None:
        self.server.reset()
        self.toolbox.reset()

    def forget_requests(self) -> None:
        """Empty the request logs, e.g. after setup, so a test sees only what the code under test sent."""
        self.server.log.clear()
        self.moto.clear_calls()
        self.toolbox.log.clear()

    def client(self, service: str, account: str = HUB_ACCOUNT, region: str | None = None) -> Any:
        """A boto3 client acting in `account` of the moto server (setup only)."""
        key = (service, account, region or self.region)
        client = self._clients.get(key)
        if client is None:
            client = self._session.client(
                service,
                region_name=region or self.region,
                endpoint_url=self.endpoint,
                config=Config(retries={"max_attempts": 1}),
            )
            client.meta.events.register("before-sign.*.*", _account_header(account))
            self._clients[key] = client
        return client

    # --- IAM

    def create_policy(self, account: str, name: str, document: Document, *, path: str = "/") -> str:
        response = self.client("iam", account).create_policy(
            PolicyName=name, PolicyDocument=json.dumps(document), Path=path
        )
        return str(response["Policy"]["Arn"])

    def create_user(
        self,
        account: str,
        name: str,
        *,
        inline: Mapping[str, Document] | None = None,
        managed: Sequence[str] = (),
        groups: Sequence[str] = (),
        tags: Mapping[str, str] | None = None,
    ) -> str:
        iam = self.client("iam", account)
        kwargs: dict[str, Any] = {"UserName": name}
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        arn = str(iam.create_user(**kwargs)["User"]["Arn"])
        for policy_name, document in (inline or {}).items():
            iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        for policy_arn in managed:
            iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)
        for group in groups:
            iam.add_user_to_group(UserName=name, GroupName=group)
        return arn

    def create_access_key(self, account: str, user_name: str) -> AccessKey:
        iam = self.client("iam", account)
        key = iam.create_access_key(UserName=user_name)["AccessKey"]
        arn = str(iam.get_user(UserName=user_name)["User"]["Arn"])
        return AccessKey(arn, str(key["AccessKeyId"]), str(key["SecretAccessKey"]))

    def create_group(
        self,
        account: str,
        name: str,
        *,
        inline: Mapping[str, Document] | None = None,
        managed: Sequence[str] = (),
    ) -> str:
        iam = self.client("iam", account)
        arn = str(iam.create_group(GroupName=name)["Group"]["Arn"])
        for policy_name, document in (inline or {}).items():
            iam.put_group_policy(GroupName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        for policy_arn in managed:
            iam.attach_group_policy(GroupName=name, PolicyArn=policy_arn)
        return arn

    def create_role(
        self,
        account: str,
        name: str,
        *,
        trust_policy: Document | None = None,
        inline: Mapping[str, Document] | None = None,
        managed: Sequence[str] = (),
        boundary: str | None = None,
        path: str = "/",
        tags: Mapping[str, str] | None = None,
    ) -> str:
        iam = self.client("iam", account)
        document = trust_policy or trust(f"arn:aws:iam::{account}:root")
        kwargs: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": json.dumps(document), "Path": path}
        if boundary:
            kwargs["PermissionsBoundary"] = boundary
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        arn = str(iam.create_role(**kwargs)["Role"]["Arn"])
        for policy_name, inline_document in (inline or {}).items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(inline_document))
        for policy_arn in managed:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        return arn

    # --- Organizations

    def create_organization(self, management_account: str = MANAGEMENT_ACCOUNT) -> Organization:
        org = self.client("organizations", management_account)
        details = org.create_organization(FeatureSet="ALL")["Organization"]
        root_id = str(org.list_roots()["Roots"][0]["Id"])
        org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
        return Organization(str(details["Id"]), root_id, management_account)

    def create_ou(self, organization: Organization, name: str, parent_id: str | None = None) -> str:
        org = self.client("organizations", organization.management_account)
        ou = org.create_organizational_unit(ParentId=parent_id or organization.root_id, Name=name)
        organization.ous[name] = str(ou["OrganizationalUnit"]["Id"])
        return organization.ous[name]

    def create_member_account(self, organization: Organization, name: str, parent_id: str | None = None) -> str:
        """A member account; moto chooses its id (deterministically, the server is reseeded on reset)."""
        org = self.client("organizations", organization.management_account)
        status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        account_id = str(status["AccountId"])
        if parent_id is not None:
            org.move_account(AccountId=account_id, SourceParentId=organization.root_id, DestinationParentId=parent_id)
        organization.accounts[name] = account_id
        return account_id

    def create_scp(
        self, organization: Organization, name: str, document: Document, *, targets: Sequence[str] = ()
    ) -> str:
        org = self.client("organizations", organization.management_account)
        created = org.create_policy(
            Name=name, Description=name, Type="SERVICE_CONTROL_POLICY", Content=json.dumps(document)
        )
        policy_id = str(created["Policy"]["PolicySummary"]["Id"])
        for target in targets:
            org.attach_policy(PolicyId=policy_id, TargetId=target)
        return policy_id

    # --- resources with resource policies

    def create_bucket(
        self, account: str, name: str, *, bucket_policy: Document | None = None, region: str | None = None
    ) -> str:
        s3 = self.client("s3", account, region)
        if region is None or region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        if bucket_policy is not None:
            s3.put_bucket_policy(Bucket=name, Policy=json.dumps(bucket_policy))
        return f"arn:aws:s3:::{name}"

    def create_kms_key(self, account: str, *, key_policy: Document | None = None) -> str:
        kwargs: dict[str, Any] = {"Description": "harness key"}
        if key_policy is not None:
            kwargs["Policy"] = json.dumps(key_policy)
        return str(self.client("kms", account).create_key(**kwargs)["KeyMetadata"]["Arn"])

    def create_queue(self, account: str, name: str, *, queue_policy: Document | None = None) -> tuple[str, str]:
        """(queue URL, queue ARN)."""
        sqs = self.client("sqs", account)
        attributes = {"Policy": json.dumps(queue_policy)} if queue_policy is not None else {}
        url = str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, str(arn)

    def create_topic(self, account: str, name: str, *, topic_policy: Document | None = None) -> str:
        sns = self.client("sns", account)
        arn = str(sns.create_topic(Name=name)["TopicArn"])
        if topic_policy is not None:
            sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(topic_policy))
        return arn

    def create_secret(self, account: str, name: str, *, secret_policy: Document | None = None) -> str:
        secrets = self.client("secretsmanager", account)
        arn = str(secrets.create_secret(Name=name, SecretString="harness")["ARN"])
        if secret_policy is not None:
            secrets.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(secret_policy))
        return arn

    def create_ecr_repository(self, account: str, name: str, *, repository_policy: Document | None = None) -> str:
        ecr = self.client("ecr", account)
        arn = str(ecr.create_repository(repositoryName=name)["repository"]["repositoryArn"])
        if repository_policy is not None:
            ecr.set_repository_policy(repositoryName=name, policyText=json.dumps(repository_policy))
        return arn

    def create_lambda_function(
        self,
        account: str,
        name: str,
        *,
        invoke_principal: str | None = None,
        role_arn: str | None = None,
    ) -> str:
        """A function (no code runs: moto needs no Docker to create one), optionally invokable by a principal."""
        if role_arn is None:
            role_arn = self.create_role(account, f"{name}-execution", trust_policy=_service_trust("lambda"))
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("handler.py", "def handler(event, context):\n    return event\n")
        functions = self.client("lambda", account)
        arn = str(
            functions.create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=role_arn,
                Handler="handler.handler",
                Code={"ZipFile": archive.getvalue()},
            )["FunctionArn"]
        )
        if invoke_principal is not None:
            functions.add_permission(
                FunctionName=name, StatementId="harness", Action="lambda:InvokeFunction", Principal=invoke_principal
            )
        return arn


def _service_trust(service: str) -> dict[str, Any]:
    return policy({"Effect": "Allow", "Principal": {"Service": f"{service}.amazonaws.com"}, "Action": "sts:AssumeRole"})


def _account_header(account: str) -> Any:
    def add(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    return add
