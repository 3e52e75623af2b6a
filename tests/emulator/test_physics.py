"""The noisy emulator against its own published calibration (``--noise calibrated``, Garnet).

Every check reads the numbers a user would read (the preset's calibration and quality-metric sets, through
the observation finder), runs circuits on the simulator the emulator uses, and compares within
``Z = 5`` standard errors of the sampling (seeded, so the run is reproducible). Checked:

* readout errors ``P(1|0)``, ``P(0|1)``; T1 (π pulse, delay); Ramsey T2 and echo T2 (which differ);
* RB error per PRX pulse (Clifford sequences of two π/2 pulses each, survival difference of sequences that
  end in ``|0⟩`` and in ``|1⟩``, so SPAM and the relaxation asymptote cancel);
* Bell fidelity after 1 and 21 CZs, GHZ-5, and idle decay / dephasing of a qubit waiting for another one's
  delay, against an exact density-matrix evaluation of the documented model built from the published
  numbers alone (a separate implementation: per-qubit ASAP timelines, Kraus channels);
* a delay of 10³·T1 (the excited qubit has decayed; untouched qubits still read ``|0⟩``);
* the duration rule over loopback HTTP, and the job's report of shared trajectories.

Mutations tried by hand (each made at least one test here fail): readout errors removed or swapped to
``2x``; T1 scaled by 1.3; gate depolarizing removed and doubled; gate relaxation removed; idle relaxation
removed (``catch_up`` a no-op); quasi-static dephasing removed (width 0); white idle dephasing at the
Ramsey instead of the echo rate; the strong-damping path removed (the old null-state bug).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from iqm_client_async.calibration import ObservationFinder
from iqm_client_async.emulator import simulator
from iqm_client_async.emulator.presets import load_preset
from iqm_client_async.emulator.schedule import MAX_CIRCUIT_DURATION
from iqm_client_async.emulator.simulator import Instruction, Sampling, simulate
from iqm_client_async.models import ObservationSetWithObservations

from .server_helpers import Connect, op, run_request, submit, wait_for

Z = 5.0  # standard errors a sampled quantity may be from its prediction
PRESET = load_preset("garnet")
NOISE = PRESET.noise_model()
PULSE = math.pi / 2
GHZ_CHAIN = ("QB1", "QB2", "QB5", "QB6", "QB7")


@functools.cache
def published() -> ObservationFinder:
    """The calibration and quality metrics the emulator publishes, as a user's finder sees them."""
    documents = [PRESET.calibration_set(), PRESET.quality_metric_set()]
    sets = [ObservationSetWithObservations.model_validate(document) for document in documents]
    return ObservationFinder([o for s in sets for o in s.observations])


def t1_of(qubit: str) -> float:
    return published().get_coherence_times([qubit])[0][qubit]


def t2_of(qubit: str) -> float:
    return published().get_coherence_times([qubit])[1][qubit]


def echo_of(qubit: str) -> float:
    return published().get_t2_echo_times([qubit])[qubit]


def readout_of(qubit: str) -> tuple[float, float]:
    errors = published().get_measure_errors("measure", "constant", (qubit,))
    assert errors is not None
    return errors


def prx(qubit: str, angle: float, phase: float = 0.0) -> Instruction:
    return Instruction("prx", (qubit,), {"angle": angle, "phase": phase})


def delay(duration: float, *qubits: str) -> Instruction:
    return Instruction("delay", qubits, {"duration": duration})


def measure(*qubits: str, key: str = "m") -> Instruction:
    return Instruction("measure", qubits, {"key": key})


def sample(circuit: Sequence[Instruction], shots: int, seed: int) -> np.ndarray:
    """Measured bits, ``(shots, qubits)``, of the circuit's one key ``m``, under the calibrated noise."""
    samplings: list[Sampling] = []
    result = simulate(
        circuit, shots=shots, rng=np.random.default_rng(seed), noise=NOISE, on_sampling=samplings.append
    )
    assert samplings[0].trajectories == shots  # every shot its own trajectory: independent samples
    return np.array(result["m"], dtype=np.float64)


