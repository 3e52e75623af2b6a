"""Token auth: header, tokens-file refresh, expiry, insecure hosts, secrecy."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import httpx
import pytest

from iqm_client_async._auth import TokenAuth, token_seconds_left
from iqm_client_async._errors import ClientAuthenticationError


def b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def make_jwt(exp_in: float, **extra: object) -> str:
    return f"{b64url({'alg': 'none'})}.{b64url({'typ': 'Bearer', 'exp': time.time() + exp_in, **extra})}.{b64url({})}"


def write_tokens(path: Path, token: str) -> None:
    path.write_text(json.dumps({"access_token": token, "refresh_token": "r", "pid": 1}))
    # make sure the mtime changes even on coarse filesystems
    stamp = time.time() + (getattr(write_tokens, "bump", 0))
    write_tokens.bump = getattr(write_tokens, "bump", 0) + 1  # type: ignore[attr-defined]
    os.utime(path, (stamp, stamp))


def test_seconds_left_decodes_base64url() -> None:
    # A payload whose base64url form contains '-' or '_' (the reference decodes it as expired).
    for i in range(200):
        token = make_jwt(300, sub=f"user??>>{i}~~")
        if "-" in token.split(".")[1] or "_" in token.split(".")[1]:
            break
    else:  # pragma: no cover
        pytest.fail("could not build a token with base64url-only characters")
    assert 290 < token_seconds_left(token) <= 300


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "a.e30.c"])  # e30 = {} (no exp)
def test_seconds_left_garbage_is_zero(token: str) -> None:
    assert token_seconds_left(token) == 0


def _send(
    auth: TokenAuth, url: str = "https://example.com/x", statuses: tuple[int, ...] = (200,)
) -> list[httpx.Headers]:
    """Headers of every request that reached the server (copied: auth flows mutate the request)."""
    seen: list[httpx.Headers] = []
    codes = iter(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.copy())
        return httpx.Response(next(codes))

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.get(url)
    return seen


def test_static_token_header_and_repr() -> None:
    auth = TokenAuth(token="s3cret")
    (request,) = _send(auth)
    assert request["Authorization"] == "Bearer s3cret"
    assert "s3cret" not in repr(auth)


def test_no_authorization_over_plain_http_to_remote_host() -> None:
    (request,) = _send(TokenAuth(token="s3cret"), url="http://example.com/x")
    assert "Authorization" not in request
    (request,) = _send(TokenAuth(token="s3cret"), url="http://127.0.0.1:8000/x")
    assert request["Authorization"] == "Bearer s3cret"


def test_tokens_file_read_reused_and_refreshed(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    first = make_jwt(3600)
    write_tokens(path, first)
    auth = TokenAuth(tokens_file=str(path))
    assert auth.current_token() == first
    second = make_jwt(3600)
    write_tokens(path, second)
    assert auth.current_token() == first  # still plenty of time left: no re-read
    auth._file_token = make_jwt(30)  # less than the 60 s margin left
    assert auth.current_token() == second


def test_tokens_file_expired(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    write_tokens(path, make_jwt(-10))
    with pytest.raises(ClientAuthenticationError, match="expired or is not valid"):
        TokenAuth(tokens_file=str(path)).current_token()


def test_tokens_file_missing_or_bad(tmp_path: Path) -> None:
    with pytest.raises(ClientAuthenticationError, match="Failed to read access token from file"):
        TokenAuth(tokens_file=str(tmp_path / "nope.json")).current_token()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ClientAuthenticationError, match="Failed to read access token from file"):
        TokenAuth(tokens_file=str(bad)).current_token()


def test_rewritten_tokens_file_is_used_after_401(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    old, new = make_jwt(3600), make_jwt(3600)
    write_tokens(path, old)
    auth = TokenAuth(tokens_file=str(path))
    assert auth.current_token() == old
    write_tokens(path, new)
    requests = _send(auth, statuses=(401, 200))
    assert [r["Authorization"] for r in requests] == [f"Bearer {old}", f"Bearer {new}"]


def test_401_without_file_change_is_not_retried(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    write_tokens(path, make_jwt(3600))
    assert len(_send(TokenAuth(tokens_file=str(path)), statuses=(401,))) == 1


def test_every_request_sent_with_a_rotated_token_is_resent(tmp_path: Path) -> None:
    """Two requests in flight with the old token: the first 401 re-reads the file, the second still resends."""
    path = tmp_path / "tokens.json"
    old, new = make_jwt(3600), make_jwt(3600)
    write_tokens(path, old)
    auth = TokenAuth(tokens_file=str(path))
    first, second = (
        auth.auth_flow(httpx.Request("GET", "https://x/a")),
        auth.auth_flow(httpx.Request("GET", "https://x/b")),
    )
    r1, r2 = next(first), next(second)
    assert r1.headers["Authorization"] == r2.headers["Authorization"] == f"Bearer {old}"
    write_tokens(path, new)
    assert first.send(httpx.Response(401)).headers["Authorization"] == f"Bearer {new}"
    assert second.send(httpx.Response(401)).headers["Authorization"] == f"Bearer {new}"
