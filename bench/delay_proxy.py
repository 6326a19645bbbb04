"""A loopback HTTP proxy that makes every request take a fixed time: a remote service's latency, on demand.

Point a client (AWS_ENDPOINT_URL, a Slack base URL...) at ``proxy.endpoint``; each request goes to ``upstream``
unchanged (method, path, headers, body) and its answer comes back unchanged, but never sooner than ``delay``
seconds after the request arrived, as over a network where the round trip, the service's own work included,
takes that long. Requests are served concurrently, so the delay is per request, not per connection.

    with DelayProxy("http://127.0.0.1:5000", delay=0.05) as proxy:
        os.environ["AWS_ENDPOINT_URL"] = proxy.endpoint
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

# Headers that describe one hop's connection, not the message (RFC 9110 §7.6.1): never forwarded.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)


class DelayProxy:
    """A threaded loopback proxy answering every request it forwards to ``upstream`` ``delay`` seconds after it came."""

    def __init__(self, upstream: str, delay: float) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != "http" or not parsed.hostname or not parsed.port:
            raise ValueError(f"upstream must be http://host:port, got {upstream!r}")
        self.upstream_host = parsed.hostname
        self.upstream_port = parsed.port
        self.delay = delay
        self._lock = threading.Lock()
        self._count = 0
        # How much later than `delay` each answer left, for the answers the upstream could not give in time.
        self._late: list[float] = []
        self._local = threading.local()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def requests(self) -> int:
        """Requests forwarded so far."""
        with self._lock:
            return self._count

    def late_answers(self) -> list[float]:
        """Seconds past the delay of each answer that left late since the last call (the upstream took longer than
        the delay, or this process was starved of CPU): a benchmark reads these to see what is the service's doing."""
        with self._lock:
            late, self._late = self._late, []
        return late

    def start(self) -> Self:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm the second waits for the client's
            # delayed ACK, adding ~40 ms to every request on top of the delay asked for.
            disable_nagle_algorithm = True

            def _forward(self) -> None:
                arrived = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = proxy._send(self.command, self.path, dict(self.headers), body)
                # The upstream's own time counts towards the delay, as a remote service's does.
                remaining = arrived + proxy.delay - time.monotonic()
                if remaining > 0:
                    time.sleep(remaining)
                else:
                    with proxy._lock:
                        proxy._late.append(-remaining)
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _send(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        with self._lock:
            self._count += 1
        forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            return self._exchange(method, path, forwarded, body)
        except (ConnectionError, http.client.HTTPException):
            # A kept-alive upstream connection the server has since closed: one retry on a fresh one.
            self._drop()
            return self._exchange(method, path, forwarded, body)

    def _exchange(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        # One upstream connection per proxy thread, reused: the proxy should add its delay and nothing else.
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=30)
            self._local.connection = connection
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None


_ROOT = Path(__file__).resolve().parent.parent
# The harness's moto server (with its extra operations), in a child process that prints its endpoint, then answers
# each line it reads with the CPU seconds it has used, until its input closes.
_MOTO = """
import sys, time
from tests.harness.servers import MotoServer
server = MotoServer()
server.start()
print(server.endpoint, flush=True)
for line in sys.stdin:
    print(time.process_time(), flush=True)
server.stop()
"""
# A DelayProxy in front of an upstream, in a child process that prints its endpoint, then answers each line it reads:
# "count" with the requests proxied so far, "cpu" with the CPU seconds it has used, "late" with the seconds past the
# delay of each answer given late since the last "late".
_PROXY = """
import sys, time
from bench.delay_proxy import DelayProxy
proxy = DelayProxy(sys.argv[1], float(sys.argv[2])).start()
print(proxy.endpoint, flush=True)
for line in sys.stdin:
    if line.strip() == "count":
        print(proxy.requests, flush=True)
    elif line.strip() == "cpu":
        print(time.process_time(), flush=True)
    else:
        print(" ".join(f"{late:.4f}" for late in proxy.late_answers()), flush=True)
proxy.stop()
"""


class DelayedAws:
    """moto and the delay proxy, each in a child process of its own: their work is AWS's side and must not compete
    with the bot's for the benchmark's interpreter, nor with each other's. In one interpreter, the proxy's threads
    waited for moto's to notice a request had come and to send an answer whose delay was up, adding up to tens of
    milliseconds a call under a fan-out that no network adds. ``endpoint`` is moto's own (for seeding), ``delayed``
    the proxy's (for the bot)."""

    def __init__(self, delay: float, cores: frozenset[int] | None = None) -> None:
        """``cores``: the CPU cores moto and the proxy may run on (all of them if None)."""
        self._moto = _child(_MOTO, cores=cores)
        self.endpoint = _read_line(self._moto)
        self._proxy = _child(_PROXY, self.endpoint, str(delay), cores=cores)
        self.delayed = _read_line(self._proxy)

    def requests(self) -> int:
        """AWS requests that went through the delay proxy so far."""
        return int(self._ask("count"))

    def late_answers(self) -> list[float]:
        """Milliseconds past the delay of each answer the proxy gave late since the last call."""
        return [float(late) * 1000 for late in self._ask("late").split()]

    def cpu_ms(self) -> float:
        """CPU milliseconds moto and the proxy have used so far: AWS's side of the work, on this machine's cores."""
        return (float(_ask(self._moto, "cpu")) + float(_ask(self._proxy, "cpu"))) * 1000

    def reset(self) -> None:
        """moto emptied, and its generated ids made repeatable again."""
        for path in ("/moto-api/reset", "/moto-api/seed?a=42"):
            urllib.request.urlopen(urllib.request.Request(self.endpoint + path, method="POST"), timeout=10).close()

    def stop(self) -> None:
        for process in (self._proxy, self._moto):
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=30)

    def _ask(self, command: str) -> str:
        return _ask(self._proxy, command)


def _ask(process: subprocess.Popen[str], command: str) -> str:
    assert process.stdin is not None
    process.stdin.write(command + "\n")
    process.stdin.flush()
    return _read_line(process)


def split_cores() -> tuple[frozenset[int], frozenset[int]] | None:
    """This process's cores split in two: one for the bot, the rest for AWS's side; None on a single core.

    One core is what one Python interpreter mostly uses, its interpreter lock held for all but its waits; AWS's side
    stands for servers that are not on the bot's machine at all, so it gets cores where it cannot take the bot's."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    return frozenset(cores[:1]), frozenset(cores[1:])


def _child(program: str, *args: str, cores: frozenset[int] | None = None) -> subprocess.Popen[str]:
    if cores is not None:
        # Set by the child itself before it starts a thread: every thread it starts inherits it.
        program = f"import os\nos.sched_setaffinity(0, {sorted(cores)})\n{program}"
    return subprocess.Popen(
        [sys.executable, "-c", program, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(_ROOT)},
        text=True,
    )


def _read_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline().strip()