def binomial_sigma(p: float, shots: int) -> float:
    return math.sqrt(max(p * (1 - p), 1.0 / shots) / shots)


def assert_close(measured: float, expected: float, sigma: float, what: str) -> None:
    assert abs(measured - expected) <= Z * sigma, (
        f"{what}: measured {measured:.5g}, expected {expected:.5g} ± {Z * sigma:.2g} ({Z:g} sigma)"
    )


# --- readout, T1, Ramsey and echo T2 -------------------------------------------------------------------------

READOUT_SHOTS = 20_000


@pytest.mark.parametrize("qubit", ["QB1", "QB4", "QB19"])
def test_readout_errors_match_the_published_ssro_errors(qubit: str) -> None:
    e0, e1 = readout_of(qubit)
    zeros = sample([measure(qubit)], READOUT_SHOTS, seed=1)[:, 0].mean()
    assert_close(zeros, e0, binomial_sigma(e0, READOUT_SHOTS), f"P(1|0) of {qubit}")
    # Prepared by a π pulse: its error (at most 2 x the published infidelity) also reads 0.
    ones = 1.0 - sample([prx(qubit, math.pi), measure(qubit)], READOUT_SHOTS, seed=2)[:, 0].mean()
    pulse_error = 2 * (1 - (published().get_gate_fidelity("prx", "drag_gaussian", (qubit,)) or 0.0))
    sigma = binomial_sigma(e1, READOUT_SHOTS)
    assert e1 - Z * sigma <= ones <= e1 + pulse_error + Z * sigma, f"P(0|1) of {qubit}: {ones} vs {e1}"


def excited_fraction(bits: np.ndarray, qubit: str) -> tuple[float, float]:
    """Readout-corrected P(|1⟩) and its standard error."""
    e0, e1 = readout_of(qubit)
    raw = float(bits.mean())
    return (raw - e0) / (1 - e0 - e1), binomial_sigma(raw, bits.size) / (1 - e0 - e1)


def assert_decay_time(
    t: float, start: tuple[float, float], end: tuple[float, float], published_time: float, what: str
) -> None:
    """The decay rate between the values (with errors) at 0 and at t is 1/published_time, within Z sigma.

    Compared as rates, with the error propagated at the expected end value: a mutation that stops the decay
    gives a rate near 0, not an infinite time with an infinite error bar.
    """
    (a, sa), (b, sb) = start, end
    rate = math.log(a / b) / t if b > 0 else math.inf
    expected_end = a * math.exp(-t / published_time)
    assert_close(
        rate, 1 / published_time, math.hypot(sa / a, sb / expected_end) / t, f"{what} (decay rate, 1/s)"
    )


@pytest.mark.parametrize("qubit", ["QB1", "QB4"])
def test_t1_from_a_delay_matches_the_published_t1(qubit: str) -> None:
    t1 = t1_of(qubit)
    shots = 20_000
    points = [
        excited_fraction(
            sample([prx(qubit, math.pi), delay(t, qubit), measure(qubit)], shots, seed)[:, 0], qubit
        )
        for seed, t in enumerate((0.0, t1), start=10)
    ]
    assert_decay_time(t1, *points, t1, f"T1 of {qubit}")


def coherence(qubit: str, circuit: list[Instruction], shots: int, seed: int) -> tuple[float, float]:
    """The coherence left at the end of a Ramsey-type circuit that returns to |0⟩ when fully coherent."""
    excited, sigma = excited_fraction(sample([*circuit, measure(qubit)], shots, seed)[:, 0], qubit)
    return 1 - 2 * excited, 2 * sigma


def ramsey(qubit: str, wait: float) -> list[Instruction]:
    return [prx(qubit, PULSE), delay(wait, qubit), prx(qubit, PULSE, math.pi)]


