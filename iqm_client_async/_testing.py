"""Testing mode for users' test suites: retries happen at once, without backoff or ``Retry-After`` waits.

Like stamina's ``set_testing``: the retry *rules* stay as they are (what is retried and how often),
only the waiting between attempts is removed, so a test of a retried failure takes milliseconds.
"""

from __future__ import annotations

__all__ = ["is_testing", "set_testing"]

_testing = False


def set_testing(testing: bool) -> None:
    """Turn testing mode on or off for every client of the process.

    In testing mode a retried request is sent again at once: no exponential backoff, no wait for a
    server's ``Retry-After``, and a 429 does not pause the client's other requests.
    """
    global _testing
    _testing = bool(testing)


def is_testing() -> bool:
    """Whether testing mode is on (see ``set_testing``)."""
    return _testing
