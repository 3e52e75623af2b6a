"""Benchmark 6 — memory: resident-set growth per job while N jobs are in flight.

Emulator (own process): ``--workers 1 --job-duration-ms 100000``, so the jobs stay queued. The client
runs in a child process of its own (``python -m benchmarks.memory --url URL --jobs N``) so that nothing
measured earlier in the benchmark run inflates its resident set. The child warms up (client, architecture,
100 jobs in flight, then abandoned), records its RSS, resets its peak RSS
(``/proc/self/clear_refs``), then submits N jobs (32 submissions at a time), each awaited by its own task
(``wait_for_completion``), and waits until every one has been submitted and polled at least once (the
emulator's ``status_requests`` counter). It reports its RSS at that moment and its peak RSS, both minus
the baseline, per job. The tasks are cancelled at the end; the emulator process is stopped with the jobs
still queued. (Plain tasks, the way a service awaits jobs of its own.) The client runs with its default
settings: its poller spreads the polls of the waiting jobs so that together they stay under 100 requests/s,
so 10,000 deep-queued jobs are each polled every ~100 s.

Target: at most 10 KiB per job in flight.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import anyio

from iqm_client_async import AsyncIQMClient, Circuit

from ._clients import our_circuit, our_client
from ._common import EmulatorProcess, Measurement, Sizes, bell_specs

NAME = "memory"
TARGET_KIB = 10.0
WARMUP_JOBS = 100
SUBMISSIONS_AT_ONCE = 32
_CHILD_TIMEOUT_S = 900


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak_rss() -> None:
    """Make the peak RSS (``VmHWM``) restart from the current RSS."""
    Path("/proc/self/clear_refs").write_text("5")


def _status_requests(url: str) -> int:
    with urllib.request.urlopen(f"{url}/about", timeout=60) as response:
        count: int = json.loads(response.read())["counters"]["status_requests"]
    return count


async def _hold_in_flight(client: AsyncIQMClient, url: str, circuit: Circuit, jobs: int) -> int:
    """Submit ``jobs`` jobs and await each; once all are submitted and polled, abandon them; return RSS (KiB)."""
    polls_before = await anyio.to_thread.run_sync(_status_requests, url)
    submissions = anyio.CapacityLimiter(SUBMISSIONS_AT_ONCE)
    submitted = 0

    async def submit_and_wait() -> None:
        nonlocal submitted
        async with submissions:
            job = await client.submit_circuits([circuit])
        submitted += 1
        await job.wait_for_completion(timeout_secs=0)

    async with anyio.create_task_group() as tg:
        for _ in range(jobs):
            tg.start_soon(submit_and_wait)
        while True:
            polls = await anyio.to_thread.run_sync(_status_requests, url) - polls_before
            if submitted >= jobs and polls >= jobs:
                break
            await anyio.sleep(0.5)
        gc.collect()
        rss = _status_kib("VmRSS")
        tg.cancel_scope.cancel()
    return rss


async def measure(url: str, jobs: int, max_poll_interval: float | None = None) -> dict[str, float]:
    """RSS growth (KiB) of this process with ``jobs`` jobs in flight, at that moment and at its peak."""
    circuit = our_circuit(bell_specs())
    async with our_client(url, max_poll_interval=max_poll_interval) as client:
        await client.get_dynamic_quantum_architecture()
        await _hold_in_flight(client, url, circuit, WARMUP_JOBS)
        gc.collect()
        baseline = _status_kib("VmRSS")
        _reset_peak_rss()
        in_flight = await _hold_in_flight(client, url, circuit, jobs)
        peak = _status_kib("VmHWM")
    return {"baseline_kib": baseline, "in_flight_kib": in_flight - baseline, "peak_kib": peak - baseline}


def run(sizes: Sizes, *, with_reference: bool = True) -> list[Measurement]:
    """RSS growth per in-flight job, measured in a child process (the reference is not measured here)."""
    jobs = sizes.memory_jobs
    with EmulatorProcess(workers=1, job_duration_ms=100_000) as emulator:
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.memory",
                "--url",
                emulator.url,
                "--jobs",
                str(jobs),
                *(
                    ["--max-poll-interval", str(sizes.memory_max_poll_interval)]
                    if sizes.memory_max_poll_interval is not None
                    else []
                ),
            ],
            capture_output=True,
            text=True,
            timeout=_CHILD_TIMEOUT_S,
            check=True,
        )
    numbers = json.loads(child.stdout.strip().splitlines()[-1])
    peak = numbers["peak_kib"] / jobs
    return [
        Measurement(
            NAME,
            f"peak RSS growth per job, {jobs} jobs in flight",
            peak,
            unit="KiB/job",
            target=f"<= {TARGET_KIB:g} KiB",
            met=peak <= TARGET_KIB,
            note=f"client process baseline {numbers['baseline_kib'] / 1024:.0f} MiB",
        ),
        Measurement(
            NAME,
            "  RSS growth per job once all are submitted and polled",
            numbers["in_flight_kib"] / jobs,
            unit="KiB/job",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Child-process entry point: print the measurement as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument("--url", required=True, help="emulator URL")
    parser.add_argument("--jobs", type=int, required=True, help="jobs to hold in flight")
    parser.add_argument(
        "--max-poll-interval", type=float, default=None, help="client setting (default: its own)"
    )
    args = parser.parse_args(argv)
    print(json.dumps(anyio.run(measure, args.url, args.jobs, args.max_poll_interval)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
