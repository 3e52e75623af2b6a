"""Wire models: request JSON equal to the reference's, response parsing, architecture helpers, values."""

from __future__ import annotations

import base64
import json
import math
import struct
import subprocess
import uuid
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pydantic
import pytest
from reference_python import REFERENCE_MISSING, REFERENCE_PYTHON

import iqm_client_async.models as models
from iqm_client_async.models import (
    STANDARD_DD_STRATEGY,
    Circuit,
    CircuitCompilationOptions,
    CircuitJobParameters,
    CircuitMeasurementCounts,
    CircuitOperation,
    DDMode,
    DDStrategy,
    DynamicQuantumArchitecture,
    GateImplementationInfo,
    GateInfo,
    HeraldingMode,
    IQMServerError,
    JobData,
    JobStatus,
    ListQuantumComputersResponse,
    MoveGateFrameTrackingMode,
    MoveGateValidationMode,
    NDArrayValue,
    ObservationLite,
    ObservationSetWithObservations,
    PostJobsRequest,
    QuantumComputer,
    RunRequest,
    StaticQuantumArchitecture,
    serialize_run_request,
)

QPU_DATA = Path(__file__).resolve().parents[1] / "iqm_client_async" / "emulator" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data" / "models"
HALF_PI = math.pi / 2

# ---------------------------------------------------------------- RunRequest examples (§2.1, verbatim)

EXAMPLE_1 = """
{
  "circuits": [
    {
      "name": "bell",
      "instructions": [
        {"name": "prx", "locus": ["QB1"], "args": {"angle": 1.5707963267948966, "phase": 1.5707963267948966}, "implementation": null},
        {"name": "prx", "locus": ["QB2"], "args": {"angle": 1.5707963267948966, "phase": 1.5707963267948966}, "implementation": null},
        {"name": "cz", "locus": ["QB1", "QB2"], "args": {}, "implementation": null},
        {"name": "prx", "locus": ["QB2"], "args": {"angle": 1.5707963267948966, "phase": 4.71238898038469}, "implementation": null},
        {"name": "barrier", "locus": ["QB1", "QB2"], "args": {}, "implementation": null},
        {"name": "measure", "locus": ["QB1", "QB2"], "args": {"key": "m"}, "implementation": null}
      ],
      "metadata": {"experiment": "bell"}
    },
    {
      "name": "feedback",
      "instructions": [
        {"name": "prx", "locus": ["QB1"], "args": {"angle": 1.5707963267948966, "phase": 0.0}, "implementation": null},
        {"name": "measure", "locus": ["QB1"], "args": {"key": "mid", "feedback_key": "fb"}, "implementation": null},
        {
          "name": "cc_prx",
          "locus": ["QB2"],
          "args": {"angle": 3.141592653589793, "phase": 0.0, "feedback_qubit": "QB1", "feedback_key": "fb"},
          "implementation": null
        },
        {"name": "delay", "locus": ["QB2"], "args": {"duration": 8e-08}, "implementation": null},
        {"name": "reset", "locus": ["QB1"], "args": {}, "implementation": null},
        {"name": "measure", "locus": ["QB2"], "args": {"key": "final"}, "implementation": null}
      ],
      "metadata": null
    }
  ],
  "calibration_set_id": null,
  "qubit_mapping": null,
  "shots": 1000,
  "max_circuit_duration_over_t2": null,
  "heralding_mode": "none",
  "move_gate_validation": "strict",
  "move_gate_frame_tracking": "full",
  "active_reset_cycles": null,
  "dd_mode": "disabled",
  "dd_strategy": null,
  "move_validation_mode": "strict",
  "move_gate_frame_tracking_mode": "full"
}
"""

