"""Composition root: configuration, the `iamwhy` command line. Importing it does nothing."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from diagnostics.arn import is_account_id
from diagnostics.reader import AwsConfig, ConfigError
from diagnostics.state import StateUrl, StateUrlError
from diagnostics.tracing import current_correlation_id

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from diagnostics.aws import AwsAdapter
    from diagnostics.doctor import DoctorReport, StatusSource
    from diagnostics.investigate import Investigation, Investigator
    from diagnostics.state import AuditEntry, State
    from handlers.health import Health
    from handlers.jobs import Worker

logger = logging.getLogger("iamwhy")

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
# `iamwhy doctor`: something iamwhy needs does not work.
EXIT_DOCTOR_PROBLEMS = 1


class UsageError(Exception):
    """Bad input from the person at the terminal: reported in one line, exit code 2."""


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"level": record.levelname.lower(), "logger": record.name}
        entry["message"] = record.getMessage()
        # Structured fields passed as logger.info("...", extra={"fields": {...}}).
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        # The Slack request being served, so that every line of its handling can be found by one id.
        if entry.get("correlation_id") is None and (correlation_id := current_correlation_id()) is not None:
            entry["correlation_id"] = correlation_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _configure_logging(level: str = "WARNING") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # At DEBUG the Slack libraries log whole request bodies, pasted text and tokens included.
    for name in ("slack_sdk", "slack_bolt"):
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))


Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="iamwhy", description="Explain AWS AccessDenied errors.")
    parser.add_argument(
        "--log-level",
        default=None,
        help="log level for JSON logs on stderr (default WARNING; serve: $LOG_LEVEL or INFO)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_explain(subparsers)
    _add_simulate(subparsers)
    _add_demo(subparsers)
    _add_serve(subparsers)
    _add_audit(subparsers)
    _add_doctor(subparsers)
    return parser


def _add_explain(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = subparsers.add_parser(
        "explain",
        help="explain every AWS access denial in TEXT (or stdin)",
        description="Find every AWS access denial in TEXT (or standard input) and explain it.",
    )
    explain.add_argument("text", nargs="?", default="-", metavar="TEXT", help="the pasted error; '-' or nothing: stdin")
    explain.add_argument("--json", action="store_true", help="print the machine-readable result (DESIGN.md §3)")
    explain.add_argument("--offline", action="store_true", help="answer from the message alone; read nothing from AWS")
    explain.set_defaults(func=_explain)


def _explain(args: argparse.Namespace) -> int:
    import asyncio

    from diagnostics.inputs import InputError, argument_input, read_input
    from diagnostics.investigate import OfflineInvestigator
    from diagnostics.report import render_text, to_json

    try:
        text = read_input(sys.stdin.buffer) if args.text == "-" else argument_input(args.text)
    except InputError as exc:
        raise UsageError(str(exc)) from exc
    offline = OfflineInvestigator()
    investigation = asyncio.run(offline.investigate(text)) if args.offline else _investigate_live(text)
    if args.json:
        print(json.dumps(to_json(investigation.scan, investigation.diagnoses), indent=2))
    else:
        print(render_text(investigation.scan, investigation.diagnoses, color=sys.stdout.isatty()), end="")
    return EXIT_OK


def _investigate_live(text: str) -> Investigation:
    """The live investigation, reading AWS through the standard credential chain and IAMWHY_* configuration."""
    import asyncio
    import os

    from diagnostics.aws import AwsAdapter
    from diagnostics.investigate import LiveInvestigator
    from diagnostics.reader import AwsConfig, ConfigError

    try:
        config = AwsConfig.from_mapping(os.environ)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    adapter = AwsAdapter(config)
    try:
        return asyncio.run(LiveInvestigator(adapter).investigate(text))
    finally:
        adapter.close()


def _add_simulate(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = subparsers.add_parser(
        "simulate",
        help="run the local policy evaluator on a case file (no AWS calls)",
        description="Evaluate the request(s) in CASE.json against their policies, locally.",
    )
    simulate.add_argument("case_file", metavar="CASE.json", help="one case object, or a JSON array of cases")
    simulate.add_argument("--json", action="store_true", help="print the machine-readable result")
    simulate.set_defaults(func=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    # Imported here so that the other commands do not pay for loading the IAM catalogue.
    from diagnostics.policy import CaseError, PolicyError, evaluate
    from diagnostics.policy.cases import load_case_file
    from diagnostics.policy.report import format_result, result_json

    try:
        cases, is_array = load_case_file(args.case_file)
        results = [(case, evaluate(case.request, case.policies)) for case in cases]
    except (CaseError, PolicyError) as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        documents = [result_json(result, case=case.id) for case, result in results]
        payload: object = documents if is_array else documents[0]
        print(json.dumps(payload, indent=2))
    else:
        print("\n\n".join(format_result(result, case.request, case=case.id or case.name) for case, result in results))
    return EXIT_OK


def _add_demo(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="diagnose the classic AccessDenied causes live in an embedded AWS sandbox (no AWS account needed)",
        description=(
            "Start an AWS sandbox in this process (moto, on loopback), seed it with the classic AccessDenied "
            "causes and show the full live diagnosis of each pasted error. Needs the [demo] extra."
        ),
    )
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from diagnostics.aws import AwsAdapter
    from diagnostics.investigate import LiveInvestigator
    from diagnostics.sandbox import Sandbox, SandboxError, SandboxUnavailable
    from diagnostics.sandbox.demo import run_demo

    def write(text: str) -> None:
        print(text, end="", flush=True)

    try:
        with Sandbox() as box, box.activate():
            adapter = AwsAdapter(box.aws_config)
            try:
                asyncio.run(run_demo(box, LiveInvestigator(adapter), write=write, color=sys.stdout.isatty()))
            finally:
                adapter.close()
    except SandboxUnavailable as exc:
        raise UsageError(str(exc)) from exc
    except SandboxError as exc:
        print(f"iamwhy: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK


# --------------------------------------------------------------------------------------------------- Slack app

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
DEFAULT_STORM_WINDOW = 15 * 60.0
DEFAULT_CONCURRENCY = 8
DEFAULT_JOB_LEASE = 60.0
# The app's own request limit: a whole pasted log fits (the text limit is diagnostics.inputs.MAX_INPUT_BYTES;
# JSON escaping and the envelope need room on top).
MAX_REQUEST_BYTES = 8 * 1024 * 1024
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,20}$")
_LIST_SEPARATOR = re.compile(r"[\s,]+")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Slack's answers meaning "this token will never work", as opposed to a passing failure worth retrying.
_REFUSED_TOKEN = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "not_allowed_token_type"}
)


@dataclass(frozen=True)
class Settings:
    """Everything `iamwhy serve` is configured with (DESIGN.md §4), validated once."""

    bot_token: str
    aws: AwsConfig = field(default_factory=AwsConfig)
    signing_secret: str | None = None
    app_token: str | None = None
    socket_mode: bool = False
    slack_api_url: str = DEFAULT_SLACK_API_URL
    alert_channels: frozenset[str] = frozenset()
    # None: every channel the bot is a member of.
    watch_channels: frozenset[str] | None = None
    port: int = DEFAULT_PORT
    log_level: str = "INFO"
    # Channel id, or "*" for every channel not listed, -> the only accounts questions from there may read.
    channel_accounts: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    # Channels whose threads and shared answers show authorization ids and the policy statements read from AWS.
    detail_channels: frozenset[str] = frozenset()
    # Where the state lives (IAMWHY_STATE_URL); the default is a SQLite file (see StateUrl.parse).
    state_url: StateUrl = field(default_factory=lambda: StateUrl("memory", ""))
    # The same alert denial within this many seconds is counted, not investigated again.
    storm_window: float = DEFAULT_STORM_WINDOW
    # Investigations one replica runs at once; the rest wait in the journal, in order.
    concurrency: int = DEFAULT_CONCURRENCY
    # Seconds after which another replica (or the next start) takes over the jobs of one that stopped.
    job_lease: float = DEFAULT_JOB_LEASE

    def __post_init__(self) -> None:
        # Without a signing secret every HTTP request would be refused; without an app token nothing connects.
        if self.socket_mode and not self.app_token:
            raise ConfigError("SLACK_APP_TOKEN", "is needed in Socket Mode")
        if not self.socket_mode and not self.signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET", "is needed to check that HTTP requests come from Slack")
        _check_channel_accounts(self.channel_accounts, self.aws.allowed_accounts)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, socket_mode: bool = False) -> Settings:
        """Read and check the environment; a ConfigError names the first bad or missing variable."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        bot_token = _token(get("SLACK_BOT_TOKEN"), "SLACK_BOT_TOKEN", "xoxb-", "the bot token (OAuth & Permissions)")
        signing_secret = get("SLACK_SIGNING_SECRET")
        app_token = get("SLACK_APP_TOKEN")
        if socket_mode:
            app_token = _token(app_token, "SLACK_APP_TOKEN", "xapp-", "an app-level token with connections:write")
        elif signing_secret is None:
            raise ConfigError(
                "SLACK_SIGNING_SECRET", "is not set (Basic Information > App Credentials; Socket Mode does not need it)"
            )
        elif not re.fullmatch(r"[0-9A-Za-z]{16,128}", signing_secret):
            raise ConfigError("SLACK_SIGNING_SECRET", "is not a Slack signing secret (letters and digits only)")
        try:
            state_url = StateUrl.parse(get("IAMWHY_STATE_URL"), env)
        except StateUrlError as exc:
            raise ConfigError("IAMWHY_STATE_URL", str(exc)) from None
        return cls(
            bot_token=bot_token,
            aws=AwsConfig.from_mapping(env),
            signing_secret=signing_secret,
            app_token=app_token,
            socket_mode=socket_mode,
            slack_api_url=_api_url(get("IAMWHY_SLACK_API_URL")),
            alert_channels=_channels(get("IAMWHY_ALERT_CHANNELS"), "IAMWHY_ALERT_CHANNELS") or frozenset(),
            watch_channels=_watch(get("IAMWHY_WATCH_CHANNELS")),
            port=_port(get("PORT")),
            log_level=_log_level(get("LOG_LEVEL")),
            channel_accounts=_channel_accounts(get("IAMWHY_CHANNEL_ACCOUNTS")),
            detail_channels=_channels(get("IAMWHY_DETAIL_CHANNELS"), "IAMWHY_DETAIL_CHANNELS") or frozenset(),
            state_url=state_url,
            storm_window=_duration(get("IAMWHY_STORM_WINDOW"), "IAMWHY_STORM_WINDOW", DEFAULT_STORM_WINDOW),
            concurrency=_count(get("IAMWHY_CONCURRENCY"), "IAMWHY_CONCURRENCY", DEFAULT_CONCURRENCY),
            job_lease=_duration(get("IAMWHY_JOB_LEASE"), "IAMWHY_JOB_LEASE", DEFAULT_JOB_LEASE),
        )

    def describe(self) -> dict[str, Any]:
        """The settings without secrets, for the startup log line."""
        return {
            "mode": "socket" if self.socket_mode else "http",
            "port": self.port,
            "slack_api_url": self.slack_api_url,
            "alert_channels": sorted(self.alert_channels),
            "watch_channels": "all" if self.watch_channels is None else sorted(self.watch_channels),
            "channel_accounts": {c: sorted(a) for c, a in sorted(self.channel_accounts.items())},
            "detail_channels": sorted(self.detail_channels),
            "aws": dict(self.aws.describe()),
            "state": self.state_url.describe(),
            "storm_window_s": self.storm_window,
            "concurrency": self.concurrency,
        }