def echo(qubit: str, wait: float) -> list[Instruction]:
    half = delay(wait / 2, qubit)
    return [prx(qubit, PULSE), half, prx(qubit, math.pi), half, prx(qubit, PULSE)]


@pytest.mark.parametrize("qubit", ["QB1", "QB19"])
def test_ramsey_and_echo_t2_match_the_published_t2_and_t2_echo(qubit: str) -> None:
    shots = 20_000
    for kind, build, published_time in (
        ("Ramsey T2", ramsey, t2_of(qubit)),
        ("echo T2", echo, echo_of(qubit)),
    ):
        start = coherence(qubit, build(qubit, 0.0), shots, seed=20)
        end = coherence(qubit, build(qubit, published_time), shots, seed=21)
        assert_decay_time(published_time, start, end, published_time, f"{kind} of {qubit}")
    assert echo_of(qubit) > 1.5 * t2_of(qubit)  # the two really are different numbers


# --- randomized benchmarking ---------------------------------------------------------------------------------


def _rz(angle: float) -> np.ndarray:
    return np.diag([np.exp(-0.5j * angle), np.exp(0.5j * angle)])


def _prx(angle: float, phase: float) -> np.ndarray:
    c, s = math.cos(angle / 2), math.sin(angle / 2)
    return np.array([[c, -1j * np.exp(-1j * phase) * s], [-1j * np.exp(1j * phase) * s, c]])


def _key(matrix: np.ndarray) -> tuple[complex, ...]:
    """The matrix up to a global phase, rounded: equal for Cliffords that act alike."""
    pivot = matrix.flat[np.flatnonzero(np.abs(matrix) > 1e-6)[0]]
    return tuple(np.round(matrix.flatten() * abs(pivot) / pivot, 6))


@functools.cache
def cliffords() -> tuple[tuple[np.ndarray, tuple[float, float, float]], ...]:
    """The 24 single-qubit Cliffords, each with ``(a, b, c)``: C ∝ Rz(a)·Rx(π/2)·Rz(b)·Rx(π/2)·Rz(c)."""
    half_x = _prx(PULSE, 0.0)
    found: dict[tuple[complex, ...], tuple[np.ndarray, tuple[float, float, float]]] = {}
    for a, b, c in itertools.product([k * PULSE for k in range(4)], repeat=3):
        matrix = _rz(a) @ half_x @ _rz(b) @ half_x @ _rz(c)
        found.setdefault(_key(matrix), (matrix, (a, b, c)))
    assert len(found) == 24
    return tuple(found.values())


def clifford_pulses(qubit: str, angles: tuple[float, float, float]) -> list[Instruction]:
    """Two PRX pulses and a virtual RZ: Rz(a+b+c)·PRX(π/2, −(b+c))·PRX(π/2, −c) = Rz(a)·Rx·Rz(b)·Rx·Rz(c)."""
    a, b, c = angles
    return [
        prx(qubit, PULSE, -c),
        prx(qubit, PULSE, -(b + c)),
        Instruction("rz", (qubit,), {"angle": a + b + c}),
    ]


def rb_sequence(qubit: str, length: int, end_in_one: bool, rng: np.random.Generator) -> list[Instruction]:
    group = cliffords()
    total = np.eye(2, dtype=complex)
    circuit: list[Instruction] = []
    for choice in rng.integers(0, len(group), size=length):
        matrix, angles = group[choice]
        circuit += clifford_pulses(qubit, angles)
        total = matrix @ total
    target = total.conj().T if not end_in_one else np.array([[0, 1], [1, 0]]) @ total.conj().T
    [angles] = [angles for matrix, angles in group if _key(matrix) == _key(target)]
    return [*circuit, *clifford_pulses(qubit, angles), measure(qubit)]


