"""The doctor's report: what `ok` means, the terminal checklist, the JSON document."""

from __future__ import annotations

import json

from diagnostics.doctor import (
    AccountOutlook,
    DoctorReport,
    LayerGap,
    Line,
    Status,
    config_lines,
    render_text,
    report_json,
)
from diagnostics.model import Confidence, Layer
from diagnostics.reader import ConfigError

OK = Line("slack.auth", "Slack", "Bot token", Status.OK, "auth.test", "accepted")
FAILED = Line(
    "aws.read.kms",
    "AWS account 222222222222",
    "KMS key policies",
    Status.FAILED,
    "kms:GetKeyPolicy on a key that does not exist",
    "denied (AccessDeniedException): IamWhyReadOnly lacks kms:GetKeyPolicy",
    'Grant kms:GetKeyPolicy to IamWhyReadOnly in 222222222222.\n{"Effect": "Allow"}',
    subject="222222222222",
    details={"permission": "kms:GetKeyPolicy"},
)
WARNING = Line("aws.toolbox", "AWS account 222222222222", "IAM Access Troubleshooter", Status.WARNING, "t", "r", "f")
SKIPPED = Line("slack.app_token", "Slack", "Socket Mode token", Status.SKIPPED, "t", "not used (HTTP mode)")
OUTLOOK = AccountOutlook(
    "222222222222",
    Confidence.SIMULATED,
    True,
    (LayerGap(Layer.RESOURCE, "KMS key policies: kms:GetKeyPolicy denied"),),
    "222222222222: evaluated, except ...",
)


def test_only_failures_make_the_report_not_ok() -> None:
    assert DoctorReport((OK, WARNING, SKIPPED)).ok
    assert not DoctorReport((OK, FAILED)).ok
    assert DoctorReport((OK,)).headline() == "everything iamwhy needs works"
    assert DoctorReport((OK, WARNING)).headline() == "1 warning (everything needed works)"
    assert DoctorReport((FAILED, FAILED, WARNING)).headline() == "2 problems and 1 warning"


def test_the_terminal_checklist_groups_lines_and_indents_each_fix() -> None:
    text = render_text(DoctorReport((OK, SKIPPED, FAILED, WARNING), (OUTLOOK,)))
    assert text.splitlines() == [
        "Slack",
        "  ✓ Bot token: accepted",
        "      tried: auth.test",
        "  – Socket Mode token: not used (HTTP mode)",
        "      tried: t",
        "",
        "AWS account 222222222222",
        "  ✗ KMS key policies: denied (AccessDeniedException): IamWhyReadOnly lacks kms:GetKeyPolicy",
        "      tried: kms:GetKeyPolicy on a key that does not exist",
        "      fix: Grant kms:GetKeyPolicy to IamWhyReadOnly in 222222222222.",
        '        {"Effect": "Allow"}',
        "  ! IAM Access Troubleshooter: r",
        "      tried: t",
        "      fix: f",
        "",
        "What diagnoses will say",
        "  222222222222: evaluated, except ...",
        "",
        "iamwhy doctor: 1 problem and 1 warning",
    ]
    assert "\033[" not in text
    assert "\033[31m✗\033[0m" in render_text(DoctorReport((FAILED,)), color=True)


def test_the_json_document_has_every_field_even_when_empty() -> None:
    document = report_json(DoctorReport((OK, FAILED), (OUTLOOK,), checked_at=1700000000.0, duration_ms=12.5))
    assert json.loads(json.dumps(document)) == document
    assert document["ok"] is False
    assert document["counts"] == {"ok": 1, "failed": 1, "warning": 0, "skipped": 0}
    assert document["lines"][0] == {
        "id": "slack.auth",
        "subject": None,
        "group": "Slack",
        "title": "Bot token",
        "status": "ok",
        "ok": True,
        "tried": "auth.test",
        "result": "accepted",
        "fix": None,
        "details": {},
    }
    assert document["lines"][1]["details"] == {"permission": "kms:GetKeyPolicy"}
    assert document["accounts"] == [
        {
            "account": "222222222222",
            "confidence": "simulated",
            "verified": True,
            "unreadable": [{"layer": "resource", "why": "KMS key policies: kms:GetKeyPolicy denied"}],
            "summary": "222222222222: evaluated, except ...",
        }
    ]
    assert (document["checked_at"], document["duration_ms"]) == (1700000000.0, 12.5)


def test_configuration_names_secrets_that_are_set_never_their_values() -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-secret-value", "IAMWHY_EXTERNAL_ID": "ext-secret", "PORT": "3000", "HOME": "/x"}
    (line,) = config_lines(env, [])
    assert line.status is Status.OK
    assert line.tried == "read 3 variables from the environment (IAMWHY_EXTERNAL_ID, PORT, SLACK_BOT_TOKEN)"
    assert line.result == "parses; secrets set (values never shown): SLACK_BOT_TOKEN, IAMWHY_EXTERNAL_ID"
    assert "xoxb-secret-value" not in json.dumps(report_json(DoctorReport((line,))))


def test_every_configuration_problem_is_a_line_with_an_example() -> None:
    problems = [ConfigError("IAMWHY_ACCOUNTS", "'12' is not a 12-digit AWS account id"), ConfigError("PORT", "bad")]
    lines = config_lines({"IAMWHY_ACCOUNTS": "12", "PORT": "x"}, problems)
    assert [(line.subject, line.status, line.result) for line in lines] == [
        ("IAMWHY_ACCOUNTS", Status.FAILED, "'12' is not a 12-digit AWS account id"),
        ("PORT", Status.FAILED, "bad"),
    ]
    assert lines[0].fix == (
        "Set IAMWHY_ACCOUNTS to a valid value, for example: IAMWHY_ACCOUNTS=222222222222,444444444444"
    )
