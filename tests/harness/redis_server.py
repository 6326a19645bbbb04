"""A throwaway redis-server on loopback for the tests: a free port, a temporary directory, nothing persisted."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Self

import redis

from tests.harness.servers import free_port


class RedisUnavailable(RuntimeError):
    """No redis-server binary here."""


class RedisServer:
    """`redis-server` in a temporary directory, listening on 127.0.0.1 only, without snapshots or an append log."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable("redis-server is not installed (Debian: apt-get install redis-server)")
        self._binary = binary
        self._dir = tempfile.TemporaryDirectory(prefix="iamwhy-redis-")
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, attempts: int = 3) -> Self:
        # Another process may take the free port between the probe and the bind: try a fresh one.
        for _ in range(attempts):
            self.port = free_port()
            self._process = subprocess.Popen(
                [
                    self._binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    self._dir.name,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--protected-mode",
                    "yes",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=Path(self._dir.name),
            )
            if self._wait_ready():
                return self
            self._kill()
        raise RuntimeError("redis-server did not start")

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    return False
                try:
                    if client.ping():
                        return True
                except redis.ConnectionError:
                    time.sleep(0.05)
            return False
        finally:
            client.close()

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def stop(self) -> None:
        self._kill()
        self._dir.cleanup()


def with_prefix(url: str, prefix: str | None = None) -> str:
    """`url` with a key prefix of its own, so tests sharing one Redis never see each other's keys."""
    prefix = prefix or f"iamwhy-test-{uuid.uuid4().hex[:12]}:"
    return f"{url}{'&' if '?' in url else '?'}key_prefix={prefix}"