def test_rb_error_per_pulse_matches_the_published_prx_fidelity() -> None:
    qubit, lengths, sequences, shots = "QB1", (2, 150), 8, 500
    rng = np.random.default_rng(30)
    differences = []
    for length in lengths:
        survival = {}
        for end_in_one in (False, True):
            bits = np.concatenate(
                [
                    sample(rb_sequence(qubit, length, end_in_one, rng), shots, seed=31 + i)
                    for i in range(sequences)
                ]
            )
            survival[end_in_one] = (1 - bits.mean(), binomial_sigma(bits.mean(), bits.size))
        difference = survival[False][0] - survival[True][0]
        differences.append((difference, math.hypot(survival[False][1], survival[True][1])))
    (d1, s1), (d2, s2) = differences
    span = lengths[1] - lengths[0]
    per_clifford = math.log(d1 / d2) / span  # −ln p of the Clifford decay
    sigma = math.hypot(s1 / d1, s2 / d2) / span
    # Error per Clifford r = (1 − p)/2 (d = 2); each Clifford is two pulses.
    per_pulse, sigma_pulse = (1 - math.exp(-per_clifford)) / 4, sigma / 4
    fidelity = published().get_gate_fidelity("prx", "drag_gaussian", (qubit,))
    assert fidelity is not None
    assert_close(per_pulse, 1 - fidelity, sigma_pulse, f"RB error per PRX pulse of {qubit}")


# --- a density-matrix evaluation of the documented model, from the published numbers --------------------


