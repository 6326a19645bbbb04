"""Loaded by child processes the tests start (PYTHONPATH): <account id>.127.0.0.1, the host S3 Control's endpoint
rules make of the moto server's, resolves to loopback as it does in the test process (tests/harness/servers.py)."""

import re
import socket
from typing import Any

_ACCOUNT_HOST = re.compile(r"^\d{12}\.(127\.0\.0\.1)$")
_resolve = socket.getaddrinfo


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    match = _ACCOUNT_HOST.match(host) if isinstance(host, str) else None
    return _resolve(match.group(1) if match else host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo
