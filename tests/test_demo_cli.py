"""`iamwhy demo`: every scenario's pasted error is diagnosed live in the sandbox, and each names its seeded cause."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from diagnostics.model import Decision, Layer
from diagnostics.sandbox import INSTALL_HINT, SCENARIOS, Sandbox, Scenario

ROOT = Path(__file__).resolve().parent.parent
HEADER = re.compile(r"^━━━ (?P<number>\d+)/(?P<total>\d+) · (?P<title>.+) \((?P<name>[a-z0-9-]+)\) ━+$", re.MULTILINE)
# How the terminal report names the layers and verdicts the scenarios expect.
LAYER_NAMES = {Layer.IDENTITY: "Identity", Layer.BOUNDARY: "Boundary", Layer.SCP: "SCPs", Layer.RESOURCE: "Resource"}
VERDICTS = {Decision.IMPLICIT_DENY: "Implicit deny", Decision.EXPLICIT_DENY: "Explicit deny"}


def _environment(**extra: str) -> dict[str, str]:
    # A machine with its own AWS configuration: the demo must ignore all of it.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    hostile = {"AWS_PROFILE": "production-admin", "AWS_REGION": "eu-west-1", "AWS_SESSION_TOKEN": "not-for-the-demo"}
    return {**clean, **hostile, **extra}


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "demo"],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _sections(output: str) -> dict[str, str]:
    headers = list(HEADER.finditer(output))
    ends = [h.start() for h in headers[1:]] + [len(output)]
    return {h["name"]: output[h.start() : end] for h, end in zip(headers, ends, strict=True)}


def test_it_runs_cleanly(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stderr
    assert demo.stderr == ""
    assert demo.stdout.startswith("iamwhy demo: an AWS sandbox in this process (moto on http://127.0.0.1:")
    assert re.search(rf"\n{len(SCENARIOS)} errors diagnosed live in \d+\.\d s\.\n\Z", demo.stdout)


def test_every_scenario_is_shown_in_order_with_its_root_cause_and_paste(demo: subprocess.CompletedProcess[str]) -> None:
    headers = list(HEADER.finditer(demo.stdout))

    assert [(h["name"], h["title"]) for h in headers] == [(s.name, s.title) for s in SCENARIOS]
    assert [int(h["number"]) for h in headers] == list(range(1, len(SCENARIOS) + 1))
    sections = _sections(demo.stdout)
    for scenario in SCENARIOS:
        section = " ".join(sections[scenario.name].split())
        assert " ".join(scenario.root_cause.split()) in section
        assert f"Pasted from {scenario.source}:" in section


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_each_diagnosis_is_exactly_the_seeded_cause(demo: subprocess.CompletedProcess[str], scenario: Scenario) -> None:
    section = _sections(demo.stdout)[scenario.name]
    diagnosis = section[section.index(f"{scenario.request.action} denied for ") :]

    # Sure of the verdict: every layer read, nothing left to the unknown.
    assert re.search(
        rf"^  Verdict    {VERDICTS[scenario.expected.decision]} · (evaluated|verified) ", diagnosis, re.MULTILINE
    )
    # The checklist marks the seeded layers, and only those.
    marked = re.findall(r"^  ✗ (\S+(?: \(\w+\))?) ", diagnosis, re.MULTILINE)
    assert sorted(marked) == sorted(LAYER_NAMES[b.layer] for b in scenario.expected.blocked_by)
    for blocker in scenario.expected.blocked_by:
        if blocker.sid is not None:
            assert f"Sid {blocker.sid}" in diagnosis
    # Every fix works on its own.
    fixes = re.findall(r"^(?:Fix|Also) \(owner: ", diagnosis, re.MULTILINE)
    verdicts = re.findall(r"^  ([✓!]) re-evaluated: ", diagnosis, re.MULTILINE)
    assert fixes
    assert verdicts == ["✓"] * len(fixes)
    for heading in ("Could flip the answer", "Could not read", "Warnings"):
        assert f"\n{heading}\n" not in diagnosis
    assert re.search(r"^Checked as IamWhyReadOnly in 123456789012 · ", diagnosis, re.MULTILINE)


def test_the_sandbox_credentials_are_never_shown(demo: subprocess.CompletedProcess[str]) -> None:
    # The seed is fixed, so a sandbox started here draws the very key the demo's bot used.
    with Sandbox() as box:
        secret = box.environment["AWS_SECRET_ACCESS_KEY"]
        key_id = box.environment["AWS_ACCESS_KEY_ID"]
    assert secret not in demo.stdout + demo.stderr
    assert key_id not in demo.stdout + demo.stderr


def test_without_moto_it_says_what_to_install() -> None:
    code = (
        "import importlib.metadata as metadata, sys\n"
        "def missing(name):\n"
        "    raise metadata.PackageNotFoundError(name)\n"
        "metadata.version = missing\n"
        "import app\n"
        "sys.exit(app.main(['demo']))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_environment(), capture_output=True, text=True, check=False
    )
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.splitlines() == [f"iamwhy: the demo sandbox runs on moto, which is not installed: {INSTALL_HINT}"]