class DensityMatrix:
    """The documented noise model, evaluated exactly on a few qubits (Markovian idling: exact in expectation
    for the circuits here, where no pulse echoes an idle window)."""

    def __init__(self, qubits: Sequence[str]) -> None:
        self.qubits = list(qubits)
        self.n = len(qubits)
        self.rho = np.zeros((2**self.n, 2**self.n), dtype=complex)
        self.rho[0, 0] = 1.0
        self.clock = dict.fromkeys(qubits, 0.0)  # when each qubit is free
        self.relaxed = dict.fromkeys(qubits, 0.0)  # until when its relaxation has been applied
        finder = published()
        self.t1, self.t2 = finder.get_coherence_times(qubits)

    def full(self, matrix: np.ndarray, targets: Sequence[str]) -> np.ndarray:
        """``matrix`` on ``targets`` (big-endian), identity elsewhere."""
        k = len(targets)
        tensor = matrix.reshape((2,) * (2 * k))
        axes = [self.qubits.index(t) for t in targets]
        rest = [i for i in range(self.n) if i not in axes]
        big = np.einsum(
            tensor,
            list(range(2 * k)),
            np.eye(2 ** len(rest)).reshape((2,) * (2 * len(rest))),
            list(range(2 * k, 2 * k + 2 * len(rest))),
        )
        order_out = [0] * self.n
        order_in = [0] * self.n
        for position, axis in enumerate(axes):
            order_out[axis], order_in[axis] = position, k + position
        for position, axis in enumerate(rest):
            order_out[axis], order_in[axis] = 2 * k + position, 2 * k + len(rest) + position
        return big.transpose(order_out + order_in).reshape(2**self.n, 2**self.n)

    def unitary(self, matrix: np.ndarray, targets: Sequence[str]) -> None:
        full = self.full(matrix, targets)
        self.rho = full @ self.rho @ full.conj().T

    def relax(self, qubit: str, duration: float) -> None:
        if duration <= 0:
            return
        t1, t2 = self.t1[qubit], min(self.t2[qubit], 2 * self.t1[qubit])
        gamma = 1 - math.exp(-duration / t1)
        kraus = [np.array([[1, 0], [0, math.sqrt(1 - gamma)]]), np.array([[0, math.sqrt(gamma)], [0, 0]])]
        fulls = [self.full(k, [qubit]) for k in kraus]
        self.rho = sum(f @ self.rho @ f.conj().T for f in fulls)
        keep = math.exp(-duration / t2 + duration / (2 * t1))  # the dephasing beyond damping's own
        z = self.full(np.diag([1.0, -1.0]), [qubit])
        self.rho = (1 + keep) / 2 * self.rho + (1 - keep) / 2 * (z @ self.rho @ z)

    def depolarize(self, targets: Sequence[str], strength: float) -> None:
        paulis = [np.eye(2), np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0])]
        mixed = np.zeros_like(self.rho)
        for combination in itertools.product(paulis, repeat=len(targets)):
            matrix = functools.reduce(np.kron, combination)
            full = self.full(matrix, targets)
            mixed += full @ self.rho @ full.conj().T
        self.rho = (1 - strength) * self.rho + strength * mixed / 4 ** len(targets)

    def gate(self, name: str, implementation: str, matrix: np.ndarray, targets: tuple[str, ...]) -> None:
        finder = published()
        start = max(self.clock[t] for t in targets)
        for target in targets:
            self.relax(target, start - self.relaxed[target])
        duration = finder.get_gate_duration(name, implementation, targets)
        fidelity = finder.get_gate_fidelity(name, implementation, targets)
        assert duration is not None and fidelity is not None
        self.unitary(matrix, targets)
        for target in targets:
            self.relax(target, duration)
        # λ of the depolarizing channel from the published average fidelity and the relaxation over the gate.
        d = 2 ** len(targets)
        process = ((d + 1) * fidelity - 1) / d
        relaxed = math.prod(
            (1 + math.exp(-duration / self.t1[t]) + 2 * math.exp(-duration / min(self.t2[t], 2 * self.t1[t])))
            / 4
            for t in targets
        )
        self.depolarize(targets, (relaxed - process) / (relaxed - 1 / d**2))
        for target in targets:
            self.clock[target] = self.relaxed[target] = start + duration

    def run(self, circuit: Sequence[Instruction]) -> np.ndarray:
        """Apply the circuit (prx, rz, cz, delay, barrier, one final measure of all qubits); return the
        probabilities of the reported bitstrings, readout errors included."""
        for instruction in circuit:
            name, locus = instruction.name, instruction.locus
            if name == "prx":
                self.gate(
                    "prx", "drag_gaussian", _prx(instruction.args["angle"], instruction.args["phase"]), locus
                )
            elif name == "rz":
                self.unitary(_rz(instruction.args["angle"]), locus)
            elif name == "cz":
                implemented = locus if published().get_gate_duration("cz", "tgss", locus) else locus[::-1]
                self.gate("cz", "tgss", np.diag([1.0, 1.0, 1.0, -1.0]), implemented)
            elif name in ("delay", "barrier"):
                start = max(self.clock[q] for q in locus)
                wait = instruction.args["duration"] if name == "delay" else 0.0
                for qubit in locus:
                    self.clock[qubit] = start + wait
            elif name == "measure":
                assert list(locus) == self.qubits
                start = max(self.clock.values())
                for qubit in locus:
                    self.relax(qubit, start - self.relaxed[qubit])
        probabilities = np.real(np.diag(self.rho)).reshape((2,) * self.n)
        for axis, qubit in enumerate(self.qubits):
            e0, e1 = readout_of(qubit)
            confusion = np.array([[1 - e0, e1], [e0, 1 - e1]])  # [reported, true]
            probabilities = np.moveaxis(np.tensordot(confusion, probabilities, axes=([1], [axis])), 0, axis)
        return probabilities.reshape(-1)


def ideal(circuit: Sequence[Instruction], qubits: Sequence[str]) -> np.ndarray:
    """Probabilities of the circuit without any noise."""
    state = np.zeros(2 ** len(qubits), dtype=complex)
    state[0] = 1
    model = DensityMatrix(qubits)
    for instruction in circuit:
        if instruction.name == "prx":
            state = (
                model.full(_prx(instruction.args["angle"], instruction.args["phase"]), instruction.locus)
                @ state
            )
        elif instruction.name == "cz":
            state = model.full(np.diag([1.0, 1.0, 1.0, -1.0]), instruction.locus) @ state
    return np.abs(state) ** 2


