"""Raw ASGI helpers shared by the emulator's middlewares and routes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


MAX_MESSAGE_CHARS = 2000
"""Longer error messages (echoing a huge name or value) are cut to this length."""


def error_body(message: str, error_code: str | None) -> bytes:
    """An IQMServerError JSON body (``detail`` repeats ``message``, as the real server's dumps do)."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = f"{message[:MAX_MESSAGE_CHARS]}... ({len(message) - MAX_MESSAGE_CHARS} more characters)"
    body = {"message": message, "error_code": error_code, "source": "iqm-server", "detail": message}
    return json.dumps(body).encode()


async def send_error(
    send: Send,
    status: int,
    message: str,
    error_code: str | None,
    *,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a complete IQMServerError response."""
    body = error_body(message, error_code)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": body})
