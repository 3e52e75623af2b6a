"""Noise model of an emulated QPU, and the formulas linking noise numbers to published quality metrics.

Gates follow the model qiskit-iqm's fake backends build from an ``IQMErrorProfile`` (calibration-data.md
§5), so the emulator's gate errors and its published RB/IRB fidelities agree with them:

* after every physical gate, thermal relaxation of each locus component over the gate duration
  (amplitude damping from T1, memoryless dephasing so that coherences decay with the Ramsey T2), then a
  depolarizing channel ``E(ρ) = (1 − λ)ρ + λ·Tr(ρ)·I/2ⁿ`` on the locus;
* every readout flips a true 0 to 1 with ``P(1|0)`` and a true 1 to 0 with ``P(0|1)``.

Idle time (``delay`` and a component waiting for others, see :mod:`.schedule`) is where the difference
between Ramsey and echo T2 shows, so idling uses a dephasing model with memory:

* amplitude damping from T1;
* white (memoryless) dephasing at the rate ``1/T2echo − 1/(2·T1)``, which no echo undoes;
* a quasi-static detuning per shot and component, drawn from a Lorentzian (Cauchy) distribution of
  half-width ``1/T2 − 1/T2echo`` rad/s and constant during the shot: it adds the phase ``δ·t`` over an
  idle window, which a π pulse in the middle refocuses. Averaged over shots it decays coherences by
  ``exp(−|t|·width)``, so a Ramsey experiment decays exactly as ``exp(−t/T2)`` and a Hahn echo as
  ``exp(−t/T2echo)``.

Not modelled: decay during measurement (the readout errors stand for it), reset and heralding errors other
than readout, crosstalk, leakage, the quasi-static detuning during gates (their calibrated error is the
fake backends' memoryless one) and dynamical decoupling (``dd_mode`` inserts no pulses).

This module holds numbers and formulas only; the simulator applies the channels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "MAX_DAMPING",
    "GateNoise",
    "NoiseModel",
    "ReadoutError",
    "Relaxation",
    "average_gate_fidelity",
    "depolarized_process_fidelity",
    "idle_relaxation",
    "measurement_repeatability",
    "readout_fidelity",
    "relaxation",
    "relaxation_process_fidelity",
]

MAX_DAMPING = 1.0 - 2.0**-52
"""Largest amplitude-damping probability: the no-jump factor √(1 − γ) never rounds to 0, whatever the time."""

# Operations that are physical pulses of another calibrated gate and therefore share its noise numbers.
_NOISE_SOURCE_OP: Mapping[str, str] = {
    "prx": "prx",
    "cc_prx": "prx",
    "sx": "prx",
    "u": "prx",
    "cz": "cz",
    "move": "move",
}


@dataclass(frozen=True, slots=True)
class GateNoise:
    """Noise of one gate on one locus.

    Attributes:
        duration: gate duration in seconds (relaxation acts over it).
        depolarizing: λ of the depolarizing channel applied after the relaxation (qiskit-aer convention).
    """

    duration: float
    depolarizing: float


@dataclass(frozen=True, slots=True)
class ReadoutError:
    """Assignment errors of one component's readout.

    Attributes:
        p1_given_0: probability of reading 1 when the component is in ``|0⟩`` (``error_0_to_1``).
        p0_given_1: probability of reading 0 when the component is in ``|1⟩`` (``error_1_to_0``).
    """

    p1_given_0: float
    p0_given_1: float


@dataclass(frozen=True, slots=True)
class Relaxation:
    """Thermal relaxation over some duration, as jump probabilities of a quantum trajectory.

    Attributes:
        amplitude_damping: γ = 1 − exp(−t/T1), the probability that an excited component decays.
        phase_flip: probability of a Z error that makes coherences decay as exp(−t/T2) overall.
    """

    amplitude_damping: float
    phase_flip: float


_NO_READOUT_ERROR = ReadoutError(0.0, 0.0)


@dataclass(frozen=True)
class NoiseModel:
    """Noise numbers of a QPU.

    Attributes:
        t1: energy relaxation time per component, in seconds.
        t2: dephasing (Ramsey) time per component, in seconds; values above 2·T1 are treated as 2·T1.
        gates: ``{op name: {locus: GateNoise}}`` for the calibrated gates (``prx``, ``cz``, ``move``).
        readout: readout assignment errors per component.
        t2_echo: Hahn-echo dephasing time per component, in seconds, clamped to ``[T2, 2·T1]``; a component
            without one has no quasi-static dephasing (echo T2 = Ramsey T2).
        measure_duration: duration of a readout (s); other components keep idling meanwhile.
        reset_wait_duration: duration of ``reset_wait`` (s).
    """

    t1: Mapping[str, float]
    t2: Mapping[str, float]
    gates: Mapping[str, Mapping[tuple[str, ...], GateNoise]]
    readout: Mapping[str, ReadoutError] = field(default_factory=dict)
    t2_echo: Mapping[str, float] = field(default_factory=dict)
    measure_duration: float = 0.0
    reset_wait_duration: float = 0.0

    def gate_noise(self, op: str, locus: tuple[str, ...]) -> GateNoise | None:
        """The noise of ``op`` on ``locus``.

        ``cc_prx``, ``sx`` and ``u`` are PRX pulses and get the PRX numbers; a locus missing in the table
        is also looked up reversed (CZ is symmetric).

        Args:
            op: canonical operation name.
            locus: physical component names.

        Returns:
            The gate's noise, or ``None`` for operations and loci without noise numbers.
        """
        table = self.gates.get(_NOISE_SOURCE_OP.get(op, ""))
        if table is None:
            return None
        return table.get(locus) or table.get(locus[::-1])

    def relaxation(self, component: str, duration: float) -> Relaxation | None:
        """Relaxation of ``component`` over ``duration`` seconds, or ``None`` when it has no T1/T2."""
        t1 = self.t1.get(component)
        t2 = self.t2.get(component)
        if t1 is None or t2 is None or duration <= 0.0:
            return None
        return relaxation(t1, t2, duration)

    def idle_relaxation(self, component: str, duration: float) -> Relaxation | None:
        """Damping and white dephasing of ``component`` idling ``duration`` s (``None``: no T1/T2 or no time).

        The quasi-static part of its dephasing is :meth:`quasi_static_width`; the simulator adds it.
        """
        t1 = self.t1.get(component)
        t2 = self.t2.get(component)
        if t1 is None or t2 is None or duration <= 0.0:
            return None
        return idle_relaxation(t1, self.echo_time(component), duration)

    def echo_time(self, component: str) -> float:
        """Hahn-echo T2 of ``component``, clamped to ``[T2, 2·T1]`` (T2 where none is known)."""
        t1, t2 = self.t1[component], min(self.t2[component], 2.0 * self.t1[component])
        return min(max(self.t2_echo.get(component, t2), t2), 2.0 * t1)

    def quasi_static_width(self, component: str) -> float:
        """Half-width (rad/s) of the Lorentzian quasi-static detuning of ``component``: 1/T2 − 1/T2echo."""
        if component not in self.t1 or component not in self.t2:
            return 0.0
        t2 = min(self.t2[component], 2.0 * self.t1[component])
        return max(0.0, 1.0 / t2 - 1.0 / self.echo_time(component))

    def readout_error(self, component: str) -> ReadoutError:
        """Readout errors of ``component`` (zero for components without numbers)."""
        return self.readout.get(component, _NO_READOUT_ERROR)


def relaxation(t1: float, t2: float, duration: float) -> Relaxation:
    """Trajectory probabilities of thermal relaxation (T2 capped at 2·T1).

    Args:
        t1: energy relaxation time (s), > 0.
        t2: dephasing time (s), > 0.
        duration: time over which the component relaxes (s), >= 0.

    Returns:
        The amplitude-damping and phase-flip probabilities.
    """
    t2 = min(t2, 2.0 * t1)
    gamma = min(-math.expm1(-duration / t1), MAX_DAMPING)
    pure_dephasing_rate = 1.0 / t2 - 1.0 / (2.0 * t1)
    phase_flip = -math.expm1(-duration * pure_dephasing_rate) / 2.0
    return Relaxation(amplitude_damping=gamma, phase_flip=phase_flip)


def idle_relaxation(t1: float, t2_echo: float, duration: float) -> Relaxation:
    """Amplitude damping and white dephasing of an idle component (the quasi-static part is separate).

    Args:
        t1: energy relaxation time (s), > 0.
        t2_echo: Hahn-echo dephasing time (s), > 0; capped at 2·T1.
        duration: idle time (s), >= 0.

    Returns:
        The amplitude-damping probability (at most :data:`MAX_DAMPING`) and the phase-flip probability of
        white dephasing at the rate ``1/T2echo − 1/(2·T1)``.
    """
    return relaxation(t1, t2_echo, duration)


def relaxation_process_fidelity(t1: float, t2: float, duration: float) -> float:
    """Process fidelity of one component's thermal relaxation: (1 + e^(−t/T1) + 2·e^(−t/T2)) / 4."""
    t2 = min(t2, 2.0 * t1)
    return (1.0 + math.exp(-duration / t1) + 2.0 * math.exp(-duration / t2)) / 4.0


