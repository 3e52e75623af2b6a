"""Benchmark — the transport under ``httpx.AsyncClient``: client CPU per request, 32 requests in flight.

The emulator (own process, uvicorn + httptools, no added latency) answers ``GET /about``; the client
process sends N GETs with 32 in flight and its CPU time (``time.process_time``) is divided by N. Measured
in the same run, alternating three times (medians reported):

* ``httpx.AsyncClient`` on httpx's own transport (httpcore), on asyncio and on uvloop;
* ``httpx.AsyncClient`` on our default transport (aiohttp underneath, ``_transport``), asyncio and uvloop;
* the reference's transport: a ``requests.Session`` shared by 32 threads (what iqm-client 35 sends with).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from iqm_client_async._transport import DefaultTransport

from ._common import EmulatorProcess, Measurement, Sizes, median

NAME = "transport"
IN_FLIGHT = 32
ROUNDS = 3
TARGET_MS = 0.55
TARGET_RATIO = 4.0


def _loops() -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    loops: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return loops
    loops["uvloop"] = uvloop.new_event_loop
    return loops


async def _gets(url: str, requests: int, transport: httpx.AsyncBaseTransport) -> int:
    ok = 0
    limiter = asyncio.Semaphore(IN_FLIGHT)

    async def one(http: httpx.AsyncClient) -> None:
        nonlocal ok
        async with limiter:
            try:
                response = await http.get("/about")
            except httpx.TransportError:  # httpcore 1.0 can hand one connection to two requests (#1035)
                return
        ok += response.status_code == 200

    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=60) as http:
        await one(http)  # connect before the clock starts
        ok = 0
        await asyncio.gather(*(one(http) for _ in range(requests)))
    return ok


def _cpu_per_request_ms(
    url: str, requests: int, loop: Callable[[], asyncio.AbstractEventLoop], ours: bool
) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    with asyncio.Runner(loop_factory=loop) as runner:
        transport = (
            DefaultTransport(max_connections=IN_FLIGHT) if ours else httpx.AsyncHTTPTransport(limits=limits)
        )
        started = time.process_time()
        ok = runner.run(_gets(url, requests, transport))
        spent = time.process_time() - started
    return spent / requests * 1e3, requests - ok


def _reference_cpu_per_request_ms(url: str, requests: int) -> float | None:
    try:
        import requests as requests_library
    except ImportError:
        return None
    session = requests_library.Session()
    adapter = requests_library.adapters.HTTPAdapter(pool_connections=IN_FLIGHT, pool_maxsize=IN_FLIGHT)
    session.mount("http://", adapter)
    session.get(f"{url}/about", timeout=60)
    started = time.process_time()
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        codes = list(pool.map(lambda _: session.get(f"{url}/about", timeout=60).status_code, range(requests)))
    spent = time.process_time() - started
    session.close()
    assert codes.count(200) == requests
    return spent / requests * 1e3


def run(sizes: Sizes, *, with_reference: bool = True) -> list[Measurement]:
    """Client CPU per request for httpx's transport and ours, on each event loop, and the reference's."""
    requests = max(200, 3 * sizes.many_jobs)
    loops = _loops()
    samples: dict[tuple[str, bool], list[float]] = {
        (name, ours): [] for name in loops for ours in (False, True)
    }
    failures: dict[tuple[str, bool], int] = dict.fromkeys(samples, 0)
    reference_samples: list[float] = []
    with EmulatorProcess() as emulator:
        for _ in range(ROUNDS):
            for (name, our_transport), values in samples.items():
                cpu_ms, failed = _cpu_per_request_ms(emulator.url, requests, loops[name], our_transport)
                values.append(cpu_ms)
                failures[(name, our_transport)] += failed
            if with_reference:
                value = _reference_cpu_per_request_ms(emulator.url, requests)
                if value is not None:
                    reference_samples.append(value)
    reference = median(reference_samples) if reference_samples else None
    results: list[Measurement] = []
    for name in loops:
        theirs = median(samples[(name, False)])
        ours = median(samples[(name, True)])
        spread = ", ".join(f"{value:.2f}" for value in samples[(name, True)])
        results.append(
            Measurement(
                NAME,
                f"client CPU per GET, {IN_FLIGHT} in flight, {name}: ours (aiohttp under httpx)",
                ours,
                reference,
                "ms",
                f"<= {TARGET_MS} ms",
                ours <= TARGET_MS and not failures[(name, True)],
                f"{requests} GETs, median of {ROUNDS}: {spread} ms, {failures[(name, True)]} failed; "
                "reference = requests.Session in 32 threads",
            )
        )
        results.append(
            Measurement(
                NAME,
                f"httpx's own transport / ours, {name}",
                theirs / ours,
                None,
                "x",
                f">= {TARGET_RATIO:g}x",
                theirs / ours >= TARGET_RATIO,
                f"httpx's own transport: {theirs:.2f} ms per GET (median of {ROUNDS}), "
                f"{failures[(name, False)]} of {ROUNDS * requests} GETs failed with a transport error",
            )
        )
    return results
