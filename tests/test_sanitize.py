"""The text helpers behind every message built from server text or caller values."""

from __future__ import annotations

import httpx
import pytest

from iqm_client_async._error_bodies import error_from_response
from iqm_client_async._sanitize import bearer_token, one_line, redact_bytes, shown

SECRET = "abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.mark.parametrize("limit", [10, 50, 300])
def test_no_piece_of_the_secret_survives_any_cut(limit: int) -> None:
    for offset in range(16 * limit - len(SECRET) - 2, 16 * limit + 2):
        text = "x" * offset + SECRET + "y" * (32 * limit)
        cleaned = one_line(text, limit, secret=SECRET)
        assert cleaned.isprintable()
        for size in range(6, len(SECRET) + 1):
            assert SECRET[:size] not in cleaned, (offset, size)


@pytest.mark.parametrize("offset", range(64 * 1024 - 40, 64 * 1024 + 5))
def test_no_piece_of_the_token_survives_the_body_cap(offset: int) -> None:
    body = b"x" * offset + SECRET.encode() + b"y" * 100
    request = httpx.Request("GET", "https://h/x", headers={"Authorization": f"Bearer {SECRET}"})
    message = str(error_from_response(httpx.Response(500, content=body, request=request)))
    for size in range(6, len(SECRET) + 1):
        assert SECRET[:size] not in message


def test_bearer_token_and_redaction_of_bytes() -> None:
    request = httpx.Request("GET", "https://h/x", headers={"Authorization": "Bearer a/b+c="})
    assert bearer_token(request) == "a/b+c="
    assert bearer_token(httpx.Request("GET", "https://h/x")) is None
    assert redact_bytes(b'{"m": "a\\/b+c= and a/b+c="}', "a/b+c=") == b'{"m": "[REDACTED] and [REDACTED]"}'


def test_shown_is_short_for_huge_and_hostile_values() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    assert len(shown("q" * 1_000_000)) < 200
    assert len(shown(list(range(1_000_000)))) < 200
    assert shown(Hostile()).startswith("<Hostile")
    assert shown("\x1b[31mred\x00") == "'\\x1b[31mred\\x00'"
