"""`iamwhy audit`: the audit trail from the JSON log of `iamwhy serve`, newest first, as text or JSON; bad input in one
line with exit code 2."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from pathlib import Path

import pytest

from app import _JsonFormatter, main
from diagnostics.audit import AUDIT_LOGGER, AUDIT_MESSAGE, entry_json
from diagnostics.state import AuditedDiagnosis, AuditEntry, AuditRead, StateUrl, open_state


def _entry(n: int, at: float) -> AuditEntry:
    return AuditEntry(
        id=f"id{n}",
        at=at,
        trigger="paste",
        user=f"U{n}",
        channel="C0TEAM",
        thread_ts=None,
        accounts=("222222222222",),
        diagnoses=(
            AuditedDiagnosis("s3:GetObject", "arn:aws:iam::222222222222:user/ci", None, "222222222222", "x", "y", ()),
        ),
        reads=(AuditRead("iam", "GetUser", "222222222222", "ok", False),),
        outcome="answered",
        correlation_id=f"Ev{n}",
    )


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    """A log as `iamwhy serve` writes it: JSON lines from every logger, the audit lines among them."""
    path = tmp_path / "iamwhy.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(_JsonFormatter())
    audit = logging.getLogger(AUDIT_LOGGER)
    other = logging.getLogger("iamwhy.slack")
    for logger in (audit, other):
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    now = time.time()
    try:
        other.info("serving")
        for n, age in enumerate((7200, 1800, 60)):
            audit.info(AUDIT_MESSAGE, extra={"fields": entry_json(_entry(n, now - age))})
            other.info("answered")
    finally:
        for logger in (audit, other):
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
        handler.close()
    with path.open("a", encoding="utf-8") as log:
        log.write("Traceback (most recent call last): not a JSON line\n")
    return path


def test_prints_the_records_newest_first(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--log", str(log_file)]) == 0
    out = capsys.readouterr().out
    assert [line.split("  ")[1] for line in out.splitlines() if "  paste by" in line] == [
        "paste by U2 in C0TEAM: answered",
        "paste by U1 in C0TEAM: answered",
        "paste by U0 in C0TEAM: answered",
    ]
    assert "    iam GetUser 222222222222 ok" in out


def test_since_and_limit(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--log", str(log_file), "--since", "1h", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [e["id"] for e in entries] == ["id2", "id1"]
    assert entries[0]["correlation_id"] == "Ev2"
    assert main(["audit", "--log", str(log_file), "--limit", "1", "--json"]) == 0
    assert [e["id"] for e in json.loads(capsys.readouterr().out)["entries"]] == ["id2"]


def test_reads_standard_input(
    log_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(log_file.read_text(encoding="utf-8")))
    assert main(["audit", "--log", "-", "--since", "5m"]) == 0
    assert "paste by U2 in C0TEAM" in capsys.readouterr().out


def test_no_records_is_said_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("", encoding="utf-8")
    assert main(["audit", "--log", str(empty)]) == 0
    assert capsys.readouterr().out == "No audit records.\n"


def test_an_unreadable_audit_line_is_counted_not_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.log"
    path.write_text(json.dumps({"logger": AUDIT_LOGGER, "message": AUDIT_MESSAGE, "id": 1}) + "\n", encoding="utf-8")
    assert main(["audit", "--log", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "No audit records.\n"
    assert captured.err == f"iamwhy: skipped 1 unreadable audit line(s) in {path}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--since", "last week"],
            "iamwhy: --since 'last week': give an age (30m, 1h, 2d) or a time (2026-11-29T10:00Z)",
        ),
        (["--limit", "0"], "iamwhy: --limit: give a number of records, 1 or more"),
        (
            ["--log", "/nonexistent/iamwhy.log"],
            "iamwhy: cannot read /nonexistent/iamwhy.log: No such file or directory",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", *args]) == 2
    assert capsys.readouterr().err == message + "\n"


async def _record_in_sqlite(path: Path, entries: list[AuditEntry]) -> None:
    state = await open_state(StateUrl("sqlite", str(path)))
    try:
        for entry in entries:
            await state.audit.record(entry)
    finally:
        await state.close()


def test_reads_the_state_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    path = tmp_path / "state.db"
    asyncio.run(_record_in_sqlite(path, [_entry(n, now - age) for n, age in enumerate((7200, 60))]))
    monkeypatch.setenv("IAMWHY_STATE_URL", f"sqlite:///{path}")
    assert main(["audit", "--since", "1h", "--json"]) == 0
    assert [e["id"] for e in json.loads(capsys.readouterr().out)["entries"]] == ["id1"]
    assert main(["audit"]) == 0
    assert "paste by U0 in C0TEAM: answered" in capsys.readouterr().out


def test_the_default_state_file_is_read_when_nothing_is_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IAMWHY_STATE_URL", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    asyncio.run(_record_in_sqlite(tmp_path / "iamwhy" / "state.db", [_entry(7, time.time())]))
    assert main(["audit"]) == 0
    assert "paste by U7 in C0TEAM" in capsys.readouterr().out


def test_the_in_process_state_cannot_be_read_from_another_process(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IAMWHY_STATE_URL", "memory:")
    assert main(["audit"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("iamwhy: IAMWHY_STATE_URL: the in-process state keeps the audit trail inside the running")
    assert "iamwhy audit --log FILE" in err
    assert err.count("\n") == 1
