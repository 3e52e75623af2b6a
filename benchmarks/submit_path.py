"""Benchmark 1 — the submit path: ``submit_circuits`` of a large batch with the network mocked out.

Both clients submit the same circuits (prx/cz/measure on the Garnet lattice). Our HTTP layer is an
``httpx.MockTransport``; the reference's ``requests`` is stubbed at ``Session.send``. Both get the same
canned answers. Both sets of circuits stay alive for the whole run, so the heap is frozen
(``gc.freeze``) before each round: the collector then does not walk the other client's circuits. Our dynamic architecture is fetched once before timing (it is cached for
``architecture_ttl``); the reference fetches it from the stub on every submission, as it does from a
real server (one small document per batch: negligible next to the batch). Both clients run with their
default settings. Rounds alternate between
the clients; each round uses a fresh client after one warm-up submission of a single circuit.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from iqm_client_async import AsyncIQMClient, Circuit, CircuitCompilationOptions, CircuitOperation
from iqm_client_async.models import PostJobsRequest, serialize_run_request
from iqm_client_async.validation import validate_circuits_dynamic, validate_circuits_static

from ._common import (
    Measurement,
    Sizes,
    build_circuits,
    frozen_heap,
    garnet_circuit_specs,
    load_reference,
    median,
)
from ._mock_server import MOCK_URL, QUANTUM_COMPUTER, mock_transport, stubbed_requests

NAME = "submit path"
TARGET_US = 1.0
TARGET_SPEEDUP = 4.0


async def _our_round(circuits: list[Circuit]) -> dict[str, float]:
    async with AsyncIQMClient(
        MOCK_URL, quantum_computer=QUANTUM_COMPUTER, transport=mock_transport()
    ) as client:
        architecture = await client.get_dynamic_quantum_architecture()
        await client.submit_circuits(circuits[:1])
        started = time.perf_counter()
        await client.submit_circuits(circuits)
        total = time.perf_counter() - started

        mode = CircuitCompilationOptions().move_gate_validation
        started = time.perf_counter()
        normalized = validate_circuits_static(circuits)
        static = time.perf_counter() - started
        started = time.perf_counter()
        validate_circuits_dynamic(normalized, architecture, None, mode)
        dynamic = time.perf_counter() - started
        started = time.perf_counter()
        serialize_run_request(PostJobsRequest.from_validated(normalized))
        serialization = time.perf_counter() - started
    # The parts are timed again after the whole call, so on a noisy machine their sum can exceed the
    # total; the rest is reported as at least zero rather than as a negative time.
    rest = max(total - static - dynamic - serialization, 0.0)
    return {
        "total": total,
        "static": static,
        "dynamic": dynamic,
        "serialization": serialization,
        "rest": rest,
    }


def _reference_round(reference: Any, circuits: list[Any]) -> float:
    with stubbed_requests():
        client = reference.IQMClient(MOCK_URL, quantum_computer=QUANTUM_COMPUTER)
        client.submit_circuits(circuits[:1])
        started = time.perf_counter()
        client.submit_circuits(circuits)
        return time.perf_counter() - started


def run(sizes: Sizes, *, with_reference: bool = True) -> list[Measurement]:
    """Time ``submit_circuits`` of ``sizes.submit_circuits`` circuits for both clients, alternating rounds."""
    specs = garnet_circuit_specs(sizes.submit_circuits, sizes.submit_instructions)
    instructions = sum(len(spec) for spec in specs)
    ours_circuits = build_circuits(specs, Circuit, CircuitOperation)
    reference = load_reference() if with_reference else None
    reference_circuits = (
        build_circuits(specs, reference.Circuit, reference.CircuitOperation) if reference else None
    )

    rounds: list[dict[str, float]] = []
    reference_times: list[float] = []
    for _ in range(sizes.repeats):
        with frozen_heap():
            rounds.append(anyio.run(_our_round, ours_circuits))
        if reference is not None and reference_circuits is not None:
            with frozen_heap():
                reference_times.append(_reference_round(reference, reference_circuits))

    def per_instruction(key: str) -> float:
        return median([r[key] for r in rounds]) / instructions * 1e6

    ours_us = per_instruction("total")
    reference_us = median(reference_times) / instructions * 1e6 if reference_times else None
    label = f"{sizes.submit_circuits} circuits x {sizes.submit_instructions} instructions"
    results = [
        Measurement(
            NAME,
            f"submit_circuits, {label}",
            ours_us,
            reference_us,
            unit="µs/instruction",
            target=f"ours <= {TARGET_US} µs/instr",
            met=ours_us <= TARGET_US,
            note=f"median of {sizes.repeats} rounds, HTTP mocked",
        )
    ]
    if reference_us is not None:
        speedup = reference_us / ours_us
        results.append(
            Measurement(
                NAME,
                "speed-up over the reference (reference time / ours)",
                speedup,
                unit="x",
                target=f">= {TARGET_SPEEDUP:g}x",
                met=speedup >= TARGET_SPEEDUP,
            )
        )
    for key, what in (
        ("static", "validation, static (structure, args, normalization)"),
        ("dynamic", "validation, dynamic (architecture loci, MOVE rules)"),
        ("serialization", "request model + JSON serialization"),
    ):
        results.append(Measurement(NAME, f"  of which {what}", per_instruction(key), unit="µs/instruction"))
    results.append(
        Measurement(
            NAME,
            "  of which the rest (request layer, mock transport, response decoding)",
            per_instruction("rest"),
            unit="µs/instruction",
            note="per round: the total minus the parts timed on their own, at least 0",
        )
    )
    return results
