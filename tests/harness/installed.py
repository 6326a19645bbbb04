"""An installation of iamwhy done right in the moto sandbox: the read roles, the organizations role, the settings.

Doctor tests start from it and break one thing at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from diagnostics.reader import AwsConfig
from tests.harness.world import HUB_ACCOUNT, MANAGEMENT_ACCOUNT, AwsWorld, Organization, trust

EXTERNAL_ID = "iamwhy-test-7d3a6051"
READ_ROLE = "IamWhyReadOnly"
ORG_ROLE = "IamWhyOrgReadOnly"
ORG_ROLE_ARN = f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/{ORG_ROLE}"


@dataclass(frozen=True)
class Installed:
    """What was deployed, and the environment a bot configured for it has."""

    bot_arn: str
    # A workload account in the organization (moto draws its id), listed in IAMWHY_ACCOUNTS.
    member: str
    organization: Organization
    env: dict[str, str]

    def read_role_arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:role/{READ_ROLE}"

    def config(self, **overrides: Any) -> dict[str, Any]:
        """AwsConfig fields of this installation (for make_adapter), with overrides."""
        config = AwsConfig.from_mapping(self.env)
        values = {f.name: getattr(config, f.name) for f in fields(config)}
        values.update(overrides)
        return values


def install(world: AwsWorld, bot_arn: str, *, rcps: bool = True) -> Installed:
    """An organization (SCPs, and RCPs unless told otherwise) with one member account; the read role in it and in the
    bot's own account, the organizations read role in the management account, all trusting the bot with the
    ExternalId."""
    organization = world.create_organization()
    if rcps:
        world.client("organizations", MANAGEMENT_ACCOUNT).enable_policy_type(
            RootId=organization.root_id, PolicyType="RESOURCE_CONTROL_POLICY"
        )
    ou = world.create_ou(organization, "Workloads")
    member = world.create_member_account(organization, "workload", parent_id=ou)
    trusted = trust(bot_arn, external_id=EXTERNAL_ID)
    for account in (HUB_ACCOUNT, member):
        world.create_role(account, READ_ROLE, trust_policy=trusted)
    world.create_role(MANAGEMENT_ACCOUNT, ORG_ROLE, trust_policy=trusted)
    world.forget_requests()
    env = {
        "IAMWHY_ACCOUNTS": member,
        "IAMWHY_EXTERNAL_ID": EXTERNAL_ID,
        "IAMWHY_ORG_ROLE_ARN": ORG_ROLE_ARN,
    }
    return Installed(bot_arn, member, organization, env)
