"""The correlation id of the request being served: set once per Slack event or command, read by every log line."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

_CORRELATION_ID: ContextVar[str | None] = ContextVar("iamwhy_correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:12]


def current_correlation_id() -> str | None:
    """The id of the request this code runs for, or None outside any request."""
    return _CORRELATION_ID.get()


def start_correlation(correlation_id: str) -> None:
    """Serve the rest of the current task, and every task or worker it starts from now on, under `correlation_id`.

    Each Slack request is handled in a task of its own, so the id never leaks into another request's lines."""
    _CORRELATION_ID.set(correlation_id)