EXAMPLE_2 = """
{
  "circuits": [
    {
      "name": "ghz",
      "instructions": [
        {"name": "prx", "locus": ["a"], "args": {"angle": 1.5707963267948966, "phase": 1.5707963267948966}, "implementation": null},
        {"name": "cz", "locus": ["a", "b"], "args": {}, "implementation": "tgss"},
        {"name": "measure", "locus": ["a", "b"], "args": {"key": "m"}, "implementation": null}
      ],
      "metadata": null
    }
  ],
  "calibration_set_id": "cd4dd889-b88b-4370-ba01-eb8262ad9c53",
  "qubit_mapping": [{"logical_name": "a", "physical_name": "QB1"}, {"logical_name": "b", "physical_name": "QB2"}],
  "shots": 100,
  "max_circuit_duration_over_t2": 0.0,
  "heralding_mode": "zeros",
  "move_gate_validation": "strict",
  "move_gate_frame_tracking": "full",
  "active_reset_cycles": 1,
  "dd_mode": "enabled",
  "dd_strategy": {
    "merge_contiguous_waits": true,
    "target_qubits": null,
    "skip_leading_wait": true,
    "skip_trailing_wait": true,
    "gate_sequences": [[9, "XYXYYXYX", "asap"], [5, "YXYX", "asap"], [2, "XX", "center"]]
  },
  "move_validation_mode": "strict",
  "move_gate_frame_tracking_mode": "full"
}
"""


def example_1_circuits() -> list[Circuit]:
    bell = Circuit(
        "bell",
        (
            CircuitOperation("prx", ("QB1",), {"angle": HALF_PI, "phase": HALF_PI}),
            CircuitOperation("prx", ("QB2",), {"angle": HALF_PI, "phase": HALF_PI}),
            CircuitOperation("cz", ("QB1", "QB2")),
            CircuitOperation("prx", ("QB2",), {"angle": HALF_PI, "phase": 3 * HALF_PI}),
            CircuitOperation("barrier", ("QB1", "QB2")),
            CircuitOperation("measure", ("QB1", "QB2"), {"key": "m"}),
        ),
        {"experiment": "bell"},
    )
    # A list of instructions is accepted as well as a tuple.
    feedback = Circuit(
        name="feedback",
        instructions=[
            CircuitOperation(name="prx", locus=("QB1",), args={"angle": HALF_PI, "phase": 0.0}),
            CircuitOperation("measure", ("QB1",), {"key": "mid", "feedback_key": "fb"}),
            CircuitOperation(
                "cc_prx",
                ("QB2",),
                {"angle": math.pi, "phase": 0.0, "feedback_qubit": "QB1", "feedback_key": "fb"},
            ),
            CircuitOperation("delay", ("QB2",), {"duration": 8e-08}),
            CircuitOperation("reset", ("QB1",)),
            CircuitOperation("measure", ("QB2",), {"key": "final"}),
        ],
    )
    return [bell, feedback]


def example_2_circuits() -> list[Circuit]:
    return [
        Circuit(
            "ghz",
            (
                CircuitOperation("prx", ("a",), {"angle": HALF_PI, "phase": HALF_PI}),
                CircuitOperation("cz", ("a", "b"), implementation="tgss"),
                CircuitOperation("measure", ("a", "b"), {"key": "m"}),
            ),
        )
    ]


EXAMPLE_2_OPTIONS = CircuitCompilationOptions(
    max_circuit_duration_over_t2=0.0,
    heralding_mode=HeraldingMode.ZEROS,
    active_reset_cycles=1,
    dd_mode=DDMode.ENABLED,
    dd_strategy=STANDARD_DD_STRATEGY,
)


def example_2_request() -> PostJobsRequest:
    return PostJobsRequest.from_validated(
        example_2_circuits(),
        qubit_mapping={"a": "QB1", "b": "QB2"},
        calibration_set_id=uuid.UUID("cd4dd889-b88b-4370-ba01-eb8262ad9c53"),
        shots=100,
        options=EXAMPLE_2_OPTIONS,
    )


def test_example_1_serializes_exactly_as_the_reference() -> None:
    request = PostJobsRequest.from_validated(example_1_circuits(), shots=1000)
    body = serialize_run_request(request)
    assert json.loads(body) == json.loads(EXAMPLE_1)
    assert list(json.loads(body)) == list(json.loads(EXAMPLE_1))  # same key order, all 13 keys


def test_example_2_serializes_exactly_as_the_reference() -> None:
    body = serialize_run_request(example_2_request())
    assert json.loads(body) == json.loads(EXAMPLE_2)


def test_fast_serializer_agrees_with_the_model_dump() -> None:
    for request in (PostJobsRequest.from_validated(example_1_circuits(), shots=1000), example_2_request()):
        assert json.loads(serialize_run_request(request)) == json.loads(request.model_dump_json())


def test_instructions_serialize_with_the_wire_key_order() -> None:
    request = PostJobsRequest.from_validated(example_2_circuits())
    instruction = json.loads(serialize_run_request(request))["circuits"][0]["instructions"][1]
    assert list(instruction) == ["name", "locus", "args", "implementation"]


