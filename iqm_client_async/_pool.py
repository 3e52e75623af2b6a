"""Linear-time request-to-connection assignment for httpx's HTTP/1.1 connection pool.

httpcore 1.0's ``AsyncConnectionPool._assign_requests_to_connections`` runs on every request start
and end. It rescans all connections for each queued request, and may hand one idle connection to
two queued requests, the second of which fails with ``ConnectionNotAvailable`` and goes round again
(encode/httpcore#1035). With dozens of requests in flight that dominates the client's CPU.

``use_linear_assignment`` swaps in a subclass that keeps the pool's rules — the same limits,
keep-alive expiry and closing of surplus idle connections — in one pass, and never offers a
connection that an earlier request already holds. Expiry (a ``poll`` and a ``getpeername`` per idle
connection) is checked on the connection about to be reused, and for all idle ones at most once a
second, instead of for every connection on every request. It applies only to the pool release it was
written against (httpcore 1.0, HTTP/1.1 only); anything else is left as it is.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import httpcore
import httpx
from httpcore._async.connection_pool import AsyncPoolRequest
from httpcore._async.interfaces import AsyncConnectionInterface

__all__ = ["use_linear_assignment"]

_SWEEP_INTERVAL = 1.0


class _LinearAssignmentPool(httpcore.AsyncConnectionPool):
    """httpcore's pool with a linear, conflict-free ``_assign_requests_to_connections``."""

    _next_sweep = 0.0

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        now = time.monotonic()
        sweep = now >= self._next_sweep
        queued = [request for request in self._requests if request.is_queued()]
        if not queued and not sweep:
            return []  # a response was closed and nobody waits: closed connections go at the next sweep
        closing: list[AsyncConnectionInterface] = []
        kept: list[AsyncConnectionInterface] = []
        if sweep:
            self._next_sweep = now + _SWEEP_INTERVAL
        for connection in self._connections:
            if connection.is_closed():
                continue
            if sweep and connection.is_idle() and connection.has_expired():
                closing.append(connection)
                continue
            kept.append(connection)

        held = {id(request.connection) for request in self._requests if request.connection is not None}
        surplus = len(kept) - self._max_keepalive_connections
        if surplus > 0:
            for connection in [c for c in kept if c.is_idle() and id(c) not in held][:surplus]:
                kept.remove(connection)
                closing.append(connection)

        if queued:
            available = [c for c in kept if id(c) not in held and c.is_available()]
            for request in queued:
                assigned = self._connection_for(request, available, kept, held, closing)
                if assigned is None:
                    break  # pool full and nothing idle: the rest stay queued
                request.assign_to_connection(assigned)
                held.add(id(assigned))
        self._connections[:] = kept
        return closing

    def _connection_for(
        self,
        request: AsyncPoolRequest,
        available: list[AsyncConnectionInterface],
        kept: list[AsyncConnectionInterface],
        held: set[int],
        closing: list[AsyncConnectionInterface],
    ) -> AsyncConnectionInterface | None:
        origin = request.request.url.origin
        index = 0
        while index < len(available):
            candidate = available[index]
            if not candidate.can_handle_request(origin):
                index += 1
                continue
            del available[index]
            if not candidate.has_expired():
                return candidate
            kept.remove(candidate)  # went stale while idle: close it, try the next one
            closing.append(candidate)
        if len(kept) >= self._max_connections:
            idle = _first(c for c in kept if c.is_idle() and id(c) not in held)
            if idle is None:
                return None
            kept.remove(idle)
            if idle in available:
                available.remove(idle)
            closing.append(idle)
        connection = self.create_connection(origin)
        kept.append(connection)
        return connection


def _first(connections: Iterable[AsyncConnectionInterface]) -> AsyncConnectionInterface | None:
    return next(iter(connections), None)


def use_linear_assignment(transport: httpx.AsyncHTTPTransport) -> bool:
    """Give ``transport``'s HTTP/1.1 pool linear assignment; return whether it was applied."""
    pool = getattr(transport, "_pool", None)
    if (
        type(pool) is httpcore.AsyncConnectionPool
        and httpcore.__version__.startswith("1.0.")
        and not getattr(pool, "_http2", True)
    ):
        pool.__class__ = _LinearAssignmentPool
        return True
    return False
