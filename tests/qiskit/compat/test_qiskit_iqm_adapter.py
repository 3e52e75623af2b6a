"""Our Qiskit adapter next to IQM's (``iqm-client[qiskit]==35.0.3``), both in this venv, on the same emulator.

Run by ``nox -s compat``; skipped where IQM's adapter is not installed. The 20 comparison circuits
(GHZ-n, QFT-5, random circuits; ``benchmarks/qiskit_bench.py``) are transpiled by each adapter and
run by each on the same emulator: the counts must agree within sampling noise, and our transpiled
circuits must not have more two-qubit gates than IQM's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("qiskit")
pytest.importorskip("iqm.qiskit_iqm")

import iqm.qiskit_iqm as adapter
from qiskit.quantum_info import Statevector
from scipy.stats import chi2

from iqm_client_async.qiskit import IQMProvider, transpile_to_IQM

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from benchmarks.qiskit_bench import comparison_circuits, two_qubit_counts

SHOTS = 4000


def homogeneity_p_value(ours: dict[str, int], theirs: dict[str, int]) -> float:
    """Chi-square test that two samples of equal size come from one distribution."""
    outcomes = set(ours) | set(theirs)
    statistic = sum(
        (ours.get(k, 0) - theirs.get(k, 0)) ** 2 / (ours.get(k, 0) + theirs.get(k, 0)) for k in outcomes
    )
    return float(chi2.sf(statistic, max(len(outcomes) - 1, 1)))


def total_variation(first: dict[str, float], second: dict[str, float]) -> float:
    return 0.5 * sum(abs(first.get(k, 0.0) - second.get(k, 0.0)) for k in set(first) | set(second))


@pytest.fixture(scope="module")
def garnet() -> Any:
    with IQMProvider.emulator("garnet", seed=11) as provider:
        yield provider


def test_same_counts_distribution_as_iqms_adapter(garnet: Any) -> None:
    circuits = comparison_circuits()
    ours = garnet.get_backend()
    theirs = adapter.IQMProvider(garnet.url).get_backend()
    our_result = ours.run(
        [transpile_to_IQM(c, ours, seed_transpiler=i) for i, c in enumerate(circuits)], shots=SHOTS
    ).result()
    their_jobs = [
        theirs.run(adapter.transpile_to_IQM(c, theirs, seed_transpiler=i), shots=SHOTS)
        for i, c in enumerate(circuits)
    ]
    for circuit, their_job in zip(circuits, their_jobs, strict=True):
        our_counts = our_result.get_counts(circuit)
        their_counts = their_job.result().get_counts()
        exact = Statevector(circuit.remove_final_measurements(inplace=False)).probabilities_dict()
        p_value = homogeneity_p_value(our_counts, their_counts)
        tvd = total_variation(
            {k: v / SHOTS for k, v in our_counts.items()}, {k: v / SHOTS for k, v in their_counts.items()}
        )
        assert p_value > 1e-4, (circuit.name, p_value, tvd)
        # and both are the circuit's exact distribution (in Qiskit's bit order), up to sampling noise
        ours_vs_exact = total_variation({k: v / SHOTS for k, v in our_counts.items()}, exact)
        assert ours_vs_exact < 0.5 * len(exact) ** 0.5 * (2 / SHOTS) ** 0.5 + 0.01, (
            circuit.name,
            ours_vs_exact,
        )


@pytest.mark.parametrize("qpu", ["garnet", "deneb"])
def test_no_more_two_qubit_gates_than_iqms_adapter(qpu: str) -> None:
    circuits = comparison_circuits()
    with IQMProvider.emulator(qpu) as provider:
        ours = two_qubit_counts(circuits, provider.get_backend(), transpile_to_IQM)
        theirs = two_qubit_counts(
            circuits, adapter.IQMProvider(provider.url).get_backend(), adapter.transpile_to_IQM
        )
    assert all(count is not None for count in ours)
    compared = [(c.name, o, t) for c, o, t in zip(circuits, ours, theirs, strict=True) if t is not None]
    assert len(compared) >= 17  # IQM's adapter fails on the QFT circuits for deneb under Qiskit 2.1
    worse = [(name, o, t) for name, o, t in compared if o[0] > t[0]]  # type: ignore[index]
    assert not worse