def _token(value: str | None, variable: str, prefix: str, what: str) -> str:
    if value is None:
        raise ConfigError(variable, f"is not set ({what}, {prefix}…)")
    if not value.startswith(prefix) or any(c.isspace() for c in value):
        raise ConfigError(variable, f"does not look like {what}: it should start with {prefix}")
    return value


def _api_url(value: str | None) -> str:
    if value is None:
        return DEFAULT_SLACK_API_URL
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("IAMWHY_SLACK_API_URL", f"{value!r} is not an http(s) URL")
    return value if value.endswith("/") else value + "/"


def _channels(value: str | None, variable: str) -> frozenset[str] | None:
    if value is None:
        return None
    channels = frozenset(c for c in _LIST_SEPARATOR.split(value) if c)
    bad = sorted(c for c in channels if not _CHANNEL_ID.match(c))
    if bad:
        raise ConfigError(variable, f"{bad[0]!r} is not a Slack channel id (like C0123ABCD; names do not work)")
    return channels


def _watch(value: str | None) -> frozenset[str] | None:
    if value is None or value.lower() == "all":
        return None
    if value.lower() == "none":
        return frozenset()
    return _channels(value, "IAMWHY_WATCH_CHANNELS")


_CHANNEL_ACCOUNTS = "IAMWHY_CHANNEL_ACCOUNTS"
# IAMWHY_CHANNEL_ACCOUNTS entries are separated by ";" or whitespace; an entry's accounts by commas.
_ENTRY_SEPARATOR = re.compile(r"[;\s]+")
_EXAMPLE_ENTRY = "C0123ABCD=111122223333,444455556666"


