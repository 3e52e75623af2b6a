"""Error responses turned into exceptions: the message, error code and source a server's body carries."""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from datetime import UTC
from typing import Any, Final

import httpx

from ._errors import APIStatusError, error_class_for_status
from ._sanitize import bearer_token, one_line, redact, redact_bytes, shown

__all__ = ["error_from_response", "parse_retry_after", "redacted_response", "summarize_body", "without_token"]

_MAX_RETRY_AFTER: Final = 120.0
_MAX_RETRY_AFTER_LENGTH: Final = 64
_MAX_SUMMARIZED_BYTES: Final = 64 * 1024
"""How much of a non-JSON error body is looked at for its summary."""
_MAX_JSON_BYTES: Final = 1 << 20
"""Larger error bodies are not parsed as JSON (no server sends an error document this size)."""
_SUMMARY_LIMIT: Final = 300
_MESSAGE_LIMIT: Final = 1000
_BODY_FRAMING: Final = frozenset({"content-length", "content-encoding", "transfer-encoding"})
_TITLE_OPEN: Final = re.compile(r"<title\b", re.IGNORECASE)
_TITLE_CLOSE: Final = re.compile(r"</title\s*>", re.IGNORECASE)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), capped; None if absent/bad."""
    if not value or len(value) > _MAX_RETRY_AFTER_LENGTH:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, OverflowError, OSError, IndexError):
            return None
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def _body_text(response: httpx.Response, secret: str | None) -> str:
    """The first ``_MAX_SUMMARIZED_BYTES`` of the body as text, without a token cut in half at the end."""
    content = response.content
    head = content[:_MAX_SUMMARIZED_BYTES]
    encoding = response.charset_encoding or "utf-8"
    try:
        text = head.decode(encoding, errors="replace")
    except LookupError:  # a charset Python does not know
        text = head.decode("utf-8", errors="replace")
    if len(content) > len(head) and secret:
        text = text[: -len(secret)]  # the cut may have split the token: drop where that could be
    return text


def _find_title(text: str) -> str | None:
    """The text of the first ``<title>`` element, found in linear time (no backtracking)."""
    opening = _TITLE_OPEN.search(text)
    if opening is None:
        return None
    start = text.find(">", opening.end())
    if start < 0:
        return None
    closing = _TITLE_CLOSE.search(text, start + 1)
    return text[start + 1 : closing.start()] if closing else None


def _strip_tags(text: str) -> str:
    """``text`` with ``<...>`` tags replaced by spaces, in one left-to-right pass."""
    parts: list[str] = []
    position = 0
    while True:
        opening = text.find("<", position)
        if opening < 0:
            parts.append(text[position:])
            break
        closing = text.find(">", opening + 1)
        if closing < 0:  # no tag can close any more: the rest is text
            parts.append(text[position:])
            break
        parts.append(text[position:opening])
        position = closing + 1
    return " ".join(parts)


def summarize_body(response: httpx.Response, secret: str | None = None) -> str:
    """A readable one-line summary of a non-JSON error body (an HTML page from a proxy, say).

    Looks at no more than the first 64 KiB of the body and runs in time linear in that; the
    summary is one printable line of at most 300 characters, with ``secret`` redacted.
    """
    text = _body_text(response, secret)
    content_type = one_line(response.headers.get("content-type", "unknown content type").split(";")[0], 100)
    title = _find_title(text)
    summary = one_line(title if title is not None else _strip_tags(text), _SUMMARY_LIMIT, secret=secret)
    return f"{response.reason_phrase or 'error'} ({content_type or 'unknown content type'}): {summary or '(empty body)'}"


def _json_body(content: bytes) -> Any:
    if len(content) > _MAX_JSON_BYTES:
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _detail_text(raw: object) -> str:
    """FastAPI-style validation details (a list of objects) as compact JSON, bounded."""
    try:
        return json.dumps(raw)[: 4 * _MESSAGE_LIMIT]
    except (ValueError, TypeError, RecursionError):
        return shown(raw, _MESSAGE_LIMIT)


def error_from_response(response: httpx.Response) -> APIStatusError:
    """Turn an HTTP error response into the matching ``APIStatusError`` subclass.

    Every text taken from the response (message, error code, source, summary of a non-JSON body)
    is one printable line of bounded length, with the request's bearer token redacted.
    """
    try:
        request: httpx.Request | None = response.request
    except RuntimeError:  # a response built without a request (tests)
        request = None
    secret = bearer_token(request)
    message: str | None = None
    error_code: str | None = None
    source: str | None = None
    body = _json_body(response.content)
    if isinstance(body, dict):
        raw_message = body.get("message") or body.get("detail")
        if isinstance(raw_message, str):
            message = one_line(raw_message, _MESSAGE_LIMIT, secret=secret)
        elif raw_message is not None:
            message = one_line(_detail_text(raw_message), _MESSAGE_LIMIT, secret=secret)
        code = body.get("error_code")
        error_code = one_line(code, 100, secret=secret) if isinstance(code, str) else None
        src = body.get("source")
        source = one_line(src, 100, secret=secret) if isinstance(src, str) else None
    if not message:
        message = summarize_body(response, secret)
    cls = error_class_for_status(response.status_code)
    error = cls(
        message,
        status_code=response.status_code,
        error_code=error_code or None,
        source=source or None,
        method=request.method if request is not None else None,
        url=str(request.url) if request is not None else None,
    )
    error.retry_after = parse_retry_after(response.headers.get("retry-after"))
    error.response = response  # stored as a copy without the token (see APIStatusError.response)
    return error


def without_token(response: httpx.Response) -> httpx.Response:
    """``response`` itself if its request carried no bearer token, else a copy with the token redacted."""
    try:
        secret = bearer_token(response.request)
    except RuntimeError:  # a response built without a request
        return response
    return redacted_response(response, secret) if secret else response


def redacted_response(response: httpx.Response, secret: str) -> httpx.Response:
    """A copy of ``response`` whose body, headers and request carry no trace of ``secret``.

    What a caller reads from an error's ``response`` (``.text``, ``.json()``, ``.headers``,
    ``.request.headers``) is then as free of the token as the error's message.
    """
    headers = [
        (name, redact(value, secret))
        for name, value in response.headers.multi_items()
        if name.lower() not in _BODY_FRAMING  # the copy's body is decoded and may differ in length
    ]
    request = response.request
    request_headers = [(name, redact(value, secret)) for name, value in request.headers.multi_items()]
    try:
        request_content: bytes | None = request.content
    except httpx.RequestNotRead:
        request_content = None
    copy = httpx.Response(
        response.status_code,
        headers=headers,
        content=redact_bytes(response.content, secret),
        request=httpx.Request(request.method, request.url, headers=request_headers, content=request_content),
        extensions={key: value for key, value in response.extensions.items() if key != "network_stream"},
    )
    return copy
