"""A fake Slack on loopback: the Web API methods iamwhy calls, response_url sinks and a Socket Mode websocket.

Every call is recorded; tests wait for the calls they expect (`wait_for`) instead of sleeping. Builders for
the signed requests Slack sends to an app (events, slash commands, interactions) live here too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-app-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0000TEAM"
BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"
APP_ID = "A0000APP"
SCOPES = (
    "app_mentions:read,channels:history,channels:read,chat:write,commands,groups:history,groups:read,im:history,"
    "reactions:write"
)
HUMAN = "UHUMAN01"

Predicate = Callable[["Call"], bool]


@dataclass(frozen=True)
class Call:
    """One request the fake received: a Web API method, a response_url post ("response") or a socket ack."""

    method: str
    body: dict[str, Any]
    headers: Mapping[str, str]
    path: str
    at: float
    # The client's address and port: calls sent over one kept-alive connection share it.
    peer: str = ""

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.body.get("blocks")
        return blocks if isinstance(blocks, list) else []

    @property
    def view(self) -> dict[str, Any]:
        view = self.body.get("view")
        return view if isinstance(view, dict) else {}


@dataclass
class _Failure:
    error: str
    times: int | None
    # Set for a 429: Slack's HTTP status and its Retry-After (seconds).
    retry_after: int | None = None
    # Another HTTP status than 200 (Slack's 5xx), or 0: the connection is dropped without an answer.
    status: int = 200


@dataclass
class _ChannelPace:
    """Slack's posting limit as the fake enforces it: a token bucket per channel."""

    interval: float
    burst: int
    # channel -> (tokens, when last counted)
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, channel: str, now: float) -> bool:
        tokens, then = self.buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) / self.interval)
        if tokens < 1:
            self.buckets[channel] = (tokens, now)
            return False
        self.buckets[channel] = (tokens - 1, now)
        return True


@dataclass
class FakeChannel:
    """A channel as conversations.info and users.conversations see it; `members` are user ids (the bot's too)."""

    id: str
    name: str
    private: bool = False
    archived: bool = False
    members: set[str] = field(default_factory=set)

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": True,
            "is_private": self.private,
            "is_archived": self.archived,
            "is_member": BOT_USER in self.members,
        }


