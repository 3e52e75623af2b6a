"""QPU presets of the emulator: architecture, calibration data and noise of five IQM chips.

Each preset comes from a JSON file in ``data/`` (topology, gate loci and noise numbers of qiskit-iqm's fake
backends). Everything the server publishes about the QPU is derived from that file, so the documents agree
with each other and with the simulated noise:

* static and dynamic quantum architecture, DUT list, chip design record;
* a calibration set (``controllers.*``, ``gates.*``, ``gate_definitions.*``) and a quality-metric set
  (``characterization.model.*`` T1, Ramsey T2 and echo T2, ``metrics.*`` fidelities and readout errors) whose
  fidelities follow from the noise numbers with the formulas of :mod:`.noise`;
* channel properties for feedback routing.

Conventions that are invented (the public data has no such numbers) are deterministic per preset:

* probe lines: the sorted qubits are split into ``ceil(n / 5)`` runs of consecutive qubits of (nearly) equal
  size, ``PL-1``, ``PL-2``, ...; a qubit's drive channel receives fast feedback from its own probe line only,
  so every probe line is one feedback group;
* couplers: one per connectivity pair, named ``TC-{a}-{b}`` where a qubit contributes its number and other
  components their full name (``TC-1-2``, ``TC-1-CR1``);
* frequencies, amplitudes and similar controller values are drawn from a generator seeded with the preset
  name; measurement takes 1.5 µs and ``reset_wait`` waits five times the longest T1, rounded up to 1 µs;
* echo T2 (``t2_echo_ns`` in the data files): Garnet's are the reference calibration data's
  ``t2_echo_time`` values; the other presets' are invented (the data file's ``t2_echo_source`` says how).
"""

from __future__ import annotations

import base64
import functools
import json
import math
import random
import re
import struct
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .noise import (
    GateNoise,
    NoiseModel,
    ReadoutError,
    average_gate_fidelity,
    depolarized_process_fidelity,
    measurement_repeatability,
    readout_fidelity,
    relaxation_process_fidelity,
)

__all__ = ["DEFAULT_PRESET", "PRESET_NAMES", "Preset", "load_preset"]

PRESET_NAMES: tuple[str, ...] = ("adonis", "apollo", "garnet", "aphrodite", "deneb")
DEFAULT_PRESET = "garnet"

_DATA_DIR = Path(__file__).parent / "data"
_UUID_NAMESPACE = uuid.UUID("ec35b793-10b8-42fb-9597-61673eebccf3")
_QUBITS_PER_PROBE_LINE = 5
_MEASURE_DURATION = 1.5e-6
_CALIBRATED_AT = datetime(2025, 6, 2, 2, 10, tzinfo=UTC)
_MEASURED_AT = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)

# Default implementation of every operation the DQA lists (the names the reference's finder queries).
_IMPLEMENTATIONS: Mapping[str, str] = {
    "prx": "drag_gaussian",
    "cz": "tgss",
    "move": "tgss_crf",
    "measure": "constant",
    "cc_prx": "prx_composite",
    "reset_wait": "reset_wait",
}


def component_sort_key(name: str) -> tuple[str, int, str]:
    """Sort key of component names: letters, then number (``CR1 < QB1 < QB2 < QB10``)."""
    number = re.search(r"\d+", name)
    return re.sub(r"[^A-Za-z]", "", name), int(number.group()) if number else 0, name


def _sorted_components(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=component_sort_key))


def _locus_str(locus: Sequence[str]) -> str:
    return "__".join(locus)


