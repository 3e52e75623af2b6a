"""When each instruction of a circuit runs: per-component timelines, as the server schedules a circuit.

Every component has its own clock, starting at 0 after the initial reset (which is not part of the
circuit's duration). An instruction starts as soon as all its locus components are free (as soon as
possible) and occupies them for its duration:

* ``prx``, ``cc_prx``, ``sx``, ``u``, ``cz``, ``move``: the calibrated duration the preset publishes
  (``gates.{op}.{impl}.{locus}.duration``; ``cc_prx``, ``sx`` and ``u`` are one PRX pulse);
* ``measure``, ``measure_fidelity``: the readout duration; ``reset``: a readout and a PRX pulse;
  ``reset_wait``: its published duration;
* ``delay``: its ``duration`` argument (the components wait together, from when all are free);
* ``barrier``: no time, but its components' clocks move to the latest of them;
* ``rz`` (virtual), ``lru``, ``prx_12``, ``rz_physical``: no time (no published durations).

A component idles between the end of its previous instruction and the start of its next one; the
simulator lets it relax meanwhile. The circuit's duration is the latest clock at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from .noise import NoiseModel

__all__ = ["MAX_CIRCUIT_DURATION", "Timelines", "circuit_duration", "instruction_duration"]

MAX_CIRCUIT_DURATION = 1.0
"""Longest circuit the emulator accepts, in seconds, whatever ``max_circuit_duration_over_t2`` says.

A second is 10⁴ times the longest T1 of any preset: every component has long relaxed to ``|0⟩``, and no
QPU keeps a shot waiting that long."""

_ONE_PULSE = frozenset({"prx", "cc_prx", "sx", "u"})
_READOUT = frozenset({"measure", "measure_fidelity"})


class _Instruction(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def locus(self) -> tuple[str, ...]: ...
    @property
    def args(self) -> Mapping[str, Any]: ...


def instruction_duration(instruction: _Instruction, noise: NoiseModel) -> float:
    """How long ``instruction`` occupies its components, in seconds (see the module docstring)."""
    name, locus = instruction.name, instruction.locus
    if name == "delay":
        return float(instruction.args["duration"])
    if name in _ONE_PULSE:
        gate = noise.gate_noise("prx", locus)
        return 0.0 if gate is None else gate.duration
    if name in ("cz", "move"):
        gate = noise.gate_noise(name, locus)
        return 0.0 if gate is None else gate.duration
    if name in _READOUT:
        return noise.measure_duration
    if name == "reset":
        pulses = [noise.gate_noise("prx", (component,)) for component in locus]
        return noise.measure_duration + max((gate.duration for gate in pulses if gate), default=0.0)
    if name == "reset_wait":
        return noise.reset_wait_duration
    return 0.0


class Timelines:
    """The clock of every component: when it becomes free."""

    def __init__(self) -> None:
        self.clock: dict[str, float] = {}

    def start(self, locus: Iterable[str]) -> float:
        """When an instruction on ``locus`` can start: when its last component becomes free."""
        return max((self.clock.get(component, 0.0) for component in locus), default=0.0)

    def occupy(self, locus: Iterable[str], start: float, duration: float) -> None:
        """Mark ``locus`` busy from ``start`` for ``duration`` seconds."""
        for component in locus:
            self.clock[component] = start + duration

    @property
    def end(self) -> float:
        """When the last component becomes free."""
        return max(self.clock.values(), default=0.0)


def circuit_duration(instructions: Sequence[_Instruction], noise: NoiseModel) -> float:
    """The duration of a circuit scheduled as soon as possible on per-component timelines, in seconds."""
    timelines = Timelines()
    for instruction in instructions:
        start = timelines.start(instruction.locus)
        timelines.occupy(instruction.locus, start, instruction_duration(instruction, noise))
    return timelines.end
