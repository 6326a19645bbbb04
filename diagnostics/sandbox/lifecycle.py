"""The Sandbox: moto in this process on loopback, seeded with the world, and the credential chain that reaches it."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

from diagnostics.reader import AwsConfig
from diagnostics.sandbox.scenarios import SCENARIOS, Scenario
from diagnostics.sandbox.world import EXTERNAL_ID, ORG_ROLE_ARN, REGION, WORKLOAD_ACCOUNT, WORLD

if TYPE_CHECKING:
    from diagnostics.sandbox.embedded import LoopbackServer

INSTALL_HINT: Final = "pip install 'iamwhy[demo]'"
# The moto releases whose internals the sandbox relies on (backends, server, organizations' member map).
_MOTO_SUPPORTED: Final = ((5, 2), (6, 0))
# Fixed, so that the ids moto draws (organization, OUs, policies, access keys) are the same on every run.
_RANDOM_SEED: Final = 20240607
_LOOPBACK: Final = "127.0.0.1"
_PROXY_BYPASS: Final = ("NO_PROXY", "no_proxy")
# S3 Control's endpoint rules put the account id in front of any endpoint's host, as they do for AWS's own names.
_ACCOUNT_HOST: Final = re.compile(r"^\d{12}\.(?P<host>127\.0\.0\.1)$")
# The loggers through which moto's server reports a request it failed: werkzeug's, and moto's Flask app's.
_SERVER_LOGGERS: Final = ("werkzeug", "moto")

_running_lock = threading.Lock()
_running: Sandbox | None = None


class SandboxError(RuntimeError):
    """The sandbox cannot do what was asked (it is not running, or another one already is)."""


class SandboxUnavailable(SandboxError):
    """moto, which the sandbox runs on, is missing or of an unsupported version."""


def _load_embedded() -> ModuleType:
    """The moto-backed half of the sandbox, imported only when a sandbox starts (moto is the [demo] extra)."""
    try:
        version = importlib.metadata.version("moto")
    except importlib.metadata.PackageNotFoundError:
        raise SandboxUnavailable(f"the demo sandbox runs on moto, which is not installed: {INSTALL_HINT}") from None
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    low, high = _MOTO_SUPPORTED
    if not low <= numbers < high:
        raise SandboxUnavailable(
            f"the demo sandbox needs moto 5.2 or a later 5.x release, not {version}: {INSTALL_HINT}"
        )
    try:
        from diagnostics.sandbox import embedded
    except ImportError as exc:
        raise SandboxUnavailable(f"the demo sandbox cannot load moto's server ({exc}): {INSTALL_HINT}") from exc
    return embedded


class _UnimplementedOperations(logging.Filter):
    """Drops moto's traceback for an operation it does not implement: the bot already reports that read as failed."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], NotImplementedError):
            return False
        return not record.getMessage().rstrip().rpartition("\n")[2].startswith("NotImplementedError")


Undo = Callable[[], None]


def _quiet_server_logs() -> Undo:
    """Keep moto's server out of the bot's logs: werkzeug's line per request, tracebacks for operations moto lacks."""
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)
    quiet = _UnimplementedOperations()
    for name in _SERVER_LOGGERS:
        logging.getLogger(name).addFilter(quiet)

    def undo() -> None:
        for name in _SERVER_LOGGERS:
            logging.getLogger(name).removeFilter(quiet)
        werkzeug.setLevel(level)

    return undo


