"""`iamwhy simulate`: readable and JSON output, arrays of cases, and exit codes for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app import EXIT_BAD_INPUT, EXIT_OK, main

ROOT = Path(__file__).resolve().parent.parent
CASE: dict[str, Any] = {
    "id": "mfa",
    "request": {
        "principal": "arn:aws:iam::123456789012:user/build-bot",
        "action": "s3:GetObject",
        "resource": "arn:aws:s3:::prod-artifacts/release.tar.gz",
        "resource_account": "123456789012",
        "context": {},
    },
    "policies": {
        "identity": [
            {
                "name": "S3Access",
                "document": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ReadWithMfa",
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": "*",
                            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                        }
                    ],
                },
            }
        ],
        "scp_levels": [
            [{"name": "FullAWSAccess", "document": {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}}]
        ],
    },
    "expected": {"decision": "allowed"},
}


def write(tmp_path: Path, data: Any, name: str = "case.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(write(tmp_path, CASE)), "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert out["decision"] == "implicit_deny"  # "expected" is ignored by the command
    assert out["blocked_by"] == ["identity"]
    assert out["statements"] == []
    assert out["unknown_context_keys"] == []
    assert out["case"] == "mfa"
    blocker = out["blockers"][0]
    assert (blocker["sid"], blocker["unmet"]) == ("ReadWithMfa", "condition")
    assert blocker["conditions"] == [
        {"key": "aws:MultiFactorAuthPresent", "operator": "Bool", "values": ["true"], "actual": None, "unknown": False}
    ]
    assert {layer["layer"] for layer in out["layers"]} >= {"identity", "scp", "resource"}


def test_array_of_cases_prints_an_array_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    allowed = json.loads(json.dumps(CASE))
    allowed["id"] = "with-mfa"
    allowed["request"]["context"] = {"aws:MultiFactorAuthPresent": "true"}
    assert main(["simulate", str(write(tmp_path, [CASE, allowed])), "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert [(r["case"], r["decision"]) for r in out] == [("mfa", "implicit_deny"), ("with-mfa", "allowed")]
    assert out[1]["statements"] == [
        {"layer": "identity", "policy": "S3Access", "sid": "ReadWithMfa", "effect": "Allow", "index": 0},
        {"layer": "scp", "policy": "FullAWSAccess", "sid": None, "effect": "Allow", "index": 0},
    ]


def test_single_case_in_an_array_stays_an_array(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(write(tmp_path, [CASE])), "--json"]) == EXIT_OK
    assert isinstance(json.loads(capsys.readouterr().out), list)


def test_readable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(write(tmp_path, CASE))]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Decision  implicit deny" in out
    assert "✗ identity (implicit) closest Allow: S3Access (Sid ReadWithMfa)" in out
    assert "condition Bool aws:MultiFactorAuthPresent [true]; request: missing" in out
    assert "✓ scp" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{", "not valid JSON"),
        ('{"request": {}}', "request.principal must be a non-empty string"),
        (
            json.dumps(
                {
                    **CASE,
                    "policies": {
                        "identity": [
                            {
                                "name": "p",
                                "document": {"Statement": [{"Effect": "Alow", "Action": "*", "Resource": "*"}]},
                            }
                        ]
                    },
                }
            ),
            "mfa: identity[0], policy 'p', statement #0: Effect must be",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["simulate", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_runs_as_a_program(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app", "simulate", str(write(tmp_path, CASE)), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["decision"] == "implicit_deny"