@dataclass(frozen=True)
class Preset:
    """One emulated QPU.

    Attributes:
        name: alias of the quantum computer (``garnet``).
        display_name: human-readable name (``Garnet``).
        quantum_computer_id: stable UUID of the quantum computer.
        dut_label: label of the chip.
        qubits: qubit names, sorted.
        computational_resonators: computational resonator names, sorted.
        connectivity: unordered coupled pairs, each sorted, sorted.
        calibration_set_id: stable UUID of the (only) calibration set.
        quality_metric_set_id: stable UUID of the quality-metric set describing it.
        gate_loci: calibrated loci per physical gate of the chip (``prx``, ``cz``, ``measure``, ``move``),
            in the order of the source data.
    """

    name: str
    display_name: str
    quantum_computer_id: str
    dut_label: str
    qubits: tuple[str, ...]
    computational_resonators: tuple[str, ...]
    connectivity: tuple[tuple[str, ...], ...]
    calibration_set_id: str
    quality_metric_set_id: str
    gate_loci: Mapping[str, tuple[tuple[str, ...], ...]]
    _noise: NoiseModel = field(repr=False)

    def noise_model(self) -> NoiseModel:
        """The noise the simulator applies when noise is enabled for this QPU."""
        return self._noise

    def probe_lines(self) -> dict[str, tuple[str, ...]]:
        """Probe line name -> its qubits (runs of consecutive sorted qubits, see the module docstring)."""
        count = math.ceil(len(self.qubits) / _QUBITS_PER_PROBE_LINE)
        lines: dict[str, list[str]] = {f"PL-{k + 1}": [] for k in range(count)}
        for index, qubit in enumerate(self.qubits):
            lines[f"PL-{index * count // len(self.qubits) + 1}"].append(qubit)
        return {name: tuple(qubits) for name, qubits in lines.items()}

    def couplers(self) -> dict[str, tuple[str, ...]]:
        """Tunable coupler name -> the pair it couples, one per connectivity pair."""

        def short(component: str) -> str:
            return component[2:] if re.fullmatch(r"QB\d+", component) else component

        return {"TC-" + "-".join(short(c) for c in pair): pair for pair in self.connectivity}

    # --- architecture documents ---------------------------------------------------------------------

    def static_architecture(self) -> dict[str, Any]:
        """JSON-ready ``StaticQuantumArchitecture`` (the server wraps it in a list)."""
        return {
            "dut_label": self.dut_label,
            "qubits": list(self.qubits),
            "computational_resonators": list(self.computational_resonators),
            "connectivity": [list(pair) for pair in self.connectivity],
        }

    def dynamic_architecture(self) -> dict[str, Any]:
        """JSON-ready ``DynamicQuantumArchitecture`` of the calibration set.

        Lists ``prx``, ``cz``, ``measure`` (and ``move``) on the loci of the source data, and ``cc_prx`` and
        ``reset_wait`` on every qubit, each with one implementation and no per-locus overrides.
        """
        gates = {
            op: {
                "implementations": {_IMPLEMENTATIONS[op]: {"loci": [list(locus) for locus in loci]}},
                "default_implementation": _IMPLEMENTATIONS[op],
                "override_default_implementation": {},
            }
            for op, loci in self._dqa_loci().items()
        }
        return {
            "calibration_set_id": self.calibration_set_id,
            "qubits": list(self.qubits),
            "computational_resonators": list(self.computational_resonators),
            "gates": gates,
        }

    def duts(self) -> list[dict[str, Any]]:
        """JSON-ready DUT list."""
        return [{"label": self.dut_label, "dut_type": "chip"}]

    def chip_design_record(self) -> dict[str, Any]:
        """JSON-ready chip design record: chip label and components with their connections.

        The shape is the one ``ChipTopology.from_chip_design_record`` of the reference stack parses.
        """
        couplers = self.couplers()
        probe_lines = self.probe_lines()
        line_of = {qubit: line for line, qubits in probe_lines.items() for qubit in qubits}

        def connections(component: str) -> list[str]:
            linked = [name for name, pair in couplers.items() if component in pair]
            return linked + ([line_of[component]] if component in line_of else [])

        components: dict[str, list[dict[str, Any]]] = {
            "qubit": [{"name": q, "connections": connections(q)} for q in self.qubits],
            "tunable_coupler": [{"name": name, "connections": list(pair)} for name, pair in couplers.items()],
            "probe_line": [{"name": name, "connections": list(qs)} for name, qs in probe_lines.items()],
        }
        if self.computational_resonators:
            components["computational_resonator"] = [
                {"name": r, "connections": connections(r)} for r in self.computational_resonators
            ]
        return {
            "cheddar": {"chip_label": self.dut_label},
            "mask_set_name": self.dut_label.split("_")[0],
            "variant": "emulated",
            "content": {"components": components},
        }

    def channel_properties(self) -> tuple[dict[str, list[str]], list[str]]:
        """Feedback routing: ``({"QBn__drive.awg": ["PL-k__readout"]}, ["PL-1__readout", ...])``."""
        lines = self.probe_lines()
        awg = {f"{q}__drive.awg": [f"{line}__readout"] for line, qubits in lines.items() for q in qubits}
        return awg, [f"{line}__readout" for line in lines]

    # --- calibration data -----------------------------------------------------------------------------

    def calibration_set(self) -> dict[str, Any]:
        """JSON-ready calibration set (``ObservationSetWithObservations``): controller and gate parameters."""
        return _observation_set(
            set_id=self.calibration_set_id,
            set_type="calibration-set",
            dut_label=self.dut_label,
            describes_id=None,
            created=_CALIBRATED_AT,
            first_id=100_001,
            observations=list(self._calibration_observations()),
        )

    def quality_metric_set(self) -> dict[str, Any]:
        """JSON-ready quality-metric set describing the calibration set: T1/T2, fidelities, readout errors."""
        return _observation_set(
            set_id=self.quality_metric_set_id,
            set_type="quality-metric-set",
            dut_label=self.dut_label,
            describes_id=self.calibration_set_id,
            created=_MEASURED_AT,
            first_id=200_001,
            observations=list(self._quality_observations()),
        )

    def _dqa_loci(self) -> dict[str, tuple[tuple[str, ...], ...]]:
        every_qubit = tuple((q,) for q in self.qubits)
        loci = {op: self.gate_loci[op] for op in ("prx", "cz", "move", "measure") if op in self.gate_loci}
        return {**loci, "cc_prx": every_qubit, "reset_wait": every_qubit}

    def _calibration_observations(self) -> Iterator[_Observation]:
        rng = random.Random(f"{self.name}/calibration-set")
        noise = self._noise
        for op in self._dqa_loci():
            yield _Observation(f"gate_definitions.{op}.default_implementation", _IMPLEMENTATIONS[op], "")
        for qubit in self.qubits:
            yield _Observation(
                f"controllers.{qubit}.drive.frequency", _round_to(rng.uniform(4.0e9, 4.6e9), 1e4), "Hz"
            )
            yield _Observation(f"controllers.{qubit}.flux.voltage", round(rng.uniform(-0.05, 0.05), 6), "V")
        center_frequencies = {}
        for line in self.probe_lines():
            center_frequencies[line] = _round_to(rng.uniform(5.5e9, 6.0e9), 1e6)
            yield _Observation(f"controllers.{line}.readout.center_frequency", center_frequencies[line], "Hz")
        for coupler in self.couplers():
            yield _Observation(f"controllers.{coupler}.flux.voltage", round(rng.uniform(-0.6, 0.6), 6), "V")
        for (qubit,) in self.gate_loci["prx"]:
            prefix = f"gates.prx.{_IMPLEMENTATIONS['prx']}.{qubit}"
            duration = self._duration("prx", (qubit,))
            yield _Observation(f"{prefix}.duration", duration, "s")
            yield _Observation(f"{prefix}.amplitude_i", round(rng.uniform(0.05, 0.5), 6), "")
            yield _Observation(f"{prefix}.amplitude_q", round(rng.uniform(-0.01, 0.01), 6), "")
            yield _Observation(f"{prefix}.full_width", duration, "s")
            yield _Observation(f"{prefix}.center_offset", 0.0, "s")
        for locus in self.gate_loci["cz"]:
            prefix = f"gates.cz.{_IMPLEMENTATIONS['cz']}.{_locus_str(locus)}"
            yield _Observation(f"{prefix}.duration", self._duration("cz", locus), "s")
            yield _Observation(f"{prefix}.coupler.amplitude", round(rng.uniform(0.1, 0.4), 6), "")
            yield _Observation(f"{prefix}.coupler.full_width", self._duration("cz", locus) * 0.85, "s")
            yield _Observation(f"{prefix}.coupler.rise_time", 8e-9, "s")
            yield _Observation(f"{prefix}.coupler.center_offset", 0.0, "s")
            for component in locus:
                yield _Observation(
                    f"{prefix}.rz.{component}", round(rng.uniform(-math.pi, math.pi), 6), "rad"
                )
        for locus in self.gate_loci.get("move", ()):
            prefix = f"gates.move.{_IMPLEMENTATIONS['move']}.{_locus_str(locus)}"
            yield _Observation(f"{prefix}.duration", self._duration("move", locus), "s")
            yield _Observation(f"{prefix}.detuning", _round_to(rng.uniform(-2e8, 2e8), 1e4), "Hz")
        line_of = {q: line for line, qubits in self.probe_lines().items() for q in qubits}
        for (qubit,) in self.gate_loci["measure"]:
            prefix = f"gates.measure.{_IMPLEMENTATIONS['measure']}.{qubit}"
            frequency = center_frequencies[line_of[qubit]] + _round_to(rng.uniform(-2e8, 2e8), 1e4)
            yield _Observation(f"{prefix}.duration", _MEASURE_DURATION, "s")
            yield _Observation(f"{prefix}.frequency", frequency, "Hz")
            yield _Observation(f"{prefix}.phase", round(rng.uniform(-math.pi, math.pi), 6), "rad")
            yield _Observation(f"{prefix}.amplitude_i", round(rng.uniform(0.05, 0.3), 6), "")
            yield _Observation(f"{prefix}.integration_length", 1.2e-6, "s")
            yield _Observation(f"{prefix}.acquisition_delay", 2e-7, "s")
            yield _Observation(f"{prefix}.integration_threshold", round(rng.uniform(-1e-3, 1e-3), 9), "")
            yield _Observation(f"{prefix}.acquisition_type", "threshold", "")
        reset_wait = noise.reset_wait_duration
        for qubit in self.qubits:
            yield _Observation(
                f"gates.cc_prx.{_IMPLEMENTATIONS['cc_prx']}.{qubit}.control_delays",
                _float64_array([0.0]),
                "s",
            )
            yield _Observation(
                f"gates.reset_wait.{_IMPLEMENTATIONS['reset_wait']}.{qubit}.duration", reset_wait, "s"
            )

    def _quality_observations(self) -> Iterator[_Observation]:
        rng = random.Random(f"{self.name}/quality-metric-set")
        echo_rng = random.Random(f"{self.name}/t2-echo-uncertainty")
        noise = self._noise
        for component in _sorted_components([*self.qubits, *self.computational_resonators]):
            if component in noise.t1:
                t1, t2 = noise.t1[component], noise.t2[component]
                yield _Observation(
                    f"characterization.model.{component}.t1_time", t1, "s", _relative(rng, t1, 0.03)
                )
                yield _Observation(
                    f"characterization.model.{component}.t2_time", t2, "s", _relative(rng, t2, 0.04)
                )
                if component in noise.t2_echo:
                    echo = noise.t2_echo[component]
                    yield _Observation(
                        f"characterization.model.{component}.t2_echo_time",
                        echo,
                        "s",
                        _relative(echo_rng, echo, 0.04),
                    )
        for (qubit,) in self.gate_loci["prx"]:
            fidelity = self.gate_fidelity("prx", (qubit,))
            yield _Observation(
                f"metrics.rb.prx.{_IMPLEMENTATIONS['prx']}.{qubit}.fidelity:par=d2",
                fidelity,
                "",
                _uncertainty(rng),
            )
            # A Clifford averages 1.875 PRX pulses.
            yield _Observation(
                f"metrics.rb.clifford.xy.{qubit}.fidelity:par=d2",
                round(fidelity**1.875, 6),
                "",
                _uncertainty(rng),
            )
        for (qubit,) in self.gate_loci["measure"]:
            error = noise.readout_error(qubit)
            prefix = f"metrics.ssro.measure.{_IMPLEMENTATIONS['measure']}.{qubit}"
            yield _Observation(f"{prefix}.fidelity", round(readout_fidelity(error), 6), "")
            yield _Observation(f"{prefix}.error_0_to_1", error.p1_given_0, "")
            yield _Observation(f"{prefix}.error_1_to_0", error.p0_given_1, "")
            agree_0, agree_1, repeatability = measurement_repeatability(error)
            prefix = f"metrics.qndness.measure.{_IMPLEMENTATIONS['measure']}.{qubit}"
            yield _Observation(f"{prefix}.qndness_0", round(agree_0, 6), "")
            yield _Observation(f"{prefix}.qndness_1", round(agree_1, 6), "")
            yield _Observation(f"{prefix}.repeatability", round(repeatability, 6), "")
        for op, suffix in (("cz", ":par=d2"), ("move", "")):
            for locus in self.gate_loci.get(op, ()):
                name = f"metrics.irb.{op}.{_IMPLEMENTATIONS[op]}.{_locus_str(locus)}.fidelity{suffix}"
                yield _Observation(name, self.gate_fidelity(op, locus), "", _uncertainty(rng))

    def _duration(self, op: str, locus: tuple[str, ...]) -> float:
        gate = self._noise.gate_noise(op, locus)
        if gate is None:
            raise ValueError(f"preset {self.name!r} has no noise numbers for {op} on {locus}")
        return gate.duration

    def gate_fidelity(self, op: str, locus: tuple[str, ...]) -> float:
        """Average gate fidelity of ``op`` on ``locus`` under the noise model, rounded to 6 decimals.

        This is the value the quality-metric set publishes (RB for ``prx``, IRB for two-component gates).

        Raises:
            ValueError: the preset has no noise numbers for that gate and locus.
        """
        gate = self._noise.gate_noise(op, locus)
        if gate is None:
            raise ValueError(f"preset {self.name!r} has no noise numbers for {op} on {locus}")
        relax = math.prod(
            relaxation_process_fidelity(self._noise.t1[c], self._noise.t2[c], gate.duration) for c in locus
        )
        dimension = 2 ** len(locus)
        process = depolarized_process_fidelity(relax, gate.depolarizing, dimension)
        return round(average_gate_fidelity(process, dimension), 6)