def test_qir_strings_pass_through_unvalidated() -> None:
    qir = "; ModuleID = 'bell'\n@0 = internal constant [3 x i8] c\"r0\\00\"\n"
    request = PostJobsRequest.from_validated([qir, *example_2_circuits()], shots=3)
    circuits = json.loads(serialize_run_request(request))["circuits"]
    assert circuits[0] == qir
    assert circuits[1]["name"] == "ghz"


def test_non_ascii_names_and_nan_arguments_round_trip() -> None:
    circuit = Circuit("Bell-ψ 量子", (CircuitOperation("prx", ("QB1",), {"angle": math.nan, "phase": 0.0}),))
    body = serialize_run_request(PostJobsRequest.from_validated([circuit]))
    assert "Bell-ψ 量子".encode() in body
    assert b'"angle":NaN' in body  # like the reference (ser_json_inf_nan="constants")
    parsed = PostJobsRequest.from_payload_json(body)
    assert parsed.circuits[0].name == "Bell-ψ 量子"  # type: ignore[union-attr]


def test_qubit_mapping_accepts_dict_and_legacy_list_and_sends_the_list() -> None:
    legacy = [{"logical_name": "a", "physical_name": "QB2"}, {"logical_name": "b", "physical_name": "QB1"}]
    from_dict = PostJobsRequest(circuits=[], qubit_mapping={"a": "QB2", "b": "QB1"})
    from_list = PostJobsRequest.model_validate({"circuits": [], "qubit_mapping": legacy})
    assert from_dict.qubit_mapping == from_list.qubit_mapping == {"a": "QB2", "b": "QB1"}
    assert json.loads(serialize_run_request(from_list))["qubit_mapping"] == legacy
    with pytest.raises(pydantic.ValidationError, match="logical_name"):
        PostJobsRequest.model_validate({"circuits": [], "qubit_mapping": [{"logical": "a"}]})


def test_deprecated_option_names_are_accepted_and_the_current_name_wins() -> None:
    old = PostJobsRequest.model_validate(
        {"circuits": [], "move_validation_mode": "allow_prx", "move_gate_frame_tracking_mode": "none"}
    )
    assert old.move_gate_validation is MoveGateValidationMode.ALLOW_PRX
    assert old.move_gate_frame_tracking is MoveGateFrameTrackingMode.NONE
    both = PostJobsRequest.model_validate(
        {"circuits": [], "move_gate_validation": "none", "move_validation_mode": "allow_prx"}
    )
    assert both.move_gate_validation is MoveGateValidationMode.NONE
    assert json.loads(serialize_run_request(both))["move_validation_mode"] == "none"


def test_request_model_is_strict() -> None:
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        PostJobsRequest.model_validate({"circuits": [], "shotz": 3})
    with pytest.raises(pydantic.ValidationError, match="greater than 0"):
        PostJobsRequest(circuits=[], shots=0)
    with pytest.raises(pydantic.ValidationError, match="Input should be 'none' or 'zeros'"):
        PostJobsRequest.from_validated(
            [],
            options=CircuitCompilationOptions(heralding_mode="sometimes"),  # type: ignore[arg-type]
        )
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        DDStrategy.model_validate({"gate_sequences": [], "merge_waits": True})


def test_stored_payload_parses_back_into_circuits_and_parameters() -> None:
    stored = json.loads(EXAMPLE_2)
    stored["added_by_a_newer_server"] = {"x": 1}
    request = PostJobsRequest.from_payload_json(json.dumps(stored))
    circuits, parameters = request.split_payload()
    assert circuits == example_2_circuits()
    assert isinstance(circuits[0], Circuit)
    assert isinstance(circuits[0].instructions[1], CircuitOperation)
    assert parameters == CircuitJobParameters(
        shots=100,
        calibration_set_id=uuid.UUID("cd4dd889-b88b-4370-ba01-eb8262ad9c53"),
        qubit_mapping={"a": "QB1", "b": "QB2"},
        max_circuit_duration_over_t2=0.0,
        heralding_mode=HeraldingMode.ZEROS,
        active_reset_cycles=1,
        dd_mode=DDMode.ENABLED,
        dd_strategy=STANDARD_DD_STRATEGY,
    )
    # and the re-serialized body is the one that was stored
    assert json.loads(serialize_run_request(request)) == json.loads(EXAMPLE_2)