@dataclass
class FakeSlack:
    """The Slack Web API as far as iamwhy uses it; start() binds 127.0.0.1 on a free port."""

    calls: list[Call] = field(default_factory=list)
    bot_token: str = BOT_TOKEN
    app_token: str = APP_TOKEN
    # What auth.test says was granted (its x-oauth-scopes header); conversation lookups honour it.
    scopes: str = SCOPES
    channels: dict[str, FakeChannel] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self._failures: dict[str, list[_Failure]] = {}
        self._pace: _ChannelPace | None = None
        # Calls answered 429 (rate limited), by method.
        self.rate_limited: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._connected = asyncio.Event()
        self.base = ""
        # The channels of conftest's configuration: both have the bot and a person in them.
        self.add_channel("CALERT01", "alerts", members={BOT_USER, HUMAN})
        self.add_channel("CWATCH01", "general", members={BOT_USER, HUMAN})

    def add_channel(
        self, id: str, name: str, *, private: bool = False, archived: bool = False, members: set[str] | None = None
    ) -> FakeChannel:
        channel = FakeChannel(id, name, private, archived, set(members or ()))
        self.channels[id] = channel
        return channel

    # ------------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.base}/response/{name}"

    def fail(self, method: str, error: str, *, times: int | None = 1) -> None:
        """Answer `method` with {"ok": false, "error": error}, `times` times (None: always)."""
        self._failures.setdefault(method, []).append(_Failure(error, times))

    def fail_http(
        self, method: str, status: int, *, times: int | None = 1, retry_after: int | None = None, error: str = ""
    ) -> None:
        """Answer `method` (or "response", the response_url sink) with HTTP `status`, `times` times (None: always).

        429 carries Slack's {"ok": false, "error": "ratelimited"} and Retry-After; 5xx an error page; status 0
        drops the connection without answering."""
        if status == 429:
            failure = _Failure(error or "ratelimited", times, retry_after if retry_after is not None else 1)
        else:
            failure = _Failure(error or "service_unavailable", times, status=status)
        self._failures.setdefault(method, []).append(failure)

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int | None = 1) -> None:
        """Answer `method` with HTTP 429 and Retry-After, `times` times, as Slack does past its limits."""
        self._failures.setdefault(method, []).append(_Failure("ratelimited", times, retry_after))

    def pace_posts(self, *, interval: float = 1.0, burst: int = 3) -> None:
        """Enforce Slack's posting limit: chat.postMessage beyond it in a channel gets 429 (Retry-After: 1)."""
        self._pace = _ChannelPace(interval, burst)

    # ------------------------------------------------------------------------------------------------ queries

    def calls_of(self, method: str, pred: Predicate | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (pred is None or pred(c))]

    async def wait_for(
        self, method: str, pred: Predicate | None = None, *, count: int = 1, timeout: float = 10.0
    ) -> list[Call]:
        """The first `count` calls of `method` matching `pred`, waiting for them to arrive."""

        def ready() -> bool:
            return len(self.calls_of(method, pred)) >= count

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
            except TimeoutError:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"no {count} x {method} within {timeout}s; calls so far: {seen}") from None
        return self.calls_of(method, pred)[:count]

    # ------------------------------------------------------------------------------------------------ socket mode

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def push(self, envelope: Mapping[str, Any]) -> None:
        """Send a Socket Mode envelope to the connected app."""
        await self._sockets[-1].send_str(json.dumps(envelope))

    # ------------------------------------------------------------------------------------------------ handlers

    async def _record(self, method: str, body: dict[str, Any], request: web.Request) -> None:
        peername = request.transport.get_extra_info("peername") if request.transport is not None else None
        peer = f"{peername[0]}:{peername[1]}" if peername else ""
        call = Call(method, body, dict(request.headers), request.path, time.monotonic(), peer)
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await _parse(request)
        await self._record(method, body, request)
        auth = request.headers.get("Authorization", "")
        token = self.app_token if method == "apps.connections.open" else self.bot_token
        if not auth.startswith("Bearer "):
            return web.json_response({"ok": False, "error": "not_authed"})
        if auth.removeprefix("Bearer ") != token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        failure = self._take_failure(method)
        paced = failure is None and method == "chat.postMessage" and self._pace is not None
        if paced and self._pace is not None and not self._pace.take(str(body.get("channel")), time.monotonic()):
            failure = _Failure("ratelimited", 1, 1)
        if failure is not None and failure.retry_after is not None:
            self.rate_limited[method] = self.rate_limited.get(method, 0) + 1
            headers = {"Retry-After": str(failure.retry_after)}
            return web.json_response({"ok": False, "error": failure.error}, status=429, headers=headers)
        if failure is not None and failure.status == 0:
            _drop(request)
        if failure is not None and failure.status != 200:
            return web.Response(status=failure.status, text="<html>upstream trouble</html>", content_type="text/html")
        if failure is not None:
            return web.json_response({"ok": False, "error": failure.error})
        reply = self._reply(method, body)
        headers = {"x-oauth-scopes": self.scopes} if method == "auth.test" else None
        return web.json_response(reply, headers=headers)

    def _take_failure(self, method: str) -> _Failure | None:
        pending = self._failures.get(method) or []
        if not pending:
            return None
        failure = pending[0]
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                pending.pop(0)
        return failure

    def _reply(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        channel = body.get("channel")
        match method:
            case "auth.test":
                return {
                    "ok": True,
                    "url": "https://fake.slack.test/",
                    "team": "Fake",
                    "user": "iamwhy",
                    "team_id": TEAM,
                    "user_id": BOT_USER,
                    "bot_id": BOT_ID,
                    "is_enterprise_install": False,
                }
            case "chat.postMessage":
                ts = self._next_ts()
                message = {"type": "message", "text": body.get("text"), "user": BOT_USER, "bot_id": BOT_ID, "ts": ts}
                return {"ok": True, "channel": channel, "ts": ts, "message": message}
            case "chat.update":
                return {"ok": True, "channel": channel, "ts": body.get("ts"), "text": body.get("text")}
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": self._next_ts()}
            case "reactions.add":
                return {"ok": True}
            case "conversations.info":
                return self._conversation(str(body.get("channel") or ""))
            case "users.conversations":
                return self._user_conversations(body)
            case "chat.getPermalink":
                ts = str(body.get("message_ts") or "")
                link = f"https://fake.slack.test/archives/{channel}/p{ts.replace('.', '')}"
                return {"ok": True, "channel": channel, "permalink": link}
            case "views.open" | "views.update" | "views.push" | "views.publish":
                view = body.get("view") if isinstance(body.get("view"), dict) else {}
                return {"ok": True, "view": {**view, "id": f"V{next(self._views):08d}"}}
            case "apps.connections.open":
                return {"ok": True, "url": f"ws://{self.base.removeprefix('http://')}/link"}
        return {"ok": False, "error": "unknown_method"}

    def _missing_scope(self, *private: bool) -> dict[str, Any] | None:
        granted = set(self.scopes.split(","))
        needed = [scope for scope, wanted in (("channels:read", False), ("groups:read", True)) if wanted in private]
        missing = [scope for scope in needed if scope not in granted]
        if missing:
            return {"ok": False, "error": "missing_scope", "needed": ",".join(missing), "provided": self.scopes}
        return None

    def _conversation(self, channel_id: str) -> dict[str, Any]:
        channel = self.channels.get(channel_id)
        if channel is None or (channel.private and BOT_USER not in channel.members):
            return self._missing_scope(False) or {"ok": False, "error": "channel_not_found"}
        return self._missing_scope(channel.private) or {"ok": True, "channel": channel.json()}

    def _user_conversations(self, body: dict[str, Any]) -> dict[str, Any]:
        types = str(body.get("types") or "public_channel").split(",")
        private = [kind == "private_channel" for kind in types if kind in ("public_channel", "private_channel")]
        refused = self._missing_scope(*private)
        if refused is not None:
            return refused
        user = str(body.get("user") or BOT_USER)
        shared = [
            c
            for c in self.channels.values()
            if user in c.members
            and BOT_USER in c.members
            and (c.private in private)
            and not (c.archived and str(body.get("exclude_archived")).lower() in ("1", "true"))
        ]
        start = int(body.get("cursor") or 0)
        size = int(body.get("limit") or 100)
        page = shared[start : start + size]
        following = str(start + size) if start + size < len(shared) else ""
        listed = [{"id": c.id, "name": c.name, "is_private": c.private} for c in page]
        return {"ok": True, "channels": listed, "response_metadata": {"next_cursor": following}}

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    async def _response(self, request: web.Request) -> web.Response:
        await self._record("response", await _parse(request), request)
        failure = self._take_failure("response")
        if failure is not None and failure.retry_after is not None:
            return web.Response(status=429, text=failure.error, headers={"Retry-After": str(failure.retry_after)})
        if failure is not None and failure.status != 200:
            return web.Response(status=failure.status, text=failure.error)
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": APP_ID}}))
        self._connected.set()
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await self._record("socket.ack", json.loads(message.data), request)
        return ws


def _drop(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


async def _parse(request: web.Request) -> dict[str, Any]:
    """JSON or form bodies (plus query parameters, where slack_sdk puts some); JSON-valued fields are decoded."""
    raw = await request.text()
    if request.content_type == "application/json":
        parsed = json.loads(raw) if raw else {}
        return parsed if isinstance(parsed, dict) else {"_": parsed}
    form = {**dict(request.query), **dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))}
    decoded: dict[str, Any] = dict(form)
    for key in ("blocks", "view", "attachments"):
        if key in form:
            decoded[key] = json.loads(form[key])
    return decoded


