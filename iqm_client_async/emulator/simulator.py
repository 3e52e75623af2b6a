"""State-vector simulation of IQM circuits (iqm-server-api.md §5), optionally with noise.

Semantics:

* Every shot starts with all simulated components in ``|0⟩``. Only components that appear in some locus are
  simulated (a 20-qubit circuit on a 54-qubit chip costs 2^20 amplitudes); more than
  :data:`MAX_SIMULATED_COMPONENTS` are refused with :class:`CircuitTooLargeError`.
* Multi-component states and results are big-endian in locus order (the first locus component is the most
  significant bit).
* ``prx(angle, phase)`` is ``[[cos(θ/2), −i·e^(−iφ)·sin(θ/2)], [−i·e^(iφ)·sin(θ/2), cos(θ/2)]]``; ``sx`` is
  ``prx(π/2, 0)``; ``u(theta, phi, lam)`` and ``rz(angle)`` use the iqm-pulse matrices; ``cz`` is
  ``diag(1, 1, 1, −1)``; ``move`` on ``(qubit, resonator)`` is a phased swap ``|01⟩ → a|10⟩``,
  ``|10⟩ → a*|01⟩`` with ``a = e^(0.7i)`` and ``|11⟩ → |11⟩`` (qiskit-iqm's choice), so MOVE² = I.
* ``measure`` and ``measure_fidelity`` project every locus component in order and record one bit each under
  ``key``; with a ``feedback_key`` the reported bit also becomes the component's feedback bit. ``cc_prx``
  applies its PRX when the latest feedback-enabled measurement of ``feedback_qubit`` reported 1 (what the
  hardware does, §9.12).
* ``reset`` and ``reset_wait`` put their components in ``|0⟩`` (ideal: an active reset and a long wait both
  end in the ground state). ``barrier`` and ``delay`` are the identity (``delay`` relaxes under noise).
* ``lru``, ``prx_12`` and ``rz_physical`` are the identity: the two-level model has no ``|2⟩`` to leak to
  or return from, and the AC-Stark angle of ``rz_physical`` is a calibration value the circuit does not carry.
* Heralding: the herald components are read right after the initial reset, when they are in ``|0⟩``, so a
  shot is dropped only when a readout error reports 1 (never without noise). No surviving shot raises
  :class:`AllShotsDiscarded`.
* ``active_reset_cycles`` has no effect: ideal active reset and reset by waiting both leave ``|0⟩``.

Algorithm: the simulation carries an ensemble of state vectors ("rows") and maps each shot to a row.
Unitaries act on all rows at once, single-component gates are fused until another gate needs the component,
and measurements split rows only where shots got different outcomes. Measurements at the end of the circuit
are sampled for every shot from the final state (no per-shot work). With noise each row is one quantum
trajectory (relaxation jumps by the waiting-time method, Pauli errors sampled per row). Every shot gets its
own trajectory while amplitudes x operations stay below 2^30; beyond that at least four trajectories share
the shots (an unbiased but coarser sample of the noise), simulated in chunks of 2^22 amplitudes.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import IQMError
from .noise import NoiseModel

__all__ = [
    "MAX_SIMULATED_COMPONENTS",
    "AllShotsDiscarded",
    "CircuitTooLargeError",
    "Instruction",
    "SimulationError",
    "simulate",
    "state_vector",
]

MAX_SIMULATED_COMPONENTS = 24
"""Most components one circuit may use: 2^24 amplitudes take 256 MiB (plus one temporary copy)."""

_CHUNK_AMPLITUDES = 1 << 22  # amplitudes per chunk of noisy trajectories (64 MiB)
_MAX_AMPLITUDES = 1 << 25  # the whole ensemble, after mid-circuit measurements split it (512 MiB)
_WORK_BUDGET = 1 << 30  # amplitudes x operations of a noisy run before trajectories are shared (~2 s)
_MIN_TRAJECTORIES = 4
_MOVE_PHASE = cmath.exp(0.7j)
_NEGLIGIBLE = 1e-12

_States = npt.NDArray[np.complex128]
_Bits = npt.NDArray[np.uint8]
_Indices = npt.NDArray[np.intp]
_Reals = npt.NDArray[np.float64]
_Matrix = npt.NDArray[np.complex128]

_PAULIS: tuple[_Matrix, ...] = (
    np.array([[0, 1], [1, 0]], dtype=np.complex128),
    np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    np.array([[1, 0], [0, -1]], dtype=np.complex128),
)
_X = _PAULIS[0]

_MEASUREMENTS = frozenset({"measure", "measure_fidelity"})
_IDENTITIES = frozenset({"barrier", "lru", "prx_12", "rz_physical"})
_SINGLE_COMPONENT = frozenset({"prx", "cc_prx", "sx", "u", "rz", "lru", "prx_12", "rz_physical"})
_KNOWN = frozenset(
    {"prx", "cc_prx", "sx", "u", "rz", "cz", "move", "reset", "reset_wait", "delay"}
    | _MEASUREMENTS
    | _IDENTITIES
)


class SimulationError(IQMError):
    """The circuit cannot be simulated as given (unknown operation, bad arguments, bad shot count)."""

    def __init__(self, message: str, *, error_code: str | None = "simulation_error") -> None:
        super().__init__(message, error_code=error_code)


class CircuitTooLargeError(SimulationError):
    """The circuit needs more components or memory than the emulator simulates."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code="circuit_too_large")


