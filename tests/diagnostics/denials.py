"""Denied requests built the way the parser builds them, for the explanation, fix and report tests."""

from __future__ import annotations

from collections.abc import Mapping

from diagnostics.arn import parse_principal
from diagnostics.model import ContextValue, DenialKind, DeniedRequest, Layer, Reported

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
USER = f"arn:aws:iam::{ACCOUNT}:user/build-bot"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/build-bot-role"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/build-bot-role/ci-42"
SSO_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_DataReaders_0123456789abcdef/jane@example.com"
OBJECT = "arn:aws:s3:::prod-artifacts/release.tar.gz"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abcd-1234"
SCP_ARN = "arn:aws:organizations::111111111111:policy/o-a1b2c3d4e5/service_control_policy/p-examplescp"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/DevBoundary"
GUARDRAIL_ARN = f"arn:aws:iam::{ACCOUNT}:policy/ProdGuardrail"

_PHRASES = {
    (Layer.IDENTITY, DenialKind.IMPLICIT): "because no identity-based policy allows the {action} action",
    (Layer.RESOURCE, DenialKind.IMPLICIT): "because no resource-based policy allows the {action} action",
    (Layer.BOUNDARY, DenialKind.IMPLICIT): "because no permissions boundary allows the {action} action",
    (Layer.SESSION, DenialKind.IMPLICIT): "because no session policy allows the {action} action",
    (Layer.SCP, DenialKind.IMPLICIT): "because no service control policy allows the {action} action",
    (Layer.RCP, DenialKind.IMPLICIT): "because no resource control policy allows the {action} action",
    (Layer.VPCE, DenialKind.IMPLICIT): "because no VPC endpoint policy allows the {action} action",
    (Layer.IDENTITY, DenialKind.EXPLICIT): "with an explicit deny in an identity-based policy",
    (Layer.RESOURCE, DenialKind.EXPLICIT): "with an explicit deny in a resource-based policy",
    (Layer.BOUNDARY, DenialKind.EXPLICIT): "with an explicit deny in a permissions boundary",
    (Layer.SESSION, DenialKind.EXPLICIT): "with an explicit deny in a session policy",
    (Layer.SCP, DenialKind.EXPLICIT): "with an explicit deny in a service control policy",
    (Layer.RCP, DenialKind.EXPLICIT): "with an explicit deny in a resource control policy",
    (Layer.VPCE, DenialKind.EXPLICIT): "with an explicit deny in a VPC endpoint policy",
}


def denial(
    principal: str | None = USER,
    action: str | None = "s3:GetObject",
    resource: str | None = OBJECT,
    *,
    layer: Layer | None = None,
    kind: DenialKind | None = None,
    policy_arn: str | None = None,
    account_id: str | None = ACCOUNT,
    region: str | None = None,
    authorization_id: str | None = None,
    authorization_region: str | None = None,
    encoded_message: str | None = None,
    context: Mapping[str, ContextValue] | None = None,
    warnings: tuple[str, ...] = (),
) -> DeniedRequest:
    phrase = None
    if (layer, kind) in _PHRASES:
        phrase = _PHRASES[(layer, kind)].format(action=action)
        if policy_arn:
            phrase += f": {policy_arn}"
    elif kind is DenialKind.EXPLICIT:
        phrase = "with an explicit deny"
    return DeniedRequest(
        principal=parse_principal(principal) if principal is not None else None,
        action=action,
        resource_arn=resource,
        account_id=account_id,
        api_operation=action.split(":", 1)[1] if action else None,
        region=region,
        reported=Reported(layer=layer, kind=kind, policy_arn=policy_arn, phrase=phrase),
        authorization_id=authorization_id,
        authorization_region=authorization_region,
        encoded_message=encoded_message,
        context=dict(context or {}),
        warnings=warnings,
    )