# ---------------------------------------------------------------------------------------------------------------
# What Slack sends to the app.


def signed_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None, content_type: str = "application/json"
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, "Content-Type": content_type}


_event_ids = itertools.count(1)
_message_ts = itertools.count(1)


def next_ts() -> str:
    """A message timestamp as Slack writes them, distinct from the fake's own."""
    return f"1690000000.{next(_message_ts):06d}"


def event_body(event: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "unused",
        "team_id": TEAM,
        "api_app_id": APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
    }


def message_event(
    text: str, *, channel: str = "CWATCH01", user: str | None = "UHUMAN01", channel_type: str = "channel", **extra: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "message", "channel": channel, "text": text, "ts": next_ts()}
    event["channel_type"] = channel_type
    if user is not None:
        event["user"] = user
    event.update(extra)
    return event


def bot_post(channel: str, *, bot_id: str = "BALERT01", text: str = "", **extra: Any) -> dict[str, Any]:
    """A post by another bot or integration, in the classic bot_message form."""
    return message_event(text, channel=channel, user=None, subtype="bot_message", bot_id=bot_id, **extra)


def command_form(
    text: str, *, response_url: str, channel: str = "CWATCH01", user: str = "UHUMAN01", trigger_id: str = "T-1"
) -> str:
    return urllib.parse.urlencode(
        {
            "token": "unused",
            "team_id": TEAM,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "someone",
            "command": "/iamwhy",
            "text": text,
            "api_app_id": APP_ID,
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def interaction_form(payload: Mapping[str, Any]) -> str:
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def block_action(
    action_id: str,
    value: str,
    *,
    response_url: str,
    channel: str = "CWATCH01",
    message_ts: str = "1700000000.000001",
    ephemeral: bool = False,
    user: str = "UHUMAN01",
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": user, "username": "someone", "team_id": TEAM},
        "api_app_id": APP_ID,
        "token": "unused",
        "trigger_id": "T-2",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "channel": {"id": channel, "name": "general"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "answer_actions",
                "type": "button",
                "value": value,
                "action_ts": "1700000001.000000",
            }
        ],
    }


def view_submission(
    callback_id: str, values: Mapping[str, Any], *, private_metadata: str = "", user: str = "UHUMAN01"
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": user, "username": "someone", "team_id": TEAM},
        "api_app_id": APP_ID,
        "token": "unused",
        "trigger_id": "T-3",
        "view": {
            "id": "V00000001",
            "team_id": TEAM,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": dict(values)},
            "hash": "1",
        },
        "response_urls": [],
    }


def message_shortcut(
    callback_id: str,
    message: Mapping[str, Any],
    *,
    response_url: str,
    channel: str = "COTHER01",
    user: str = "UHUMAN01",
) -> dict[str, Any]:
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": user, "username": "someone", "team_id": TEAM},
        "channel": {"id": channel, "name": "elsewhere"},
        "message": dict(message),
        "response_url": response_url,
        "trigger_id": "T-4",
        "action_ts": "1700000002.000000",
        "token": "unused",
    }


@dataclass
class Sender:
    """Posts signed requests into the served app, the way Slack does."""

    url: str
    session: aiohttp.ClientSession

    async def post(self, body: str | bytes, headers: Mapping[str, str]) -> tuple[int, str, Mapping[str, str]]:
        data = body if isinstance(body, bytes) else body.encode()
        async with self.session.post(self.url, data=data, headers=dict(headers)) as response:
            return response.status, await response.text(), dict(response.headers)

    async def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry: int | None = None,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
    ) -> tuple[int, str, Mapping[str, str]]:
        body = json.dumps(event_body(event, event_id=event_id))
        headers = signed_headers(body, secret=secret, timestamp=timestamp)
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return await self.post(body, headers)

    async def command(self, text: str, **kwargs: Any) -> tuple[int, str, Mapping[str, str]]:
        body = command_form(text, **kwargs)
        return await self.post(body, signed_headers(body, content_type="application/x-www-form-urlencoded"))

    async def interaction(self, payload: Mapping[str, Any]) -> tuple[int, str, Mapping[str, str]]:
        body = interaction_form(payload)
        return await self.post(body, signed_headers(body, content_type="application/x-www-form-urlencoded"))