def test_validating_a_request_does_not_change_the_callers_circuits() -> None:
    circuit = Circuit("c", [CircuitOperation("measure", ("QB1",), {"key": "m"})])
    request = PostJobsRequest(circuits=[circuit])
    assert isinstance(circuit.instructions, list)
    assert request.circuits[0] == Circuit("c", (CircuitOperation("measure", ("QB1",), {"key": "m"}),))


def test_run_request_is_the_post_jobs_request() -> None:
    assert RunRequest is PostJobsRequest


# ---------------------------------------------------------------- the reference, run in its own venv

_REFERENCE_SCRIPT = r"""
import json, sys, uuid
from iqm.pulse.builder import CircuitOperation
from iqm.pulse.circuit_operations import Circuit
from iqm.station_control.interface.models.circuit import PostJobsRequest, DDStrategy

out = []
for case in json.load(sys.stdin):
    circuits = [
        c if isinstance(c, str) else Circuit(
            name=c["name"],
            instructions=tuple(CircuitOperation(**i) for i in c["instructions"]),
            metadata=c["metadata"],
        )
        for c in case.pop("circuits")
    ]
    if case.get("dd_strategy") is not None:
        case["dd_strategy"] = DDStrategy(**case["dd_strategy"])
    out.append(PostJobsRequest(circuits=circuits, **case).model_dump_json())
print(json.dumps(out))
"""


def _reference_cases() -> list[tuple[dict[str, Any], PostJobsRequest]]:
    """(reference constructor input, our request) pairs covering every field."""
    custom_dd = DDStrategy(
        merge_contiguous_waits=False,
        target_qubits=frozenset({"QB3"}),
        skip_trailing_wait=False,
        gate_sequences=[(4, [(math.pi, 0.0), (math.pi, HALF_PI)], "alap"), (2, "XX", "center")],
    )
    options = CircuitCompilationOptions(
        max_circuit_duration_over_t2=2.5,
        move_gate_validation=MoveGateValidationMode.ALLOW_PRX,
        move_gate_frame_tracking=MoveGateFrameTrackingMode.NO_DETUNING_CORRECTION,
        active_reset_cycles=0,
        dd_mode=DDMode.ENABLED,
        dd_strategy=custom_dd,
    )
    ours = [
        PostJobsRequest.from_validated(example_1_circuits(), shots=1000),
        example_2_request(),
        PostJobsRequest.from_validated(
            ["qir program", *example_2_circuits()],
            qubit_mapping={"b": "QB7", "a": "QB3"},
            shots=7,
            options=options,
        ),
    ]
    cases = []
    for request in ours:
        reference_input = json.loads(request.model_dump_json())
        reference_input["qubit_mapping"] = request.qubit_mapping
        for deprecated in ("move_validation_mode", "move_gate_frame_tracking_mode"):
            del reference_input[deprecated]
        cases.append((reference_input, request))
    return cases


