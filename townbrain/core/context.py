"""Where a change comes from: web request, API request or CLI command. Written into audit rows."""

import contextvars
import uuid
from contextlib import contextmanager

_origin: contextvars.ContextVar[dict | None] = contextvars.ContextVar("townbrain_origin", default=None)


def current_origin() -> dict:
    return _origin.get() or {"request_id": "", "source": "internal"}


@contextmanager
def origin(source: str, request_id: str | None = None):
    """Mark every audit row written inside the block with `source` and a request id."""
    token = _origin.set({"source": source, "request_id": request_id or uuid.uuid4().hex})
    try:
        yield
    finally:
        _origin.reset(token)
