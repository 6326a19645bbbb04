"""The image definition, checked without a Docker engine: base, user, entrypoint, port, and a healthcheck that works."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from pathlib import Path

from aiohttp import web

from app import DEFAULT_PORT
from handlers.health import Health

ROOT = Path(__file__).resolve().parent.parent


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined: list[str] = []
    current = ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        joined.append(current + stripped)
        current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in joined]


def _one(name: str) -> str:
    values = [args for instruction, args in _instructions() if instruction == name]
    assert len(values) == 1, f"expected one {name}, found {values}"
    return values[0]


def test_slim_python_base() -> None:
    assert _one("FROM") == "python:3.11-slim"


def test_runs_as_a_non_root_user() -> None:
    user = _one("USER")
    assert user not in ("root", "0")
    assert user.isdigit(), "a numeric uid lets Kubernetes' runAsNonRoot verify it"
    run = " ".join(args for instruction, args in _instructions() if instruction == "RUN")
    assert f"--uid {user}" in run


def test_exec_form_entrypoint_serves() -> None:
    assert json.loads(_one("ENTRYPOINT")) == ["iamwhy", "serve"]


def test_exposes_the_default_port() -> None:
    assert _one("EXPOSE") == str(DEFAULT_PORT)
    assert f"PORT={DEFAULT_PORT}" in _one("ENV")


def test_installs_the_package_without_development_extras() -> None:
    run = " ".join(args for instruction, args in _instructions() if instruction == "RUN")
    assert "pip install . " in run + " "
    assert "[dev]" not in run
    copied = " ".join(args for instruction, args in _instructions() if instruction == "COPY")
    assert "tests" not in copied
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "tests"} <= set(ignored)


def _healthcheck_command() -> list[str]:
    args = _one("HEALTHCHECK")
    assert "--interval=" in args
    command = args.split("CMD", 1)[1].strip()
    parsed = json.loads(command)
    assert isinstance(parsed, list), "exec form"
    assert "/healthz" in command
    return [str(part) for part in parsed]


async def _run_healthcheck(status_ok: bool) -> int:
    async def probe() -> str:
        if not status_ok:
            raise OSError("down")
        return "T0000TEAM"

    app = web.Application()
    app.router.add_get("/healthz", Health({"slack": probe}).handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    command = _healthcheck_command()
    assert command[0] == "python"
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], env={**os.environ, "PORT": str(port)}, stderr=asyncio.subprocess.DEVNULL
    )
    code = await process.wait()
    await runner.cleanup()
    return code


async def test_the_healthcheck_passes_when_healthy_and_fails_when_not() -> None:
    assert shlex.join(_healthcheck_command()).startswith("python -c")
    assert await _run_healthcheck(True) == 0
    assert await _run_healthcheck(False) != 0
