"""`iamwhy serve` as a real child process, started on a free port and returned once it says it is serving."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent

# Every process started, so that a test failing before it stops its own does not leave one serving.
_started: list[asyncio.subprocess.Process] = []


async def start_serve(env: Mapping[str, str], *args: str) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    """The process, and its `serving` log line (port, mode...). Only `env`'s Slack and iamwhy settings apply: those
    of the test run's own environment are left out."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IAMWHY_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "serve",
        *args,
        cwd=ROOT,
        env={**clean, **env, "PORT": "0"},
        stderr=asyncio.subprocess.PIPE,
    )
    _started.append(process)
    assert process.stderr is not None
    async with asyncio.timeout(60):
        while True:
            line = await process.stderr.readline()
            assert line, "iamwhy serve exited before serving"
            entry = json.loads(line)
            if entry["message"] == "serving":
                return process, entry


async def stop_leftovers() -> None:
    """Kill and reap what a test started and did not stop (it failed first)."""
    while _started:
        process = _started.pop()
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
