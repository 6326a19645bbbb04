"""What every check reads: the gathered snapshot and the answer given for it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from diagnostics.model import Blocker, Decision, DeniedRequest
from diagnostics.snapshot import Snapshot


@dataclass(frozen=True)
class Facts:
    snapshot: Snapshot
    request: DeniedRequest
    decision: Decision
    blockers: tuple[Blocker, ...]


def statements(document: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    raw = document.get("Statement") if isinstance(document, Mapping) else None
    items = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
    yield from (s for s in items if isinstance(s, Mapping))


def principal_values(statement: Mapping[str, Any]) -> list[str]:
    """The AWS principals a statement names (its Principal, or NotPrincipal), as strings."""
    element = statement.get("Principal", statement.get("NotPrincipal"))
    if isinstance(element, str):
        return [element]
    if not isinstance(element, Mapping):
        return []
    raw = element.get("AWS")
    values = raw if isinstance(raw, list) else [raw] if raw is not None else []
    return [str(v) for v in values]
