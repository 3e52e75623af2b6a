"""A job that keeps a simulation thread busy for many seconds (to test cancellation and shutdown)."""

from __future__ import annotations

import functools
import json
import random
from typing import Any

from iqm_client_async.emulator.limits import MAX_INSTRUCTIONS
from iqm_client_async.emulator.presets import load_preset


def heavy_run_request(*, circuits: int = 20, seed: int = 3) -> dict[str, Any]:
    """Circuits of ``MAX_INSTRUCTIONS`` random prx/cz gates on all of Garnet's 20 qubits, measured at the end.

    Ideal simulation of each circuit takes about 9 s on an idle machine (a 2^20-amplitude state, thousands
    of passes over it), so the whole job runs longer than any test waits for it to stop.
    """
    preset = load_preset("garnet")
    gates = preset.dynamic_architecture()["gates"]
    prx_loci = [list(locus) for impl in gates["prx"]["implementations"].values() for locus in impl["loci"]]
    cz_loci = [list(locus) for impl in gates["cz"]["implementations"].values() for locus in impl["loci"]]
    rng = random.Random(seed)
    qubits = list(preset.qubits)

    def circuit(index: int) -> dict[str, Any]:
        instructions: list[dict[str, Any]] = []
        for _ in range(MAX_INSTRUCTIONS - 1):
            if rng.random() < 0.6:
                args = {"angle": rng.uniform(0, 3.14), "phase": rng.uniform(0, 6.28)}
                instructions.append({"name": "prx", "locus": rng.choice(prx_loci), "args": args})
            else:
                instructions.append({"name": "cz", "locus": rng.choice(cz_loci), "args": {}})
        instructions.append({"name": "measure", "locus": qubits, "args": {"key": "m"}})
        return {"name": f"heavy-{index}", "instructions": instructions}

    # thousands of pulses run longer than T2: the duration check is off, as for a long benchmark circuit
    return {
        "circuits": [circuit(index) for index in range(circuits)],
        "shots": 1000,
        "max_circuit_duration_over_t2": 0.0,
    }


@functools.cache
def heavy_body(circuits: int = 3) -> bytes:
    """``heavy_run_request(circuits=circuits)`` as a JSON body (built once)."""
    return json.dumps(heavy_run_request(circuits=circuits)).encode()