@dataclass(frozen=True, slots=True)
class _Observation:
    dut_field: str
    value: Any
    unit: str
    uncertainty: float | None = None


def _observation_set(
    *,
    set_id: str,
    set_type: str,
    dut_label: str,
    describes_id: str | None,
    created: datetime,
    first_id: int,
    observations: list[_Observation],
) -> dict[str, Any]:
    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    rows = []
    for index, observation in enumerate(observations):
        moment = stamp(created + timedelta(milliseconds=10 * index))
        rows.append(
            {
                "observation_id": first_id + index,
                "dut_field": observation.dut_field,
                "value": observation.value,
                "unit": observation.unit,
                "uncertainty": observation.uncertainty,
                "invalid": False,
                "created_timestamp": moment,
                "modified_timestamp": moment,
            }
        )
    return {
        "observation_set_id": set_id,
        "observation_set_type": set_type,
        "describes_id": describes_id,
        "invalid": False,
        "dut_label": dut_label,
        "created_timestamp": stamp(created),
        "end_timestamp": stamp(created + timedelta(milliseconds=10 * len(observations))),
        "observations": rows,
    }


def _round_to(value: float, step: float) -> float:
    return round(value / step) * step


def _relative(rng: random.Random, value: float, fraction: float) -> float:
    return float(f"{value * fraction * rng.uniform(0.8, 1.2):.4g}")