def _channel_accounts(value: str | None) -> Mapping[str, frozenset[str]]:
    """IAMWHY_CHANNEL_ACCOUNTS: `CHANNEL=ACCOUNT[,ACCOUNT...]` entries; `*` stands for every channel not listed,
    and `none` for no account at all."""
    if value is None:
        return MappingProxyType({})
    scoped: dict[str, frozenset[str]] = {}
    for entry in (e for e in _ENTRY_SEPARATOR.split(value) if e):
        channel, equals, listed = entry.partition("=")
        if not equals:
            raise ConfigError(
                _CHANNEL_ACCOUNTS, f"{entry!r} is not CHANNEL=ACCOUNT[,ACCOUNT...] (like {_EXAMPLE_ENTRY})"
            )
        if channel in scoped:
            raise ConfigError(_CHANNEL_ACCOUNTS, f"{channel} is listed twice")
        if listed.lower() == "none":
            scoped[channel] = frozenset()
            continue
        accounts = listed.split(",")
        if not all(accounts):
            raise ConfigError(
                _CHANNEL_ACCOUNTS,
                f"{entry!r}: list the accounts after '=' separated by commas, without spaces (or write none)",
            )
        scoped[channel] = frozenset(accounts)
    return MappingProxyType(scoped)


def _check_channel_accounts(scoped: Mapping[str, frozenset[str]], allowed: frozenset[str]) -> None:
    for channel, accounts in scoped.items():
        if channel != "*" and not _CHANNEL_ID.match(channel):
            raise ConfigError(
                _CHANNEL_ACCOUNTS,
                f"{channel!r} is not a Slack channel id (like C0123ABCD) or * for every other channel",
            )
        for account in sorted(accounts):
            if not is_account_id(account):
                raise ConfigError(_CHANNEL_ACCOUNTS, f"{account!r} (for {channel}) is not a 12-digit AWS account id")
            if account not in allowed:
                # A channel narrows IAMWHY_ACCOUNTS; an account outside it would silently never be read.
                raise ConfigError(
                    _CHANNEL_ACCOUNTS,
                    f"{account} (for {channel}) is not in IAMWHY_ACCOUNTS: channels can only narrow that list",
                )


