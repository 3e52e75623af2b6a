"""The observation finder: name parsing and the calibration/quality-metric queries."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
from reference_python import REFERENCE_MISSING, REFERENCE_PYTHON

from iqm_client_async._errors import IQMError
from iqm_client_async.calibration import (
    InvalidObservationError,
    ObservationFinder,
    UnknownObservationError,
    locus_str_to_locus,
    locus_to_locus_str,
    parse_observation_name,
)
from iqm_client_async.models import ObservationLite, ObservationSetWithObservations

QPU_DATA = Path(__file__).resolve().parents[1] / "iqm_client_async" / "emulator" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data" / "models"
QUBITS = [f"QB{i}" for i in range(1, 21)]


def load_set(name: str) -> ObservationSetWithObservations:
    return ObservationSetWithObservations.model_validate_json((QPU_DATA / name).read_bytes())


@pytest.fixture(scope="module")
def calibration() -> ObservationSetWithObservations:
    return load_set("garnet_calibration_set.json")


@pytest.fixture(scope="module")
def metrics() -> ObservationSetWithObservations:
    return load_set("garnet_quality_metric_set.json")


@pytest.fixture(scope="module")
def finder(
    calibration: ObservationSetWithObservations, metrics: ObservationSetWithObservations
) -> ObservationFinder:
    return ObservationFinder([*calibration.observations, *metrics.observations])


@pytest.fixture(scope="module")
def values(
    calibration: ObservationSetWithObservations, metrics: ObservationSetWithObservations
) -> dict[str, Any]:
    """dut_field without suffixes -> value, straight from the documents."""
    return {o.dut_field.split(":")[0]: o.value for o in [*calibration.observations, *metrics.observations]}


@pytest.fixture(scope="module")
def cz_loci() -> list[tuple[str, ...]]:
    preset = json.loads((QPU_DATA / "garnet.json").read_text())
    return [tuple(locus) for locus in preset["gates"]["cz"]["loci"]]


def observation(name: str, value: Any = 1.0, observation_id: int = 1) -> ObservationLite:
    return ObservationLite(
        dut_field=name,
        value=value,
        unit="",
        observation_id=observation_id,
        created_timestamp="2025-06-02T02:11:00Z",  # type: ignore[arg-type]
        modified_timestamp="2025-06-02T02:11:00Z",  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------- the Garnet example sets


def test_coherence_times_of_every_qubit(finder: ObservationFinder, values: dict[str, Any]) -> None:
    t1, t2 = finder.get_coherence_times(QUBITS)
    assert t1 == {q: values[f"characterization.model.{q}.t1_time"] for q in QUBITS}
    assert t2 == {q: values[f"characterization.model.{q}.t2_time"] for q in QUBITS}
    assert (t1["QB1"], t2["QB1"]) == (3.7741e-05, 9.18e-06)  # the reference's own answer
    assert finder.get_coherence_times(["QB1", "QB99"])[0] == {"QB1": 3.7741e-05}


def test_single_qubit_queries(finder: ObservationFinder, values: dict[str, Any]) -> None:
    for qubit in QUBITS:
        assert finder.get_qubit_frequency(qubit) == values[f"controllers.{qubit}.drive.frequency"]
        assert (
            finder.get_gate_duration("prx", "drag_gaussian", (qubit,))
            == values[f"gates.prx.drag_gaussian.{qubit}.duration"]
        )
        assert (
            finder.get_gate_duration("measure", "constant", (qubit,))
            == values[f"gates.measure.constant.{qubit}.duration"]
        )
        assert (
            finder.get_gate_fidelity("prx", "drag_gaussian", (qubit,))
            == values[f"metrics.rb.prx.drag_gaussian.{qubit}.fidelity"]
        )
        assert (
            finder.get_gate_fidelity("measure", "constant", (qubit,))
            == values[f"metrics.ssro.measure.constant.{qubit}.fidelity"]
        )
        assert finder.get_measure_errors("measure", "constant", (qubit,)) == (
            values[f"metrics.ssro.measure.constant.{qubit}.error_0_to_1"],
            values[f"metrics.ssro.measure.constant.{qubit}.error_1_to_0"],
        )
        assert (
            finder.get_measure_repeatability("measure", "constant", (qubit,))
            == values[f"metrics.qndness.measure.constant.{qubit}.repeatability"]
        )
    # spot checks against the numbers the reference finder returned for these files
    assert finder.get_qubit_frequency("QB1") == 4117340000.0
    assert finder.get_gate_fidelity("prx", "drag_gaussian", ("QB1",)) == 0.998762
    assert finder.get_gate_fidelity("measure", "constant", ("QB1",)) == 0.97425
    assert finder.get_measure_errors("measure", "constant", ("QB1",)) == (0.0255, 0.026)
    assert finder.get_measure_repeatability("measure", "constant", ("QB1",)) == 0.971916


def test_two_qubit_queries_for_every_coupler(
    finder: ObservationFinder, values: dict[str, Any], cz_loci: list[tuple[str, ...]]
) -> None:
    assert len(cz_loci) == 30
    for locus in cz_loci:
        name = "__".join(locus)
        assert finder.get_gate_duration("cz", "tgss", locus) == values[f"gates.cz.tgss.{name}.duration"]
        assert finder.get_gate_fidelity("cz", "tgss", locus) == values[f"metrics.irb.cz.tgss.{name}.fidelity"]
    assert finder.get_gate_fidelity("cz", "tgss", ("QB1", "QB2")) == 0.991905
    assert finder.get_gate_duration("cz", "tgss", ("QB8", "QB3")) == 4e-08


def test_loci_are_matched_in_order_and_missing_data_is_none(
    finder: ObservationFinder, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="iqm_client_async.calibration"):
        assert finder.get_gate_duration("cz", "tgss", ("QB3", "QB8")) is None
        assert finder.get_gate_fidelity("cz", "crf", ("QB1", "QB2")) is None
        assert finder.get_measure_errors("measure", "constant", ("QB99",)) is None
        assert finder.get_measure_repeatability("measure", "fast_constant", ("QB1",)) is None
        assert finder.get_qubit_frequency("QB99") is None
    assert "Missing duration for cz.tgss.QB3__QB8" in caplog.text
    assert "Missing fidelity for cz.crf.QB1__QB2" in caplog.text
    assert "Missing drive frequency for QB99." in caplog.text


@pytest.mark.skipif(not REFERENCE_PYTHON.exists(), reason=REFERENCE_MISSING)
def test_answers_equal_the_reference_finders(
    finder: ObservationFinder, cz_loci: list[tuple[str, ...]]
) -> None:
    script = r"""
