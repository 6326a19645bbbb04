"""`iamwhy explain`: the command line contract of DESIGN.md §3 (exit codes, JSON shape, bad input)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BotCredentials
from tests.harness.world import TARGET_ACCOUNT, AwsWorld, allow, policy

ROOT = Path(__file__).resolve().parent.parent

SEED_ERROR = (
    "An error occurred (AccessDenied) when calling the GetObject operation: User: "
    "arn:aws:iam::123456789012:user/build-bot is not authorized to perform: s3:GetObject on resource: "
    '"arn:aws:s3:::prod-artifacts/release.tar.gz" because no identity-based policy allows the s3:GetObject action'
)


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "app", "explain", *args], cwd=ROOT, input=stdin, capture_output=True, check=False
    )


def test_offline_json_reports_the_identity_layer() -> None:
    out = _run("--offline", "--json", SEED_ERROR)
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    assert set(document) >= {"denials", "other_errors", "secrets_found"}
    (denial,) = document["denials"]
    assert denial["request"]["principal_arn"] == "arn:aws:iam::123456789012:user/build-bot"
    assert denial["request"]["action"] == "s3:GetObject"
    assert denial["decision"] == "implicit_deny"
    assert denial["confidence"] == "reported"
    assert [b["layer"] for b in denial["blocked_by"]] == ["identity"]
    assert denial["fix"]["policy"]["Statement"][0]["Resource"] == "arn:aws:s3:::prod-artifacts/release.tar.gz"


def test_text_from_stdin_without_a_denial_exits_zero() -> None:
    out = _run("--offline", "--json", "-", stdin=b"the deploy finished fine\n")
    assert out.returncode == 0
    assert json.loads(out.stdout)["denials"] == []


def test_bad_input_is_one_line_and_exit_two() -> None:
    for payload in (b"", b"\x00\x01\x02binary", b"not utf-8: \xc3\x28 here"):
        out = _run("--offline", "-", stdin=payload)
        assert out.returncode == 2, payload
        assert out.stderr.decode().count("\n") == 1
        assert b"Traceback" not in out.stderr


def test_a_five_megabyte_paste_is_refused() -> None:
    out = _run("--offline", "-", stdin=b"x" * (5 * 1024 * 1024))
    assert out.returncode == 2
    assert b"Traceback" not in out.stderr


def test_a_reader_that_goes_away_gets_no_traceback() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "app", "explain", "--offline", "--json", SEED_ERROR * 40],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.read(10)
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.wait()
    assert b"Traceback" not in stderr
    assert b"internal error" not in stderr


# --- live -------------------------------------------------------------------------------------------------------


def test_live_json_reads_the_account_through_the_read_only_role(
    aws_env: BotCredentials, aws_world: AwsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_world.create_user(TARGET_ACCOUNT, "build-bot", inline={"Deploy": policy(allow("s3:PutObject"))})
    aws_world.create_bucket(TARGET_ACCOUNT, "prod-artifacts")
    monkeypatch.setenv("IAMWHY_ACCOUNTS", TARGET_ACCOUNT)
    text = SEED_ERROR.replace("123456789012", TARGET_ACCOUNT)

    out = _run("--json", text)

    assert out.returncode == 0, out.stderr
    (denial,) = json.loads(out.stdout)["denials"]
    assert (denial["decision"], denial["confidence"]) == ("implicit_deny", "evaluated")
    assert denial["blocked_by"][0]["layer"] == "identity"
    assert denial["fix"]["resolves"] is True
    assert denial["provenance"]["checked_as"] == f"IamWhyReadOnly in {TARGET_ACCOUNT}"
    assert denial["provenance"]["aws_reads"] > 0
    assert any(c.operation == "GetUser" for c in aws_world.moto.seen(account=TARGET_ACCOUNT))


def test_without_credentials_the_live_path_answers_from_the_message() -> None:
    out = _run("--json", SEED_ERROR)
    assert out.returncode == 0, out.stderr
    (denial,) = json.loads(out.stdout)["denials"]
    assert denial["confidence"] == "reported"
    assert any("no usable AWS credentials" in w for w in denial["warnings"])
    assert b"Traceback" not in out.stderr


def test_a_bad_configuration_is_one_line_and_exit_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAMWHY_ACCOUNTS", "12345")
    out = _run(SEED_ERROR)
    assert out.returncode == 2
    assert out.stderr.decode() == "iamwhy: IAMWHY_ACCOUNTS: '12345' is not a 12-digit AWS account id\n"
