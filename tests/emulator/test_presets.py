"""QPU presets: architecture, calibration documents and noise agree with the source data and the reference."""

from __future__ import annotations

import json
import math
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from reference_python import REFERENCE_MISSING, REFERENCE_PYTHON

from iqm_client_async.calibration import ObservationFinder
from iqm_client_async.emulator.noise import NoiseModel
from iqm_client_async.emulator.presets import DEFAULT_PRESET, PRESET_NAMES, Preset, load_preset
from iqm_client_async.models import ObservationSetWithObservations

DATA = Path(__file__).parents[2] / "iqm_client_async" / "emulator" / "data"

QON_PATTERN = re.compile(
    r"^(controllers|gates|characterization|metrics|gate_definitions)\.[^:]+(:[^:=]+=[^:=]+)*$"
)
MIN_PARTS = {"controllers": 3, "gates": 5, "characterization": 4, "metrics": 4, "gate_definitions": 3}


def source(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return data


@pytest.fixture(params=PRESET_NAMES)
def preset(request: pytest.FixtureRequest) -> Preset:
    return load_preset(request.param)


def observations(document: dict[str, Any]) -> dict[str, Any]:
    return {o["dut_field"].split(":")[0]: o["value"] for o in document["observations"]}


def test_load_preset_is_cached_and_rejects_unknown_names() -> None:
    assert load_preset("garnet") is load_preset("garnet")
    assert DEFAULT_PRESET == "garnet"
    with pytest.raises(ValueError, match="adonis, apollo, garnet, aphrodite, deneb"):
        load_preset("crystal")


def test_identifiers_are_stable_distinct_uuids() -> None:
    ids = [
        (
            load_preset(n).quantum_computer_id,
            load_preset(n).calibration_set_id,
            load_preset(n).quality_metric_set_id,
        )
        for n in PRESET_NAMES
    ]
    flat = [i for triple in ids for i in triple]
    assert len(set(flat)) == len(flat)
    for value in flat:
        uuid.UUID(value)
    # uuid5: the same on every run and machine
    assert load_preset("garnet").calibration_set_id == "72c3139d-363b-5ef2-88a6-c345d0051752"


def test_static_architecture_matches_the_source(preset: Preset) -> None:
    data = source(preset.name)
    sqa = preset.static_architecture()
    assert sqa["dut_label"] == data["dut_label"]
    assert sorted(sqa["qubits"]) == sorted(data["qubits"])
    assert sqa["qubits"] == sorted(sqa["qubits"], key=lambda q: int(q[2:]))
    assert sqa["computational_resonators"] == data["computational_resonators"]
    assert {frozenset(p) for p in sqa["connectivity"]} == {frozenset(p) for p in data["connectivity"]}
    assert len(sqa["connectivity"]) == len(data["connectivity"])
    json.dumps(sqa)


def test_dynamic_architecture_lists_every_gate_on_the_source_loci(preset: Preset) -> None:
    data = source(preset.name)
    dqa = preset.dynamic_architecture()
    assert dqa["calibration_set_id"] == preset.calibration_set_id
    expected = {"prx", "cz", "measure", "cc_prx", "reset_wait"} | (
        {"move"} if preset.name == "deneb" else set()
    )
    assert set(dqa["gates"]) == expected
    implementations = {"prx": "drag_gaussian", "cz": "tgss", "measure": "constant", "cc_prx": "prx_composite"}
    implementations |= {"reset_wait": "reset_wait", "move": "tgss_crf"}
    for op, gate in dqa["gates"].items():
        assert gate["default_implementation"] == implementations[op]
        assert list(gate["implementations"]) == [implementations[op]]
        assert gate["override_default_implementation"] == {}
        loci = gate["implementations"][implementations[op]]["loci"]
        if op in data["gates"]:
            assert loci == data["gates"][op]["loci"]
        else:
            assert loci == [[q] for q in dqa["qubits"]]
    in_loci = {
        c
        for gate in dqa["gates"].values()
        for impl in gate["implementations"].values()
        for locus in impl["loci"]
        for c in locus
    }
    assert in_loci == set(dqa["qubits"]) | set(dqa["computational_resonators"])
    json.dumps(dqa)


def test_deneb_is_a_star_around_its_computational_resonator() -> None:
    deneb = load_preset("deneb")
    assert deneb.computational_resonators == ("CR1",)
    move = deneb.dynamic_architecture()["gates"]["move"]["implementations"]["tgss_crf"]["loci"]
    assert move == [[f"QB{n}", "CR1"] for n in range(1, 7)]
    assert all("CR1" in pair for pair in deneb.connectivity)


def test_duts_and_chip_design_record(preset: Preset) -> None:
    assert preset.duts() == [{"label": preset.dut_label, "dut_type": "chip"}]
    record = preset.chip_design_record()
    assert record["cheddar"] == {"chip_label": preset.dut_label}
    components = record["content"]["components"]
    assert [q["name"] for q in components["qubit"]] == list(preset.qubits)
    coupled = {frozenset(c["connections"]) for c in components["tunable_coupler"]}
    assert coupled == {frozenset(p) for p in preset.connectivity}
    probed = sorted(q for line in components["probe_line"] for q in line["connections"])
    assert probed == sorted(preset.qubits)


def test_probe_lines_are_runs_of_about_five_consecutive_qubits(preset: Preset) -> None:
    lines = preset.probe_lines()
    assert list(lines) == [f"PL-{k}" for k in range(1, len(lines) + 1)]
    assert len(lines) == math.ceil(len(preset.qubits) / 5)
    assert [q for qubits in lines.values() for q in qubits] == list(preset.qubits)
    sizes = [len(qubits) for qubits in lines.values()]
    assert max(sizes) - min(sizes) <= 1


def test_garnet_has_four_feedback_groups_of_five() -> None:
    awg, readout = load_preset("garnet").channel_properties()
    assert readout == ["PL-1__readout", "PL-2__readout", "PL-3__readout", "PL-4__readout"]
    assert len(awg) == 20
    assert awg["QB1__drive.awg"] == ["PL-1__readout"]
    assert awg["QB5__drive.awg"] == ["PL-1__readout"]
    assert awg["QB6__drive.awg"] == ["PL-2__readout"]
    assert awg["QB20__drive.awg"] == ["PL-4__readout"]


def test_channel_properties_cover_every_qubit_with_known_sources(preset: Preset) -> None:
    awg, readout = preset.channel_properties()
    assert set(awg) == {f"{q}__drive.awg" for q in preset.qubits}
    assert all(len(sources) == 1 and sources[0] in readout for sources in awg.values())
    assert all(re.fullmatch(r"PL-\d+__readout", channel) for channel in readout)


def test_observation_names_follow_the_finder_rules(preset: Preset) -> None:
    for document in (preset.calibration_set(), preset.quality_metric_set()):
        names = [o["dut_field"] for o in document["observations"]]
        assert len(set(names)) == len(names)
        for name in names:
            assert QON_PATTERN.match(name), name
            domain = name.split(".")[0]
            assert len(name.split(":")[0].split(".")) >= MIN_PARTS[domain], name
            assert "=" not in name.split(":", 1)[0]


def test_observation_sets_have_the_wire_shape(preset: Preset) -> None:
    calibration, quality = preset.calibration_set(), preset.quality_metric_set()
    assert calibration["observation_set_type"] == "calibration-set"
    assert calibration["observation_set_id"] == preset.calibration_set_id
    assert quality["observation_set_type"] == "quality-metric-set"
    assert quality["describes_id"] == preset.calibration_set_id
    ids = [o["observation_id"] for d in (calibration, quality) for o in d["observations"]]
    assert len(set(ids)) == len(ids)
    for document in (calibration, quality):
        assert document["dut_label"] == preset.dut_label
        text = json.dumps(document, allow_nan=False)
        assert json.loads(text) == document
        for observation in document["observations"]:
            assert set(observation) == {
                "observation_id", "dut_field", "value", "unit", "uncertainty", "invalid",
                "created_timestamp", "modified_timestamp",
            }  # fmt: skip
            assert observation["unit"] in {"", "s", "Hz", "V", "rad"}
            assert observation["invalid"] is False


def test_every_dqa_locus_has_duration_and_fidelity(preset: Preset) -> None:
    values = observations(preset.calibration_set()) | observations(preset.quality_metric_set())
    dqa = preset.dynamic_architecture()
    method = {"prx": "rb", "measure": "ssro", "cz": "irb", "move": "irb"}
    for op in ("prx", "cz", "move", "measure"):
        if op not in dqa["gates"]:
            continue
        impl = dqa["gates"][op]["default_implementation"]
        for locus in dqa["gates"][op]["implementations"][impl]["loci"]:
            locus_str = "__".join(locus)
            assert values[f"gates.{op}.{impl}.{locus_str}.duration"] > 0
            assert 0.9 < values[f"metrics.{method[op]}.{op}.{impl}.{locus_str}.fidelity"] <= 1.0
    for qubit in dqa["qubits"]:
        assert 4e9 <= values[f"controllers.{qubit}.drive.frequency"] <= 4.6e9
        assert values[f"characterization.model.{qubit}.t1_time"] > 0
        assert values[f"characterization.model.{qubit}.t2_time"] > 0
        assert 0.8 < values[f"metrics.qndness.measure.constant.{qubit}.repeatability"] <= 1


def test_published_numbers_follow_the_noise_model(preset: Preset) -> None:
    noise = preset.noise_model()
    values = observations(preset.calibration_set()) | observations(preset.quality_metric_set())
    data = source(preset.name)["noise"]
    for qubit in preset.qubits:
        assert values[f"characterization.model.{qubit}.t1_time"] == pytest.approx(data["t1_ns"][qubit] * 1e-9)
        assert values[f"characterization.model.{qubit}.t2_time"] == pytest.approx(data["t2_ns"][qubit] * 1e-9)
        echo = values[f"characterization.model.{qubit}.t2_echo_time"]
        assert (
            echo == pytest.approx(data["t2_echo_ns"][qubit] * 1e-9) == pytest.approx(noise.echo_time(qubit))
        )
        assert min(noise.t2[qubit], 2 * noise.t1[qubit]) <= echo <= 2 * noise.t1[qubit]
        error = noise.readout_error(qubit)
        assert (
            values[f"metrics.ssro.measure.constant.{qubit}.error_0_to_1"]
            == data["readout_errors"][qubit]["0"]
        )
        assert values[f"metrics.ssro.measure.constant.{qubit}.error_1_to_0"] == error.p0_given_1
        fidelity = values[f"metrics.rb.prx.drag_gaussian.{qubit}.fidelity"]
        duration = data["single_qubit_gate_durations_ns"]["prx"] * 1e-9
        lam = data["single_qubit_gate_depolarizing_error_parameters"]["prx"][qubit]
        t1, t2 = noise.t1[qubit], noise.t2[qubit]
        relax = (1 + math.exp(-duration / t1) + 2 * math.exp(-duration / t2)) / 4
        assert fidelity == pytest.approx((2 * ((1 - lam) * relax + lam / 4) + 1) / 3, abs=1e-6)
        assert values[f"gates.prx.drag_gaussian.{qubit}.duration"] == pytest.approx(duration)


def test_noise_model_mirrors_the_source(preset: Preset) -> None:
    noise = preset.noise_model()
    data = source(preset.name)["noise"]
    assert isinstance(noise, NoiseModel)
    assert set(noise.t1) == set(data["t1_ns"])
    for entry in data["two_qubit_gate_depolarizing_error_parameters"]["cz"]:
        locus = tuple(entry["locus"])
        gate = noise.gate_noise("cz", locus)
        assert gate is not None
        assert gate.depolarizing == entry["p"]
        assert noise.gate_noise("cz", locus[::-1]) == gate
        assert gate.duration == pytest.approx(data["two_qubit_gate_durations_ns"]["cz"] * 1e-9)
    qubit = preset.qubits[0]
    assert noise.gate_noise("cc_prx", (qubit,)) == noise.gate_noise("prx", (qubit,))
    assert noise.gate_noise("rz", (qubit,)) is None


def test_generated_garnet_numbers_match_the_verified_garnet_files() -> None:
    """The shipped Garnet sets were verified against the reference stack; ours must carry the same physics."""
    garnet = load_preset("garnet")
    ours = observations(garnet.calibration_set()) | observations(garnet.quality_metric_set())
    shipped: dict[str, Any] = {}
    for file in ("garnet_calibration_set.json", "garnet_quality_metric_set.json"):
        shipped |= observations(json.loads((DATA / file).read_text()))
    physics = [
        n
        for n in shipped
        if re.search(r"(t1_time|t2_time|t2_echo_time|\.fidelity|error_\d_to_\d|\.duration)$", n)
    ]
    assert len(physics) == 260
    for name in physics:
        assert ours[name] == pytest.approx(shipped[name], rel=2e-6, abs=1e-12), name


def test_the_finder_answers_for_the_published_echo_times(preset: Preset) -> None:
    quality = ObservationSetWithObservations.model_validate(preset.quality_metric_set())
    finder = ObservationFinder(quality.observations)
    noise = preset.noise_model()
    echo = finder.get_t2_echo_times([*preset.qubits, "QB999"])
    assert echo == {qubit: pytest.approx(noise.t2_echo[qubit]) for qubit in preset.qubits}


def test_idle_dephasing_splits_ramsey_t2_into_quasi_static_and_white_parts(preset: Preset) -> None:
    noise = preset.noise_model()
    for qubit in preset.qubits:
        t1, t2 = noise.t1[qubit], min(noise.t2[qubit], 2 * noise.t1[qubit])
        white = 1 / noise.echo_time(qubit) - 1 / (2 * t1)
        # Ramsey: damping + white + quasi-static rates add up to 1/T2; an echo removes the quasi-static one.
        assert 1 / (2 * t1) + white + noise.quasi_static_width(qubit) == pytest.approx(1 / t2)
        idle = noise.idle_relaxation(qubit, 1e-6)
        assert idle is not None
        assert idle.phase_flip == pytest.approx(-math.expm1(-1e-6 * white) / 2)


def test_documents_are_deterministic() -> None:
    apollo = load_preset("apollo")
    assert apollo.calibration_set() == apollo.calibration_set()
    assert apollo.quality_metric_set() == apollo.quality_metric_set()


REFERENCE_CHECK = r"""
import json, logging, sys, warnings
from exa.common.qcm_data.chip_topology import ChipTopology
from iqm.station_control.client.qon import QON, ObservationFinder
from iqm.station_control.interface.models import (
    DutData, DynamicQuantumArchitecture, ObservationSetWithObservations, StaticQuantumArchitecture,
)

warnings.simplefilter("error")
logging.disable(logging.CRITICAL)
report = {}
for name, docs in json.load(sys.stdin).items():
    dqa = DynamicQuantumArchitecture.model_validate(docs["dqa"])
    sqa = StaticQuantumArchitecture.model_validate(docs["sqa"])
    duts = [DutData.model_validate(d) for d in docs["duts"]]
    calibration = ObservationSetWithObservations.model_validate(docs["calibration"])
    quality = ObservationSetWithObservations.model_validate(docs["quality"])
    every = calibration.observations + quality.observations
    for observation in every:
        QON.from_str(observation.dut_field)
    finder = ObservationFinder(every, skip_unparseable=False)
    topology = ChipTopology.from_chip_design_record(docs["chip_design_record"])
    missing = []
    fidelities = {}
    for gate in ("prx", "cz", "move", "measure"):
        if gate not in dqa.gates:
            continue
        for locus in dqa.gates[gate].loci:
            impl = dqa.gates[gate].get_default_implementation(locus)
            duration = finder.get_gate_duration(gate, impl, locus)
            fidelity = finder.get_gate_fidelity(gate, impl, locus)
            if duration is None or fidelity is None:
                missing.append([gate, list(locus)])
            fidelities["__".join((gate, *locus))] = fidelity
    for qubit in dqa.qubits:
        if finder.get_measure_errors("measure", "constant", (qubit,)) is None:
            missing.append(["errors", qubit])
        if finder.get_measure_repeatability("measure", "constant", (qubit,)) is None:
            missing.append(["repeatability", qubit])
        if finder.get_qubit_frequency(qubit) is None:
            missing.append(["frequency", qubit])
    t1, t2 = finder.get_coherence_times(dqa.components)
    report[name] = {
        "components": list(dqa.components),
        "sqa_qubits": sqa.qubits,
        "dut": duts[0].label,
        "describes": str(quality.describes_id),
        "missing": missing,
        "t1": t1,
        "t2": t2,
        "fidelities": fidelities,
        "topology_qubits": list(topology.qubits_sorted),
        "probe_lines": {line: list(c) for line, c in topology.probe_line_to_components.items()},
    }
print(json.dumps(report))
"""


@pytest.mark.skipif(not REFERENCE_PYTHON.exists(), reason=REFERENCE_MISSING)
def test_reference_stack_accepts_every_preset() -> None:
    documents = {
        name: {
            "dqa": (p := load_preset(name)).dynamic_architecture(),
            "sqa": p.static_architecture(),
            "duts": p.duts(),
            "calibration": p.calibration_set(),
            "quality": p.quality_metric_set(),
            "chip_design_record": p.chip_design_record(),
        }
        for name in PRESET_NAMES
    }
    completed = subprocess.run(
        [str(REFERENCE_PYTHON), "-c", REFERENCE_CHECK],
        input=json.dumps(documents),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    for name in PRESET_NAMES:
        preset, result = load_preset(name), report[name]
        assert result["missing"] == []
        assert result["sqa_qubits"] == list(preset.qubits)
        assert result["dut"] == preset.dut_label
        assert result["describes"] == preset.calibration_set_id
        assert result["topology_qubits"] == list(preset.qubits)
        assert set(result["probe_lines"]) == set(preset.probe_lines())
        assert set(result["t1"]) == set(result["components"])
        noise = preset.noise_model()
        assert result["t1"] == pytest.approx({c: noise.t1[c] for c in result["components"]})
        for locus in preset.gate_loci["cz"]:
            assert result["fidelities"]["__".join(("cz", *locus))] == preset.gate_fidelity("cz", locus)
