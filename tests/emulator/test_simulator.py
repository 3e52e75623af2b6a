"""The circuit simulator: gate conventions, measurement semantics, feedback, heralding and noise."""

from __future__ import annotations

import cmath
import itertools
import math
from collections import Counter
from collections.abc import Sequence
from typing import SupportsFloat

import numpy as np
import pytest

from iqm_client_async._errors import IQMError
from iqm_client_async.emulator import simulator
from iqm_client_async.emulator.noise import GateNoise, NoiseModel, ReadoutError
from iqm_client_async.emulator.presets import load_preset
from iqm_client_async.emulator.simulator import (
    MAX_SIMULATED_COMPONENTS,
    AllShotsDiscarded,
    CircuitTooLargeError,
    Instruction,
    SimulationError,
    simulate,
    state_vector,
)

PI = math.pi


def prx(qubit: str, angle: float, phase: float = 0.0) -> Instruction:
    return Instruction("prx", (qubit,), {"angle": angle, "phase": phase})


def measure(*locus: str, key: str = "m", feedback_key: str | None = None) -> Instruction:
    args = {"key": key} | ({"feedback_key": feedback_key} if feedback_key else {})
    return Instruction("measure", locus, args)


def cc_prx(qubit: str, source: str, angle: float = PI, phase: float = 0.0, key: str = "f") -> Instruction:
    args = {"angle": angle, "phase": phase, "feedback_qubit": source, "feedback_key": key}
    return Instruction("cc_prx", (qubit,), args)


def bell(first: str = "QB1", second: str = "QB2") -> list[Instruction]:
    """(|00⟩ − |11⟩)/√2 from RY(π/2) on both, CZ, RY(−π/2) on the second."""
    return [
        prx(first, PI / 2, PI / 2),
        prx(second, PI / 2, PI / 2),
        Instruction("cz", (first, second)),
        prx(second, -PI / 2, PI / 2),
    ]


def run(
    circuit: Sequence[Instruction], shots: int = 2000, seed: int = 1, **options: object
) -> dict[str, list[list[int]]]:
    return simulate(circuit, shots=shots, rng=np.random.default_rng(seed), **options)  # type: ignore[arg-type]


def counts(bits: list[list[int]]) -> Counter[str]:
    return Counter("".join(map(str, shot)) for shot in bits)


def within(observed: SupportsFloat, expected: float, shots: int, sigmas: float = 4.5) -> bool:
    """Binomial tolerance: |observed − expected| within a few standard deviations (plus a floor)."""
    sigma = math.sqrt(max(expected * (1 - expected), 1e-4) / shots)
    return abs(float(observed) - expected) <= sigmas * sigma


def prx_matrix(angle: float, phase: float) -> np.ndarray:
    return np.array(
        [
            [math.cos(angle / 2), -1j * cmath.exp(-1j * phase) * math.sin(angle / 2)],
            [-1j * cmath.exp(1j * phase) * math.sin(angle / 2), math.cos(angle / 2)],
        ]
    )


# --- unitaries and conventions ---------------------------------------------------------------------------


def test_prx_pi_flips_every_shot() -> None:
    result = run([prx("QB1", PI), measure("QB1")], shots=500)
    assert result["m"] == [[1]] * 500


def test_no_gates_reads_zero() -> None:
    assert run([measure("QB1", "QB2")], shots=100)["m"] == [[0, 0]] * 100


@pytest.mark.parametrize(("angle", "phase"), [(0.3, 0.0), (PI / 2, PI / 2), (1.1, -2.3), (PI, 0.7)])
def test_prx_amplitudes_follow_the_matrix_formula(angle: float, phase: float) -> None:
    components, state = state_vector([prx("QB1", angle, phase)])
    assert components == ("QB1",)
    np.testing.assert_allclose(state, prx_matrix(angle, phase)[:, 0], atol=1e-12)


def test_prx_phase_convention_on_a_superposition() -> None:
    # Start from prx(0.9, 0.4)|0⟩ so that both columns of the second matrix matter.
    _, state = state_vector([prx("QB1", 0.9, 0.4), prx("QB1", 1.3, -0.8)])
    expected = prx_matrix(1.3, -0.8) @ prx_matrix(0.9, 0.4)[:, 0]
    np.testing.assert_allclose(state, expected, atol=1e-12)


def test_prx_statistics_distinguish_the_phase() -> None:
    # prx(π/2, 0) then prx(π/2, π) undoes it; prx(π/2, 0) twice is a flip; prx(π/2, π/2) in between is 50/50.
    assert run([prx("QB1", PI / 2), prx("QB1", PI / 2, PI), measure("QB1")], shots=300)["m"] == [[0]] * 300
    assert run([prx("QB1", PI / 2), prx("QB1", PI / 2), measure("QB1")], shots=300)["m"] == [[1]] * 300
    half = run([prx("QB1", PI / 2), prx("QB1", PI / 2, PI / 2), measure("QB1")], shots=4000)["m"]
    assert within(np.mean(half), 0.5, 4000)
    tilted = run([prx("QB1", 1.0, 2.0), measure("QB1")], shots=4000)["m"]
    assert within(np.mean(tilted), math.sin(0.5) ** 2, 4000)