class AllShotsDiscarded(SimulationError):
    """Heralding discarded every shot."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code="all_shots_discarded")


@dataclass(frozen=True, slots=True)
class Instruction:
    """One circuit operation on physical components.

    Attributes:
        name: canonical operation name (``prx``, ``cz``, ``measure``, ...).
        locus: physical component names.
        args: operation arguments; angles in radians, durations in seconds.
    """

    name: str
    locus: tuple[str, ...]
    args: Mapping[str, Any] = field(default_factory=dict)


def simulate(
    instructions: Sequence[Instruction],
    *,
    shots: int,
    rng: np.random.Generator,
    noise: NoiseModel | None = None,
    herald: Sequence[str] = (),
    active_reset_cycles: int | None = None,
) -> dict[str, list[list[int]]]:
    """Run a circuit and return its measurement results.

    Args:
        instructions: the circuit, on physical component names.
        shots: number of shots, >= 1.
        rng: source of randomness; equal seeds give equal results.
        noise: noise to apply, or ``None`` for an ideal QPU.
        herald: components measured right after the initial reset; shots where any reads 1 are dropped.
        active_reset_cycles: accepted for the wire option; it does not change ideal initialisation.

    Returns:
        ``{key: [[bit per locus component] per shot]}`` for every measurement key, in circuit order.

    Raises:
        SimulationError: unknown operation, missing or malformed arguments, repeated key, bad shot count.
        CircuitTooLargeError: more than :data:`MAX_SIMULATED_COMPONENTS` components, or mid-circuit
            measurements that split the state into more branches than fit in memory.
        AllShotsDiscarded: heralding dropped every shot.
    """
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
        raise SimulationError(f"shots must be a positive integer, got {shots!r}")
    if active_reset_cycles is not None and (
        isinstance(active_reset_cycles, bool) or not isinstance(active_reset_cycles, int)
    ):
        raise SimulationError(f"active_reset_cycles must be an integer or None, got {active_reset_cycles!r}")
    program = _Program.compile(instructions)
    chunks: list[dict[str, _Bits]] = []
    for chunk_shots, rows in _plan_chunks(shots, program, noisy=noise is not None):
        run = _Run(program, shots=chunk_shots, rows=rows, rng=rng, noise=noise)
        run.execute(program.body)
        run.sample_terminal(program.tail)
        chunks.append(run.records)
    records = {key: np.concatenate([chunk[key] for chunk in chunks]) for key in program.keys}
    if noise is not None and herald:
        herald_failed = np.zeros(shots, dtype=bool)
        for component in herald:
            herald_failed |= rng.random(shots) < noise.readout_error(component).p1_given_0
        kept = ~herald_failed
        if not kept.any():
            raise AllShotsDiscarded(f"heralding discarded all {shots} shots")
        records = {key: bits[kept] for key, bits in records.items()}
    return {key: bits.tolist() for key, bits in records.items()}


def state_vector(instructions: Sequence[Instruction]) -> tuple[tuple[str, ...], _States]:
    """The ideal final state of a circuit without measurements, resets or feedback.

    Args:
        instructions: the circuit.

    Returns:
        The simulated components (order of first appearance) and the amplitudes, big-endian in that order.

    Raises:
        SimulationError: the circuit measures, resets or uses feedback, or is malformed.
        CircuitTooLargeError: too many components.
    """
    program = _Program.compile(instructions)
    for instruction in instructions:
        if instruction.name in _MEASUREMENTS | {"reset", "reset_wait", "cc_prx"}:
            raise SimulationError(f"state_vector needs a unitary circuit, got {instruction.name!r}")
    run = _Run(program, shots=1, rows=1, rng=np.random.default_rng(0), noise=None)
    run.execute(program.body)
    run.flush_all()
    return program.components, run.states[0].copy()


def _plan_chunks(shots: int, program: _Program, *, noisy: bool) -> list[tuple[int, int]]:
    """(shots, rows) of each independent chunk: one row without noise, one trajectory per row with it.

    With noise every shot gets its own trajectory while the work (amplitudes x operations) stays within
    budget; beyond that, at least :data:`_MIN_TRAJECTORIES` trajectories share the shots evenly.
    """
    if not noisy:
        return [(shots, 1)]
    amplitudes = 1 << program.size
    affordable = _WORK_BUDGET // (amplitudes * max(1, len(program.body)))
    trajectories = min(shots, max(_MIN_TRAJECTORIES, affordable))
    rows_per_chunk = max(1, _CHUNK_AMPLITUDES // amplitudes)
    plan = []
    for first in range(0, trajectories, rows_per_chunk):
        rows = min(rows_per_chunk, trajectories - first)
        # Trajectory t carries the shots s with s % trajectories == t.
        chunk_shots = sum(len(range(t, shots, trajectories)) for t in range(first, first + rows))
        plan.append((chunk_shots, rows))
    return plan


@dataclass(frozen=True)
class _Program:
    """A checked circuit: simulated components, the part to run, and the terminal measurements."""

    components: tuple[str, ...]
    index: Mapping[str, int]
    body: tuple[Instruction, ...]
    tail: tuple[Instruction, ...]
    keys: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.components)

    @classmethod
    def compile(cls, instructions: Sequence[Instruction]) -> _Program:
        components: dict[str, int] = {}
        keys: list[str] = []
        for position, instruction in enumerate(instructions):
            _check_instruction(position, instruction)
            for component in instruction.locus:
                components.setdefault(component, len(components))
            if instruction.name in _MEASUREMENTS:
                key = instruction.args["key"]
                if key in keys:
                    raise SimulationError(f"instruction {position}: measurement key {key!r} is used twice")
                keys.append(key)
        if len(components) > MAX_SIMULATED_COMPONENTS:
            raise CircuitTooLargeError(
                f"the circuit uses {len(components)} components; the emulator simulates at most "
                f"{MAX_SIMULATED_COMPONENTS}"
            )
        split = len(instructions)
        while split > 0 and instructions[split - 1].name in _MEASUREMENTS | {"barrier"}:
            split -= 1
        return cls(
            components=tuple(components),
            index=components,
            body=tuple(instructions[:split]),
            tail=tuple(instructions[split:]),
            keys=tuple(keys),
        )


_REQUIRED_ARGS: Mapping[str, tuple[str, ...]] = {
    "prx": ("angle", "phase"),
    "cc_prx": ("angle", "phase", "feedback_qubit", "feedback_key"),
    "u": ("theta", "phi", "lam"),
    "rz": ("angle",),
    "delay": ("duration",),
    "measure": ("key",),
    "measure_fidelity": ("key",),
}
_STRING_ARGS = frozenset({"key", "feedback_key", "feedback_qubit"})


def _check_instruction(position: int, instruction: Instruction) -> None:
    where = f"instruction {position} ({instruction.name})"
    if instruction.name not in _KNOWN:
        raise SimulationError(f"{where}: unknown operation")
    arity = 1 if instruction.name in _SINGLE_COMPONENT else 2 if instruction.name in ("cz", "move") else None
    if arity is not None and len(instruction.locus) != arity:
        raise SimulationError(f"{where}: needs {arity} locus component(s), got {len(instruction.locus)}")
    if len(set(instruction.locus)) != len(instruction.locus):
        raise SimulationError(f"{where}: repeated locus component")
    for name in _REQUIRED_ARGS.get(instruction.name, ()):
        value = instruction.args.get(name)
        expected = str if name in _STRING_ARGS else (int, float)
        if value is None or isinstance(value, bool) or not isinstance(value, expected):
            raise SimulationError(f"{where}: argument {name!r} is missing or has the wrong type")


def _prx(angle: float, phase: float) -> _Matrix:
    cos, sin = math.cos(angle / 2), math.sin(angle / 2)
    return np.array(
        [[cos, -1j * cmath.exp(-1j * phase) * sin], [-1j * cmath.exp(1j * phase) * sin, cos]],
        dtype=np.complex128,
    )


def _unitary(instruction: Instruction) -> _Matrix:
    """Matrix of a single-component unitary instruction."""
    args = instruction.args
    match instruction.name:
        case "prx" | "cc_prx":
            return _prx(float(args["angle"]), float(args["phase"]))
        case "sx":
            return _prx(math.pi / 2, 0.0)
        case "u":
            theta, phi, lam = float(args["theta"]), float(args["phi"]), float(args["lam"])
            cos, sin = math.cos(theta / 2), math.sin(theta / 2)
            return np.array(
                [
                    [cos, -cmath.exp(1j * lam) * sin],
                    [cmath.exp(1j * phi) * sin, cmath.exp(1j * (lam + phi)) * cos],
                ],
                dtype=np.complex128,
            )
        case "rz":
            angle = float(args["angle"])
            return np.diag([cmath.exp(-0.5j * angle), cmath.exp(0.5j * angle)]).astype(np.complex128)
    raise AssertionError(f"not a single-component unitary: {instruction.name}")  # pragma: no cover


def _is_diagonal(matrix: _Matrix) -> bool:
    return bool(matrix[0, 1] == 0 and matrix[1, 0] == 0)


def _apply(states: _States, size: int, target: int, matrix: _Matrix) -> _States:
    """Apply a 2x2 matrix to component ``target`` of every row; may work in place or return a new array."""
    right = 1 << (size - target - 1)
    if _is_diagonal(matrix):
        view = states.reshape(-1, 2, right)
        for bit in (0, 1):
            if matrix[bit, bit] != 1:
                view[:, bit, :] *= matrix[bit, bit]
        return states
    rows = states.shape[0]
    if right >= 32:
        product: _States = np.matmul(matrix, states.reshape(-1, 2, right))
        return product.reshape(rows, -1)
    # Few trailing amplitudes: one matrix product with kron(matrix, I) beats many tiny batched products.
    block = np.kron(matrix, np.eye(right, dtype=np.complex128))
    return (states.reshape(-1, 2 * right) @ block.T).reshape(rows, -1)


class _Run:
    """The ensemble of one chunk of shots and the operations on it.

    Rows may be unnormalized under noise: relaxation applies the no-jump operator without renormalizing, and
    a row jumps when its squared norm falls below its random threshold (the waiting-time method of quantum
    trajectories). ``floor`` is a lower bound of each row's squared norm, so exact norms are computed only
    when a jump has become possible.
    """

    def __init__(
        self, program: _Program, *, shots: int, rows: int, rng: np.random.Generator, noise: NoiseModel | None
    ) -> None:
        self.program = program
        self.size = program.size
        self.shots = shots
        self.rng = rng
        self.noise = noise
        self.states: _States = np.zeros((rows, 1 << self.size), dtype=np.complex128)
        self.states[:, 0] = 1.0
        self.shot_row: _Indices = np.arange(shots, dtype=np.intp) % rows
        self.records: dict[str, _Bits] = {}
        self.feedback: dict[int, _Bits] = {}
        self.pending: dict[int, _Matrix] = {}
        self.normalized = True
        self.floor: _Reals = np.ones(rows)
        self.threshold: _Reals = rng.random(rows) if noise is not None else np.zeros(rows)

    # --- structure ------------------------------------------------------------------------------------

    @property
    def rows(self) -> int:
        return int(self.states.shape[0])

    def view(self, target: int) -> _States:
        """The states as (row, higher components, target bit, lower components)."""
        return self.states.reshape(self.rows, 1 << target, 2, 1 << (self.size - target - 1))

    def pair_view(self, first: int, second: int) -> tuple[_States, int, int]:
        """The states with separate axes for two components; returns the view and the two axis numbers."""
        low, high = sorted((first, second))
        shape = (self.rows, 1 << low, 2, 1 << (high - low - 1), 2, 1 << (self.size - high - 1))
        axes = {low: 2, high: 4}
        return self.states.reshape(shape), axes[first], axes[second]

    def excited_weight(self, target: int) -> _Reals:
        """Per row, the squared norm of the part with ``target`` in ``|1⟩``."""
        parts = self.states.view(np.float64).reshape(self.rows, 1 << target, 2, -1)[:, :, 1, :]
        weight: _Reals = np.einsum("rab,rab->r", parts, parts)
        return weight

    def norms(self) -> _Reals:
        """Squared norm of every row."""
        if self.normalized:
            return np.ones(self.rows)
        flat = self.states.view(np.float64)
        norms: _Reals = np.einsum("ri,ri->r", flat, flat)
        return norms

    def split(self, labels: _Bits) -> tuple[_Bits, _Indices]:
        """Regroup rows so that all shots of a row share their label.

        Returns:
            Each new row's label and the old row it was copied from.
        """
        keys = self.shot_row * 2 + labels
        unique, inverse = np.unique(keys, return_inverse=True)
        parents: _Indices = (unique // 2).astype(np.intp)
        if len(unique) != self.rows:
            if len(unique) << self.size > _MAX_AMPLITUDES:
                raise CircuitTooLargeError(
                    f"mid-circuit measurements split the {self.size}-component state into {len(unique)} "
                    "branches, more than the emulator keeps in memory"
                )
            self.states = self.states[parents]
            self.floor = self.floor[parents]
            self.threshold = self.threshold[parents]
            self.shot_row = inverse.reshape(-1).astype(np.intp)
        row_labels: _Bits = (unique % 2).astype(np.uint8)
        return row_labels, parents

    # --- unitaries ------------------------------------------------------------------------------------

    def flush(self, target: int) -> None:
        matrix = self.pending.pop(target, None)
        if matrix is not None:
            self.states = _apply(self.states, self.size, target, matrix)

    def flush_all(self) -> None:
        for target in list(self.pending):
            self.flush(target)

    def queue(self, target: int, matrix: _Matrix) -> None:
        previous = self.pending.get(target)
        self.pending[target] = matrix if previous is None else matrix @ previous

    def apply_rows(self, rows: _Indices, target: int, matrix: _Matrix) -> None:
        if rows.size == self.rows:
            self.states = _apply(self.states, self.size, target, matrix)
        elif rows.size:
            self.states[rows] = _apply(self.states[rows], self.size, target, matrix)

    def cz(self, first: int, second: int) -> None:
        for target in (first, second):
            pending = self.pending.get(target)
            if pending is not None and not _is_diagonal(pending):  # diagonal gates commute with CZ
                self.flush(target)
        view, _, _ = self.pair_view(first, second)
        view[:, :, 1, :, 1, :] *= -1

    def move(self, qubit: int, resonator: int) -> None:
        self.flush(qubit)
        self.flush(resonator)
        view, qubit_axis, resonator_axis = self.pair_view(qubit, resonator)

        def amplitudes(qubit_bit: int, resonator_bit: int) -> _States:
            index: list[slice | int] = [slice(None)] * 6
            index[qubit_axis], index[resonator_axis] = qubit_bit, resonator_bit
            return view[tuple(index)]

        in_resonator, in_qubit = amplitudes(0, 1), amplitudes(1, 0)
        moved_out = in_resonator.copy()
        in_resonator[...] = _MOVE_PHASE.conjugate() * in_qubit
        in_qubit[...] = _MOVE_PHASE * moved_out

    # --- measurement, reset, feedback -----------------------------------------------------------------

    def project(self, target: int) -> tuple[_Bits, _Bits]:
        """Measure ``target`` in every shot: split rows by outcome, collapse and normalize them.

        Returns:
            The true outcome of every shot and of every (new) row.
        """
        self.flush(target)
        norms = self.norms()
        excited = self.excited_weight(target)
        outcome = (self.rng.random(self.shots) < (excited / norms)[self.shot_row]).astype(np.uint8)
        row_outcome, parents = self.split(outcome)
        kept = np.where(row_outcome == 1, excited[parents], norms[parents] - excited[parents])
        scale = 1.0 / np.sqrt(np.maximum(kept, _NEGLIGIBLE))
        view = self.view(target)
        view[:, :, 0, :] *= np.where(row_outcome == 0, scale, 0.0)[:, None, None]
        view[:, :, 1, :] *= np.where(row_outcome == 1, scale, 0.0)[:, None, None]
        self.renormalized()
        return outcome, row_outcome

    def renormalized(self) -> None:
        """Every row has norm 1 again: restart the trajectories' jump clocks."""
        self.normalized = True
        if self.noise is not None:
            self.floor = np.ones(self.rows)
            self.threshold = self.rng.random(self.rows)

    def read(self, true_bits: _Bits, component: str) -> _Bits:
        """The reported bits: the true bits after readout errors."""
        if self.noise is None:
            return true_bits
        error = self.noise.readout_error(component)
        flip_probability = np.where(true_bits == 1, error.p0_given_1, error.p1_given_0)
        flips = self.rng.random(true_bits.shape[0]) < flip_probability
        reported: _Bits = true_bits ^ flips.astype(np.uint8)
        return reported

    def measure(self, instruction: Instruction) -> None:
        bits = np.empty((self.shots, len(instruction.locus)), dtype=np.uint8)
        feedback_key = instruction.args.get("feedback_key")
        for column, component in enumerate(instruction.locus):
            target = self.program.index[component]
            reported = self.read(self.project(target)[0], component)
            bits[:, column] = reported
            if feedback_key is not None:
                self.feedback[target] = reported
        self.records[instruction.args["key"]] = bits

    def reset(self, target: int) -> None:
        self.flush(target)
        if (self.excited_weight(target) <= _NEGLIGIBLE * self.norms()).all():
            return
        _, row_outcome = self.project(target)
        self.apply_rows(np.flatnonzero(row_outcome == 1), target, _X)

    def conditional_prx(self, instruction: Instruction) -> None:
        source = self.program.index.get(instruction.args["feedback_qubit"])
        condition = None if source is None else self.feedback.get(source)
        if condition is None:
            raise SimulationError(
                f"cc_prx on {instruction.locus[0]} needs an earlier measure of "
                f"{instruction.args['feedback_qubit']!r} with a feedback_key"
            )
        target = self.program.index[instruction.locus[0]]
        self.flush(target)
        fired = np.flatnonzero(self.split(condition)[0] == 1)
        self.apply_rows(fired, target, _unitary(instruction))
        self.gate_noise(instruction, depolarized_rows=fired)

    # --- noise ----------------------------------------------------------------------------------------

    def gate_noise(self, instruction: Instruction, depolarized_rows: _Indices | None = None) -> None:
        if self.noise is None:
            return
        gate = self.noise.gate_noise(instruction.name, instruction.locus)
        if gate is None:
            return
        targets = [self.program.index[c] for c in instruction.locus]
        for target, component in zip(targets, instruction.locus, strict=True):
            self.relax(target, component, gate.duration)
        if gate.depolarizing > 0:
            rows = np.arange(self.rows, dtype=np.intp) if depolarized_rows is None else depolarized_rows
            self.depolarize(targets, gate.depolarizing, rows)

    def relax(self, target: int, component: str, duration: float) -> None:
        """Thermal relaxation of one component: no-jump evolution or a decay jump, then maybe a phase flip."""
        relaxation = None if self.noise is None else self.noise.relaxation(component, duration)
        if relaxation is None:
            return
        self.flush(target)
        view = self.view(target)
        gamma = relaxation.amplitude_damping
        if gamma > 0:
            view[:, :, 1, :] *= math.sqrt(1.0 - gamma)
            self.normalized = False
            self.floor *= 1.0 - gamma
            if (self.floor < self.threshold).any():
                self.floor = self.norms()
                jumped = np.flatnonzero(self.floor < self.threshold)
                if jumped.size:
                    self.decay(jumped, target)
        flipped = np.flatnonzero(self.rng.random(self.rows) < relaxation.phase_flip)
        if flipped.size:
            view[flipped, :, 1, :] *= -1

    def decay(self, rows: _Indices, target: int) -> None:
        """The jump ``|0⟩⟨1|`` on ``target`` in ``rows``, which are then normalized with a new threshold."""
        view = self.view(target)
        excited = view[rows, :, 1, :]
        weight = (excited.real**2 + excited.imag**2).sum(axis=(1, 2))
        view[rows, :, 0, :] = excited / np.sqrt(np.maximum(weight, _NEGLIGIBLE))[:, None, None]
        view[rows, :, 1, :] = 0
        self.floor[rows] = 1.0
        self.threshold[rows] = self.rng.random(rows.size)

    def depolarize(self, targets: Sequence[int], strength: float, rows: _Indices) -> None:
        """With probability λ per row, a uniformly random Pauli string (identity included) on ``targets``."""
        hit = rows[self.rng.random(rows.size) < strength]
        if not hit.size:
            return
        paulis = self.rng.integers(0, 4, size=(hit.size, len(targets)))
        for column, target in enumerate(targets):
            self.flush(target)
            for code, matrix in enumerate(_PAULIS, start=1):
                self.apply_rows(hit[paulis[:, column] == code], target, matrix)

    # --- driver ---------------------------------------------------------------------------------------

    def execute(self, instructions: Sequence[Instruction]) -> None:
        index = self.program.index
        for instruction in instructions:
            name, locus = instruction.name, instruction.locus
            if name in ("prx", "sx", "u", "rz"):
                target = index[locus[0]]
                self.queue(target, _unitary(instruction))
                if name != "rz":
                    self.gate_noise(instruction)
            elif name == "cz":
                self.cz(index[locus[0]], index[locus[1]])
                self.gate_noise(instruction)
            elif name == "move":
                self.move(index[locus[0]], index[locus[1]])
                self.gate_noise(instruction)
            elif name in _MEASUREMENTS:
                self.measure(instruction)
            elif name in ("reset", "reset_wait"):
                for component in locus:
                    self.reset(index[component])
            elif name == "cc_prx":
                self.conditional_prx(instruction)
            elif name == "delay":
                for component in locus:
                    self.relax(index[component], component, float(instruction.args["duration"]))
            # barrier, lru, prx_12, rz_physical: identity

    def sample_terminal(self, instructions: Sequence[Instruction]) -> None:
        """Record the trailing measurements by sampling every shot from its row's final state."""
        self.flush_all()
        measured: dict[int, int] = {}
        for instruction in instructions:
            for component in instruction.locus:
                measured.setdefault(self.program.index[component], len(measured))
        if not measured:
            return
        outcome = self.sample_outcomes(list(measured))
        width = len(measured)
        for instruction in instructions:
            if instruction.name not in _MEASUREMENTS:
                continue
            bits = np.empty((self.shots, len(instruction.locus)), dtype=np.uint8)
            for column, component in enumerate(instruction.locus):
                position = measured[self.program.index[component]]
                true_bits = ((outcome >> (width - 1 - position)) & 1).astype(np.uint8)
                bits[:, column] = self.read(true_bits, component)
            self.records[instruction.args["key"]] = bits

    def sample_outcomes(self, targets: list[int]) -> _Indices:
        """Per shot, an outcome index over ``targets`` (big-endian in that order) drawn from its row."""
        probabilities = (self.states.real**2 + self.states.imag**2).reshape((self.rows,) + (2,) * self.size)
        others = tuple(1 + t for t in range(self.size) if t not in targets)
        marginal = probabilities.sum(axis=others) if others else probabilities
        ascending = sorted(targets)
        marginal = marginal.transpose([0, *(1 + ascending.index(t) for t in targets)]).reshape(self.rows, -1)
        cumulative = np.cumsum(marginal, axis=1)
        # Rows may be unnormalized under noise: draw within each row's total weight.
        draws = self.rng.random(self.shots) * cumulative[self.shot_row, -1]
        if self.rows == 1:
            outcome = np.searchsorted(cumulative[0], draws, side="right")
        elif marginal.shape[1] <= 64:
            outcome = (draws[:, None] >= cumulative[self.shot_row]).sum(axis=1)
        else:
            outcome = np.empty(self.shots, dtype=np.intp)
            for row in range(self.rows):
                shots = np.flatnonzero(self.shot_row == row)
                outcome[shots] = np.searchsorted(cumulative[row], draws[shots], side="right")
        result: _Indices = np.minimum(outcome, marginal.shape[1] - 1).astype(np.intp)
        return result