def depolarized_process_fidelity(process_fidelity: float, depolarizing: float, dimension: int) -> float:
    """Process fidelity after composing a channel with depolarizing λ on a ``dimension``-level system."""
    return (1.0 - depolarizing) * process_fidelity + depolarizing / dimension**2


def average_gate_fidelity(process_fidelity: float, dimension: int) -> float:
    """Average gate fidelity (what RB and IRB report) from the process fidelity: (d·F + 1)/(d + 1)."""
    return (dimension * process_fidelity + 1.0) / (dimension + 1.0)


def readout_fidelity(error: ReadoutError) -> float:
    """Single-shot readout fidelity for 50/50 prepared states: 1 − (P(1|0) + P(0|1)) / 2."""
    return 1.0 - (error.p1_given_0 + error.p0_given_1) / 2.0


def measurement_repeatability(error: ReadoutError) -> tuple[float, float, float]:
    """How often two back-to-back readouts agree under this model (ideal projection, independent errors).

    Returns:
        ``(agree when prepared in |0⟩, agree when prepared in |1⟩, their mean)``, published as
        ``qndness_0``, ``qndness_1`` and ``repeatability``.
    """
    e0, e1 = error.p1_given_0, error.p0_given_1
    agree_0 = (1.0 - e0) ** 2 + e0**2
    agree_1 = (1.0 - e1) ** 2 + e1**2
    return agree_0, agree_1, (agree_0 + agree_1) / 2.0