def _uncertainty(rng: random.Random) -> float:
    return float(f"{rng.uniform(2e-5, 3e-4):.2g}")


def _float64_array(values: Sequence[float]) -> dict[str, Any]:
    """The wire form of a float64 ndarray value."""
    raw = struct.pack(f"<{len(values)}d", *values)
    return {
        "__ndarray__": "true",
        "data": base64.b64encode(raw).decode(),
        "dtype": "float64",
        "shape": [len(values)],
    }


def _noise_from_json(noise: Mapping[str, Any]) -> NoiseModel:
    def seconds(nanoseconds: float) -> float:
        return float(nanoseconds) / 1e9

    gates: dict[str, dict[tuple[str, ...], GateNoise]] = {}
    for op, table in noise["single_qubit_gate_depolarizing_error_parameters"].items():
        duration = seconds(noise["single_qubit_gate_durations_ns"][op])
        gates[op] = {(qubit,): GateNoise(duration, float(p)) for qubit, p in table.items()}
    for op, entries in noise["two_qubit_gate_depolarizing_error_parameters"].items():
        duration = seconds(noise["two_qubit_gate_durations_ns"][op])
        gates[op] = {tuple(entry["locus"]): GateNoise(duration, float(entry["p"])) for entry in entries}
    t1 = {c: seconds(t) for c, t in noise["t1_ns"].items()}
    return NoiseModel(
        t1=t1,
        t2={c: seconds(t) for c, t in noise["t2_ns"].items()},
        gates=gates,
        readout={q: ReadoutError(float(e["0"]), float(e["1"])) for q, e in noise["readout_errors"].items()},
        t2_echo={c: seconds(t) for c, t in noise.get("t2_echo_ns", {}).items()},
        measure_duration=_MEASURE_DURATION,
        reset_wait_duration=math.ceil(5 * max(t1.values()) * 1e6) * 1e-6,
    )