def _port(value: str | None) -> int:
    if value is None:
        return DEFAULT_PORT
    if not value.isdigit() or int(value) > 65535:
        raise ConfigError("PORT", f"{value!r} is not a TCP port number (0-65535; 0 picks a free port)")
    return int(value)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h)?$")
_UNITS = {None: 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(value: str | None, variable: str, default: float) -> float:
    """Seconds, from "900", "900s", "15m" or "1h"."""
    if value is None:
        return default
    match = _DURATION.match(value.strip().lower())
    seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0
    if seconds <= 0:
        raise ConfigError(variable, f"{value!r} is not a positive duration (seconds, or like 15m, 1h)")
    return seconds


def _count(value: str | None, variable: str, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= 1000:
        raise ConfigError(variable, f"{value!r} is not a whole number from 1 to 1000")
    return int(value)


def _log_level(value: str | None) -> str:
    if value is None:
        return "INFO"
    if value.upper() not in _LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"{value!r} is not one of {', '.join(_LOG_LEVELS)}")
    return value.upper()


def build_slack_client(
    settings: Settings, state: State, *, server_error_backoff: float | None = None
) -> AsyncWebClient:
    """The Web API client the app posts with: 429s retried after Retry-After, Slack's 5xx answers and broken
    connections retried with backoff (first wait `server_error_backoff` seconds), each channel's posting paced."""
    from handlers.limits import PacedWebClient, retry_handlers

    handlers = retry_handlers() if server_error_backoff is None else retry_handlers(server_error_backoff)
    return PacedWebClient(
        token=settings.bot_token, base_url=settings.slack_api_url, slots=state.slots, retry_handlers=handlers
    )


def open_slack_session(client: AsyncWebClient) -> aiohttp.ClientSession:
    """One session for every Web API call of `client` (Bolt's per-request clients share it too): the connection to
    Slack is kept alive instead of a new TCP and TLS handshake for each post and update. Call it inside the running
    event loop; whoever opens it closes it."""
    import aiohttp

    client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout))
    return client.session


def build_worker(settings: Settings, *, investigator: Investigator, state: State, client: AsyncWebClient) -> Worker:
    """The background work of the app (journaled answers, storm counts), configured by `settings`."""
    from handlers.access import Access
    from handlers.jobs import build_worker as build

    return build(
        investigator=investigator,
        state=state,
        client=client,
        concurrency=settings.concurrency,
        lease=settings.job_lease,
        window=settings.storm_window,
        access=Access(settings.channel_accounts, settings.detail_channels),
    )