def test_u_rz_and_sx_matrices() -> None:
    theta, phi, lam = 0.7, 1.9, -0.4
    _, state = state_vector([Instruction("u", ("QB1",), {"theta": theta, "phi": phi, "lam": lam})])
    np.testing.assert_allclose(
        state, [math.cos(theta / 2), cmath.exp(1j * phi) * math.sin(theta / 2)], atol=1e-12
    )
    _, state = state_vector([prx("QB1", PI / 2), Instruction("rz", ("QB1",), {"angle": 0.6})])
    rz = np.diag([cmath.exp(-0.3j), cmath.exp(0.3j)])
    np.testing.assert_allclose(state, rz @ prx_matrix(PI / 2, 0.0)[:, 0], atol=1e-12)
    _, state = state_vector([Instruction("sx", ("QB1",))])
    np.testing.assert_allclose(state, prx_matrix(PI / 2, 0.0)[:, 0], atol=1e-12)


def test_states_are_big_endian_in_order_of_first_use() -> None:
    components, state = state_vector([Instruction("barrier", ("QB3", "QB1")), prx("QB1", PI)])
    assert components == ("QB3", "QB1")
    np.testing.assert_allclose(np.abs(state), [0, 1, 0, 0], atol=1e-12)


def test_cz_is_diag_1_1_1_minus_1() -> None:
    plus = [prx("QB1", PI / 2, PI / 2), prx("QB2", PI / 2, PI / 2)]
    _, state = state_vector([*plus, Instruction("cz", ("QB1", "QB2"))])
    np.testing.assert_allclose(state, np.array([1, 1, 1, -1]) / 2, atol=1e-12)
    _, swapped = state_vector([*plus, Instruction("cz", ("QB2", "QB1"))])
    np.testing.assert_allclose(swapped, state, atol=1e-12)


def test_identity_operations_change_nothing() -> None:
    base = [prx("QB1", 0.8, 0.3)]
    idle = [
        Instruction("barrier", ("QB1", "QB2")),
        Instruction("delay", ("QB1",), {"duration": 1e-6}),
        Instruction("lru", ("QB1",)),
        Instruction("prx_12", ("QB1",), {"angle": PI, "phase": 0.0}),
        Instruction("rz_physical", ("QB1",)),
    ]
    _, reference = state_vector(base)
    _, state = state_vector(base + idle)
    np.testing.assert_allclose(state[::2], reference, atol=1e-12)  # QB2 stays |0⟩


# --- measurement ----------------------------------------------------------------------------------------


def test_bell_pair_is_perfectly_correlated() -> None:
    shots = 4000
    result = run([*bell(), measure("QB1", "QB2")], shots=shots)
    observed = counts(result["m"])
    assert set(observed) == {"00", "11"}
    assert within(observed["00"] / shots, 0.5, shots)


def ghz(chain: list[str]) -> list[Instruction]:
    """A GHZ state along ``chain`` (neighbours in the lattice): H, then CZ-conjugated flips."""
    circuit = [prx(chain[0], PI / 2, PI / 2)]
    for control, target in itertools.pairwise(chain):
        circuit += [
            prx(target, PI / 2, PI / 2),
            Instruction("cz", (control, target)),
            prx(target, -PI / 2, PI / 2),
        ]
    return circuit


def test_ghz_on_garnet_has_only_all_zeros_and_all_ones() -> None:
    chain = ["QB1", "QB2", "QB5", "QB6", "QB7", "QB12"]  # a path in Garnet's lattice
    circuit = ghz(chain)
    shots = 3000
    observed = counts(run([*circuit, measure(*chain)], shots=shots)["m"])
    assert set(observed) == {"000000", "111111"}
    assert within(observed["111111"] / shots, 0.5, shots)


def test_bits_follow_locus_order_per_key() -> None:
    circuit = [prx("QB1", PI), prx("QB3", PI), measure("QB2", "QB1", key="a"), measure("QB3", key="b")]
    result = run(circuit, shots=50)
    assert list(result) == ["a", "b"]
    assert result["a"] == [[0, 1]] * 50
    assert result["b"] == [[1]] * 50


def test_every_key_has_one_row_per_shot() -> None:
    circuit = [
        *bell(),
        measure("QB1", key="first", feedback_key="f"),
        prx("QB1", PI / 2),
        measure("QB1", "QB2"),
    ]
    result = run(circuit, shots=777)
    assert {key: len(rows) for key, rows in result.items()} == {"first": 777, "m": 777}
    assert all(len(row) == 2 for row in result["m"])


def test_mid_circuit_measurement_collapses_the_state() -> None:
    # RY(π/2) twice is a deterministic flip; measuring in between makes the final bit a coin toss.
    shots = 4000
    circuit = [
        prx("QB1", PI / 2, PI / 2),
        measure("QB1", key="mid"),
        prx("QB1", PI / 2, PI / 2),
        measure("QB1"),
    ]
    result = run(circuit, shots=shots)
    mid, final = np.array(result["mid"])[:, 0], np.array(result["m"])[:, 0]
    assert within(mid.mean(), 0.5, shots)
    assert within(final.mean(), 0.5, shots)
    assert within(np.mean(mid == final), 0.5, shots)


def test_mid_circuit_measurement_of_one_half_of_a_bell_pair_fixes_the_other() -> None:
    result = run([*bell(), measure("QB1", key="a"), prx("QB2", PI), measure("QB2", key="b")], shots=1000)
    assert all(a != b for (a,), (b,) in zip(result["a"], result["b"], strict=True))


def test_repeated_terminal_measurements_agree() -> None:
    result = run([prx("QB1", PI / 2), measure("QB1", key="x"), measure("QB1", key="y")], shots=1000)
    assert result["x"] == result["y"]
    assert 0 < np.mean(result["x"]) < 1


# --- feedback and reset ---------------------------------------------------------------------------------


def test_cc_prx_makes_the_target_equal_the_measured_bit() -> None:
    shots = 2000
    circuit = [
        prx("QB1", PI / 2),
        measure("QB1", key="a", feedback_key="f"),
        cc_prx("QB2", "QB1"),
        measure("QB2", key="b"),
    ]
    result = run(circuit, shots=shots)
    assert result["a"] == result["b"]
    assert within(np.mean(result["a"]), 0.5, shots)


def test_cc_prx_can_reset_the_measured_qubit_itself() -> None:
    circuit = [
        prx("QB1", PI / 2),
        measure("QB1", key="a", feedback_key="f"),
        cc_prx("QB1", "QB1"),
        measure("QB1"),
    ]
    result = run(circuit, shots=500)
    assert result["m"] == [[0]] * 500
    assert 0 < np.mean(result["a"]) < 1


def test_cc_prx_listens_to_the_latest_feedback_enabled_measurement() -> None:
    # QB1 reads 1 with feedback, is flipped to 0 and read again: without a feedback_key the second reading is
    # ignored, with one it wins.
    start = [prx("QB1", PI), measure("QB1", key="a", feedback_key="f1"), prx("QB1", PI)]
    ignored = [*start, measure("QB1", key="b"), cc_prx("QB2", "QB1", key="f1"), measure("QB2", key="t")]
    assert run(ignored, shots=50)["t"] == [[1]] * 50
    latest = [
        *start,
        measure("QB1", key="b", feedback_key="f2"),
        cc_prx("QB2", "QB1", key="f1"),
        measure("QB2", key="t"),
    ]
    assert run(latest, shots=50)["t"] == [[0]] * 50


def test_cc_prx_without_a_feedback_measurement_is_refused() -> None:
    with pytest.raises(SimulationError, match="feedback_key"):
        run([measure("QB1", key="a"), cc_prx("QB2", "QB1"), measure("QB2", key="b")], shots=10)


@pytest.mark.parametrize("operation", ["reset", "reset_wait"])
def test_reset_returns_to_zero(operation: str) -> None:
    result = run([prx("QB1", PI), Instruction(operation, ("QB1",)), measure("QB1")], shots=300)
    assert result["m"] == [[0]] * 300


def test_reset_of_half_a_bell_pair_leaves_the_other_half_mixed() -> None:
    shots = 4000
    result = run([*bell(), Instruction("reset", ("QB1",)), measure("QB1", "QB2")], shots=shots)
    observed = counts(result["m"])
    assert set(observed) == {"00", "01"}
    assert within(observed["01"] / shots, 0.5, shots)


def test_active_reset_cycles_do_not_change_ideal_results() -> None:
    circuit = [*bell(), measure("QB1", "QB2")]
    assert run(circuit, active_reset_cycles=2) == run(circuit) == run(circuit, active_reset_cycles=None)


# --- MOVE on a Star chip ----------------------------------------------------------------------------------


def test_move_carries_the_state_into_the_resonator_and_back() -> None:
    deneb = load_preset("deneb")
    assert ("QB1", "CR1") in deneb.gate_loci["move"]
    prepare = prx("QB1", 1.2, 0.5)
    move = Instruction("move", ("QB1", "CR1"))
    alpha, beta = prx_matrix(1.2, 0.5)[:, 0]
    a = cmath.exp(0.7j)
    _, inside = state_vector([prepare, move])  # components (QB1, CR1)
    np.testing.assert_allclose(inside, [alpha, beta / a, 0, 0], atol=1e-12)
    _, back = state_vector([prepare, move, move])
    np.testing.assert_allclose(back, [alpha, 0, beta, 0], atol=1e-12)
    shots = 4000
    result = run([prepare, move, move, measure("QB1")], shots=shots)
    assert within(np.mean(result["m"]), abs(beta) ** 2, shots)


def test_cz_through_the_resonator_equals_a_direct_cz() -> None:
    move = Instruction("move", ("QB1", "CR1"))
    prepare = [prx("QB1", 0.9, 0.2), prx("QB2", 1.7, -0.6)]
    _, sandwich = state_vector(
        [
            Instruction("barrier", ("QB1", "QB2", "CR1")),
            *prepare,
            move,
            Instruction("cz", ("QB2", "CR1")),
            move,
        ]
    )
    _, direct = state_vector(
        [Instruction("barrier", ("QB1", "QB2", "CR1")), *prepare, Instruction("cz", ("QB1", "QB2"))]
    )
    np.testing.assert_allclose(sandwich, direct, atol=1e-12)


# --- heralding --------------------------------------------------------------------------------------------


def test_noiseless_heralding_keeps_every_shot() -> None:
    result = run([*bell(), measure("QB1", "QB2")], shots=500, herald=("QB1", "QB2", "QB3"))
    assert len(result["m"]) == 500


def test_noisy_heralding_drops_the_shots_whose_herald_reads_one() -> None:
    garnet = load_preset("garnet")
    noise = garnet.noise_model()
    shots = 8000
    herald = garnet.qubits  # all 20 qubits are read after the initial reset
    result = run(
        [*bell(), measure("QB1", key="a"), measure("QB2", key="b")], shots=shots, noise=noise, herald=herald
    )
    expected = math.prod(1 - noise.readout_error(q).p1_given_0 for q in herald)
    assert 0.5 < expected < 0.7
    assert len(result["a"]) == len(result["b"])
    assert within(len(result["a"]) / shots, expected, shots)


def test_heralding_that_keeps_nothing_raises() -> None:
    noise = NoiseModel(t1={}, t2={}, gates={}, readout={"QB9": ReadoutError(1.0, 0.0)})
    with pytest.raises(AllShotsDiscarded) as raised:
        run([measure("QB1")], shots=100, noise=noise, herald=("QB9",))
    assert isinstance(raised.value, IQMError)


# --- noise --------------------------------------------------------------------------------------------------


def test_readout_error_of_a_prepared_zero_matches_the_published_metric() -> None:
    adonis = load_preset("adonis")
    published = {
        o["dut_field"]: o["value"]
        for o in adonis.quality_metric_set()["observations"]
        if o["dut_field"].startswith("metrics.ssro.measure.constant.QB3.error")
    }
    shots = 20000
    result = run([measure("QB3")], shots=shots, noise=adonis.noise_model())
    assert within(np.mean(result["m"]), published["metrics.ssro.measure.constant.QB3.error_0_to_1"], shots)
    flipped = run([prx("QB3", PI), measure("QB3")], shots=shots, noise=adonis.noise_model())
    assert within(
        1 - np.mean(flipped["m"]),
        published["metrics.ssro.measure.constant.QB3.error_1_to_0"],
        shots,
        sigmas=6,
    )


def test_delay_relaxes_with_t1_and_dephases_with_t2() -> None:
    noise = NoiseModel(t1={"QB1": 10e-6}, t2={"QB1": 8e-6}, gates={})
    delay = Instruction("delay", ("QB1",), {"duration": 5e-6})
    shots = 10000
    decayed = run([prx("QB1", PI), delay, measure("QB1")], shots=shots, noise=noise)
    assert within(np.mean(decayed["m"]), math.exp(-0.5), shots)
    ramsey = run([prx("QB1", PI / 2), delay, prx("QB1", -PI / 2), measure("QB1")], shots=shots, noise=noise)
    assert within(1 - np.mean(ramsey["m"]), (1 + math.exp(-5 / 8)) / 2, shots)


def test_relaxation_on_a_large_state_matches_t1_and_t2() -> None:
    # From 14 components on, the damping is queued with the shears; the spectators must not matter.
    noise = NoiseModel(t1={"QB1": 10e-6}, t2={"QB1": 8e-6}, gates={})
    spectators = [prx(f"QB{q}", PI / 2, q) for q in range(2, 15)]
    delay = Instruction("delay", ("QB1",), {"duration": 5e-6})
    shots = 1200  # one trajectory per shot: 1200 states of 2^14 amplitudes
    decayed = run([*spectators, prx("QB1", PI), delay, measure("QB1")], shots=shots, noise=noise)
    assert within(np.mean(decayed["m"]), math.exp(-0.5), shots)
    ramsey = [*spectators, prx("QB1", PI / 2), delay, prx("QB1", -PI / 2), measure("QB1")]
    assert within(1 - np.mean(run(ramsey, shots=shots, noise=noise)["m"]), (1 + math.exp(-5 / 8)) / 2, shots)