@pytest.mark.skipif(not REFERENCE_PYTHON.exists(), reason=REFERENCE_MISSING)
def test_bodies_equal_the_reference_clients_own_json() -> None:
    cases = _reference_cases()
    completed = subprocess.run(
        [str(REFERENCE_PYTHON), "-W", "ignore", "-c", _REFERENCE_SCRIPT],
        input=json.dumps([case for case, _ in cases]),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    reference_bodies = json.loads(completed.stdout)
    assert json.loads(reference_bodies[0]) == json.loads(EXAMPLE_1)
    assert json.loads(reference_bodies[1]) == json.loads(EXAMPLE_2)
    for reference_body, (_, request) in zip(reference_bodies, cases, strict=True):
        assert json.loads(serialize_run_request(request)) == json.loads(reference_body)


# ---------------------------------------------------------------- circuits and options


def test_circuit_operation_positional_keyword_defaults_and_frozen() -> None:
    positional = CircuitOperation("prx", ("QB1",), {"angle": 1.0, "phase": 0.0}, "drag_crf")
    keyword = CircuitOperation(
        name="prx", locus=("QB1",), args={"angle": 1.0, "phase": 0.0}, implementation="drag_crf"
    )
    assert positional == keyword
    bare = CircuitOperation("cz", ("QB1", "QB2"))
    assert bare.args == {} and bare.implementation is None
    assert bare.args is not CircuitOperation("cz", ("QB1", "QB2")).args
    with pytest.raises(FrozenInstanceError):
        bare.name = "move"  # type: ignore[misc]


def test_circuit_lists_its_components() -> None:
    circuit = example_1_circuits()[0]
    assert circuit.metadata == {"experiment": "bell"}
    assert circuit.all_locus_components() == {"QB1", "QB2"}
    assert Circuit("c", ()).metadata is None


def test_compilation_options_refuse_full_tracking_without_validation() -> None:
    with pytest.raises(
        ValueError, match='full MOVE gate frame tracking if MOVE gate validation is not "strict"'
    ):
        CircuitCompilationOptions(move_gate_validation=MoveGateValidationMode.NONE)
    CircuitCompilationOptions(
        move_gate_validation=MoveGateValidationMode.NONE,
        move_gate_frame_tracking=MoveGateFrameTrackingMode.NONE,
    )
    defaults = CircuitCompilationOptions()
    assert (defaults.heralding_mode, defaults.move_gate_validation, defaults.move_gate_frame_tracking) == (
        "none",
        "strict",
        "full",
    )
    assert defaults.dd_mode == "disabled" and defaults.dd_strategy is None


def test_option_enums_have_the_wire_values() -> None:
    assert [m.value for m in HeraldingMode] == ["none", "zeros"]
    assert [m.value for m in MoveGateValidationMode] == ["strict", "allow_prx", "none"]
    assert [m.value for m in MoveGateFrameTrackingMode] == ["full", "no_detuning_correction", "none"]
    assert [m.value for m in DDMode] == ["disabled", "enabled"]


# ---------------------------------------------------------------- architectures

SORTED_LOCI = (
    ("QB1", "QB2"),
    ("QB2", "COMPR1"),
    ("QB2", "QB3"),
    ("QB3", "COMPR1"),
    ("QB3", "COMPR2"),
    ("QB3", "QB1"),
    ("QB10", "QB2"),
)


def test_gate_loci_are_the_sorted_union_of_all_implementations() -> None:
    gate = GateInfo(
        implementations={
            "a": GateImplementationInfo(
                loci=(("QB10", "QB2"), ("QB3", "COMPR2"), ("QB2", "QB3"), ("QB1", "QB2"))
            ),
            "b": GateImplementationInfo(
                loci=(("QB3", "QB1"), ("QB2", "COMPR1"), ("QB1", "QB2"), ("QB3", "COMPR1"))
            ),
        },
        default_implementation="a",
        override_default_implementation={},
    )
    assert gate.loci == SORTED_LOCI


def test_components_are_sorted_by_letters_then_number() -> None:
    architecture = DynamicQuantumArchitecture(
        calibration_set_id=uuid.uuid4(),
        qubits=["QB20", "QB1", "QB11", "QB3", "QB10", "QB2"],
        computational_resonators=["COMPR2", "COMPR1"],
        gates={},
    )
    assert architecture.components == ("COMPR1", "COMPR2", "QB1", "QB2", "QB3", "QB10", "QB11", "QB20")


CRYSTAL_DQA = {
    "calibration_set_id": "cd4dd889-b88b-4370-ba01-eb8262ad9c53",
    "qubits": ["QB1", "QB2", "QB3", "QB4"],
    "computational_resonators": [],
    "gates": {
        "prx": {
            "implementations": {
                "drag_gaussian": {"loci": [["QB1"], ["QB2"], ["QB3"], ["QB4"]]},
                "drag_crf": {"loci": [["QB4"]]},
            },
            "default_implementation": "drag_gaussian",
            "override_default_implementation": {"QB4": "drag_crf"},
        },
        "cz": {
            "implementations": {
                "tgss": {"loci": [["QB1", "QB2"], ["QB1", "QB4"], ["QB2", "QB3"], ["QB3", "QB4"]]},
                "crf": {"loci": [["QB3", "QB4"]]},
            },
            "default_implementation": "tgss",
            "override_default_implementation": {"QB3,QB4": "crf"},
        },
    },
    "added_by_a_newer_server": True,
}


def test_dynamic_architecture_parses_and_round_trips_through_json() -> None:
    architecture = DynamicQuantumArchitecture.model_validate_json(json.dumps(CRYSTAL_DQA))
    cz = architecture.gates["cz"]
    assert cz.override_default_implementation == {("QB3", "QB4"): "crf"}
    assert cz.get_default_implementation(("QB3", "QB4")) == "crf"
    assert cz.get_default_implementation(("QB1", "QB2")) == "tgss"
    assert architecture.gates["prx"].get_default_implementation(("QB4",)) == "drag_crf"
    wire = json.loads(architecture.model_dump_json())
    assert wire["gates"]["cz"]["override_default_implementation"] == {"QB3,QB4": "crf"}
    assert "added_by_a_newer_server" not in wire
    assert DynamicQuantumArchitecture.model_validate_json(architecture.model_dump_json()) == architecture
    # tuple keys are accepted from Python too
    assert GateInfo.model_validate(architecture.gates["cz"].model_dump()) == cz


def test_static_architecture_and_quantum_computers() -> None:
    static = StaticQuantumArchitecture.model_validate(
        {"qubits": ["QB1", "QB2"], "computational_resonators": [], "connectivity": [["QB1", "QB2"]]}
    )
    assert static.dut_label is None and static.connectivity == [("QB1", "QB2")]
    listing = ListQuantumComputersResponse.model_validate_json(
        '{"quantum_computers": [{"id": "0b6a9c3e-7f4d-4a3b-9e62-5d1f8c2a7b10", "alias": "garnet", '
        '"display_name": "Garnet", "proxy_path": "/qc/garnet", "extra": 1}]}'
    )
    computer = listing.quantum_computers[0]
    assert (computer.alias, computer.display_name, computer.proxy_path) == ("garnet", "Garnet", "/qc/garnet")
    with pytest.raises(pydantic.ValidationError, match="display_name"):
        QuantumComputer.model_validate({"id": str(uuid.uuid4()), "alias": "garnet"})
    assert QuantumComputer(id=uuid.uuid4(), alias="a", display_name="A").proxy_path is None


# ---------------------------------------------------------------- jobs and errors

JOB_ID = "3c3fcda3-e860-46bf-92a4-bcc59fa76ce9"
CALSET = "cd4dd889-b88b-4370-ba01-eb8262ad9c53"
TIMELINE = [
    {"source": "iqm-server", "status": "created", "timestamp": "2025-11-20T10:00:00.120000Z"},
    {
        "source": "iqm-station-control",
        "status": "execution_started",
        "timestamp": "2025-11-20T10:00:03.480000Z",
    },
    {"source": "iqm-station-control", "status": "ready", "timestamp": "2025-11-20T10:00:09.002000Z"},
]


def test_completed_job_parses_with_its_extras() -> None:
    job = JobData.model_validate(
        {
            "id": JOB_ID,
            "type": "circuit",
            "status": "completed",
            "execution": {"progress": {"Executing circuits": {"value": 40, "max_value": 40}}},
            "compilation": {"calibration_set_id": CALSET},
            "messages": [{"source": "iqm-server", "message": "using server default 1.0"}],
            "errors": [],
            "queue_position": None,
            "timeline": TIMELINE,
            "future_field": {"x": 1},
        }
    )
    assert job.status is JobStatus.COMPLETED and job.type == "circuit"
    assert job.execution is not None and job.execution.progress["Executing circuits"].max_value == 40
    assert job.compilation is not None and str(job.compilation.calibration_set_id) == CALSET
    assert str(job.messages[0]) == "iqm-server: using server default 1.0"
    assert job.find_timeline_entry(status="ready") is not None
    assert job.find_timeline_entry(status="ready", source="iqm-server") is None
    entry = job.find_timeline_entry(status="execution_started", source="iqm-station-control")
    assert entry is not None and entry.timestamp.microsecond == 480000


def test_minimal_waiting_job_and_defaults() -> None:
    job = JobData.model_validate_json(f'{{"id": "{JOB_ID}", "status": "waiting", "queue_position": 2}}')
    assert (job.type, job.execution, job.compilation, job.messages, job.errors, job.timeline) == (
        None,
        None,
        None,
        [],
        [],
        [],
    )
    assert job.queue_position == 2
    with pytest.raises(pydantic.ValidationError):
        JobData.model_validate({"id": JOB_ID, "status": "pending compilation"})


def test_terminal_statuses() -> None:
    assert JobStatus.terminal_statuses() == {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
    assert JobStatus.FAILED.is_terminal and not JobStatus.WAITING.is_terminal


def test_failed_job_errors_and_the_error_body_rules() -> None:
    message = "Circuit 0: ('QB1', 'QB3') is not allowed as locus for 'cz'"
    job = JobData.model_validate(
        {
            "id": JOB_ID,
            "status": "failed",
            "errors": [
                {
                    "message": message,
                    "error_code": "circuit_validation_error",
                    "source": "iqm-server",
                    "detail": message,
                }
            ],
        }
    )
    assert str(job.errors[0]) == f"iqm-server: circuit_validation_error: {message}"

    legacy_input = {"detail": "unauthorized"}
    legacy = IQMServerError.model_validate(legacy_input)
    assert (legacy.message, legacy.error_code, legacy.source) == ("unauthorized", None, "iqm-server")
    assert legacy_input == {"detail": "unauthorized"}  # the input is not mutated
    assert str(legacy) == "iqm-server: None: unauthorized"
    assert json.loads(legacy.model_dump_json()) == {
        "message": "unauthorized",
        "error_code": None,
        "source": "iqm-server",
        "detail": "unauthorized",
    }
    both = IQMServerError.model_validate({"message": "new", "detail": "old", "source": "x"})
    assert (both.message, both.source) == ("new", "x")
    with pytest.raises(pydantic.ValidationError):
        IQMServerError.model_validate({"error_code": "x"})
    with pytest.raises(pydantic.ValidationError):
        IQMServerError.model_validate([{"detail": "a list"}])


def test_measurement_counts() -> None:
    counts = CircuitMeasurementCounts.model_validate(
        {"measurement_keys": ["mid", "final"], "counts": {"11": 3}}
    )
    assert counts.counts == {"11": 3}
    assert models.CircuitMeasurementResultsBatch == list[dict[str, list[list[int]]]]


# ---------------------------------------------------------------- observations and values


@pytest.mark.parametrize("name", ["garnet_calibration_set.json", "garnet_quality_metric_set.json"])
def test_garnet_sets_load_and_round_trip(name: str) -> None:
    raw = (QPU_DATA / name).read_bytes()
    observation_set = ObservationSetWithObservations.model_validate_json(raw)
    document = json.loads(raw)
    assert len(observation_set.observations) == len(document["observations"])
    assert observation_set.observation_set_type == document["observation_set_type"]
    dumped = json.loads(observation_set.model_dump_json())
    assert dumped["observation_ids"] == [o["observation_id"] for o in document["observations"]]
    assert ObservationSetWithObservations.model_validate(dumped) == observation_set


def test_quality_metric_set_describes_the_calibration_set() -> None:
    calibration = ObservationSetWithObservations.model_validate_json(
        (QPU_DATA / "garnet_calibration_set.json").read_bytes()
    )
    metrics = ObservationSetWithObservations.model_validate_json(
        (QPU_DATA / "garnet_quality_metric_set.json").read_bytes()
    )
    assert metrics.describes_id == calibration.observation_set_id
    assert metrics.observations[0].dut_field == "characterization.model.QB1.t1_time"
    assert metrics.observations[0].value == 3.7741e-05


def _observation(value: Any, uncertainty: Any = None) -> dict[str, Any]:
    return {
        "dut_field": "characterization.other.demo.value",
        "value": value,
        "unit": "",
        "uncertainty": uncertainty,
        "invalid": False,
        "observation_id": 1,
        "created_timestamp": "2025-06-02T02:11:00Z",
        "modified_timestamp": "2025-06-02T02:11:00Z",
    }


def test_every_value_form_decodes_and_round_trips() -> None:
    samples = json.loads((TEST_DATA / "value_forms_examples.json").read_text())["observations"]
    assert len(samples) == 8
    for sample in samples:
        observation = ObservationLite.model_validate(sample)
        dumped = json.loads(observation.model_dump_json())
        assert ObservationLite.model_validate(dumped) == observation
        assert {k: v for k, v in dumped.items() if not k.endswith("timestamp")} == {
            k: v for k, v in sample.items() if not k.endswith("timestamp")
        }


def test_complex_values() -> None:
    observation = ObservationLite.model_validate(
        _observation(
            {"__complex__": "true", "real": 0.0093, "imag": -0.0011},
            {"__complex__": "true", "real": 1, "imag": 0},
        )
    )
    assert observation.value == complex(0.0093, -0.0011)
    assert observation.uncertainty == complex(1, 0)
    assert json.loads(observation.model_dump_json())["value"] == {
        "__complex__": "true",
        "real": 0.0093,
        "imag": -0.0011,
    }


def _ndarray(fmt: str, values: list[Any], dtype: str, shape: list[int]) -> dict[str, Any]:
    data = struct.pack(fmt, *values)
    return {"__ndarray__": "true", "data": base64.b64encode(data).decode(), "dtype": dtype, "shape": shape}


@pytest.mark.parametrize(
    ("fmt", "flat", "dtype", "shape", "expected"),
    [
        ("<4d", [0.1, 0.2, 0.3, 0.4], "<f8", [4], [0.1, 0.2, 0.3, 0.4]),
        ("<4d", [0.1, 0.2, 0.3, 0.4], "float64", [2, 2], [[0.1, 0.2], [0.3, 0.4]]),
        (">3i", [1, -2, 3], ">i4", [3, 1], [[1], [-2], [3]]),
        ("<6q", [1, 2, 3, 4, 5, 6], "int64", [1, 2, 3], [[[1, 2, 3], [4, 5, 6]]]),
        ("<2?", [True, False], "bool", [2], [True, False]),
        ("<4d", [1.0, 2.0, -3.0, 0.5], "complex128", [2], [complex(1, 2), complex(-3, 0.5)]),
        ("<1f", [0.5], "float32", [], 0.5),
        ("<2H", [7, 65535], "uint16", [2], [7, 65535]),
    ],
)
def test_arrays_decode_without_numpy(
    fmt: str, flat: list[Any], dtype: str, shape: list[int], expected: Any
) -> None:
    wire = _ndarray(fmt, flat, dtype, shape)
    observation = ObservationLite.model_validate(_observation(wire))
    value = observation.value
    assert isinstance(value, NDArrayValue)
    assert value.tolist() == expected
    assert json.loads(observation.model_dump_json())["value"] == wire


def test_array_conversions() -> None:
    single = NDArrayValue.from_json(_ndarray("<1d", [0.25], "float64", [1]))
    assert float(single) == 0.25
    with pytest.raises(TypeError, match="size-1"):
        float(NDArrayValue.from_json(_ndarray("<2d", [1.0, 2.0], "float64", [2])))
    with pytest.raises(ValueError, match="Unsupported array dtype"):
        NDArrayValue(dtype="<U3", shape=(1,), data=b"abc" * 4).tolist()
    with pytest.raises(ValueError, match="does not match"):
        NDArrayValue(dtype="float64", shape=(3,), data=b"\0" * 8).tolist()


def test_arrays_convert_to_numpy_when_it_is_installed() -> None:
    np = pytest.importorskip("numpy")
    original = np.arange(6, dtype=">i2").reshape(2, 3)
    wire = {
        "__ndarray__": "true",
        "data": base64.b64encode(original.tobytes()).decode(),
        "dtype": original.dtype.str,
        "shape": list(original.shape),
    }
    value = ObservationLite.model_validate(_observation(wire)).value
    assert isinstance(value, NDArrayValue)
    assert value.tolist() == original.tolist()
    np.testing.assert_array_equal(np.asarray(value), original)


# ---------------------------------------------------------------- public names


def test_all_is_sorted_and_complete() -> None:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert models.__all__ == sorted(models.__all__, key=kind)
    for name in models.__all__:
        assert hasattr(models, name), name
    public = {name for name in vars(models) if not name.startswith("_") and name[0].isupper()}
    assert public <= set(models.__all__) | {"TYPE_CHECKING"}


def test_timeline_entries_are_slotted_and_still_dump_like_models() -> None:
    body = {
        "id": "3c3fcda3-e860-46bf-92a4-bcc59fa76ce9",
        "status": "waiting",
        "timeline": [
            {"source": "iqm-server", "status": "created", "timestamp": "2026-01-01T00:00:00Z", "extra": 1}
        ],
    }
    data = JobData.model_validate(body)
    entry = data.timeline[0]
    assert not hasattr(entry, "__dict__")  # thousands of jobs in flight: no per-entry dict or fields-set
    assert entry.model_dump(mode="json") == {
        "source": "iqm-server",
        "status": "created",
        "timestamp": "2026-01-01T00:00:00Z",
    }
    assert JobData.model_validate_json(data.model_dump_json()) == data