def create_app(
    settings: Settings,
    *,
    investigator: Investigator,
    client: AsyncWebClient | None = None,
    state: State | None = None,
    reads_aws: bool | None = None,
    worker: Worker | None = None,
    status: StatusSource | None = None,
) -> AsyncApp:
    """The Bolt app with every Slack surface and the error boundary registered. Nothing is started.

    `reads_aws` says whether the investigator reads AWS (for `/iamwhy help`); by default, unless it is the
    offline one. Without a `worker`, one is built on `client` and starts with the first job; whoever passes
    their own starts and closes it (`iamwhy serve` does). `status` runs the doctor's checklist for
    `/iamwhy status` and the Home tab (None: not offered).
    """
    from slack_bolt.async_app import AsyncApp

    from diagnostics.investigate import OfflineInvestigator
    from diagnostics.state import State
    from handlers import actions, commands, dedupe, errors, home, mentions, messages, observe, shortcuts, views
    from handlers.access import Access
    from handlers.blocks import HelpFacts
    from handlers.deps import Channels, Deps

    state = state if state is not None else State.in_memory()
    if client is None:
        client = build_slack_client(settings, state)
    if worker is None:
        worker = build_worker(settings, investigator=investigator, state=state, client=client)
    app = AsyncApp(
        client=client,
        signing_secret=settings.signing_secret or "",
        request_verification_enabled=not settings.socket_mode,
        name="iamwhy",
    )
    deps = Deps(
        investigator=investigator,
        state=state,
        channels=Channels(alert=settings.alert_channels, watch=settings.watch_channels),
        help=HelpFacts(
            accounts=tuple(sorted(settings.aws.allowed_accounts)),
            scps_readable=settings.aws.org_role_arn is not None,
            live=reads_aws if reads_aws is not None else not isinstance(investigator, OfflineInvestigator),
            alert_channels=tuple(sorted(settings.alert_channels)),
            watch_channels=None if settings.watch_channels is None else tuple(sorted(settings.watch_channels)),
        ),
        worker=worker,
        status=status,
        access=Access(settings.channel_accounts, settings.detail_channels),
    )
    # observe first: every later middleware and listener runs under the request's correlation id.
    for surface in (observe, dedupe, messages, mentions, commands, shortcuts, actions, views, home, errors):
        surface.register(app, deps)
    return app


