"""Fixtures for the emulator's server tests: an emulator reached over ASGI or over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
import pytest_asyncio

from iqm_client_async.emulator import Emulator

from .server_helpers import Connect


@pytest.fixture(params=["asgi", "http"])
def transport_kind(request: pytest.FixtureRequest) -> str:
    """How tests reach the emulator: in-process ASGI, or real HTTP over a loopback port."""
    return str(request.param)


@pytest_asyncio.fixture
async def connect(transport_kind: str) -> AsyncIterator[Connect]:
    """Factory: start an emulator with the given options and return it with a raw httpx client."""
    async with AsyncExitStack() as stack:

        async def factory(**options: Any) -> tuple[Emulator, httpx.AsyncClient]:
            emulator = await stack.enter_async_context(
                Emulator(serve_http=transport_kind == "http", **options)
            )
            if transport_kind == "http":
                client = httpx.AsyncClient(base_url=emulator.url, timeout=10)
            else:
                client = httpx.AsyncClient(transport=emulator.transport(), base_url="http://emulator")
            await stack.enter_async_context(client)
            return emulator, client

        yield factory


@pytest_asyncio.fixture
async def api(connect: Connect) -> AsyncIterator[httpx.AsyncClient]:
    """A raw httpx client of a default emulator (Garnet, seed 7)."""
    _, client = await connect(seed=7)
    yield client
