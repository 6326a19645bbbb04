"""Loopback HTTP servers for AWS tests: moto with a request log, and a bare recorder that proves nothing was sent."""

from __future__ import annotations

import io
import logging
import re
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Self

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request

from tests.harness.moto_ext import EXTENSIONS, install

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# moto's server logs every request at INFO through werkzeug.
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def free_port() -> int:
    """A loopback port nothing listens on (bound and released): until someone takes it, connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def access_key(self) -> str | None:
        """The access key id in a SigV4 Authorization header."""
        auth = self.headers.get("Authorization", "")
        marker = "Credential="
        if marker not in auth:
            return None
        return auth.split(marker, 1)[1].split("/", 1)[0]

    @property
    def signing_service(self) -> str | None:
        """The service name a SigV4 signature was made for ("iam" for iam-toolbox)."""
        auth = self.headers.get("Authorization", "")
        if "Credential=" not in auth:
            return None
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        return scope[3] if len(scope) > 3 else None


class RequestLog:
    """Every HTTP request a loopback server received, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[HttpRequest] = []

    def add(self, request: HttpRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def requests(self) -> list[HttpRequest]:
        with self._lock:
            return list(self._requests)

    def __len__(self) -> int:
        with self._lock:
            return len(self._requests)


def _logging(app: WsgiApp, log: RequestLog) -> WsgiApp:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        body = request.get_data(cache=True)
        # Reading the body drained the stream: hand the application a fresh one.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        if not request.path.startswith("/moto-api"):
            log.add(
                HttpRequest(request.method, request.path, request.query_string.decode(), dict(request.headers), body)
            )
        return app(environ, start_response)

    return wrapped


_ACCOUNT_HOST = re.compile(r"^\d{12}\.(127\.0\.0\.1)$")
_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    match = _ACCOUNT_HOST.match(host) if isinstance(host, str) else None
    return _real_getaddrinfo(match.group(1) if match else host, *args, **kwargs)


class MotoServer(ThreadedMotoServer):
    """moto in this process on 127.0.0.1 and a free port, with the harness's extensions and a request log."""

    def __init__(self) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self.log = RequestLog()
        install()

    def start(self) -> None:
        # With a custom endpoint, S3 Control's endpoint rules put the account id in front of the host
        # (222222222222.127.0.0.1), as they do for AWS's own host names: resolve those to loopback.
        socket.getaddrinfo = _getaddrinfo
        super().start()
        EXTENSIONS.ports.add(self.get_host_and_port()[1])

    def stop(self) -> None:
        super().stop()
        socket.getaddrinfo = _real_getaddrinfo

    def _server_entry(self) -> None:
        app = _logging(DomainDispatcherApplication(create_backend_app), self.log)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def endpoint(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def reset(self, *, seed: int = 42) -> None:
        """Forget every resource, canned answer, fault and logged request (~4 ms)."""
        for path in ("/moto-api/reset", f"/moto-api/seed?a={seed}"):
            urllib.request.urlopen(urllib.request.Request(self.endpoint + path, method="POST"), timeout=10).close()
        EXTENSIONS.reset()
        self.log.clear()


class LoopbackServer:
    """A threaded werkzeug server on 127.0.0.1 and a free port."""

    def __init__(self, app: WsgiApp):
        self.log = RequestLog()
        self._app = _logging(app, self.log)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        # A short poll interval keeps stop() quick (werkzeug's default makes it take half a second).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()


def _refuse(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"recording server: no request was expected here"]


class RecordingServer(LoopbackServer):
    """Answers every request with 503 and remembers it: point AWS_ENDPOINT_URL here to prove nothing is sent."""

    def __init__(self) -> None:
        super().__init__(_refuse)


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers: every request to it times out."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._socket.settimeout(0.05)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            # Held open, never read from or written to.
            self._held.append(connection)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        for connection in self._held:
            connection.close()
        self._socket.close()
