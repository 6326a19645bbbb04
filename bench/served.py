"""The Slack app in a process of its own, composed as `iamwhy serve` composes it, for benchmarks that time it.

A benchmark's load generator and fake Slack are Slack's side: in the app's interpreter they would take its event
loop and its interpreter lock, and every acknowledgement timed would include their work. So each replica runs here,
in a child process: the real aiohttp server and Bolt app, the state `IAMWHY_STATE_URL` names (else a fresh embedded
file), the journaled worker, the live investigation over the AWS adapter, and JSON logs at `LOG_LEVEL` (INFO by
default), as in production.

    with ServedApp(environ) as app:      # environ: the app's environment (Slack, IAMWHY_*, AWS_*)
        app.url                          # http://127.0.0.1:PORT/slack/events
        app.idle()                       # until the replica has no job left
    app.peak_mib                         # the replica's peak resident memory, once it has stopped
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

ROOT = Path(__file__).resolve().parent.parent


class ServedApp:
    """One replica in a child process; commands go to it line by line on its stdin."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._log = tempfile.NamedTemporaryFile(prefix="iamwhy-served-", suffix=".log", delete=False)  # noqa: SIM115
        environ = {**environ, "PYTHONPATH": str(ROOT)}
        # Without IAMWHY_STATE_URL the state is the embedded file under XDG_STATE_HOME: a fresh one per replica, as
        # a new deployment has (an earlier run's file would hold the event ids this run's senders use again).
        self._home = None
        if not environ.get("IAMWHY_STATE_URL"):
            self._home = tempfile.TemporaryDirectory(prefix="iamwhy-served-")
            environ["XDG_STATE_HOME"] = self._home.name
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.served"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=environ,
            cwd=ROOT,
            text=True,
        )
        started = self._read()
        self.url, self.investigation = started.split()
        self.peak_mib = 0.0

    def _read(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=30)
            raise RuntimeError(f"the app process ended (exit {self._process.returncode}): {self._tail()}")
        return line.strip()

    def _tail(self) -> str:
        return Path(self._log.name).read_text(errors="replace")[-2000:]

    def _ask(self, command: str) -> str:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._read()

    def idle(self) -> None:
        """Return once the replica has no job left (blocking: call it through asyncio.to_thread)."""
        self._ask("idle")

    def stop(self) -> None:
        """Stop the replica as a SIGTERM would (pending storm counts are flushed) and note its peak memory."""
        if self._process.poll() is None:
            self.peak_mib = float(self._ask("stop")) / 1024
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait(timeout=120)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)
        if self._home is not None:
            self._home.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


async def _serve() -> None:
    from aiohttp import web

    from app import (
        Settings,
        _configure_logging,
        build_investigator,
        build_slack_client,
        build_worker,
        create_app,
        create_web_app,
        open_slack_session,
    )
    from diagnostics.aws import AwsAdapter
    from diagnostics.state import open_state
    from handlers.health import Health

    settings = Settings.from_env()
    _configure_logging(settings.log_level)
    state = await open_state(settings.state_url)
    adapter = AwsAdapter(settings.aws)
    investigator, investigation = build_investigator(adapter)
    client = build_slack_client(settings, state)
    worker = build_worker(settings, investigator=investigator, state=state, client=client)
    app = create_app(settings, investigator=investigator, client=client, state=state, worker=worker)
    runner = web.AppRunner(create_web_app(app, Health({}), signing_secret=settings.signing_secret), access_log=None)
    await runner.setup()
    session = open_slack_session(client)
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    await worker.start()
    print(f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events {investigation}", flush=True)
    loop = asyncio.get_running_loop()
    try:
        while command := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
            if command == "idle":
                await worker.idle()
                print("idle", flush=True)
            elif command == "stop":
                break
    finally:
        await runner.cleanup()
        await worker.close()
        await session.close()
        await state.close()
        await asyncio.to_thread(adapter.close)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)


if __name__ == "__main__":
    # With a custom endpoint, S3 Control puts the account id in front of the host: resolve it as the harness does.
    import socket

    from tests.harness import servers

    socket.getaddrinfo = servers._getaddrinfo
    asyncio.run(_serve())


def percentile(samples: list[float], q: int) -> float:
    """The q-th percentile by nearest rank (with 50 samples, p99 is the slowest)."""
    ordered = sorted(samples)
    return ordered[max(1, -(-q * len(ordered) // 100)) - 1]