def parity(probabilities: np.ndarray) -> float:
    """⟨Z⊗…⊗Z⟩ of a distribution over bitstrings."""
    signs = np.array([(-1) ** bin(index).count("1") for index in range(probabilities.size)])
    return float(probabilities @ signs)


def distribution(bits: np.ndarray) -> np.ndarray:
    weights = 2 ** np.arange(bits.shape[1] - 1, -1, -1)
    return np.bincount((bits @ weights).astype(np.intp), minlength=2 ** bits.shape[1]) / bits.shape[0]


BASIS_CHANGE = {"Z": None, "X": (PULSE, -PULSE), "Y": (PULSE, 0.0)}  # PRX rotating the basis onto Z


def in_basis(circuit: list[Instruction], qubits: Sequence[str], basis: str) -> list[Instruction]:
    change = BASIS_CHANGE[basis]
    rotations = [] if change is None else [prx(q, *change) for q in qubits]
    return [*circuit, *rotations, measure(*qubits)]


def fidelity_witness(circuit: list[Instruction], qubits: Sequence[str], bases: str, shots: int, seed: int):
    """(sampled, predicted, sigma) of ``(P(0…0) + P(1…1))/2 + Σ ±⟨P⊗…⊗P⟩/2·(…)`` normalized to 1 for the ideal
    state: for a Bell state the stabilizer fidelity (1 + ±⟨XX⟩ ± ⟨YY⟩ + ⟨ZZ⟩)/4, for GHZ populations + X parity."""
    sampled, predicted, variance = 0.0, 0.0, 0.0
    for number, basis in enumerate(bases):
        full = in_basis(circuit, qubits, basis)
        measured = distribution(sample(full, shots, seed + number))
        expected = DensityMatrix(qubits).run(full)
        sign = np.sign(parity(ideal(full, qubits)))
        if basis == "Z" and len(bases) == 2:  # GHZ: populations of the two ideal outcomes
            weight = 0.5
            sampled += weight * (measured[0] + measured[-1])
            predicted += weight * (expected[0] + expected[-1])
            p = expected[0] + expected[-1]
            variance += weight**2 * p * (1 - p) / shots
            continue
        weight = 0.5 if len(bases) == 2 else 0.25
        sampled += weight * sign * parity(measured)
        predicted += weight * sign * parity(expected)
        variance += weight**2 * (1 - parity(expected) ** 2) / shots
    if len(bases) == 3:
        sampled += 0.25
        predicted += 0.25
    return sampled, predicted, math.sqrt(variance)


def bell(pair: tuple[str, str], czs: int) -> list[Instruction]:
    first, second = pair
    cz = Instruction("cz", pair)
    return [prx(first, PULSE, PULSE), prx(second, PULSE, PULSE), *[cz] * czs, prx(second, PULSE, -PULSE)]


@pytest.mark.parametrize("czs", [1, 21])
def test_bell_fidelity_after_cz_gates_matches_the_published_calibration(czs: int) -> None:
    pair = ("QB1", "QB2")
    sampled, predicted, sigma = fidelity_witness(bell(pair, czs), pair, "XYZ", 4000, seed=40 + czs)
    assert_close(sampled, predicted, sigma, f"Bell fidelity after {czs} CZ")
    assert predicted < (0.95 if czs == 1 else 0.85)  # the noise is there to be checked


def ghz(chain: Sequence[str]) -> list[Instruction]:
    circuit = [prx(chain[0], PULSE, PULSE)]
    for control, target in itertools.pairwise(chain):
        circuit += [
            prx(target, PULSE, -PULSE),
            Instruction("cz", (control, target)),
            prx(target, PULSE, PULSE),
        ]
    return circuit


