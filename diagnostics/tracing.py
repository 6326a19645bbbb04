"""The correlation id of the request being served: set once per Slack event or command, read by every log line."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CORRELATION_ID: ContextVar[str | None] = ContextVar("iamwhy_correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:12]


def current_correlation_id() -> str | None:
    """The id of the request this code runs for, or None outside any request."""
    return _CORRELATION_ID.get()


@contextmanager
def correlated(correlation_id: str) -> Iterator[str]:
    """Run the block (and every task or worker it starts with a copy of the context) under `correlation_id`."""
    token = _CORRELATION_ID.set(correlation_id)
    try:
        yield correlation_id
    finally:
        _CORRELATION_ID.reset(token)