def _density_matrix_bell(noise: NoiseModel) -> dict[str, float]:
    """Exact outcome distribution of the noisy Bell circuit from an independent density-matrix calculation."""
    eye = np.eye(2)
    rho = np.zeros((4, 4), dtype=complex)
    rho[0, 0] = 1

    def lift(op: np.ndarray, position: int) -> np.ndarray:
        return np.kron(op, eye) if position == 0 else np.kron(eye, op)

    def channel(rho: np.ndarray, kraus: list[np.ndarray]) -> np.ndarray:
        result: np.ndarray = sum(k @ rho @ k.conj().T for k in kraus)
        return result

    def noisy(rho: np.ndarray, name: str, positions: tuple[int, ...]) -> np.ndarray:
        locus = tuple(("QB1", "QB2")[p] for p in positions)
        gate = noise.gate_noise(name, locus)
        assert gate is not None
        for position, qubit in zip(positions, locus, strict=True):
            t1, t2, t = noise.t1[qubit], noise.t2[qubit], gate.duration
            gamma = 1 - math.exp(-t / t1)
            flip = (1 - math.exp(-t / t2) / math.exp(-t / (2 * t1))) / 2
            damping = [
                np.array([[1, 0], [0, math.sqrt(1 - gamma)]]),
                np.array([[0, math.sqrt(gamma)], [0, 0]]),
            ]
            dephasing = [math.sqrt(1 - flip) * eye, math.sqrt(flip) * np.diag([1, -1])]
            rho = channel(rho, [lift(k, position) for k in damping])
            rho = channel(rho, [lift(k, position) for k in dephasing])
        paulis = [eye, np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1, -1])]
        if len(positions) == 1:
            strings = [lift(p, positions[0]) for p in paulis]
        else:
            strings = [np.kron(p, q) for p in paulis for q in paulis]
        lam = gate.depolarizing
        depolarized: np.ndarray = (1 - lam) * rho + lam / len(strings) * sum(
            s @ rho @ s.conj().T for s in strings
        )
        return depolarized

    def gate(rho: np.ndarray, unitary: np.ndarray, name: str, positions: tuple[int, ...]) -> np.ndarray:
        return noisy(unitary @ rho @ unitary.conj().T, name, positions)

    ry, ry_back = prx_matrix(PI / 2, PI / 2), prx_matrix(-PI / 2, PI / 2)
    rho = gate(rho, lift(ry, 0), "prx", (0,))
    rho = gate(rho, lift(ry, 1), "prx", (1,))
    rho = gate(rho, np.diag([1, 1, 1, -1]), "cz", (0, 1))
    rho = gate(rho, lift(ry_back, 1), "prx", (1,))
    true = np.real(np.diag(rho))
    confusion = []
    for qubit in ("QB1", "QB2"):
        e = noise.readout_error(qubit)
        confusion.append(np.array([[1 - e.p1_given_0, e.p1_given_0], [e.p0_given_1, 1 - e.p0_given_1]]))
    reported = np.kron(confusion[0], confusion[1]).T @ true
    return {f"{i:02b}": float(p) for i, p in enumerate(reported)}


@pytest.mark.parametrize("strength", ["garnet", "strong"])
def test_noisy_bell_statistics_match_the_density_matrix(strength: str) -> None:
    if strength == "garnet":
        noise = load_preset("garnet").noise_model()
    else:
        noise = NoiseModel(
            t1={"QB1": 2e-6, "QB2": 3e-6},
            t2={"QB1": 1.5e-6, "QB2": 4e-6},
            gates={
                "prx": {("QB1",): GateNoise(50e-9, 0.02), ("QB2",): GateNoise(50e-9, 0.01)},
                "cz": {("QB1", "QB2"): GateNoise(300e-9, 0.08)},
            },
            readout={"QB1": ReadoutError(0.03, 0.06), "QB2": ReadoutError(0.01, 0.04)},
        )
    expected = _density_matrix_bell(noise)
    shots = 20000
    observed = counts(run([*bell(), measure("QB1", "QB2")], shots=shots, noise=noise, seed=5)["m"])
    for outcome, probability in expected.items():
        assert within(observed[outcome] / shots, probability, shots), (outcome, observed, expected)
    fidelity = (observed["00"] + observed["11"]) / shots
    assert fidelity < {"garnet": 0.96, "strong": 0.85}[strength]  # ideal: 1


