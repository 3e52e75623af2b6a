"""Bearer-token authentication as an ``httpx.Auth`` flow: a fixed token, or a tokens file re-read on expiry."""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections.abc import Generator
from pathlib import Path

import httpx

from ._config import is_loopback_host
from ._errors import ClientAuthenticationError

__all__ = ["REFRESH_MARGIN_SECONDS", "TokenAuth", "token_seconds_left"]

REFRESH_MARGIN_SECONDS = 60.0


def token_seconds_left(token: str, *, now: float | None = None) -> float:
    """Seconds until a JWT's ``exp`` claim, 0 when expired or not a decodable JWT.

    The payload is base64url (RFC 7519), with or without padding.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return 0.0
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
        exp = float(claims.get("exp", 0))
    except (binascii.Error, ValueError, UnicodeError, AttributeError, TypeError):
        return 0.0
    return max(0.0, exp - (time.time() if now is None else now))


class TokenAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <token>``; never to plain HTTP on a non-loopback host.

    With a tokens file, the file is read lazily, re-read when the cached token has less than
    ``REFRESH_MARGIN_SECONDS`` left, and re-read once more when the server answers 401 after the
    file changed. A token that is expired after re-reading raises ``ClientAuthenticationError``.
    """

    def __init__(
        self, *, token: str | None = None, tokens_file: str | None = None, allow_insecure: bool = False
    ):
        if (token is None) == (tokens_file is None):
            raise ValueError("exactly one of token and tokens_file must be given")
        self._token = token
        self._tokens_file = Path(tokens_file) if tokens_file is not None else None
        self._file_token: str | None = None
        self._file_mtime: float | None = None
        self._allow_insecure = allow_insecure

    def __repr__(self) -> str:
        source = f"tokens_file={str(self._tokens_file)!r}" if self._tokens_file else "token=<hidden>"
        return f"TokenAuth({source})"

    def _read_file(self) -> str:
        assert self._tokens_file is not None
        try:
            mtime = os.stat(self._tokens_file).st_mtime
            data = json.loads(self._tokens_file.read_text(encoding="utf-8"))
            token = data["access_token"]
            if not isinstance(token, str) or not token:
                raise ValueError("'access_token' is not a non-empty string")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ClientAuthenticationError(
                f"Failed to read access token from file '{self._tokens_file}': {type(exc).__name__}: {exc}"
            ) from None
        self._file_mtime = mtime
        return token

    def current_token(self) -> str:
        """The token to send now (re-reading the tokens file when needed).

        Raises:
            ClientAuthenticationError: the tokens file cannot be read, or its token has expired.
        """
        if self._token is not None:
            return self._token
        if self._file_token is None or token_seconds_left(self._file_token) < REFRESH_MARGIN_SECONDS:
            self._file_token = self._read_file()
            if token_seconds_left(self._file_token) <= 0:
                self._file_token = None
                raise ClientAuthenticationError(
                    f"Access token in file '{self._tokens_file}' has expired or is not valid. "
                    "Refresh it (e.g. with the IQM CLI) and try again."
                )
        return self._file_token

    def _file_changed(self) -> bool:
        if self._tokens_file is None:
            return False
        try:
            return os.stat(self._tokens_file).st_mtime != self._file_mtime
        except OSError:
            return False

    def _should_send(self, request: httpx.Request) -> bool:
        return request.url.scheme == "https" or is_loopback_host(request.url.host) or self._allow_insecure

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # httpx drives this generator for both sync and async clients; it has no I/O but the small file read.
        if not self._should_send(request):
            yield request
            return
        sent = self.current_token()
        request.headers["Authorization"] = f"Bearer {sent}"
        response = yield request
        if response.status_code == 401 and self._tokens_file is not None:
            # The file may have been rewritten since this request was sent, by us or by another
            # request's 401: resend once whenever the current token is not the one that failed.
            if self._file_changed():
                self._file_token = None
            current = self.current_token()
            if current != sent:
                request.headers["Authorization"] = f"Bearer {current}"
                yield request