def _resolve_account_hosts() -> Undo:
    """Resolve <account id>.127.0.0.1, the host S3 Control's endpoint rules make of the sandbox's, to loopback."""
    previous = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        match = _ACCOUNT_HOST.match(host) if isinstance(host, str) else None
        return previous(match.group("host") if match else host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo

    def undo() -> None:
        # A resolver wrapped around this one since stays (and keeps calling this one, which is harmless).
        if socket.getaddrinfo is getaddrinfo:
            socket.getaddrinfo = previous

    return undo


# The AWS configuration of a process in which nothing from this machine's own AWS setup applies.
_SEALED: Final = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextmanager
def _sealed_environment(variables: Mapping[str, str]) -> Iterator[Mapping[str, str]]:
    """Set `variables`, with every other AWS_* variable removed and loopback added to the proxy bypass list;
    restore the environment on exit."""
    saved = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    saved.update({name: os.environ[name] for name in _PROXY_BYPASS if name in os.environ})
    applied = dict(variables)
    for name in _PROXY_BYPASS:
        existing = os.environ.get(name, "").strip().strip(",")
        applied[name] = f"{existing},{_LOOPBACK}" if existing else _LOOPBACK
    try:
        for name in saved:
            if name.startswith("AWS_"):
                del os.environ[name]
        os.environ.update(applied)
        yield applied
    finally:
        for name in applied:
            os.environ.pop(name, None)
        os.environ.update(saved)


class Sandbox:
    """An AWS sandbox in this process: `with Sandbox() as box:` starts and seeds it, leaving it stops it.

    moto keeps its state process-wide, so one sandbox runs at a time, starts from empty backends and leaves them
    empty. `box.activate()` points this process's AWS credential chain at the sandbox for as long as it lasts.
    """

    def __init__(self) -> None:
        self._embedded: ModuleType | None = None
        self._server: LoopbackServer | None = None
        self._endpoint: str | None = None
        self._environment: dict[str, str] | None = None
        self._stopped = False
        # What starting changed in this process, undone in reverse order when the sandbox stops.
        self._undo: list[Undo] = []
        self._startup_ms: float | None = None

    # ------------------------------------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Start moto on 127.0.0.1 and a free port, then seed every scenario."""
        global _running
        if self._stopped or self._server is not None:
            raise SandboxError("a sandbox starts only once; create a new one")
        embedded = _load_embedded()
        with _running_lock:
            if _running is not None:
                raise SandboxError("another sandbox is running in this process (moto's state is process-wide)")
            _running = self
        self._embedded = embedded
        started = time.perf_counter()
        try:
            self._undo.append(_quiet_server_logs())
            self._undo.append(_resolve_account_hosts())
            self._undo.append(embedded.answer_lookup_events())
            server: LoopbackServer = embedded.LoopbackServer()
            self._server = server
            try:
                server.start()
            except OSError as exc:
                raise SandboxError(f"the sandbox could not start its server: {exc}") from exc
            self._endpoint = server.endpoint
            # moto builds a boto3 session the first time it creates an account's backends: a profile or other
            # AWS setting of this machine must not reach it (a missing AWS_PROFILE would make it fail).
            with _sealed_environment(_SEALED):
                seeded = embedded.seed(WORLD, random_seed=_RANDOM_SEED)
        except BaseException:
            self.stop()
            raise
        self._environment = {
            "AWS_ENDPOINT_URL": self._endpoint,
            "AWS_ACCESS_KEY_ID": seeded.access_key_id,
            "AWS_SECRET_ACCESS_KEY": seeded.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
            # Nothing from this machine's AWS configuration may redirect or re-credential the bot.
            **_SEALED,
            # A proxy configured for the internet must not swallow requests to the loopback server.
            **dict.fromkeys(_PROXY_BYPASS, _LOOPBACK),
        }
        self._startup_ms = round((time.perf_counter() - started) * 1000, 1)
        return self

    def stop(self) -> None:
        """Stop the server and empty moto's backends. Idempotent."""
        global _running
        if self._stopped:
            return
        self._stopped = True
        server = self._server
        self._server = None
        try:
            if server is not None:
                server.stop()
        finally:
            if self._embedded is not None:
                self._embedded.reset()
            while self._undo:
                self._undo.pop()()
            with _running_lock:
                if _running is self:
                    _running = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------- what the bot needs

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def startup_ms(self) -> float | None:
        """How long starting the server and seeding took, in milliseconds (None until started)."""
        return self._startup_ms

    @property
    def endpoint(self) -> str:
        """The sandbox's URL (http://127.0.0.1:PORT): every AWS service answers there."""
        self._require_running()
        assert self._endpoint is not None
        return self._endpoint

    @property
    def environment(self) -> Mapping[str, str]:
        """The variables that point a process's AWS credential chain at the sandbox, as the bot's own user.

        Applying them also means removing every other AWS_* variable (a profile, a session token, a
        service-specific endpoint would otherwise win); `activate()` does both.
        """
        self._require_running()
        assert self._environment is not None
        return dict(self._environment)

    @property
    def aws_config(self) -> AwsConfig:
        """The bot's configuration: the workload account allowed, the org read role, the roles' ExternalId."""
        self._require_running()
        # A loopback server neither throttles nor drops requests: one attempt, and an operation moto lacks
        # fails at once instead of after botocore's backoff.
        return AwsConfig(
            external_id=EXTERNAL_ID,
            org_role_arn=ORG_ROLE_ARN,
            allowed_accounts=frozenset({WORKLOAD_ACCOUNT}),
            region=REGION,
            max_attempts=1,
            connect_timeout=2.0,
            read_timeout=10.0,
        )

    @property
    def scenarios(self) -> tuple[Scenario, ...]:
        return SCENARIOS

    def activate(self) -> AbstractContextManager[Mapping[str, str]]:
        """Point this process's AWS credential chain at the sandbox; restore the environment on exit."""
        return _sealed_environment(self.environment)

    def _require_running(self) -> None:
        if self._server is None:
            state = "has been stopped" if self._stopped else "has not been started"
            raise SandboxError(f"the sandbox {state}")