import json, sys
from iqm.station_control.client.qon import ObservationFinder
from iqm.iqm_server_client.models import QualityMetricSet
cal_path, qm_path, qubits, cz_loci = json.load(sys.stdin)
cal = QualityMetricSet.model_validate_json(open(cal_path).read())
qm = QualityMetricSet.model_validate_json(open(qm_path).read())
f = ObservationFinder(cal.observations + qm.observations)
out = {"coherence": f.get_coherence_times(qubits)}
for q in qubits:
    out[q] = [f.get_qubit_frequency(q), f.get_gate_duration("prx", "drag_gaussian", (q,)),
              f.get_gate_fidelity("prx", "drag_gaussian", (q,)), f.get_gate_fidelity("measure", "constant", (q,)),
              f.get_measure_errors("measure", "constant", (q,)), f.get_measure_repeatability("measure", "constant", (q,))]
for locus in cz_loci:
    out["__".join(locus)] = [f.get_gate_duration("cz", "tgss", tuple(locus)), f.get_gate_fidelity("cz", "tgss", tuple(locus))]
print(json.dumps(out))
"""
    paths = [str(QPU_DATA / "garnet_calibration_set.json"), str(QPU_DATA / "garnet_quality_metric_set.json")]
    completed = subprocess.run(
        [str(REFERENCE_PYTHON), "-W", "ignore", "-c", script],
        input=json.dumps([*paths, QUBITS, cz_loci]),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    reference = json.loads(completed.stdout)
    ours: dict[str, Any] = {"coherence": list(finder.get_coherence_times(QUBITS))}
    for q in QUBITS:
        errors = finder.get_measure_errors("measure", "constant", (q,))
        ours[q] = [
            finder.get_qubit_frequency(q),
            finder.get_gate_duration("prx", "drag_gaussian", (q,)),
            finder.get_gate_fidelity("prx", "drag_gaussian", (q,)),
            finder.get_gate_fidelity("measure", "constant", (q,)),
            list(errors) if errors else None,
            finder.get_measure_repeatability("measure", "constant", (q,)),
        ]
    for locus in cz_loci:
        ours["__".join(locus)] = [
            finder.get_gate_duration("cz", "tgss", locus),
            finder.get_gate_fidelity("cz", "tgss", locus),
        ]
    assert ours == reference


# ---------------------------------------------------------------- names


def test_every_example_name_parses_and_builds_a_finder() -> None:
    names = [line for line in (TEST_DATA / "example_names.txt").read_text().splitlines() if line.strip()]
    assert len(names) >= 70
    for name in names:
        parsed = parse_observation_name(name)
        assert parsed.domain in {"metrics", "characterization", "controllers", "gates", "gate_definitions"}
    finder = ObservationFinder(observation(name, observation_id=i) for i, name in enumerate(names))
    assert finder.get_gate_fidelity("move", "crf_crf", ("QB1", "COMPR1")) == 1.0


def test_name_parts_and_suffixes() -> None:
    parsed = parse_observation_name("metrics.ssro.measure.constant.QB1.fidelity:par=d1:aaa=bbb")
    assert parsed.path == ("metrics", "ssro", "measure", "constant", "QB1", "fidelity")
    assert parsed.suffixes == {"par": "d1", "aaa": "bbb"}
    assert locus_to_locus_str(("QB1", "QB2")) == "QB1__QB2"
    assert locus_str_to_locus("QB1__COMPR1") == ("QB1", "COMPR1")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("QB1.t1_time", "QB1.t1_time: Unknown observation domain."),
        ("calibration.QB1.x.y", "Unknown observation domain"),
        ("metrics.rb.prx", "less than 4 parts"),
        ("characterization.other.x", "less than 4 parts"),
        ("controllers.QB1", "less than 3 parts"),
        ("gates.prx.drag_gaussian.QB1", "less than 5 parts"),
        ("gate_definitions.prx", "less than 3 parts"),
        ("metrics.rb.prx.drag_gaussian.QB1.fidelity:d2", "Invalid suffix: d2"),
        ("metrics.rb.prx.drag_gaussian.QB1.fidelity:a=b=c", "Invalid suffix"),
    ],
)
def test_unparseable_names_raise_an_iqm_error(name: str, message: str) -> None:
    with pytest.raises(UnknownObservationError, match=message) as caught:
        ObservationFinder([observation("controllers.QB1.drive.frequency"), observation(name)])
    assert isinstance(caught.value, IQMError)


def test_unparseable_names_can_be_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="iqm_client_async.calibration"):
        finder = ObservationFinder(
            [observation("QB1.t1_time"), observation("controllers.QB1.drive.frequency", 5e9)],
            skip_unparseable=True,
        )
    assert finder.get_qubit_frequency("QB1") == 5e9
    assert "QB1.t1_time" in caplog.text


def test_the_first_of_repeated_observations_wins(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="iqm_client_async.calibration"):
        finder = ObservationFinder(
            [
                observation("metrics.rb.prx.drag_gaussian.QB1.fidelity:par=d1", 0.99),
                observation("metrics.rb.prx.drag_gaussian.QB1.fidelity:par=d2", 0.98),
            ]
        )
    assert finder.get_gate_fidelity("prx", "drag_gaussian", ("QB1",)) == 0.99
    assert "Repeated observations" in caplog.text
    assert finder["metrics"]["rb"]["prx"]["drag_gaussian"]["QB1"]["fidelity"].value == 0.99


def test_values_that_are_not_numbers() -> None:
    finder = ObservationFinder(
        [
            observation("gates.prx.drag_gaussian.QB1.duration", "twenty nanoseconds"),
            observation("gates.cz.tgss.QB1__QB2.duration.extra", 1.0),
            observation("characterization.model.QB1.t1_time", "n/a"),
            observation("characterization.model.QB1.t2_time", 1e-5),
            observation("metrics.ssro.measure.constant.QB1.error_0_to_1", 0.01),
        ]
    )
    with pytest.raises(InvalidObservationError, match="cannot convert"):
        finder.get_gate_duration("prx", "drag_gaussian", ("QB1",))
    with pytest.raises(InvalidObservationError, match="does not end in an observation"):
        finder.get_gate_duration("cz", "tgss", ("QB1", "QB2"))
    assert finder.get_coherence_times(["QB1"]) == ({}, {"QB1": 1e-5})
    assert finder.get_measure_errors("measure", "constant", ("QB1",)) is None  # only one of the two errors


def test_no_characterization_at_all(caplog: pytest.LogCaptureFixture) -> None:
    finder = ObservationFinder([observation("controllers.QB1.drive.frequency")])
    with caplog.at_level(logging.WARNING, logger="iqm_client_async.calibration"):
        assert finder.get_coherence_times(["QB1"]) == ({}, {})
    assert "characterization.model" in caplog.text
