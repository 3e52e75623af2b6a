"""Error responses turned into exceptions: the message, error code and source a server's body carries."""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from datetime import UTC
from typing import Final

import httpx

from ._errors import APIStatusError, error_class_for_status

__all__ = ["error_from_response", "parse_retry_after"]

_MAX_RETRY_AFTER: Final = 120.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), capped; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def _summarize_body(response: httpx.Response) -> str:
    """A readable one-line summary of a non-JSON error body (an HTML page from a proxy, say)."""
    text = response.text
    content_type = response.headers.get("content-type", "unknown content type").split(";")[0]
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    summary = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    summary = " ".join(summary.split())[:300] or "(empty body)"
    return f"{response.reason_phrase or 'error'} ({content_type}): {summary}"


def error_from_response(response: httpx.Response) -> APIStatusError:
    """Turn an HTTP error response into the matching ``APIStatusError`` subclass."""
    message: str | None = None
    error_code: str | None = None
    source: str | None = None
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        raw_message = body.get("message") or body.get("detail")
        if isinstance(raw_message, str):
            message = raw_message
        elif raw_message is not None:  # FastAPI-style validation details are lists
            message = json.dumps(raw_message)[:1000]
        code = body.get("error_code")
        error_code = code if isinstance(code, str) else None
        src = body.get("source")
        source = src if isinstance(src, str) else None
    if message is None:
        message = _summarize_body(response)
    cls = error_class_for_status(response.status_code)
    error = cls(
        message,
        status_code=response.status_code,
        error_code=error_code,
        source=source,
        method=response.request.method,
        url=str(response.request.url),
    )
    error.retry_after = parse_retry_after(response.headers.get("retry-after"))
    return error
