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
Unitaries act on all rows at once, and measurements split rows only where shots got different outcomes.
Measurements at the end of the circuit are sampled for every shot from the final state (no per-shot work).
Single-component gates only multiply the component's pending 2x2 matrix; when another operation needs the
component, the matrix is split into a shear ``[[1, p], [q, 1]]``, applied in place by element-wise arithmetic
on cache-sized pieces of the amplitudes, and a diagonal or anti-diagonal rest that stays pending (CZ and
relaxation commute with it). CZ sign flips wait for the next shear of one of their components and ride on its
pass. The amplitude array's axis order changes (one transposing copy) so that the components about to be
mixed have long contiguous runs. No matrix product goes to BLAS, whose threads made the simulation slow and
erratic on a busy machine. With noise each row is one quantum
trajectory (relaxation jumps by the waiting-time method, Pauli errors sampled per row). Every shot gets its
own trajectory while amplitudes x operations stay below 2^30; beyond that at least four trajectories share
the shots, simulated in chunks of 2^22 amplitudes. Shared trajectories give unbiased means, but shots of one
trajectory share its noise, so the sampling error stops shrinking as 1/√shots: ``on_sampling`` receives
the number of trajectories and an estimate of the effective sample size (:class:`Sampling`), which the
emulator reports in the job's messages.

Timing (noise only): instructions run on per-component timelines (:mod:`.schedule`); a component relaxes
as idle (damping, white dephasing at the echo rate, its quasi-static detuning, see :mod:`.noise`) for the
time it waits between its operations and before its readout, including ``delay``.
"""

from __future__ import annotations

import bisect
import cmath
import gc
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .._errors import IQMError
from .noise import NoiseModel
from .schedule import instruction_duration

__all__ = [
    "MAX_SIMULATED_COMPONENTS",
    "AllShotsDiscarded",
    "CircuitTooLargeError",
    "Instruction",
    "Sampling",
    "SimulationError",
    "SimulationStopped",
    "sampling_note",
    "sampling_policy",
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
_UNDERFLOW = 1e-300  # an excited weight this small is nothing left to jump from
_LARGE_DAMPING = 1.0 - 2.0**-40  # beyond this, jumps are decided before the no-jump scaling (t > 27.7 T1)
_TINY = 2.0**-500  # the global factor is moved into the amplitudes before it gets smaller (or 1/_TINY larger)
_RELAYOUT_SIZE = 14  # states of fewer components fit in the CPU cache: no layout changes, no queued passes

_States = npt.NDArray[np.complex128]
_Bits = npt.NDArray[np.uint8]
_Indices = npt.NDArray[np.intp]
_Reals = npt.NDArray[np.float64]

_MEASUREMENTS = frozenset({"measure", "measure_fidelity"})
_TIMELESS = frozenset({"rz", "lru", "prx_12", "rz_physical"})  # no duration, diagonal or identity
_IDENTITIES = frozenset({"barrier", "lru", "prx_12", "rz_physical"})
_MIXING = frozenset({"prx", "cc_prx", "sx", "u"})  # single-component gates that are not diagonal
_SPLITTING = frozenset({"cz", "move", "reset", "reset_wait", "cc_prx", "measure", "measure_fidelity"})
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


class SimulationStopped(Exception):
    """``should_stop`` asked the simulation to stop (its job was cancelled, or the emulator is stopping)."""


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


@dataclass(frozen=True, slots=True)
class Sampling:
    """How the shots of a noisy simulation sample the noise.

    Attributes:
        shots: shots simulated (before heralding).
        trajectories: independent noise trajectories; each shot belongs to one, shots of one share its noise.
        effective_shots: estimated effective sample size of the measured bit whose sampling suffers most:
            the number of independent shots that would give the same sampling error (``shots`` when every shot
            has its own trajectory; between ``trajectories`` and ``shots`` otherwise).
    """

    shots: int
    trajectories: int
    effective_shots: float


def simulate(
    instructions: Sequence[Instruction],
    *,
    shots: int,
    rng: np.random.Generator,
    noise: NoiseModel | None = None,
    herald: Sequence[str] = (),
    active_reset_cycles: int | None = None,
    on_sampling: Callable[[Sampling], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, list[list[int]]]:
    """Run a circuit and return its measurement results.

    Args:
        instructions: the circuit, on physical component names.
        shots: number of shots, >= 1.
        rng: source of randomness; equal seeds give equal results.
        noise: noise to apply, or ``None`` for an ideal QPU.
        herald: components measured right after the initial reset; shots where any reads 1 are dropped.
        active_reset_cycles: accepted for the wire option; it does not change ideal initialisation.
        on_sampling: called once with the :class:`Sampling` of a noisy simulation (not called without noise).
        should_stop: asked between operations; when it returns true, the simulation stops.

    Returns:
        ``{key: [[bit per locus component] per shot]}`` for every measurement key, in circuit order.

    Raises:
        SimulationError: unknown operation, missing or malformed arguments, repeated key, bad shot count.
        CircuitTooLargeError: more than :data:`MAX_SIMULATED_COMPONENTS` components, or mid-circuit
            measurements that split the state into more branches than fit in memory.
        AllShotsDiscarded: heralding dropped every shot.
        SimulationStopped: ``should_stop`` returned true.
    """
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
        raise SimulationError(f"shots must be a positive integer, got {shots!r}")
    if active_reset_cycles is not None and (
        isinstance(active_reset_cycles, bool) or not isinstance(active_reset_cycles, int)
    ):
        raise SimulationError(f"active_reset_cycles must be an integer or None, got {active_reset_cycles!r}")
    program = _Program.compile(instructions)
    chunks: list[dict[str, _Bits]] = []
    plan = _plan_chunks(shots, program, noisy=noise is not None)
    for chunk_shots, rows in plan:
        run = _Run(program, shots=chunk_shots, rows=rows, rng=rng, noise=noise)
        run.execute(program.body, should_stop)
        _check_stop(should_stop)
        run.sample_terminal(program.tail)
        chunks.append(run.records)
    _check_stop(should_stop)
    records = {key: np.concatenate([chunk[key] for chunk in chunks]) for key in program.keys}
    if noise is not None and on_sampling is not None:
        on_sampling(_sampling(records, plan, shots))
    if noise is not None and herald:
        herald_failed = np.zeros(shots, dtype=bool)
        for component in herald:
            herald_failed |= rng.random(shots) < noise.readout_error(component).p1_given_0
        kept = ~herald_failed
        if not kept.any():
            raise AllShotsDiscarded(f"heralding discarded all {shots} shots")
        records = {key: bits[kept] for key, bits in records.items()}
    return _as_lists(records)


def _check_stop(should_stop: Callable[[], bool] | None) -> None:
    if should_stop is not None and should_stop():
        raise SimulationStopped


def _as_lists(records: Mapping[str, _Bits]) -> dict[str, list[list[int]]]:
    """The records as lists of lists, with the garbage collector paused meanwhile.

    A result is one small list per shot and key (200,000 for 20 keys and 10,000 shots); creating that many
    containers sets off several full collections, each scanning every object of the process, which took
    longer than the simulation. The lists cannot form cycles, so pausing the collector loses nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return {key: bits.tolist() for key, bits in records.items()}
    finally:
        if enabled:
            gc.enable()


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


