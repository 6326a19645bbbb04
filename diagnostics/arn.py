"""ARN parsing and principal classification, shared by the parser, the evaluator and the gatherer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from diagnostics.model import Principal, PrincipalType

PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
ANONYMOUS = "anonymous"
SERVICE_PREFIX = "service:"

_ACCOUNT_RE = re.compile(r"^\d{12}$")
# Parts of a pasted ARN that stand for what was taken out before pasting: <account-id>, {region}, ****, xxxx, "...".
_TAKEN_OUT = re.compile(r"<[^<>]*>|\{[^{}]*\}|\*{3}|(?<![A-Za-z])[xX]{3,}(?![A-Za-z])|\.\.\.|…")
_SSO_ROLE_RE = re.compile(r"^AWSReservedSSO_(?P<set>.+)_[0-9a-fA-F]{16}$")


class ArnError(ValueError):
    """A string that is not a well-formed ARN."""


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str:
        """The part of the resource before the first '/' or ':' (``user``, ``role``, ``key``...)."""
        return re.split(r"[/:]", self.resource, maxsplit=1)[0]


def parse_arn(text: str) -> Arn:
    """Split an ARN into its six parts; raise ArnError naming what is wrong."""
    parts = text.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise ArnError(f"not an ARN (expected arn:partition:service:region:account:resource): {text[:200]!r}")
    _, partition, service, region, account, resource = parts
    if not partition or not service:
        raise ArnError(f"ARN has an empty partition or service: {text[:200]!r}")
    if account and not _ACCOUNT_RE.match(account) and account != "aws":
        raise ArnError(f"ARN account is not 12 digits: {text[:200]!r}")
    return Arn(partition, service, region, account, resource)


def has_taken_out_part(text: str) -> bool:
    """Whether ``text`` (an ARN as pasted) holds a placeholder or a mask where a part was taken out before pasting:
    such an ARN, even one that parses, names nothing a read or a policy could use."""
    return _TAKEN_OUT.search(text) is not None


def is_placeholder(text: str) -> bool:
    """Whether ``text`` as a whole is a placeholder or a mask put where a value was taken out ("<arn here>", "***")."""
    return _TAKEN_OUT.fullmatch(text.strip()) is not None


def is_account_id(text: str) -> bool:
    return bool(_ACCOUNT_RE.match(text))


def parse_principal(text: str) -> Principal:
    """Classify a principal given as an ARN, ``anonymous``, ``service:<name>`` or a bare service host."""
    text = text.strip()
    if text == ANONYMOUS or text == "*":
        return Principal(arn=ANONYMOUS, type=PrincipalType.ANONYMOUS)
    if text.startswith(SERVICE_PREFIX):
        name = text[len(SERVICE_PREFIX) :]
        return Principal(arn=text, type=PrincipalType.SERVICE, name=name)
    if not text.startswith("arn:") and text.endswith(".amazonaws.com"):
        return Principal(arn=f"{SERVICE_PREFIX}{text}", type=PrincipalType.SERVICE, name=text)
    try:
        arn = parse_arn(text)
    except ArnError:
        return Principal(arn=text, type=PrincipalType.UNKNOWN)
    partition, account = arn.partition, arn.account or None
    resource = arn.resource
    if arn.service == "iam" and resource == "root":
        return Principal(text, PrincipalType.ROOT, partition, account)
    if arn.service == "iam" and resource.startswith(("user/", "role/")):
        kind, _, rest = resource.partition("/")
        path, _, name = rest.rpartition("/")
        path = f"/{path}/" if path else "/"
        if not name:
            # "user/" with the name cut off or left out: no principal a policy or a read can use.
            return Principal(text, PrincipalType.UNKNOWN, partition, account)
        if kind == "user":
            return Principal(text, PrincipalType.USER, partition, account, name=name, path=path)
        return Principal(
            text, PrincipalType.ROLE, partition, account, name=name, path=path, sso_permission_set=_sso_set(name)
        )
    if arn.service == "sts" and resource.startswith("assumed-role/"):
        _, role, session = [*resource.split("/", 2), "", ""][:3]
        return Principal(
            text,
            PrincipalType.ASSUMED_ROLE,
            partition,
            account,
            name=role or None,
            session_name=session or None,
            sso_permission_set=_sso_set(role),
        )
    if arn.service == "sts" and resource.startswith("federated-user/"):
        return Principal(text, PrincipalType.FEDERATED_USER, partition, account, name=resource.split("/", 1)[1] or None)
    return Principal(text, PrincipalType.UNKNOWN, partition, account)


def _sso_set(role_name: str) -> str | None:
    match = _SSO_ROLE_RE.match(role_name)
    return match.group("set") if match else None
