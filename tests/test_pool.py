"""The connection pool's linear assignment: same limits as httpcore's, no connection handed out twice."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpcore
import httpx
import pytest

from iqm_client_async import AsyncIQMClient
from iqm_client_async._pool import _LinearAssignmentPool, use_linear_assignment
from iqm_client_async.emulator import Emulator


def count_connections(pool: httpcore.AsyncConnectionPool) -> Callable[[], int]:
    """Count the connections ``pool`` opens from now on."""
    created = 0
    create = pool.create_connection

    def counting_create(origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        nonlocal created
        created += 1
        return create(origin)

    pool.create_connection = counting_create  # type: ignore[method-assign]
    return lambda: created


def test_applies_to_the_default_http11_pool_only() -> None:
    plain = httpx.AsyncHTTPTransport()
    assert use_linear_assignment(plain) and type(plain._pool) is _LinearAssignmentPool
    assert not use_linear_assignment(plain)  # already swapped: left alone
    proxied = httpx.AsyncHTTPTransport(proxy="http://127.0.0.1:9")
    assert not use_linear_assignment(proxied) and type(proxied._pool) is not _LinearAssignmentPool


@pytest.mark.asyncio
async def test_many_requests_share_at_most_the_limit_of_connections() -> None:
    async with Emulator(qpu="adonis") as emu, AsyncIQMClient(emu.url, max_concurrent_requests=4) as client:
        pool = client._http._client._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool, _LinearAssignmentPool)
        created = count_connections(pool)
        failures: list[BaseException] = []

        async def call() -> None:
            try:
                await client.get_health()
            except BaseException as exc:  # pragma: no cover - reported below
                failures.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(300):
                tg.start_soon(call)
        assert not failures
        assert created() <= 4 and len(pool.connections) <= 4
        assert not pool._requests  # every request finished and left the pool


@pytest.mark.asyncio
async def test_queued_requests_beyond_the_pool_size_all_complete_on_reused_connections() -> None:
    limits = httpx.Limits(max_connections=3, max_keepalive_connections=3)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    assert use_linear_assignment(transport)
    pool = transport._pool
    created = count_connections(pool)
    async with Emulator(qpu="adonis") as emu, httpx.AsyncClient(transport=transport) as http:
        statuses: list[int] = []

        async def call() -> None:
            statuses.append((await http.get(f"{emu.url}/api/v1/about")).status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(call)  # 200 requests queue in the pool for 3 connections
        assert statuses == [200] * 200
        assert created() == 3 and len(pool.connections) == 3 and not pool._requests


@pytest.mark.asyncio
@pytest.mark.parametrize(("keepalive_expiry", "connections"), [(60.0, 1), (0.0, 3)])
async def test_an_idle_connection_is_reused_unless_its_keepalive_expired(
    keepalive_expiry: float, connections: int
) -> None:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4, keepalive_expiry=keepalive_expiry)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    assert use_linear_assignment(transport)
    pool = transport._pool
    created = count_connections(pool)
    async with Emulator(qpu="adonis") as emu, httpx.AsyncClient(transport=transport) as http:
        for _ in range(3):
            assert (await http.get(f"{emu.url}/api/v1/about")).status_code == 200
    assert created() == connections