def test_noisy_feedback_reads_flipped_bits() -> None:
    noise = NoiseModel(
        t1={}, t2={}, gates={}, readout={"QB1": ReadoutError(0.2, 0.0), "QB2": ReadoutError(0.0, 0.0)}
    )
    shots = 5000
    circuit = [measure("QB1", key="a", feedback_key="f"), cc_prx("QB2", "QB1"), measure("QB2", key="b")]
    result = run(circuit, shots=shots, noise=noise)
    assert result["a"] == result["b"]  # the controller acts on the reported (flipped) bit
    assert within(np.mean(result["a"]), 0.2, shots)


def test_large_noisy_circuits_share_trajectories_in_chunks() -> None:
    many = [prx(f"QB{q}", 0.1) for q in range(1, 21)] * 10
    program = simulator._Program.compile([*many, measure("QB1")])
    plan = simulator._plan_chunks(10000, program, noisy=True)
    assert sum(shots for shots, _ in plan) == 10000
    trajectories = sum(rows for _, rows in plan)
    assert simulator._MIN_TRAJECTORIES <= trajectories < 10000
    assert all(rows << program.size <= simulator._CHUNK_AMPLITUDES for _, rows in plan)
    small = simulator._Program.compile([*bell(), measure("QB1", "QB2")])
    assert simulator._plan_chunks(1000, small, noisy=True) == [(1000, 1000)]
    assert simulator._plan_chunks(1000, small, noisy=False) == [(1000, 1)]


def test_on_sampling_reports_one_trajectory_per_shot_when_affordable() -> None:
    noise = NoiseModel(t1={"QB1": 10e-6}, t2={"QB1": 8e-6}, gates={})
    samplings: list[simulator.Sampling] = []
    run([prx("QB1", PI), measure("QB1")], shots=500, noise=noise, on_sampling=samplings.append)
    assert samplings == [simulator.Sampling(shots=500, trajectories=500, effective_shots=500.0)]
    run([prx("QB1", PI), measure("QB1")], shots=500, on_sampling=samplings.append)
    assert len(samplings) == 1  # nothing to report without noise


