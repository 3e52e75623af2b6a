"""Benchmark 2 — facade overhead: a blocking ``IQMClient`` call versus awaiting the same coroutine.

The call is ``get_dynamic_quantum_architecture()`` answered from the client's cache (the architecture is
fetched once, from a mock transport, before timing), so nearly all of the blocking call's time is the
facade itself: handing the coroutine to the portal's event-loop thread and waiting for its result.
Each call is timed on its own and medians are compared.

A blocking call wakes the event-loop thread and is woken by it. What that costs depends on where the OS
runs the two threads: on one CPU it is a context switch, on two idle vCPUs of a virtual machine it is two
inter-processor wake-ups. So the blocking calls are also measured with the process pinned to one CPU, and
next to a floor: the round trip of a bare ``asyncio.run_coroutine_threadsafe`` to an idle loop thread,
timed in alternating chunks with the facade's calls so that both see the same scheduling.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio

from iqm_client_async import AsyncIQMClient, IQMClient

from ._common import Measurement, Sizes, median
from ._mock_server import MOCK_URL, QUANTUM_COMPUTER, mock_transport

NAME = "facade"
TARGET_US = 100.0
_CHUNKS = 10


async def _async_call_times(calls: int) -> list[float]:
    async with AsyncIQMClient(
        MOCK_URL, quantum_computer=QUANTUM_COMPUTER, transport=mock_transport()
    ) as client:
        await client.get_dynamic_quantum_architecture()
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            await client.get_dynamic_quantum_architecture()
            times.append(time.perf_counter() - started)
    return times


def _call_times(call: Callable[[], object], calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


async def _nothing() -> None:
    return None


@contextmanager
def _idle_loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="benchmark-floor-loop", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def _blocking_and_floor_times(calls: int) -> tuple[list[float], list[float]]:
    """Facade calls and bare thread hops, in alternating chunks."""
    blocking: list[float] = []
    floor: list[float] = []
    with (
        IQMClient(MOCK_URL, quantum_computer=QUANTUM_COMPUTER, transport=mock_transport()) as client,
        _idle_loop_thread() as loop,
    ):
        client.get_dynamic_quantum_architecture()
        chunk = max(1, calls // _CHUNKS)
        for _ in range(_CHUNKS):
            blocking += _call_times(client.get_dynamic_quantum_architecture, chunk)
            floor += _call_times(lambda: asyncio.run_coroutine_threadsafe(_nothing(), loop).result(), chunk)
    return blocking, floor


def _pinned_blocking_times(calls: int) -> list[float] | None:
    """Facade calls with this thread and the portal thread (created here, inheriting it) on one CPU."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        with IQMClient(MOCK_URL, quantum_computer=QUANTUM_COMPUTER, transport=mock_transport()) as client:
            client.get_dynamic_quantum_architecture()
            return _call_times(client.get_dynamic_quantum_architecture, calls)
    finally:
        os.sched_setaffinity(0, allowed)


def run(sizes: Sizes, *, with_reference: bool = True) -> list[Measurement]:
    """Median per-call times of both surfaces (the reference has no such facade: nothing to compare)."""
    calls = sizes.facade_calls
    async_us = median(anyio.run(_async_call_times, calls)) * 1e6
    blocking, floor = _blocking_and_floor_times(calls)
    blocking_us = median(blocking) * 1e6
    floor_us = median(floor) * 1e6
    overhead = blocking_us - async_us
    chunk = max(1, calls // _CHUNKS)
    chunk_medians = [median(blocking[i : i + chunk]) * 1e6 for i in range(0, len(blocking), chunk)]
    spread = f"chunk medians {min(chunk_medians):.0f}-{max(chunk_medians):.0f} µs"
    results = [
        Measurement(NAME, "cached call, awaited on AsyncIQMClient", async_us, unit="µs/call"),
        Measurement(NAME, "same call through the blocking IQMClient", blocking_us, unit="µs/call"),
        Measurement(
            NAME,
            "facade overhead per call (blocking - async)",
            overhead,
            unit="µs/call",
            target=f"<= {TARGET_US:g} µs",
            met=overhead <= TARGET_US,
            note=f"medians of {calls} calls each, default scheduling; {spread}",
        ),
        Measurement(NAME, "  floor: bare run_coroutine_threadsafe round trip", floor_us, unit="µs/call"),
    ]
    pinned = _pinned_blocking_times(calls)
    if pinned is not None:
        results.append(
            Measurement(
                NAME,
                "  facade overhead, process pinned to one CPU",
                median(pinned) * 1e6 - async_us,
                unit="µs/call",
            )
        )
    return results