def sampling_policy() -> dict[str, Any]:
    """When noisy shots share trajectories (for the emulator's ``/about``)."""
    return {
        "trajectory_per_shot_while_amplitude_operations_at_most": _WORK_BUDGET,
        "shared_trajectories_at_least": _MIN_TRAJECTORIES,
        "shared_trajectories_reported_in": "job messages (trajectories and effective sample size per circuit)",
    }


def sampling_note(index: int, name: str, sampling: Sampling) -> str:
    """The job message telling that a circuit's shots shared noise trajectories (and what that costs)."""
    return (
        f"Circuit {index} ('{name}'): the noisy simulation used {sampling.trajectories} independent noise "
        f"trajectories for {sampling.shots} shots (one per shot would cost too much for its size); shots of "
        f"one trajectory share its noise, so the results are worth about {sampling.effective_shots:.0f} "
        "independent shots (estimated effective sample size of the least favourable measured bit): sampling "
        "errors are larger than the shot count suggests"
    )


def _sampling(records: Mapping[str, _Bits], plan: Sequence[tuple[int, int]], shots: int) -> Sampling:
    """The sampling of a noisy run: trajectories, and the effective sample size of its worst measured bit.

    Shots of one trajectory are a cluster; the effective sample size is ``shots / (1 + (n₀ − 1)·ρ)`` with
    ``n₀`` the (adjusted mean) shots per trajectory and ``ρ`` the intraclass correlation of the bit, estimated
    by one-way analysis of variance (clamped to [0, 1]). A bit that never varies limits nothing.
    """
    firsts = itertools.accumulate((rows for _, rows in plan), initial=0)
    trajectory = np.concatenate(
        [
            first + np.arange(chunk_shots) % rows
            for first, (chunk_shots, rows) in zip(firsts, plan, strict=False)
        ]
    )
    count = sum(rows for _, rows in plan)
    if count >= shots or count < 2:
        return Sampling(shots, count, float(shots))
    sizes = np.bincount(trajectory, minlength=count).astype(np.float64)
    n0 = (shots - (sizes**2).sum() / shots) / (count - 1)
    effective = float(shots)
    for bits in records.values():
        for column in bits.T:
            values = column.astype(np.float64)
            mean = values.mean()
            total = shots * mean * (1.0 - mean)
            if total <= 0:
                continue
            means = np.bincount(trajectory, weights=values, minlength=count) / np.maximum(sizes, 1)
            between = float((sizes * (means - mean) ** 2).sum())
            between_mean = between / (count - 1)
            within_mean = max(total - between, 0.0) / (shots - count)
            denominator = between_mean + (n0 - 1) * within_mean
            rho = min(max((between_mean - within_mean) / denominator, 0.0), 1.0) if denominator > 0 else 1.0
            effective = min(effective, float(shots / (1.0 + (n0 - 1) * rho)))
    return Sampling(shots, count, effective)


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


# --- 2x2 matrices ---------------------------------------------------------------------------------------

_Gate = tuple[complex, complex, complex, complex]
"""A 2x2 matrix as Python numbers, row-major: ``(m00, m01, m10, m11)``."""

_IDENTITY: _Gate = (1.0, 0.0, 0.0, 1.0)
_PAULIS: tuple[_Gate, ...] = ((0.0, 1.0, 1.0, 0.0), (0.0, -1j, 1j, 0.0), (1.0, 0.0, 0.0, -1.0))
_X = _PAULIS[0]


def _product(left: _Gate, right: _Gate) -> _Gate:
    """The matrix product ``left @ right``."""
    a, b, c, d = left
    e, f, g, h = right
    return (a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h)


def _is_diagonal(matrix: _Gate) -> bool:
    return matrix[1] == 0 and matrix[2] == 0


def _is_antidiagonal(matrix: _Gate) -> bool:
    return matrix[0] == 0 and matrix[3] == 0


def _prx(angle: float, phase: float) -> _Gate:
    cos, sin = math.cos(angle / 2), math.sin(angle / 2)
    return (cos, -1j * cmath.exp(-1j * phase) * sin, -1j * cmath.exp(1j * phase) * sin, cos)


def _unitary(instruction: Instruction) -> _Gate:
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
            return (
                cos,
                -cmath.exp(1j * lam) * sin,
                cmath.exp(1j * phi) * sin,
                cmath.exp(1j * (lam + phi)) * cos,
            )
        case "rz":
            angle = float(args["angle"])
            return (cmath.exp(-0.5j * angle), 0.0, 0.0, cmath.exp(0.5j * angle))
    raise AssertionError(f"not a single-component unitary: {instruction.name}")  # pragma: no cover


# --- kernels on the amplitudes ------------------------------------------------------------------------------
#
# The amplitudes are a C-ordered array of shape (rows, 2^size); "axis" k is the bit of weight 2^(size-k-1)
# of the amplitude index. The kernels work element-wise on pieces small enough to stay in the CPU cache
# between the few passes a gate needs, and never call BLAS (whose threads made the matrix products slow
# and erratic on a busy machine).

