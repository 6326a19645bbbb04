"""The words every renderer uses for layers, decisions and confidence, and policy JSON in IAM's element order."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from diagnostics.model import Confidence, Decision, DenialKind, Layer

LAYER_TITLES: Mapping[Layer, str] = {
    Layer.IDENTITY: "Identity",
    Layer.BOUNDARY: "Boundary",
    Layer.SESSION: "Session",
    Layer.SCP: "SCPs",
    Layer.RCP: "RCPs",
    Layer.RESOURCE: "Resource",
    Layer.TRUST: "Trust",
    Layer.VPCE: "VPC endpoint",
}

DECISION_TITLES: Mapping[Decision, str] = {
    Decision.ALLOWED: "Allowed",
    Decision.EXPLICIT_DENY: "Explicit deny",
    Decision.IMPLICIT_DENY: "Implicit deny",
    Decision.UNKNOWN: "Could not tell",
}

KIND_TITLES: Mapping[DenialKind, str] = {
    DenialKind.EXPLICIT: "Explicit deny",
    DenialKind.IMPLICIT: "Implicit deny",
}

CONFIDENCE_NOTES: Mapping[Confidence, str] = {
    Confidence.VERIFIED: "verified: AWS's own record of the request",
    Confidence.EVALUATED: "evaluated: every layer's live policies were read and evaluated",
    Confidence.SIMULATED: "simulated: IAM's policy simulator agrees, but some layer could not be read",
    Confidence.REPORTED: "reported: from the error message alone",
    Confidence.UNKNOWN: "unknown: not enough could be read to tell",
}


def layer_title(layer: Layer, subject: str | None = None) -> str:
    """ "Resource", or "Resource (KMS)" for a row about a second call made on the request's behalf."""
    title = LAYER_TITLES[layer]
    return f"{title} ({subject.split(' ', 1)[0]})" if subject else title


# Policy elements in the order IAM's documentation writes them; anything else keeps its place after them.
_ELEMENT_ORDER = {
    name: position
    for position, name in enumerate(
        (
            "Version",
            "Id",
            "Statement",
            "Sid",
            "Effect",
            "Principal",
            "NotPrincipal",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
        )
    )
}


def policy_json(value: Any) -> str:
    """A policy or statement as indented JSON, elements in IAM's order, however the document was stored."""
    return json.dumps(_ordered(value), indent=2, ensure_ascii=False, default=str)


def _ordered(value: Any) -> Any:
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda k: _ELEMENT_ORDER.get(k, len(_ELEMENT_ORDER)))
        return {k: _ordered(value[k]) if k == "Statement" else value[k] for k in keys}
    if isinstance(value, list | tuple):
        return [_ordered(v) for v in value]
    return value
