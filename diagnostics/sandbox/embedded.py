"""Everything that touches moto (5.2.x): the loopback server, and writing the world into moto's backends.

moto keeps its state in process-wide backends that its server answers from, so the world is written there
directly, without a request: product code never makes AWS write calls, not even to a sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from moto.cloudtrail.responses import CloudTrailResponse
from moto.iam.models import IAMBackend, iam_backends
from moto.kms.models import kms_backends
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.organizations.models import OrganizationsBackend, organizations_backends
from moto.s3.models import S3Backend, s3_backends
from werkzeug.serving import make_server

from diagnostics.sandbox.world import REGION, ROOT, Account, Document, World

_PARTITION: Final = "aws"
_BLOCK_ALL_PUBLIC_ACCESS: Final = {
    "BlockPublicAcls": "true",
    "IgnorePublicAcls": "true",
    "BlockPublicPolicy": "true",
    "RestrictPublicBuckets": "true",
}

# moto annotates a dict, but stores (and its own request handler passes) the rule's ObjectOwnership string.
_OBJECT_OWNERSHIP: Final[Any] = "BucketOwnerEnforced"


class LoopbackServer(ThreadedMotoServer):
    """moto's threaded server on 127.0.0.1 and a free port, quick to stop, with its socket closed on stop."""

    def __init__(self) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self._failure: BaseException | None = None

    def _server_entry(self) -> None:
        try:
            self._server = make_server(
                self._ip_address,
                self._port,
                DomainDispatcherApplication(create_backend_app),
                True,
                request_handler=MotoRequestHandler,
            )
        except BaseException as exc:
            # start() waits for this event: without it, a failed bind would hang the caller forever.
            self._failure = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        # moto's default half-second poll makes every stop take that long.
        self._server.serve_forever(poll_interval=0.05)

    def start(self) -> None:
        super().start()
        if self._failure is not None:
            raise OSError(f"could not listen on 127.0.0.1: {self._failure}") from self._failure

    def stop(self) -> None:
        server = self._server
        if server is None or self._thread is None:
            return
        super().stop()
        server.server_close()
        self._server = None

    @property
    def endpoint(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"


def _no_events(response: CloudTrailResponse) -> str:
    return json.dumps({"Events": []})


def answer_lookup_events() -> Callable[[], None]:
    """Answer CloudTrail LookupEvents, which moto lacks, as an account whose trail recorded nothing; return the undo.

    That is the sandbox's truth: the pasted denials never reached it. An answer someone else already installed
    is left alone.
    """
    if "lookup_events" in vars(CloudTrailResponse):
        return lambda: None
    CloudTrailResponse.lookup_events = _no_events  # type: ignore[attr-defined]

    def undo() -> None:
        if vars(CloudTrailResponse).get("lookup_events") is _no_events:
            del CloudTrailResponse.lookup_events  # type: ignore[attr-defined]

    return undo


@dataclass(frozen=True)
class Seeded:
    """What the seed drew at random that the bot needs: its own access key."""

    access_key_id: str
    secret_access_key: str


def reset() -> None:
    """Empty every moto backend of this process."""
    moto_api_backend.reset()
    # moto's reset leaves its map of member accounts to their organization; every organization is gone now.
    organizations_backends.master_accounts.clear()


def seed(world: World, *, random_seed: int) -> Seeded:
    """Reset moto and write the world into it. Ids moto draws at random come from `random_seed`."""
    reset()
    mock_random.seed(random_seed)
    organization = world.organization
    management = organization.management
    bot_key: tuple[str, str] | None = None
    for account in world.accounts:
        keys = _seed_iam(account)
        if account.id == world.bot_account:
            bot_key = keys.get(world.bot_user)
    if bot_key is None:
        raise ValueError(f"the world has no user {world.bot_user!r} with an access key in {world.bot_account}")

    org = organizations_backends[management.id][_PARTITION]
    org.create_organization(region=REGION, FeatureSet="ALL")
    root_id = str(org.list_roots()["Roots"][0]["Id"])
    # Both policy types on: AWS attaches FullAWSAccess and RCPFullAWSAccess everywhere, as moto does.
    for policy_type in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        org.enable_policy_type(RootId=root_id, PolicyType=policy_type)
    ou_ids = {
        name: str(org.create_organizational_unit(ParentId=root_id, Name=name)["OrganizationalUnit"]["Id"])
        for name in organization.ous
    }
    for account, ou in organization.members:
        _create_member(org, account, root_id, ou_ids[ou])
    targets = {ROOT: root_id, **ou_ids}
    for scp in organization.scps:
        created = org.create_policy(
            Name=scp.name, Description=scp.description, Type="SERVICE_CONTROL_POLICY", Content=_json(scp.document)
        )
        for target in scp.targets:
            org.attach_policy(PolicyId=created["Policy"]["PolicySummary"]["Id"], TargetId=targets.get(target, target))

    # Resources after IAM: AWS refuses a key or bucket policy that names a principal which does not exist.
    for account in world.accounts:
        _seed_resources(account)
    return Seeded(*bot_key)


def _json(document: Document) -> str:
    return json.dumps(document, indent=2)


def _seed_iam(account: Account) -> dict[str, tuple[str, str]]:
    """Create the account's IAM; return each access key created, by user name."""
    iam: IAMBackend = iam_backends[account.id][_PARTITION]
    for managed in account.policies:
        iam.create_policy(
            description=managed.description,
            path="/",
            policy_document=_json(managed.document),
            policy_name=managed.name,
            tags=[],
        )
    keys: dict[str, tuple[str, str]] = {}
    for user in account.users:
        iam.create_user(region_name=REGION, user_name=user.name)
        for name, document in user.inline.items():
            iam.put_user_policy(user.name, name, _json(document))
        for name in user.managed:
            iam.attach_user_policy(f"arn:aws:iam::{account.id}:policy/{name}", user.name)
        if user.access_key:
            key = iam.create_access_key(user.name)
            keys[user.name] = (str(key.access_key_id), str(key.secret_access_key))
    for role in account.roles:
        iam.create_role(
            role_name=role.name,
            assume_role_policy_document=_json(role.trust),
            path="/",
            permissions_boundary=f"arn:aws:iam::{account.id}:policy/{role.boundary}" if role.boundary else None,
            description=role.description,
            tags=[],
            max_session_duration="3600",
        )
        for name, document in role.inline.items():
            iam.put_role_policy(role.name, name, _json(document))
        for name in role.managed:
            iam.attach_role_policy(f"arn:aws:iam::{account.id}:policy/{name}", role.name)
    return keys


def _create_member(org: OrganizationsBackend, account: Account, root_id: str, ou_id: str) -> None:
    status = org.create_account(AccountName=account.name, Email=f"{account.name}@example.com")
    created = org.get_account_by_id(str(status["CreateAccountStatus"]["AccountId"]))
    drawn = created.id
    if drawn != account.id:
        # moto draws a random account id; the scenarios name the member account 123456789012, so the
        # account takes that id, as moto itself does for the management account.
        members = organizations_backends.master_accounts
        members[account.id] = members.pop(drawn)
        # moto created OrganizationAccountAccessRole under the drawn id; the world creates it under the real one.
        iam_backends.pop(drawn, None)
        created.id = account.id
    org.move_account(AccountId=account.id, SourceParentId=root_id, DestinationParentId=ou_id)


def _seed_resources(account: Account) -> None:
    s3: S3Backend = s3_backends[account.id][_PARTITION]
    for bucket in account.buckets:
        s3.create_bucket(bucket.name, REGION)
        # What AWS applies to every new bucket: Block Public Access on, ACLs disabled, SSE-S3 unless told otherwise.
        s3.put_public_access_block(bucket.name, dict(_BLOCK_ALL_PUBLIC_ACCESS))
        s3.put_bucket_ownership_controls(bucket.name, _OBJECT_OWNERSHIP)
        if bucket.kms_key_arn is None:
            encryption: dict[str, Any] = {"Rule": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}}
        else:
            encryption = {
                "Rule": {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": bucket.kms_key_arn,
                    },
                    "BucketKeyEnabled": "true",
                }
            }
        s3.put_bucket_encryption(bucket.name, encryption)
        if bucket.policy is not None:
            s3.put_bucket_policy(bucket.name, _json(bucket.policy).encode())
    if not account.keys:
        return
    kms = kms_backends[account.id][REGION]
    for spec in account.keys:
        key = kms.create_key(
            policy=_json(spec.policy),
            key_usage="ENCRYPT_DECRYPT",
            key_spec="SYMMETRIC_DEFAULT",
            description=spec.description,
            tags=None,
        )
        # moto draws a UUID; the key keeps the id the scenarios name.
        kms.keys.pop(key.id)
        key.id = spec.key_id
        key.arn = f"arn:aws:kms:{REGION}:{account.id}:key/{spec.key_id}"
        kms.keys[spec.key_id] = key
        for alias in spec.aliases:
            kms.create_alias(spec.key_id, alias)
