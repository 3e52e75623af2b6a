"""Text that reaches a message or a log: one printable line, bounded, and free of the client's token.

Every function here runs in time linear in its input, and the inputs are bounded by the callers
(server text is cut to a fixed size before any of this runs).
"""

from __future__ import annotations

import re
import reprlib
from typing import Final

import httpx

__all__ = [
    "REDACTED",
    "bearer_token",
    "one_line",
    "redact",
    "redact_bytes",
    "shorten",
    "shown",
]

REDACTED: Final = "[REDACTED]"

# C0/C1 controls, DEL, zero-width and bidirectional formatting characters, line/paragraph separators,
# the byte-order mark, and lone surrogates (which cannot even be encoded for printing).
_UNPRINTABLE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]+"
)
_WHITESPACE_CONTROLS: Final = re.compile("[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]+")
# An escape sequence (CSI, OSC, or a two-byte one) is removed whole, not just its ESC.
_ESCAPE_SEQUENCE: Final = re.compile("\x1b(?:\\[[0-?]{0,64}[ -/]{0,16}[@-~]?|\\][^\x07\x1b]{0,256}\x07?|.)")


def bearer_token(request: httpx.Request | None) -> str | None:
    """The secret in a request's ``Authorization`` header (the token after ``Bearer``), if any."""
    if request is None:
        return None
    value = request.headers.get("authorization")
    if not value:
        return None
    scheme, _, secret = value.partition(" ")
    secret = secret.strip() if scheme.lower() == "bearer" else value.strip()
    return secret or None


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` (and of its JSON-escaped form) replaced by ``[REDACTED]``."""
    if not secret:
        return text
    text = text.replace(secret, REDACTED)
    escaped = secret.replace("/", "\\/")
    return text.replace(escaped, REDACTED) if escaped != secret else text


def redact_bytes(content: bytes, secret: str | None) -> bytes:
    """``content`` with every occurrence of ``secret`` (UTF-8, plain or JSON-escaped) replaced."""
    if not secret:
        return content
    marker = REDACTED.encode()
    for form in {secret, secret.replace("/", "\\/")}:
        encoded = form.encode("utf-8", "replace")
        if encoded in content:
            content = content.replace(encoded, marker)
    return content


def one_line(text: str, limit: int = 300, *, secret: str | None = None) -> str:
    """``text`` as one printable line of at most ``limit`` characters, with ``secret`` redacted.

    Only the first ``16 * limit`` characters are looked at (a 1 MB message costs no more than a short one).

    Escape sequences, control and formatting characters are removed, runs of whitespace become one
    space. The secret is redacted before and after cleaning, so that removing characters cannot
    assemble it; cutting happens last, so no fragment of it survives either.
    """
    total: int | None = None
    if len(text) > 16 * limit:
        total = len(text)
        # redacted before the cut, over a window one secret longer, so no piece of a secret survives it
        text = redact(text[: 16 * limit + len(secret or "")], secret)[: 16 * limit]
    text = redact(text, secret)
    if not text.isprintable():
        text = _ESCAPE_SEQUENCE.sub("", text)
        text = _WHITESPACE_CONTROLS.sub(" ", text)
        text = _UNPRINTABLE.sub("", text)
        if not text.isprintable():  # the rarer non-printables: unassigned, private use, separators
            text = "".join(char if char.isprintable() else " " for char in text)
    text = redact(" ".join(text.split()), secret)
    if total is not None:
        return f"{text[:limit]}... ({total} characters)"
    return shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def shown(value: object, limit: int = 80) -> str:
    """A short printable ``repr`` of a caller's value for an error message (a 1 MB name stays short)."""
    if isinstance(value, str | bytes) and len(value) > limit:
        text = f"{value[: limit // 2]!r}... ({len(value)} characters)"
    else:
        try:
            text = _REPR.repr(value)
        except Exception:  # a hostile __repr__
            text = f"<{type(value).__name__}>"
    return one_line(text, 2 * limit)


def _bounded_repr() -> reprlib.Repr:
    bounded = reprlib.Repr()
    bounded.maxlevel, bounded.maxdict = 3, 4
    bounded.maxlist = bounded.maxtuple = bounded.maxset = bounded.maxfrozenset = 6
    bounded.maxstring = bounded.maxother = 80
    return bounded


_REPR: Final = _bounded_repr()