def test_ghz5_fidelity_matches_the_published_calibration() -> None:
    sampled, predicted, sigma = fidelity_witness(ghz(GHZ_CHAIN), GHZ_CHAIN, "ZX", 4000, seed=50)
    assert_close(sampled, predicted, sigma, "GHZ-5 fidelity")
    assert predicted < 0.9


def test_a_qubit_waiting_for_another_ones_delay_decays_with_t1() -> None:
    wait = 75e-6
    circuit = [prx("QB1", math.pi), delay(wait, "QB2"), measure("QB1", "QB2")]
    shots = 10_000
    bits = sample(circuit, shots, seed=60)
    expected = DensityMatrix(["QB1", "QB2"]).run(circuit).reshape(2, 2)
    p1 = float(expected[1].sum())
    assert_close(float(bits[:, 0].mean()), p1, binomial_sigma(p1, shots), "P(1) of QB1 after waiting 75 us")
    assert p1 < 0.2  # T1 = 37.7 us: the wait matters


def test_a_qubit_waiting_for_another_ones_delay_dephases_with_t2() -> None:
    wait = t2_of("QB1")
    circuit = [
        prx("QB1", PULSE),
        delay(wait, "QB2"),
        Instruction("barrier", ("QB1", "QB2")),
        prx("QB1", PULSE, math.pi),
    ]
    circuit.append(measure("QB1", "QB2"))
    shots = 10_000
    bits = sample(circuit, shots, seed=61)
    p1 = float(DensityMatrix(["QB1", "QB2"]).run(circuit).reshape(2, 2)[1].sum())
    assert_close(
        float(bits[:, 0].mean()), p1, binomial_sigma(p1, shots), "Ramsey P(1) of QB1 waiting for QB2"
    )
    assert p1 > 0.25


# --- long delays, the duration rule, shared trajectories -----------------------------------------------------


@pytest.mark.parametrize("multiple", [30, 1000])
def test_a_delay_of_many_t1_leaves_the_ground_state_and_never_a_null_state(multiple: int) -> None:
    qubit = "QB1"
    shots = 20_000
    # The mid-circuit readout leaves half of the shots exactly in |1⟩ (no ground-state round-off to live on).
    wait = delay(multiple * t1_of(qubit), qubit)
    circuit = [prx(qubit, PULSE), measure(qubit, key="first"), wait, measure(qubit, "QB2")]
    bits = sample(circuit, shots, seed=70)
    for column, name in enumerate((qubit, "QB2")):
        e0 = readout_of(name)[0]
        assert_close(float(bits[:, column].mean()), e0, binomial_sigma(e0, shots), f"P(1) of {name}")


def test_a_wide_noisy_circuit_reports_its_shared_trajectories(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulator, "_WORK_BUDGET", 1 << 20)  # makes 12 qubits "wide" (20 take seconds)
    qubits = PRESET.qubits[:12]
    circuit = [prx(q, math.pi) for q in qubits] + [delay(t1_of("QB1"), *qubits), measure(*qubits)]
    samplings: list[Sampling] = []
    simulate(circuit, shots=2000, rng=np.random.default_rng(80), noise=NOISE, on_sampling=samplings.append)
    [report] = samplings
    assert report.shots == 2000
    assert 4 <= report.trajectories < 50
    # Each trajectory either decayed or not: shots of one trajectory agree, the sample is worth ~1 per trajectory.
    assert report.trajectories / 3 <= report.effective_shots <= 3 * report.trajectories


def circuit_json(name: str, *instructions: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "instructions": list(instructions)}