def test_effective_sample_size_of_shared_trajectories_lies_between_trajectories_and_shots(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(simulator, "_WORK_BUDGET", 1 << 9)
    noise = NoiseModel(t1={"QB1": 10e-6}, t2={"QB1": 8e-6}, gates={})
    samplings: list[simulator.Sampling] = []
    decaying = [prx("QB1", PI), Instruction("delay", ("QB1",), {"duration": 7e-6}), measure("QB1")]
    run(decaying, shots=4000, noise=noise, on_sampling=samplings.append)
    # A coherent superposition: every trajectory gives the same 50/50, the shots are as good as independent.
    run([prx("QB1", PI / 2), measure("QB1")], shots=4000, noise=noise, on_sampling=samplings.append)
    decayed, coherent = samplings
    assert decayed.trajectories < 4000 and coherent.trajectories < 4000
    assert decayed.trajectories / 2 < decayed.effective_shots < 2 * decayed.trajectories
    assert coherent.effective_shots > 2000


ECHO_NOISE = NoiseModel(  # quasi-static dephasing only: T2 = 1 us, echo T2 = 2 T1 (no white dephasing)
    t1={f"QB{q}": 1.0 for q in range(1, 16)},
    t2={f"QB{q}": 1e-6 for q in range(1, 16)},
    t2_echo={f"QB{q}": 2.0 for q in range(1, 16)},
    gates={},
)


@pytest.mark.parametrize("variant", ["plain", "large state", "feedback after the echo"])
def test_an_echo_refocuses_the_quasi_static_detuning_on_every_path(variant: str) -> None:
    wait = Instruction("delay", ("QB1",), {"duration": 1.5e-6})
    prefix: list[Instruction] = []
    after: list[Instruction] = []
    if variant == "large state":
        prefix = [prx(f"QB{q}", PI / 2, q) for q in range(2, 16)]
    if variant == "feedback after the echo":
        # The second wait leaves the pi pulse's frame anti-diagonal; the cc_prx flushes it with a phase pending.
        prefix = [prx("QB2", PI / 2), measure("QB2", key="f", feedback_key="f")]
        args = {"angle": 0.0, "phase": 0.0, "feedback_qubit": "QB2", "feedback_key": "f"}
        after = [Instruction("cc_prx", ("QB1",), args)]
    shots = 1000
    echo = [
        *prefix,
        prx("QB1", PI / 2),
        wait,
        prx("QB1", PI),
        wait,
        *after,
        prx("QB1", PI / 2),
        measure("QB1"),
    ]
    ramsey = [*prefix, prx("QB1", PI / 2), wait, wait, *after, prx("QB1", -PI / 2), measure("QB1")]
    assert within(np.mean(run(echo, shots=shots, noise=ECHO_NOISE)["m"]), 0.0, shots)
    assert within(np.mean(run(ramsey, shots=shots, noise=ECHO_NOISE)["m"]), (1 - math.exp(-3)) / 2, shots)


def test_a_delay_of_a_million_t1_decays_and_leaves_no_null_state() -> None:
    noise = NoiseModel(t1={"QB1": 1e-6, "QB2": 1e-6}, t2={"QB1": 1e-6, "QB2": 1e-6}, gates={})
    long_wait = Instruction("delay", ("QB1",), {"duration": 1.0})
    result = run(
        [prx("QB1", PI / 2), measure("QB1", key="a"), long_wait, measure("QB1", "QB2", key="m")], noise=noise
    )
    assert np.mean(result["a"]) > 0.4  # half the shots were exactly |1⟩ before the wait
    assert np.sum(result["m"]) == 0


# --- frames, layout changes and the global factor (checked against dense matrices) --------------------------


def _matrix(instruction: Instruction) -> np.ndarray:
    args = instruction.args
    if instruction.name == "prx":
        return prx_matrix(args["angle"], args["phase"])
    if instruction.name == "sx":
        return prx_matrix(PI / 2, 0.0)
    if instruction.name == "rz":
        return np.diag([cmath.exp(-0.5j * args["angle"]), cmath.exp(0.5j * args["angle"])])
    theta, phi, lam = args["theta"], args["phi"], args["lam"]
    return np.array(
        [
            [math.cos(theta / 2), -cmath.exp(1j * lam) * math.sin(theta / 2)],
            [cmath.exp(1j * phi) * math.sin(theta / 2), cmath.exp(1j * (lam + phi)) * math.cos(theta / 2)],
        ]
    )


def reference_state(circuit: Sequence[Instruction]) -> tuple[tuple[str, ...], np.ndarray]:
    """The final state of a unitary circuit, one dense gate at a time (nothing shared with the simulator)."""
    components = tuple(dict.fromkeys(c for instruction in circuit for c in instruction.locus))
    axis = {c: i for i, c in enumerate(components)}
    state = np.zeros((2,) * len(components), dtype=complex)
    state[(0,) * len(components)] = 1
    for instruction in circuit:
        if instruction.name == "barrier":
            continue
        if instruction.name == "cz":
            index: list[int | slice] = [slice(None)] * len(components)
            for c in instruction.locus:
                index[axis[c]] = 1
            state[tuple(index)] *= -1
            continue
        target = axis[instruction.locus[0]]
        state = np.moveaxis(np.tensordot(_matrix(instruction), state, axes=([1], [target])), 0, target)
    return components, state.reshape(-1)


def random_unitary_circuit(rng: np.random.Generator, qubits: Sequence[str], length: int) -> list[Instruction]:
    loci = [locus for locus in load_preset("garnet").gate_loci["cz"] if set(locus) <= set(qubits)]
    circuit = [Instruction("barrier", tuple(qubits))]
    for _ in range(length):
        kind = rng.choice(["prx", "prx", "flip", "u", "sx", "rz", "cz", "cz", "cz"])
        qubit = str(rng.choice(qubits))
        if kind == "prx":
            circuit.append(prx(qubit, rng.uniform(-4, 4), rng.uniform(-4, 4)))
        elif kind == "flip":  # anti-diagonal: the simulator keeps it pending as a flipped axis
            circuit.append(prx(qubit, PI, rng.uniform(-4, 4)))
        elif kind == "u":
            theta, phi, lam = rng.uniform(-4, 4, size=3)
            circuit.append(Instruction("u", (qubit,), {"theta": theta, "phi": phi, "lam": lam}))
        elif kind == "rz":
            circuit.append(Instruction("rz", (qubit,), {"angle": rng.uniform(-4, 4)}))
        elif kind == "sx":
            circuit.append(Instruction("sx", (qubit,)))
        else:
            circuit.append(Instruction("cz", loci[rng.integers(len(loci))]))
    return circuit


@pytest.mark.parametrize("size", [3, 12, 16])
def test_state_vector_matches_dense_matrices(size: int) -> None:
    # From 14 components on, the simulator moves the components it mixes to the axes with long runs.
    rng = np.random.default_rng(size)
    circuit = random_unitary_circuit(rng, load_preset("garnet").qubits[:size], 12 * size)
    components, state = state_vector(circuit)
    expected_components, expected = reference_state(circuit)
    assert components == expected_components
    np.testing.assert_allclose(state, expected, atol=1e-10)


def test_a_scrambled_large_circuit_undone_reads_exactly_the_flipped_qubits() -> None:
    qubits = load_preset("garnet").qubits[:16]
    rng = np.random.default_rng(3)
    scramble = [i for i in random_unitary_circuit(rng, qubits, 200) if i.name in ("prx", "cz", "barrier")]
    undo = [
        prx(i.locus[0], -i.args["angle"], i.args["phase"]) if i.name == "prx" else i
        for i in reversed(scramble)
    ]
    flipped = ["QB3", "QB9", "QB14", "QB16"]
    measured = ["QB16", "QB2", "QB9", "QB1", "QB14", "QB3"]  # not in layout or component order
    circuit = [*scramble, *undo, *(prx(q, PI, 0.4) for q in flipped), measure(*measured)]
    expected = [int(q in flipped) for q in measured]
    assert run(circuit, shots=300)["m"] == [expected] * 300


def test_mid_circuit_measurement_of_a_large_ghz_state() -> None:
    chain = ["QB1", "QB2", "QB5", "QB6", "QB7", "QB12", "QB11", "QB10", "QB15", "QB16", "QB17"]
    chain += ["QB18", "QB19", "QB20", "QB14", "QB13"]  # 16 qubits, a path in Garnet's lattice
    circuit = ghz(chain)
    circuit += [measure("QB7", key="mid"), *(prx(q, PI) for q in chain), measure(*chain)]
    result = run(circuit, shots=2000)
    mid = np.array(result["mid"])[:, 0]
    assert within(mid.mean(), 0.5, 2000)
    assert (np.array(result["m"]) == (1 - mid)[:, None]).all()


def test_long_circuits_stay_exact_and_normalized() -> None:
    # Every mixing gate leaves a factor ≤ 1 aside; after ~1000 of them it is folded back into the amplitudes.
    cycle = [prx("QB1", PI / 2, 0.3), prx("QB2", PI / 2, 1.1), Instruction("cz", ("QB1", "QB2"))]
    circuit = cycle * 1500
    _, state = state_vector(circuit)
    _, expected = reference_state(circuit)
    np.testing.assert_allclose(state, expected, atol=1e-9)
    assert np.linalg.norm(state) == pytest.approx(1.0)


# --- reproducibility and limits -------------------------------------------------------------------------------


def test_same_seed_same_results() -> None:
    circuit = [
        *bell(),
        measure("QB1", key="a", feedback_key="f"),
        cc_prx("QB3", "QB1"),
        measure("QB2", "QB3"),
    ]
    noise = load_preset("garnet").noise_model()
    assert run(circuit, seed=11, noise=noise) == run(circuit, seed=11, noise=noise)
    assert run(circuit, seed=11) != run(circuit, seed=12)


def test_only_used_components_are_simulated() -> None:
    components, state = state_vector([prx("QB54", 0.3), Instruction("cz", ("QB54", "QB53"))])
    assert components == ("QB54", "QB53")
    assert state.shape == (4,)


def test_too_many_components_are_refused() -> None:
    circuit = [prx(f"QB{q}", PI) for q in range(1, MAX_SIMULATED_COMPONENTS + 2)] + [measure("QB1")]
    with pytest.raises(CircuitTooLargeError, match=f"uses {MAX_SIMULATED_COMPONENTS + 1} components"):
        run(circuit, shots=1)


def test_branch_explosion_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulator, "_MAX_AMPLITUDES", 8)
    circuit = [
        prx("QB1", PI / 2),
        prx("QB2", PI / 2),
        measure("QB1", key="a"),
        measure("QB2", key="b"),
        prx("QB1", 1.0),
    ]
    with pytest.raises(CircuitTooLargeError, match="branches"):
        run([*circuit, measure("QB1", key="c")], shots=100)


@pytest.mark.parametrize(
    ("instruction", "message"),
    [
        (Instruction("hadamard", ("QB1",)), "unknown operation"),
        (Instruction("prx", ("QB1",), {"angle": 1.0}), "'phase'"),
        (Instruction("prx", ("QB1",), {"angle": "1", "phase": 0.0}), "'angle'"),
        (Instruction("cz", ("QB1",)), "needs 2"),
        (Instruction("cz", ("QB1", "QB1")), "repeated"),
        (Instruction("measure", ("QB1",)), "'key'"),
    ],
)
def test_malformed_instructions_are_refused(instruction: Instruction, message: str) -> None:
    with pytest.raises(SimulationError, match=message):
        run([instruction], shots=1)


def test_bad_options_are_refused() -> None:
    with pytest.raises(SimulationError, match="shots"):
        run([measure("QB1")], shots=0)
    with pytest.raises(SimulationError, match="twice"):
        run([measure("QB1", key="k"), measure("QB2", key="k")])
    with pytest.raises(SimulationError, match="active_reset_cycles"):
        run([measure("QB1")], active_reset_cycles="2")
    with pytest.raises(SimulationError, match="unitary"):
        state_vector([measure("QB1")])
