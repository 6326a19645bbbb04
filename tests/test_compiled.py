"""The compiled modules are used only while they are current: an edited source is what runs, never an older build.

Each case lays out a copy of the package's ``__init__`` with one module, ``hot``, beside a build record, and imports
it in a child process. The build's compiled module is stood in for by a file with an extension module's name that
is not one: importing it would fail, so a case that imports ``hot`` shows the source was chosen.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import setup

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "VALUE = 'from the source'\n"


def _package(tmp_path: Path, *, digest: str | None = None, built: bool = True) -> Path:
    package = tmp_path / "diagnostics"
    package.mkdir()
    (package / "__init__.py").write_text((ROOT / "diagnostics" / "__init__.py").read_text(encoding="utf-8"))
    (package / "hot.py").write_text(SOURCE, encoding="utf-8")
    if built:
        (package / f"hot{importlib.machinery.EXTENSION_SUFFIXES[0]}").write_bytes(b"not a shared object")
    if digest is not None:
        (package / "compiled.json").write_text(json.dumps({"hot": digest}), encoding="utf-8")
    return tmp_path


def _environment(root: Path, **environment: str) -> dict[str, str]:
    """This process's environment without IAMWHY_PURE_PYTHON (unless given), importing from ``root``."""
    inherited = {key: value for key, value in os.environ.items() if key != "IAMWHY_PURE_PYTHON"}
    return inherited | environment | {"PYTHONPATH": str(root)}


def _run(root: Path, code: str, **environment: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=_environment(root, **environment), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


CURRENT = hashlib.sha256(SOURCE.encode()).hexdigest()
IMPORT_HOT = "import diagnostics, diagnostics.hot as hot; print(diagnostics.COMPILED, hot.VALUE)"


def test_a_current_build_is_used(tmp_path: Path) -> None:
    root = _package(tmp_path, digest=CURRENT)
    assert _run(root, "import diagnostics; print(diagnostics.COMPILED)") == "True"
    done = subprocess.run(
        [sys.executable, "-c", "import diagnostics.hot"], cwd=root, env=_environment(root), capture_output=True
    )
    assert done.returncode != 0, "the stand-in extension module was imported, not the source"


def test_an_edited_source_is_imported_instead_of_its_older_build(tmp_path: Path) -> None:
    root = _package(tmp_path, digest=hashlib.sha256(b"VALUE = 'before the edit'\n").hexdigest())
    assert _run(root, IMPORT_HOT) == "False from the source"


def test_plain_python_is_asked_for(tmp_path: Path) -> None:
    root = _package(tmp_path, digest=CURRENT)
    assert _run(root, IMPORT_HOT, IAMWHY_PURE_PYTHON="1") == "False from the source"
    assert _run(root, "import diagnostics; print(diagnostics.COMPILED)", IAMWHY_PURE_PYTHON="0") == "True"


def test_a_record_without_its_build_is_not_compiled(tmp_path: Path) -> None:
    root = _package(tmp_path, digest=CURRENT, built=False)
    assert _run(root, IMPORT_HOT) == "False from the source"


@pytest.mark.parametrize("record", ["not json", "[1, 2]", '{"missing": "00"}'])
def test_an_unreadable_or_foreign_record_is_not_compiled(tmp_path: Path, record: str) -> None:
    root = _package(tmp_path, built=False)
    (root / "diagnostics" / "compiled.json").write_text(record, encoding="utf-8")
    assert _run(root, IMPORT_HOT) == "False from the source"


def test_without_a_record_nothing_is_compiled(tmp_path: Path) -> None:
    root = _package(tmp_path, built=False)
    assert _run(root, IMPORT_HOT) == "False from the source"


def test_the_build_compiles_modules_of_the_package() -> None:
    assert setup.COMPILED
    for name in setup.COMPILED:
        assert (ROOT / setup.PACKAGE / f"{name}.py").is_file()