def create_web_app(bolt_app: AsyncApp | None, health: Health, *, signing_secret: str | None = None) -> web.Application:
    """The HTTP server: `POST /slack/events` (unless Socket Mode delivers events), `GET /healthz`, `GET /metrics`."""
    from aiohttp import web
    from prometheus_client.aiohttp import make_aiohttp_handler
    from slack_bolt.adapter.aiohttp import to_aiohttp_response
    from slack_bolt.request.async_request import AsyncBoltRequest
    from slack_bolt.request.internals import parse_body
    from slack_sdk.signature import SignatureVerifier

    from diagnostics import metrics
    from handlers import shapes

    web_app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    web_app.router.add_get("/healthz", health.handle)
    web_app.router.add_get("/metrics", make_aiohttp_handler(metrics.REGISTRY))
    if bolt_app is not None:
        verifier = SignatureVerifier(signing_secret or "")

        async def slack_events(request: web.Request) -> web.Response:
            # Checked before Bolt sees anything: Bolt's own check raises on a malformed timestamp, and its error
            # handling would then act on (and answer) an unsigned body. Slack signs UTF-8 text, whatever the
            # Content-Type says: anything else cannot carry a valid signature.
            try:
                body = (await request.read()).decode("utf-8")
            except UnicodeDecodeError:
                body = None
            if body is None or not _signed(verifier, body, request.headers):
                metrics.slack_request_rejected()
                return web.json_response({"error": "invalid request"}, status=401)
            # Parsed as Bolt parses it, and checked before Bolt builds its context from it.
            try:
                found = shapes.problem(parse_body(body, request.content_type))
            except ValueError:
                found = "the body is neither JSON nor a form"
            if found is not None:
                logger.info("malformed request refused", extra={"fields": {"problem": found}})
                metrics.slack_request_rejected()
                return web.json_response({"error": "invalid request"}, status=400)
            bolt_request = AsyncBoltRequest(
                body=body,
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
            response = await bolt_app.async_dispatch(bolt_request)
            if response.status == 401:
                metrics.slack_request_rejected()
            return await to_aiohttp_response(response)

        web_app.router.add_post("/slack/events", slack_events)
    return web_app


_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _signed(verifier: Any, body: str, headers: Mapping[str, str]) -> bool:
    """Whether `body` carries a valid, fresh Slack signature (a malformed header is simply not one)."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    return bool(_TIMESTAMP.fullmatch(timestamp) and signature) and bool(verifier.is_valid(body, timestamp, signature))


def build_investigator(adapter: AwsAdapter) -> tuple[Investigator, str]:
    """The investigator `iamwhy serve` runs over the AWS adapter, and its name for the logs and /healthz."""
    from diagnostics.investigate import LiveInvestigator

    return LiveInvestigator(adapter), "live"


async def serve_forever(settings: Settings, stop: asyncio.Event) -> None:
    """Run the Slack app until `stop` is set: HTTP events and /healthz on the port, or Socket Mode and /healthz."""
    from aiohttp import web
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_sdk.errors import SlackApiError

    from diagnostics import metrics
    from diagnostics.aws import AwsAdapter
    from diagnostics.doctor import CachedReport
    from diagnostics.state import open_state
    from handlers.health import Health, slack_probe, state_probe

    try:
        state = await open_state(settings.state_url)
    except StateUrlError as exc:
        raise ConfigError("IAMWHY_STATE_URL", str(exc)) from None
    adapter = AwsAdapter(settings.aws)
    investigator, investigation = build_investigator(adapter)
    client = build_slack_client(settings, state)
    worker = build_worker(settings, investigator=investigator, state=state, client=client)
    # The doctor reads through its own adapter without a cache: `/iamwhy status` must show a fix the moment it works.
    doctor_adapter = AwsAdapter(dataclasses.replace(settings.aws, cache_ttl=0))
    environ = dict(os.environ)
    status = CachedReport(
        lambda: doctor_report(environ, socket_mode=settings.socket_mode, adapter=doctor_adapter, client=client)
    )
    app = create_app(settings, investigator=investigator, client=client, state=state, worker=worker, status=status)
    metrics.watch_queue_depth(worker.queue_depth)

    async def aws_probe() -> str | None:
        identity = await adapter.call("sts", "GetCallerIdentity")
        return str(identity.get("Account") or "") or None

    mode = "socket" if settings.socket_mode else "http"
    health = Health(
        {"slack": slack_probe(client), "aws": aws_probe, "state": state_probe(state)},
        facts={"mode": mode, "investigation": investigation},
    )
    web_app = create_web_app(None if settings.socket_mode else app, health, signing_secret=settings.signing_secret)
    # No access log: each Slack request is logged once already (with its correlation id), and a line per request
    # formatted on the event loop delays every acknowledgement behind it in a burst.
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    socket_handler = None
    session = open_slack_session(client)
    try:
        try:
            await web.TCPSite(runner, "0.0.0.0", settings.port).start()
        except OSError as exc:
            raise ConfigError("PORT", f"cannot listen on port {settings.port}: {exc.strerror or exc}") from None
        if settings.socket_mode and settings.app_token:
            # The Socket Mode client retries a refused token forever; ask once first, so a wrong one stops here.
            try:
                await client.apps_connections_open(app_token=settings.app_token)
            except SlackApiError as exc:
                if exc.response.get("error") in _REFUSED_TOKEN:
                    raise ConfigError("SLACK_APP_TOKEN", f"Slack refused it ({exc.response.get('error')})") from None
            socket_handler = AsyncSocketModeHandler(app, app_token=settings.app_token)
            await socket_handler.connect_async()  # type: ignore[no-untyped-call]
        # Jobs journaled by a process that died (this one before a restart, or another replica) are finished here.
        recovered = await worker.start()
        port = runner.addresses[0][1] if runner.addresses else settings.port
        logger.info(
            "serving",
            extra={
                "fields": {
                    **settings.describe(),
                    "port": port,
                    "investigation": investigation,
                    "replica": worker.runner.owner,
                    "jobs_recovered": recovered,
                }
            },
        )
        # Keep serving if a credential is refused: /healthz reports it, and a passing outage must not crash-loop.
        report = await health.report()
        if not report["ok"]:
            logger.warning("a credential check failed", extra={"fields": {"checks": report["checks"]}})
        await stop.wait()
    finally:
        if socket_handler is not None:
            await socket_handler.close_async()  # type: ignore[no-untyped-call]
        await runner.cleanup()
        await worker.close()
        await session.close()
        await state.close()
        await asyncio.to_thread(adapter.close)
        await asyncio.to_thread(doctor_adapter.close)
        logger.info("stopped")


def _add_serve(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the Slack app (HTTP events and /healthz on $PORT, or Socket Mode)",
        description="Run the Slack app. Configuration comes from the environment (see the README).",
    )
    serve.add_argument(
        "--socket-mode", action="store_true", help="receive events over Socket Mode (SLACK_APP_TOKEN) instead of HTTP"
    )
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(socket_mode=args.socket_mode)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    _configure_logging(args.log_level or settings.log_level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve_forever(settings, stop)

    try:
        asyncio.run(run())
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    return EXIT_OK


# --------------------------------------------------------------------------------------------------- audit trail


def _add_audit(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = subparsers.add_parser(
        "audit",
        help="print the audit trail: every investigation, who asked, where, what was read (newest first)",
        description=(
            "Print the audit records of the Slack app's investigations from the state store IAMWHY_STATE_URL "
            "points at, or from the JSON log of `iamwhy serve` (--log)."
        ),
    )
    audit.add_argument(
        "--since", metavar="AGE|TIME", help="only records since an age (30m, 1h, 2d) or a time (2026-11-29T10:00Z)"
    )
    audit.add_argument("--limit", type=int, default=100, metavar="N", help="at most N records (default 100)")
    audit.add_argument("--json", action="store_true", help='print {"entries": [...]} instead of text')
    audit.add_argument(
        "--log", metavar="FILE", help="read the audit lines of `iamwhy serve`'s JSON log instead ('-': stdin)"
    )
    audit.set_defaults(func=_audit)


def _audit(args: argparse.Namespace) -> int:
    from diagnostics.audit import AuditRecordError, entry_json, format_entries, parse_since

    if args.limit < 1:
        raise UsageError("--limit: give a number of records, 1 or more")
    try:
        since = parse_since(args.since, time.time()) if args.since is not None else None
        if args.log is not None:
            entries = _audit_from_log(args.log, since, args.limit)
        else:
            entries = asyncio.run(_audit_from_state(os.environ, since, args.limit))
    except AuditRecordError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print(json.dumps({"entries": [entry_json(e) for e in entries]}, indent=2))
    elif entries:
        print(format_entries(entries), end="")
    else:
        print("No audit records.")
    return EXIT_OK


async def _audit_from_state(env: Mapping[str, str], since: float | None, limit: int) -> list[AuditEntry]:
    """The newest audit records in the state store IAMWHY_STATE_URL names (the SQLite file by default)."""
    from diagnostics.state import open_state

    try:
        url = StateUrl.parse(env.get("IAMWHY_STATE_URL"), env)
    except StateUrlError as exc:
        raise UsageError(f"IAMWHY_STATE_URL: {exc}") from exc
    if url.scheme == "memory":
        raise UsageError(
            "IAMWHY_STATE_URL: the in-process state keeps the audit trail inside the running `iamwhy serve`, out "
            "of reach from here; read its JSON log instead (iamwhy audit --log FILE)"
        )
    try:
        state = await open_state(url)
    except StateUrlError as exc:
        raise UsageError(f"IAMWHY_STATE_URL: {exc}") from exc
    try:
        return list(await state.audit.query(since=since, limit=limit))
    finally:
        await state.close()


def _audit_from_log(path: str, since: float | None, limit: int) -> list[AuditEntry]:
    from diagnostics.audit import read_audit_log

    try:
        if path == "-":
            lines: Iterable[str] = sys.stdin
            found, skipped = read_audit_log(lines)
        else:
            with open(path, encoding="utf-8", errors="replace") as log:
                found, skipped = read_audit_log(log)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if skipped:
        print(f"iamwhy: skipped {skipped} unreadable audit line(s) in {path}", file=sys.stderr)
    chosen = [e for e in found if since is None or e.at >= since]
    chosen.sort(key=lambda e: e.at, reverse=True)
    return chosen[:limit]


# ---------------------------------------------------------------------------------------------------- iamwhy doctor

# Variables the Slack checks judge themselves (the signing secret's shape, the Socket Mode token), and the stand-ins
# that let the rest of the configuration be checked when one of the required ones is bad.
_SLACK_OWNED = frozenset({"SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"})
_SLACK_CLIENT = frozenset({"SLACK_BOT_TOKEN", "IAMWHY_SLACK_API_URL"})
_STAND_INS = {
    "SLACK_BOT_TOKEN": "xoxb-doctor-stand-in",
    "SLACK_SIGNING_SECRET": "0" * 32,
    "SLACK_APP_TOKEN": "xapp-doctor-stand-in",
}
_AWS_VARIABLES = frozenset(
    {"IAMWHY_ROLE_NAME", "IAMWHY_ROLE_ARN_TEMPLATE", "IAMWHY_EXTERNAL_ID", "IAMWHY_ORG_ROLE_ARN", "IAMWHY_ACCOUNTS"}
)


def inspect_configuration(
    environ: Mapping[str, str], *, socket_mode: bool = False
) -> tuple[tuple[ConfigError, ...], Settings | None]:
    """Every configuration problem, not just the first, and the settings with each bad variable set aside.

    A bad variable is unset (or given a stand-in when it is required) and the rest checked again, so each
    variable is reported at most once. Stand-ins are never used to call anything: callers skip what depends on
    them. The settings are None when a problem cannot be set aside that way.
    """
    env = dict(environ)
    problems: list[ConfigError] = []
    while True:
        try:
            return tuple(problems), Settings.from_env(env, socket_mode=socket_mode)
        except ConfigError as exc:
            if any(p.variable == exc.variable for p in problems):
                return tuple(problems), None
            problems.append(exc)
            if exc.variable in _STAND_INS:
                env[exc.variable] = _STAND_INS[exc.variable]
            elif exc.variable in env:
                env.pop(exc.variable)
            else:
                return tuple(problems), None


async def doctor_report(
    environ: Mapping[str, str],
    *,
    socket_mode: bool = False,
    adapter: AwsAdapter | None = None,
    client: AsyncWebClient | None = None,
) -> DoctorReport:
    """Check the whole configuration: `environ` holds the iamwhy and Slack settings; AWS credentials come from the
    process's standard chain. Given an adapter or client, the doctor uses it (and leaves it open)."""
    import time

    from slack_sdk.web.async_client import AsyncWebClient

    from diagnostics.aws import AwsAdapter
    from diagnostics.doctor import Line, Section, Status, assemble, check_aws, config_lines, guarded
    from handlers.doctor import SlackSetup, check_slack

    started, checked_at = time.perf_counter(), time.time()
    problems, settings = inspect_configuration(environ, socket_mode=socket_mode)
    bad = {p.variable for p in problems}
    config = Section(config_lines(environ, [p for p in problems if p.variable not in _SLACK_OWNED]))
    if settings is None:
        # Only reached with a problem the configuration line already names; nothing else can be checked safely.
        return assemble([config], checked_at=checked_at, duration_ms=(time.perf_counter() - started) * 1000)

    def get(name: str) -> str | None:
        return environ.get(name, "").strip() or None

    usable = not bad & _SLACK_CLIENT
    setup = SlackSetup(
        bot_token=settings.bot_token if usable else None,
        api_url=settings.slack_api_url,
        signing_secret=get("SLACK_SIGNING_SECRET"),
        app_token=get("SLACK_APP_TOKEN"),
        socket_mode=socket_mode,
        alert_channels=tuple(sorted(settings.alert_channels)),
        watch_channels=None if settings.watch_channels is None else tuple(sorted(settings.watch_channels)),
    )
    if client is None and usable:
        client = AsyncWebClient(token=settings.bot_token, base_url=settings.slack_api_url, timeout=10)
    slack = guarded("Slack", check_slack(setup, client))
    if bad & _AWS_VARIABLES:
        skipped = Line(
            "aws.identity",
            "AWS",
            "Bot identity",
            Status.SKIPPED,
            "the AWS checks",
            f"not tried: fix {', '.join(sorted(bad & _AWS_VARIABLES))} first (see Configuration)",
        )
        sections = [config, await slack, Section((skipped,))]
    else:
        own = adapter is None
        reader = AwsAdapter(settings.aws) if adapter is None else adapter
        try:
            aws = guarded("AWS", check_aws(reader, reader.config, region=reader.region))
            sections = [config, *await asyncio.gather(slack, aws)]
        finally:
            if own:
                await asyncio.to_thread(reader.close)
    return assemble(sections, checked_at=checked_at, duration_ms=(time.perf_counter() - started) * 1000)


def _add_doctor(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = subparsers.add_parser(
        "doctor",
        help="check the whole configuration end to end and print the fix for whatever does not work",
        description=(
            "Check the configuration, Slack (token, scopes, signing secret, channels) and AWS (the bot's identity, "
            "every account's read role and reads, the organizations read role, IAM Access Troubleshooter), and say "
            "what diagnoses will be able to tell. Exit code 0 only when everything iamwhy needs works."
        ),
    )
    doctor.add_argument("--json", action="store_true", help="print the machine-readable checklist")
    doctor.add_argument(
        "--socket-mode", action="store_true", help="check the Socket Mode setup (SLACK_APP_TOKEN), not HTTP's"
    )
    doctor.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from diagnostics.doctor import render_text, report_json

    report = asyncio.run(doctor_report(os.environ, socket_mode=args.socket_mode))
    if args.json:
        print(json.dumps(report_json(report), indent=2))
    else:
        print(render_text(report, color=sys.stdout.isatty()), end="")
    return EXIT_OK if report.ok else EXIT_DOCTOR_PROBLEMS


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.log_level or "WARNING")
    command: Command = args.func
    try:
        return command(args)
    except UsageError as exc:
        print(f"iamwhy: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`iamwhy explain ... | head`): not an error worth a traceback. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INTERNAL
    except Exception:
        ref = uuid.uuid4().hex[:8]
        logger.exception("internal error ref=%s", ref)
        print(f"iamwhy: internal error (reference {ref}; details are in the log)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