@pytest.mark.asyncio
async def test_the_duration_rule_rejects_long_circuits_like_the_server(connect: Connect) -> None:
    _, client = await connect(seed=3, noise="calibrated")
    shortest = min(NOISE.t2[q] for q in ("QB1", "QB2"))
    long_wait = circuit_json(
        "long", op("delay", "QB1", duration=1.2 * shortest), op("measure", "QB1", "QB2", key="m")
    )
    response = await submit(client, run_request(long_wait))
    assert response.status_code == 400
    error = response.json()
    assert error["error_code"] == "circuit_validation_error"
    assert error["source"] == "iqm-server" and error["detail"] == error["message"]
    assert "max_circuit_duration_over_t2" in error["message"] and "Circuit 0 ('long')" in error["message"]
    # The same waits side by side on two qubits (ASAP timelines) fit.
    parallel = circuit_json(
        "parallel",
        op("delay", "QB1", duration=0.4 * shortest),
        op("delay", "QB2", duration=0.4 * shortest),
        op("measure", "QB1", "QB2", key="m"),
    )
    response = await submit(client, run_request(parallel))
    assert response.status_code == 200, response.text
    job = await wait_for(client, response.json()["id"])
    assert job["status"] == "completed"
    assert job["messages"][0]["message"] == "max_circuit_duration_over_t2 not given, using server default 1.0"
    serial = circuit_json(
        "serial",
        op("delay", "QB1", duration=0.6 * shortest),
        op("delay", "QB1", duration=0.6 * shortest),
        op("measure", "QB1", key="m"),
    )
    assert (await submit(client, run_request(serial))).status_code == 400
    assert (await submit(client, run_request(serial, max_circuit_duration_over_t2=2.0))).status_code == 200
    # 0.0 disables the check, but not the emulator's hard limit.
    beyond = circuit_json(
        "beyond", op("delay", "QB1", duration=1.5 * MAX_CIRCUIT_DURATION), op("measure", "QB1", key="m")
    )
    response = await submit(client, run_request(beyond, max_circuit_duration_over_t2=0.0))
    assert response.status_code == 400
    assert "at most 1 s" in response.json()["message"]


@pytest.mark.asyncio
async def test_a_delay_of_a_thousand_t1_runs_when_the_check_is_off(connect: Connect) -> None:
    _, client = await connect(seed=4, noise="calibrated")
    circuit = circuit_json(
        "long",
        op("prx", "QB1", angle=math.pi, phase=0.0),
        op("delay", "QB1", duration=1000 * NOISE.t1["QB1"]),
        op("measure", "QB1", "QB3", key="m"),
    )
    response = await submit(client, run_request(circuit, shots=4000, max_circuit_duration_over_t2=0.0))
    assert response.status_code == 200, response.text
    job = await wait_for(client, response.json()["id"])
    assert job["status"] == "completed", job
    result = await client.get(f"/api/v1/jobs/{job['id']}/artifacts/measurements")
    bits = np.array(result.json()[0]["m"], dtype=np.float64)
    for column, qubit in enumerate(("QB1", "QB3")):
        e0 = NOISE.readout_error(qubit).p1_given_0
        assert_close(float(bits[:, column].mean()), e0, binomial_sigma(e0, 4000), f"P(1) of {qubit}")


@pytest.mark.asyncio
async def test_jobs_report_shared_trajectories_in_messages_and_about(
    connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulator, "_WORK_BUDGET", 1 << 8)  # a small circuit is "wide" now
    _, client = await connect(seed=5, noise="calibrated")
    circuit = circuit_json(
        "shared",
        op("prx", "QB1", angle=math.pi, phase=0.0),
        op("delay", "QB1", duration=2e-6),
        op("measure", "QB1", key="m"),
    )
    response = await submit(client, run_request(circuit, shots=1000))
    job = await wait_for(client, response.json()["id"])
    assert job["status"] == "completed", job
    [note] = [m["message"] for m in job["messages"] if "trajectories" in m["message"]]
    assert "Circuit 0 ('shared')" in note and "for 1000 shots" in note and "independent shots" in note
    about = (await client.get("/about")).json()["noise_sampling"]
    assert about["circuits_with_shared_trajectories"] == 1
    assert about["shared_trajectories_at_least"] >= 4