@functools.cache
def load_preset(name: str) -> Preset:
    """The preset called ``name`` (cached).

    Args:
        name: one of :data:`PRESET_NAMES`.

    Returns:
        The preset.

    Raises:
        ValueError: unknown name.
    """
    if name not in PRESET_NAMES:
        raise ValueError(f"unknown QPU preset {name!r}; known presets: {', '.join(PRESET_NAMES)}")
    data = json.loads((_DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    connectivity = sorted(
        (_sorted_components(pair) for pair in data["connectivity"]),
        key=lambda pair: tuple(component_sort_key(c) for c in pair),
    )
    return Preset(
        name=name,
        display_name=name.capitalize(),
        quantum_computer_id=str(uuid.uuid5(_UUID_NAMESPACE, f"{name}/quantum-computer")),
        dut_label=data["dut_label"],
        qubits=_sorted_components(data["qubits"]),
        computational_resonators=_sorted_components(data["computational_resonators"]),
        connectivity=tuple(connectivity),
        calibration_set_id=str(uuid.uuid5(_UUID_NAMESPACE, f"{name}/calibration-set")),
        quality_metric_set_id=str(uuid.uuid5(_UUID_NAMESPACE, f"{name}/quality-metric-set")),
        gate_loci={op: tuple(tuple(locus) for locus in gate["loci"]) for op, gate in data["gates"].items()},
        _noise=_noise_from_json(data["noise"]),
    )
