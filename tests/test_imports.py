"""Import discipline: diagnostics/ never touches Slack, and only the AWS adapter imports boto3/botocore."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AWS_ADAPTER = ROOT / "diagnostics" / "aws.py"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _product_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for package in ("diagnostics", "handlers"):
        files.extend(sorted((ROOT / package).rglob("*.py")))
    return files


def test_diagnostics_never_imports_slack() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "diagnostics").rglob("*.py"))
        if {"slack_bolt", "slack_sdk"} & _imported_modules(path)
    ]
    assert offenders == []


def test_only_the_aws_adapter_imports_the_aws_sdk() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _product_files()
        if path != AWS_ADAPTER and {"boto3", "botocore"} & _imported_modules(path)
    ]
    assert offenders == []


def test_importing_app_does_nothing() -> None:
    # A fresh interpreter: importing the composition root must not configure logging, read the
    # environment into settings, open sockets or import the AWS SDK.
    code = (
        "import logging, sys; import app; "
        "assert not logging.getLogger().handlers, 'logging configured at import'; "
        "assert 'boto3' not in sys.modules, 'boto3 imported at import time'; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