_PIECE = 1 << 13  # amplitudes per contiguous piece of one half (128 KiB)
_MIN_RUN = 1 << 11  # contiguous runs at least this long are processed piece by piece
_BLOCK = 1 << 14  # amplitudes per block when an axis has shorter runs (processed as strided views)
_SCRATCH = max(_PIECE, _BLOCK // 2)


def _pairs(states: _States, size: int, axis: int) -> tuple[list[tuple[_States, _States]], tuple[int, ...]]:
    """The amplitudes with ``axis`` at 0 and at 1, as pairs of equally shaped pieces covering all of them.

    Long contiguous runs are cut into pieces of ``_PIECE`` amplitudes; shorter runs are grouped, across rows,
    into strided blocks of about ``_BLOCK`` amplitudes (the last block may have fewer groups).

    Returns:
        The pairs, and the largest shape a piece has.
    """
    run = 1 << (size - axis - 1)
    if run >= _MIN_RUN:
        piece = min(run, _PIECE)
        view = states.reshape(-1, 2, run // piece, piece)
        return [pair for block in view for pair in zip(block[0], block[1], strict=True)], (piece,)
    groups = states.size // (2 * run)
    step = min(groups, max(1, _BLOCK // (2 * run)))
    if run == 1:
        flat = states.reshape(groups, 2)
        return [(flat[i : i + step, 0], flat[i : i + step, 1]) for i in range(0, groups, step)], (step,)
    grouped = states.reshape(groups, 2, run)
    return [(grouped[i : i + step, 0], grouped[i : i + step, 1]) for i in range(0, groups, step)], (step, run)


def _buffers(scratch: tuple[_States, _States], shape: tuple[int, ...]) -> tuple[_States, _States]:
    count = math.prod(shape)
    return scratch[0][:count].reshape(shape), scratch[1][:count].reshape(shape)


def _transform(
    states: _States, size: int, axis: int, matrix: _Gate, scratch: tuple[_States, _States]
) -> None:
    """Apply any 2x2 matrix to ``axis`` in place; entries equal to 1 on the diagonal cost nothing.

    A shear ``[[1, upper], [lower, 1]]`` is two multiplications and two additions.
    """
    m00, m01, m10, m11 = (np.complex128(entry) for entry in matrix)
    pairs, shape = _pairs(states, size, axis)
    first, second = _buffers(scratch, shape)
    multiply, add = np.multiply, np.add
    if _is_diagonal(matrix):
        for zero, one in pairs:
            if m00 != 1:
                multiply(zero, m00, out=zero)
            if m11 != 1:
                multiply(one, m11, out=one)
    elif _is_antidiagonal(matrix):
        for zero, one in pairs:
            if zero.shape[0] != first.shape[0]:
                first = first[: zero.shape[0]]
            np.copyto(first, zero)
            multiply(one, m01, out=zero)
            multiply(first, m10, out=one)
    else:
        for zero, one in pairs:
            if zero.shape[0] != first.shape[0]:
                first, second = first[: zero.shape[0]], second[: zero.shape[0]]
            multiply(one, m01, out=first)
            multiply(zero, m10, out=second)
            if m00 != 1:
                multiply(zero, m00, out=zero)
            add(zero, first, out=zero)
            if m11 != 1:
                multiply(one, m11, out=one)
            add(one, second, out=one)


def _scale_half(states: _States, size: int, axis: int, bit: int, factor: complex) -> None:
    """Multiply the amplitudes with ``axis`` at ``bit`` by ``factor``, in place."""
    pairs, _ = _pairs(states, size, axis)
    factor_ = np.complex128(factor)
    for pair in pairs:
        np.multiply(pair[bit], factor_, out=pair[bit])


def _negate_quarter(states: _States, size: int, first: tuple[int, int], second: tuple[int, int]) -> None:
    """Negate the amplitudes with two axes at the given bits, ``(axis, bit)`` each, in place."""
    (low, low_bit), (high, high_bit) = sorted((first, second))
    run = 1 << (size - high - 1)
    quarter = states.reshape(-1, 2, 1 << (high - low - 1), 2, run)[:, low_bit, :, high_bit, :]
    if run >= _MIN_RUN:
        for plane in quarter:
            for row in plane:
                np.multiply(row, -1.0, out=row)
    else:
        np.multiply(quarter, -1.0, out=quarter)


class _ShearOp(NamedTuple):
    """``[[1, upper], [lower, 1]]`` on an axis."""

    axis: int
    upper: complex
    lower: complex


class _MaskOp(NamedTuple):
    """Multiply by ``factor`` the amplitudes whose axes are at the given bits (a CZ sign, a damping)."""

    where: tuple[tuple[int, int], ...]  # (axis, bit) pairs
    factor: complex


_DEEP_AXES = 4  # the innermost axes, moved only for a component needed now
_PASS_AXES = 3  # shears on at most this many axes share one pass (a chunk is 2^3 pieces, 1 MiB)


def _run_pass(
    states: _States, size: int, ops: Sequence[_ShearOp | _MaskOp], scratch: tuple[_States, _States]
) -> None:
    """Apply shears on a few axes and diagonal masks, in order, in one pass over the amplitudes.

    The amplitudes are cut into chunks of ``2^m`` pieces (``m`` shear axes, each with runs of at least
    ``_MIN_RUN``): the pieces of a chunk differ only in the shear axes' bits and stay in the CPU cache while
    every operation is applied to them, so the memory is read and written once instead of once per shear. A
    mask acts on the pieces selected by its shear-axis bits, if the chunk's bits of its outer axes match, and
    within each piece on the elements its inner axes select (one multiplication by a pattern). A factor on a
    whole piece waits for the piece's next shear, which takes it into its coefficients (a sign turns an
    addition into a subtraction: no extra work), or for the chunk's end.
    """
    axes = sorted({op.axis for op in ops if isinstance(op, _ShearOp)})
    count = len(axes)
    run = 1 << (size - 1 - axes[-1]) if axes else 1 << size
    piece = min(run, _PIECE)
    shape: list[int] = []
    outer, previous = states.size >> size, -1
    for axis in axes:
        shape += [outer << (axis - previous - 1), 2]
        outer, previous = 1, axis
    shape += [outer * (run // piece), piece]
    leading = list(range(0, 2 * count + 1, 2))
    chunks = states.reshape(shape).transpose([*leading, *range(1, 2 * count, 2), 2 * count + 1])
    strides = [stride // states.itemsize for stride in chunks.strides[: len(leading)]]
    position = {axis: number for number, axis in enumerate(axes)}
    combinations = list(itertools.product((0, 1), repeat=count))

    def bit_of(number: int, axis_position: int) -> int:
        return (number >> (count - 1 - axis_position)) & 1

    plans: list[tuple[Any, ...]] = []
    for op in ops:
        if isinstance(op, _ShearOp):
            where = position[op.axis]
            pairs = [(z, z | 1 << (count - 1 - where)) for z in range(1 << count) if not bit_of(z, where)]
            plans.append((True, pairs, op.upper, op.lower, np.complex128(op.upper), np.complex128(op.lower)))
            continue
        needed: dict[int, int] = {}
        conditions: list[tuple[int, int]] = []  # on the chunk's offset: (shift, bit)
        inner: npt.NDArray[np.bool_] | None = None
        for axis, bit in op.where:
            if axis in position:
                needed[position[axis]] = bit
            elif 1 << (size - 1 - axis) >= piece:
                conditions.append((size - 1 - axis, bit))
            else:
                mask = (np.arange(piece) >> (size - 1 - axis)) & 1 == bit
                inner = mask if inner is None else inner & mask
        selected = [z for z in range(1 << count) if all(bit_of(z, w) == b for w, b in needed.items())]
        pattern = None if inner is None else np.where(inner, op.factor, 1.0).astype(np.complex128)
        plans.append((False, selected, conditions, pattern, op.factor))

    first, second = scratch[0][:piece], scratch[1][:piece]
    multiply, add, subtract = np.multiply, np.add, np.subtract

    def combine(target: _States, factor: complex, term: _States) -> None:
        """``target = factor * target + term``, in place."""
        if factor == 1:
            add(target, term, out=target)
        elif factor == -1:
            subtract(term, target, out=target)
        else:
            multiply(target, factor, out=target)
            add(target, term, out=target)

    # Each chunk's offset within its row, and for each mask whether the chunk's outer bits select it.
    lead_shape = chunks.shape[: len(leading)]
    offsets = np.zeros(lead_shape, dtype=np.int64)
    for dimension, (length, stride) in enumerate(zip(lead_shape, strides, strict=True)):
        offsets += (np.arange(length, dtype=np.int64) * stride).reshape(
            (1,) * dimension + (length,) + (1,) * (len(lead_shape) - dimension - 1)
        )
    offsets = offsets.reshape(-1) & ((1 << size) - 1)
    active = [
        None
        if plan[0] or not plan[2]
        else np.logical_and.reduce([(offsets >> shift) & 1 == bit for shift, bit in plan[2]]).tolist()
        for plan in plans
    ]
    for number, index in enumerate(itertools.product(*map(range, lead_shape))):
        chunk = chunks[index]
        pieces = [chunk[combination] for combination in combinations]
        factors: list[complex] = [1.0] * (1 << count)
        for plan, selects in zip(plans, active, strict=True):
            if plan[0]:
                _, pairs, upper, lower, upper_, lower_ = plan
                for z, o in pairs:
                    zero, one = pieces[z], pieces[o]
                    zero_factor, one_factor = factors[z], factors[o]
                    if zero_factor == 1 and one_factor == 1:
                        multiply(one, upper_, out=first)
                        multiply(zero, lower_, out=second)
                        add(zero, first, out=zero)
                        add(one, second, out=one)
                        continue
                    multiply(one, np.complex128(upper * one_factor), out=first)
                    multiply(zero, np.complex128(lower * zero_factor), out=second)
                    combine(zero, zero_factor, first)
                    combine(one, one_factor, second)
                    factors[z] = factors[o] = 1.0
                continue
            if selects is not None and not selects[number]:
                continue
            _, selected, _, pattern, factor = plan
            for z in selected:
                if pattern is None:
                    factors[z] *= factor
                else:
                    multiply(pieces[z], pattern, out=pieces[z])
        for z, factor in enumerate(factors):
            if factor != 1:
                multiply(pieces[z], factor, out=pieces[z])


class _Run:
    """The ensemble of one chunk of shots and the operations on it.

    Rows may be unnormalized under noise: relaxation applies the no-jump operator without renormalizing, and
    a row jumps when its squared norm falls below its random threshold (the waiting-time method of quantum
    trajectories). ``floor`` is a lower bound of each row's squared norm, so exact norms are computed only
    when a jump has become possible.

    The amplitudes are stored in a frame, to apply as few passes over them as possible:

    * ``axis[c]`` is the axis of component ``c`` in the stored array; the layout changes (one transposing
      copy) so that the components that gates are about to mix have long contiguous runs;
    * ``frame[c]`` is a 2x2 matrix not yet applied to component ``c``: single-component gates multiply it,
      and only when another operation needs the component is it split into a shear ``[[1, p], [q, 1]]``
      applied to the stored amplitudes (two multiplications and two additions per pair) and a diagonal or
      anti-diagonal rest that stays in the frame (CZ, relaxation and phase flips commute with it up to
      which stored half they touch);
    * ``factor`` is a global factor (magnitude and phase) of all rows;
    * ``signs`` are CZs not yet applied: the next shear of one of their components takes them;
    * on large states, shears and diagonal masks (CZ signs, relaxation) are queued in ``ops`` and applied in
      one pass (``_run_pass``) when the queue's shears would span a fourth axis or when anything reads the
      amplitudes (``states`` drains the queue).

    * ``phase[r, c]`` (noise with quasi-static dephasing only) is a phase not yet applied to the stored
      amplitudes of row ``r`` where component ``c``'s stored bit is 1: the quasi-static detuning's phase
      accumulated while idling. It commutes with everything diagonal and is applied only before a shear
      mixes the component; a measurement, reset or decay jump makes it a per-row global phase and drops it.

    The true state of each row is ``factor · (⊗_c frame[c]) · signs · phase · stored`` with the stored axes
    permuted. Every frame matrix is unitary up to its magnitude, which ``factor`` carries, and signs and
    phases have modulus 1, so weights and norms are those of the stored amplitudes times ``|factor|²``.
    """

    def __init__(
        self, program: _Program, *, shots: int, rows: int, rng: np.random.Generator, noise: NoiseModel | None
    ) -> None:
        self.program = program
        self.size = program.size
        self.shots = shots
        self.rng = rng
        self.noise = noise
        self._states: _States = np.zeros((rows, 1 << self.size), dtype=np.complex128)
        self._states[:, 0] = 1.0
        self.ops: list[_ShearOp | _MaskOp] = []  # the queued pass, not yet applied to ``_states``
        self.op_axes: set[int] = set()
        self.shot_row: _Indices = np.arange(shots, dtype=np.intp) % rows
        self.records: dict[str, _Bits] = {}
        self.feedback: dict[int, _Bits] = {}
        self.normalized = True
        self.floor: _Reals = np.ones(rows)
        self.threshold: _Reals = rng.random(rows) if noise is not None else np.zeros(rows)
        # Noise only: each component's timeline (when it is free, and until when it has relaxed), whether it
        # is certainly in |0⟩ (then relaxation does nothing), and its quasi-static detuning and the phase
        # that detuning has accumulated, per row, not yet applied to the stored amplitudes (see ``phase``).
        self.clock: list[float] = [0.0] * self.size
        self.relaxed: list[float] = [0.0] * self.size
        self.quiet: list[bool] = [True] * self.size
        self.detuning: _Reals | None = None
        self.phase: _Reals | None = None
        if noise is not None:
            widths = np.array([noise.quasi_static_width(c) for c in program.components])
            if widths.any():
                self.detuning = rng.standard_cauchy((rows, self.size)) * widths
                self.phase = np.zeros((rows, self.size))
        self.frame: list[_Gate] = [_IDENTITY] * self.size
        self.factor: complex = 1.0
        self.scratch = (np.empty(_SCRATCH, dtype=np.complex128), np.empty(_SCRATCH, dtype=np.complex128))
        self.spare: _States | None = None
        self.signs: dict[tuple[int, int, int, int], None] = {}
        self.position = 0
        # Where each component is mixed by a gate, and where its frame must be split (the layout planner's
        # look-ahead).
        self.uses: list[list[int]] = [[] for _ in range(self.size)]
        self.events: list[list[int]] = [[] for _ in range(self.size)]
        for position, instruction in enumerate(program.body):
            name = instruction.name
            if name in _MIXING:
                self.uses[program.index[instruction.locus[0]]].append(position)
            if name in _SPLITTING or (noise is not None and name in _MIXING | {"delay"}):
                for component in instruction.locus:
                    self.events[program.index[component]].append(position)
        # Axes with runs of at least _MIN_RUN amplitudes are cheap to mix; small states never move.
        self.good = self.size - (_MIN_RUN.bit_length() - 1) if self.size >= _RELAYOUT_SIZE else self.size
        self.axis: list[int] = list(range(self.size))
        if self.good < self.size:
            # |0...0⟩ is the same in every layout: give the first components to be mixed the first axes.
            first = sorted(range(self.size), key=self.next_split)
            self.axis = [first.index(component) for component in range(self.size)]

    # --- structure ------------------------------------------------------------------------------------

    @property
    def states(self) -> _States:
        """The stored amplitudes, with the queued pass applied."""
        if self.ops:
            self.drain()
        return self._states

    @states.setter
    def states(self, states: _States) -> None:
        if self.ops:
            self.drain()
        self._states = states

    def drain(self) -> None:
        """Apply the queued pass."""
        ops, self.ops, self.op_axes = self.ops, [], set()
        if ops and all(isinstance(op, _MaskOp) and len(op.where) == 1 for op in ops):
            # Nothing to share the cache with: the direct kernel has far fewer, larger pieces.
            for op in ops:
                assert isinstance(op, _MaskOp)
                _scale_half(self._states, self.size, *op.where[0], op.factor)
            return
        _run_pass(self._states, self.size, ops, self.scratch)

    @property
    def rows(self) -> int:
        return int(self._states.shape[0])

    def view(self, target: int) -> _States:
        """The stored states as (row, higher axes, the target's axis, lower axes)."""
        axis = self.axis[target]
        return self.states.reshape(self.rows, 1 << axis, 2, 1 << (self.size - axis - 1))

    def pair_view(self, first: int, second: int) -> tuple[_States, int, int]:
        """The stored states with separate axes for two components; returns the view and the two axis numbers."""
        first_axis, second_axis = self.axis[first], self.axis[second]
        low, high = sorted((first_axis, second_axis))
        shape = (self.rows, 1 << low, 2, 1 << (high - low - 1), 2, 1 << (self.size - high - 1))
        axes = {low: 2, high: 4}
        return self.states.reshape(shape), axes[first_axis], axes[second_axis]

    def flipped(self, target: int) -> int:
        """1 when the target's (monomial) frame matrix is anti-diagonal: its stored bit is the true bit flipped."""
        return 1 if _is_antidiagonal(self.frame[target]) else 0

    def excited_weight(self, target: int) -> _Reals:
        """Per row, the squared norm of the part with ``target`` in ``|1⟩``."""
        self.flush(target)
        axis = self.axis[target]
        parts = self.states.view(np.float64).reshape(self.rows, 1 << axis, 2, -1)[:, :, 1, :]
        weight: _Reals = np.einsum("rab,rab->r", parts, parts) * abs(self.factor) ** 2
        return weight

    def norms(self, rows: _Indices | None = None) -> _Reals:
        """Squared norm of every row (or of the given rows)."""
        if self.normalized:
            return np.ones(self.rows if rows is None else rows.size)
        flat = self.states.view(np.float64)
        if rows is not None and rows.size < self.rows:
            flat = flat[rows]
        norms: _Reals = np.einsum("ri,ri->r", flat, flat) * abs(self.factor) ** 2
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
            self.spare = None
            self.floor = self.floor[parents]
            self.threshold = self.threshold[parents]
            if self.detuning is not None and self.phase is not None:
                self.detuning, self.phase = self.detuning[parents], self.phase[parents]
            self.shot_row = inverse.reshape(-1).astype(np.intp)
        row_labels: _Bits = (unique % 2).astype(np.uint8)
        return row_labels, parents

    # --- the frame ------------------------------------------------------------------------------------

    def queue(self, target: int, matrix: _Gate) -> None:
        self.frame[target] = _product(matrix, self.frame[target])

    def rescale(self, factor: complex) -> None:
        """Move ``factor`` into the global factor (and into the amplitudes before it under- or overflows)."""
        self.factor *= factor
        if not _TINY < abs(self.factor) < 1.0 / _TINY:
            self.states *= self.factor
            self.factor = 1.0

    def materialize(self, target: int) -> None:
        """Make the target's frame matrix diagonal or anti-diagonal by applying a shear to the amplitudes."""
        f00, f01, f10, f11 = frame = self.frame[target]
        if _is_diagonal(frame) or _is_antidiagonal(frame):
            return
        if self.axis[target] >= self.good:
            self.relayout(target)
        self.apply_phase(target)
        # frame = diag(f00, f11) @ [[1, f01/f00], [f10/f11, 1]] or antidiag(f01, f10) @ [[1, f11/f10], [f00/f01, 1]],
        # whichever keeps the shear's entries small (at most 1 for a unitary frame).
        if abs(f00 * f11) >= abs(f01 * f10):
            upper, lower, factor = f01 / f00, f10 / f11, f00
            self.frame[target] = (1.0, 0.0, 0.0, f11 / f00)
        else:
            upper, lower, factor = f11 / f10, f00 / f01, f01
            self.frame[target] = (0.0, 1.0, f10 / f01, 0.0)
        axis = self.axis[target]
        signs = [(bit, self.axis[other], other_bit) for bit, other, other_bit in self.take_signs(target)]
        if self.good < self.size:  # a large state: queue the shear, to share a pass with the next ones
            if axis not in self.op_axes and len(self.op_axes) == _PASS_AXES:
                self.drain()
            self.ops += [_MaskOp(((axis, bit), (other, other_bit)), -1.0) for bit, other, other_bit in signs]
            self.ops.append(_ShearOp(axis, upper, lower))
            self.op_axes.add(axis)
        else:  # a small state, in the CPU cache anyway
            for bit, other, other_bit in signs:
                _negate_quarter(self.states, self.size, (axis, bit), (other, other_bit))
            _transform(self.states, self.size, axis, (1.0, upper, lower, 1.0), self.scratch)
        self.rescale(factor)

    def take_signs(self, target: int) -> list[tuple[int, int, int]]:
        """Remove the pending CZs on ``target``: ``(target's stored bit, other component, its stored bit)``."""
        taken = []
        for key in [key for key in self.signs if target in (key[0], key[2])]:
            del self.signs[key]
            first, first_bit, second, second_bit = key
            taken.append(
                (first_bit, second, second_bit) if first == target else (second_bit, first, first_bit)
            )
        return taken

    def flush(self, target: int) -> None:
        """Apply the target's frame matrix and pending CZs, so that its stored axis holds the true component."""
        self.materialize(target)
        for bit, other, other_bit in self.take_signs(target):
            _negate_quarter(self.states, self.size, (self.axis[target], bit), (self.axis[other], other_bit))
        frame = self.frame[target]
        if frame == _IDENTITY:
            return
        if _is_diagonal(frame):
            self.rescale(frame[0])
            _scale_half(self.states, self.size, self.axis[target], 1, frame[3] / frame[0])
        else:
            self.rescale(frame[1])
            _transform(
                self.states, self.size, self.axis[target], (0.0, 1.0, frame[2] / frame[1], 0.0), self.scratch
            )
            if self.phase is not None:  # the stored halves swapped: the phase is now on the other one
                self.phase[:, target] *= -1.0
        self.frame[target] = _IDENTITY

    def flush_all(self) -> None:
        """Apply every frame matrix, pending CZ and the global factor; return to the layout in component order."""
        for target in range(self.size):
            self.flush(target)
        if self.factor != 1:
            self.states *= self.factor
            self.factor = 1.0
        self.permute(list(range(self.size)))

    def next_split(self, component: int) -> float:
        """Position in the body where the component's frame will next be split (a guess, for the layout)."""
        start = self.position
        frame = self.frame[component]
        if _is_diagonal(frame) or _is_antidiagonal(frame):
            uses = self.uses[component]
            later = bisect.bisect_left(uses, self.position)
            if later == len(uses):
                return math.inf
            start = uses[later]
        events = self.events[component]
        later = bisect.bisect_left(events, start)
        return events[later] if later < len(events) else len(self.program.body)

    def relayout(self, needed: int) -> None:
        """Give the components to be mixed next (``needed`` first) the axes with long contiguous runs."""
        ranked = sorted(range(self.size), key=lambda c: -1 if c == needed else self.next_split(c))
        # Moving several of the deepest axes makes the copy several times slower (short inner loops): only
        # the needed component comes from there.
        shallow = self.size - _DEEP_AXES
        incoming = [c for c in ranked[: self.good] if self.good <= self.axis[c] < shallow or c == needed]
        outgoing = [c for c in reversed(ranked) if self.axis[c] < self.good][: len(incoming)]
        new_axis = list(self.axis)
        for moving_in, moving_out in zip(incoming, outgoing, strict=True):
            new_axis[moving_in], new_axis[moving_out] = self.axis[moving_out], self.axis[moving_in]
        self.permute(new_axis)

    def permute(self, new_axis: list[int]) -> None:
        """Move component ``c`` to stored axis ``new_axis[c]`` (one transposing copy)."""
        if new_axis == self.axis:
            return
        order = [0] * self.size  # new axis -> old axis
        for component, axis in enumerate(new_axis):
            order[axis] = self.axis[component]
        if self.spare is None or self.spare.shape != self.states.shape:
            self.spare = np.empty_like(self.states)
        shape = (self.rows,) + (2,) * self.size
        np.copyto(
            self.spare.reshape(shape), self.states.reshape(shape).transpose([0, *(1 + a for a in order)])
        )
        self.states, self.spare = self.spare, self.states
        self.axis = new_axis

    # --- unitaries ------------------------------------------------------------------------------------

    def apply_rows(self, rows: _Indices, target: int, matrix: _Gate) -> None:
        """Apply ``matrix`` to the target in some rows (the target's frame must be the identity)."""
        if rows.size == self.rows:
            _transform(self.states, self.size, self.axis[target], matrix, self.scratch)
        elif rows.size:
            part = self.states[rows]
            _transform(part, self.size, self.axis[target], matrix, self.scratch)
            self.states[rows] = part

    def cz(self, first: int, second: int) -> None:
        """Queue the CZ's sign flip; the next shear of either component applies it (usually for free).

        CZ commutes with diagonal frame matrices; with an anti-diagonal one it flips the other stored half.
        """
        self.materialize(first)
        self.materialize(second)
        one, other = sorted((first, second))
        key = (one, 1 ^ self.flipped(one), other, 1 ^ self.flipped(other))
        if key in self.signs:
            del self.signs[key]  # the same CZ twice is the identity
        else:
            self.signs[key] = None

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
        if self.phase is not None:  # a phased swap carries each one's phase to the other
            self.phase[:, [qubit, resonator]] = self.phase[:, [resonator, qubit]]
        self.quiet[qubit] = self.quiet[resonator] = self.quiet[qubit] and self.quiet[resonator]

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
        if self.phase is not None:
            self.phase[:, target] = 0.0
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
        self.quiet[target] = True
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
        if fired.size:
            self.apply_phase(target, fired)
            self.quiet[target] = False
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

    def catch_up(self, target: int, until: float) -> None:
        """Let the target relax as an idle component from where its relaxation stopped until ``until``."""
        idle = until - self.relaxed[target]
        if idle > 0:
            self.relax(target, self.program.components[target], idle, idle=True)
        self.relaxed[target] = max(self.relaxed[target], until)

    def relax(self, target: int, component: str, duration: float, *, idle: bool = False) -> None:
        """Thermal relaxation of one component: no-jump evolution or a decay jump, then maybe a phase flip.

        Over a gate, dephasing is memoryless (rate from the Ramsey T2); while idle it is white at the echo
        rate plus the row's quasi-static detuning. Both the no-jump operator ``diag(1, √(1−γ))`` and the
        phases are diagonal: with the frame matrix diagonal or anti-diagonal they act on the stored half where
        the component is in ``|1⟩``. A component certainly in ``|0⟩`` is left alone (nothing would change).
        """
        if self.noise is None or self.quiet[target]:
            return
        relaxation = (
            self.noise.idle_relaxation(component, duration)
            if idle
            else self.noise.relaxation(component, duration)
        )
        if relaxation is None:
            return
        self.materialize(target)
        if idle and self.phase is not None and self.detuning is not None:
            sign = -1.0 if self.flipped(target) else 1.0
            self.phase[:, target] += sign * duration * self.detuning[:, target]
        gamma = relaxation.amplitude_damping
        if gamma > _LARGE_DAMPING:
            self.damp_exactly(target, gamma)
        elif gamma > 0:
            excited = (self.axis[target], 1 ^ self.flipped(target))
            if self.good < self.size:
                self.ops.append(_MaskOp((excited,), math.sqrt(1.0 - gamma)))
            else:
                _scale_half(self.states, self.size, *excited, math.sqrt(1.0 - gamma))
            self.normalized = False
            self.floor *= 1.0 - gamma
            # A row jumps at the first step where its norm is below its threshold; the exact norm is needed
            # only for the rows whose lower bound has fallen below it.
            candidates = np.flatnonzero(self.floor < self.threshold)
            if candidates.size:
                self.floor[candidates] = self.norms(candidates)
                jumped = candidates[self.floor[candidates] < self.threshold[candidates]]
                if jumped.size:
                    self.decay(jumped, target)
        flipped = np.flatnonzero(self.rng.random(self.rows) < relaxation.phase_flip)
        if flipped.size:
            view = self.view(target)
            view[flipped, :, 1 ^ self.flipped(target), :] *= -1

    def damp_exactly(self, target: int, gamma: float) -> None:
        """Strong damping: decide the jumps from the weights before scaling, so no row can become null.

        Scaling first and jumping from what is left loses the excited part when ``√(1−γ)`` is tiny (the
        jump would then start from a vector of zeros and round-off).
        """
        excited = self.excited_weight(target)  # flushes the target: its stored bit is its true bit
        after = self.norms() - gamma * excited
        jumped = np.flatnonzero(after < self.threshold)
        if jumped.size:
            self.decay(jumped, target)
        _scale_half(self.states, self.size, self.axis[target], 1, math.sqrt(1.0 - gamma))
        self.normalized = False
        kept = np.ones(self.rows, dtype=bool)
        kept[jumped] = False
        self.floor[kept] = after[kept]

    def decay(self, rows: _Indices, target: int) -> None:
        """The jump ``|0⟩⟨1|`` on ``target`` in ``rows``, which are then normalized with a new threshold.

        A row whose excited part has underflowed to nothing cannot jump (it would become null): it keeps its
        state and gets a new threshold below its norm.
        """
        self.flush(target)
        view = self.view(target)
        excited = view[rows, :, 1, :]
        weight = (excited.real**2 + excited.imag**2).sum(axis=(1, 2)) * abs(self.factor) ** 2
        empty = weight <= _UNDERFLOW
        if empty.any():
            stuck = rows[empty]
            self.threshold[stuck] = self.rng.random(stuck.size) * self.norms(stuck)
            rows, excited, weight = rows[~empty], excited[~empty], weight[~empty]
            if not rows.size:
                return
        view[rows, :, 0, :] = excited / np.sqrt(weight)[:, None, None]
        view[rows, :, 1, :] = 0
        self.floor[rows] = 1.0
        self.threshold[rows] = self.rng.random(rows.size)
        if self.phase is not None:
            self.phase[rows, target] = 0.0

    def depolarize(self, targets: Sequence[int], strength: float, rows: _Indices) -> None:
        """With probability λ per row, a uniformly random Pauli string (identity included) on ``targets``."""
        hit = rows[self.rng.random(rows.size) < strength]
        if not hit.size:
            return
        paulis = self.rng.integers(0, 4, size=(hit.size, len(targets)))
        for column, target in enumerate(targets):
            self.flush(target)
            for code, matrix in enumerate(_PAULIS, start=1):
                flipped = hit[paulis[:, column] == code]
                self.apply_rows(flipped, target, matrix)
                if code != 3 and flipped.size:  # X and Y: the pending phase moves to the other half
                    self.quiet[target] = False
                    if self.phase is not None:
                        self.phase[flipped, target] *= -1.0

    def apply_phase(self, target: int, rows: _Indices | None = None) -> None:
        """Apply the target's pending quasi-static phase to the stored amplitudes (of all or some rows)."""
        if self.phase is None:
            return
        phases = self.phase[:, target] if rows is None else self.phase[rows, target]
        if not phases.any():
            return
        factors = np.exp(1j * phases)[:, None, None]
        view = self.view(target)
        if rows is None:
            view[:, :, 1, :] *= factors
            self.phase[:, target] = 0.0
        else:
            view[rows, :, 1, :] *= factors
            self.phase[rows, target] = 0.0

    # --- driver ---------------------------------------------------------------------------------------

    def execute(
        self, instructions: Sequence[Instruction], should_stop: Callable[[], bool] | None = None
    ) -> None:
        index = self.program.index
        timed = self.noise is not None
        for position, instruction in enumerate(instructions):
            _check_stop(should_stop)
            self.position = position
            name, locus = instruction.name, instruction.locus
            if timed and name not in _TIMELESS:
                self.advance(instruction)
            if name in ("prx", "sx", "u", "rz"):
                target = index[locus[0]]
                self.queue(target, _unitary(instruction))
                if name != "rz":
                    self.quiet[target] = False
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
            # delay (its relaxation is caught up on later), barrier, lru, prx_12, rz_physical: identity
        self.position = len(instructions)

    def advance(self, instruction: Instruction) -> None:
        """Schedule the instruction on its components' timelines (:mod:`.schedule`).

        Components that waited for it relax as idle up to its start, except before a delay or barrier
        (the wait continues: it is caught up on at the next operation) and before a reset (which makes the
        state before it irrelevant).
        """
        assert self.noise is not None
        targets = [self.program.index[c] for c in instruction.locus]
        start = max((self.clock[t] for t in targets), default=0.0)
        duration = instruction_duration(instruction, self.noise)
        name = instruction.name
        for target in targets:
            if name in ("reset", "reset_wait"):
                self.relaxed[target] = start + duration
            elif name not in ("delay", "barrier"):
                self.catch_up(target, start)
            self.clock[target] = start + duration
        if name not in ("delay", "barrier"):
            for target in targets:  # the gate's own relaxation covers its duration
                self.relaxed[target] = start + duration

    def sample_terminal(self, instructions: Sequence[Instruction]) -> None:
        """Record the trailing measurements by sampling every shot from its row's final state."""
        measured: dict[int, int] = {}
        read: set[int] = set()
        for instruction in instructions:
            if self.noise is not None:  # components waiting for their readout relax until it starts
                targets = [self.program.index[c] for c in instruction.locus]
                start = max((self.clock[t] for t in targets), default=0.0)
                for target in targets:
                    if target not in read and instruction.name in _MEASUREMENTS:
                        self.catch_up(target, start)
                        read.add(target)
                    self.clock[target] = start + instruction_duration(instruction, self.noise)
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
        """Per shot, an outcome index over ``targets`` (big-endian in that order) drawn from its row.

        Only the targets' frame matrices need to be applied (up to a flip): the others are unitary on
        components whose marginal is summed over, and the global factor cancels.
        """
        for target in targets:
            self.materialize(target)
        rows, size, width = self.rows, self.size, len(targets)
        if self.spare is None or self.spare.shape != self.states.shape:
            self.spare = np.empty_like(self.states)
        buffer = self.spare.reshape(-1).view(np.float64)  # two real arrays the size of the states
        count = rows << size
        probabilities, spare = buffer[:count].reshape(rows, -1), buffer[count:].reshape(rows, -1)
        np.square(self.states.real, out=probabilities)
        np.square(self.states.imag, out=spare)
        np.add(probabilities, spare, out=probabilities)
        full = probabilities.reshape((rows,) + (2,) * size)
        others = tuple(1 + self.axis[c] for c in range(size) if c not in targets)
        marginal = full.sum(axis=others) if others else full
        ascending = sorted(self.axis[t] for t in targets)
        flips = tuple(
            slice(None, None, -1) if self.flipped(t) else slice(None)
            for t in sorted(targets, key=lambda t: self.axis[t])
        )
        order = [0, *(1 + ascending.index(self.axis[t]) for t in targets)]
        ordered = spare.reshape(-1)[: rows << width].reshape(rows, -1)
        np.copyto(ordered.reshape((rows,) + (2,) * width), marginal[(slice(None), *flips)].transpose(order))
        cumulative = np.cumsum(
            ordered, axis=1, out=probabilities.reshape(-1)[: rows << width].reshape(rows, -1)
        )
        # Rows may be unnormalized under noise: draw within each row's total weight.
        draws = self.rng.random(self.shots) * cumulative[self.shot_row, -1]
        if rows == 1:
            # Sorted draws search faster (each search starts where the previous one ended).
            by_draw = np.argsort(draws)
            outcome = np.empty(self.shots, dtype=np.intp)
            outcome[by_draw] = np.searchsorted(cumulative[0], draws[by_draw], side="right")
        elif 1 << width <= 64:
            outcome = (draws[:, None] >= cumulative[self.shot_row]).sum(axis=1)
        else:
            outcome = np.empty(self.shots, dtype=np.intp)
            for row in range(rows):
                shots = np.flatnonzero(self.shot_row == row)
                outcome[shots] = np.searchsorted(cumulative[row], draws[shots], side="right")
        result: _Indices = np.minimum(outcome, (1 << width) - 1).astype(np.intp)
        return result
