"""Everything that is not Slack: parsing, the policy evaluator, AWS gathering, checks and remediation.

The build may compile some of these modules (see setup.py). The compiled ones are used only while each of their
sources is the one they were compiled from, and not at all with ``IAMWHY_PURE_PYTHON=1``; they call each other
directly, so they are used all together or not at all.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

_HERE = Path(__file__).resolve().parent
# Written by the build beside the modules it compiled: each one's name and the SHA-256 of its source then.
_RECORD = _HERE / "compiled.json"


class _SourcesFirst(importlib.abc.MetaPathFinder):
    """Imports the named modules of this package from their sources, whatever else lies beside them."""

    def __init__(self, sources: dict[str, Path]) -> None:
        self.sources = sources

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = self.sources.get(fullname)
        return None if source is None else importlib.util.spec_from_file_location(fullname, source)


def _choose() -> bool:
    """Whether the compiled modules are used; where they are not, their sources are imported instead."""
    try:
        recorded = json.loads(_RECORD.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(recorded, dict):
        return False
    sources = {name: _HERE / f"{name}.py" for name in recorded}
    current = all(
        path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == recorded[name]
        for name, path in sources.items()
    )
    built = all(
        any(path.with_suffix(suffix).is_file() for suffix in importlib.machinery.EXTENSION_SUFFIXES)
        for path in sources.values()
    )
    if current and built and os.environ.get("IAMWHY_PURE_PYTHON", "") in ("", "0"):
        return True
    sys.meta_path.insert(0, _SourcesFirst({f"{__name__}.{name}": path for name, path in sources.items()}))
    return False


# Whether this process runs the compiled modules.
COMPILED = _choose()
