"""The benchmarks' delay proxy forwards requests and answers unchanged (its timing is the benchmarks' business)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from bench.delay_proxy import DelayProxy
from tests.harness.servers import LoopbackServer


def echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    answer = json.dumps(
        {
            "method": environ["REQUEST_METHOD"],
            "path": environ["PATH_INFO"],
            "query": environ["QUERY_STRING"],
            "signature": environ.get("HTTP_AUTHORIZATION"),
            "body": body.decode(),
        }
    ).encode()
    start_response("418 I'm a teapot", [("Content-Type", "application/json"), ("X-Upstream", "yes")])
    return [answer]


def test_requests_and_answers_pass_through_unchanged() -> None:
    upstream = LoopbackServer(echo).start()
    try:
        with DelayProxy(upstream.endpoint, delay=0.0) as proxy:
            request = urllib.request.Request(
                f"{proxy.endpoint}/moto/path?Action=GetRole",
                data=b"RoleName=app",
                method="POST",
                headers={"Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/x"},
            )
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=10)
            answer = caught.value
            assert answer.code == 418
            assert answer.headers["X-Upstream"] == "yes"
            assert json.loads(answer.read()) == {
                "method": "POST",
                "path": "/moto/path",
                "query": "Action=GetRole",
                "signature": "AWS4-HMAC-SHA256 Credential=AKIA/x",
                "body": "RoleName=app",
            }
            assert proxy.requests == 1
    finally:
        upstream.stop()


def test_an_upstream_that_is_not_plain_http_is_refused() -> None:
    with pytest.raises(ValueError, match="upstream must be http://host:port"):
        DelayProxy("https://example.com", delay=0.1)
