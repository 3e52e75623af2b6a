"""Server-side reading of submissions: legacy inputs accepted, invalid circuits refused with useful messages."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from iqm_client_async.emulator.presets import load_preset
from iqm_client_async.emulator.simulator import Instruction
from iqm_client_async.emulator.submission import (
    Architecture,
    RequestRejected,
    Submission,
    compilation_problems,
    parse_submission,
)

from .server_helpers import Connect, bell, flip, op, run_request, submit, wait_for

GARNET = Architecture(load_preset("garnet"))
DENEB = Architecture(load_preset("deneb"))


def parse(body: dict[str, Any], architecture: Architecture = GARNET) -> Submission:
    return parse_submission(json.dumps(body).encode(), architecture)


def rejected(body: dict[str, Any] | bytes, architecture: Architecture = GARNET) -> RequestRejected:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(RequestRejected) as caught:
        parse_submission(raw, architecture)
    return caught.value


def circuit(*instructions: dict[str, Any], name: str = "c") -> dict[str, Any]:
    return {"name": name, "instructions": list(instructions)}


# --- legacy and alternative inputs


def test_legacy_instructions_are_normalized() -> None:
    legacy = {
        "name": "legacy",
        "metadata": None,
        "instructions": [
            {
                "name": "phased_rx",
                "implementation": None,
                "qubits": ["QB1"],
                "args": {"angle_t": 0.5, "phase_t": 0.25},
            },
            {"name": "measurement", "implementation": None, "qubits": ["QB1"], "args": {"key": "m"}},
        ],
    }

    submission = parse(run_request(legacy))

    assert submission.payload["circuits"][0]["instructions"] == [
        op("prx", "QB1", angle=math.pi, phase=math.pi / 2),
        op("measure", "QB1", key="m"),
    ]
    assert submission.circuits[0].instructions[0] == Instruction(
        "prx", ("QB1",), {"angle": math.pi, "phase": math.pi / 2}
    )


@pytest.mark.parametrize(
    "mapping",
    [
        {"a": "QB2", "b": "QB1"},
        [{"logical_name": "a", "physical_name": "QB2"}, {"logical_name": "b", "physical_name": "QB1"}],
    ],
)
def test_qubit_mapping_as_dict_or_list(mapping: Any) -> None:
    body = run_request(
        circuit(op("cz", "a", "b"), op("measure", "b", "a", key="m")),
        qubit_mapping=mapping,
    )

    submission = parse(body)

    assert submission.circuits[0].instructions == (
        Instruction("cz", ("QB2", "QB1"), {}),
        Instruction("measure", ("QB1", "QB2"), {"key": "m"}),
    )
    assert submission.payload["qubit_mapping"] == [
        {"logical_name": "a", "physical_name": "QB2"},
        {"logical_name": "b", "physical_name": "QB1"},
    ]
    assert submission.payload["circuits"][0]["instructions"][0]["locus"] == ["a", "b"]


def test_deprecated_option_names_are_accepted_and_new_names_win() -> None:
    old_only = parse(run_request(move_validation_mode="allow_prx", move_gate_frame_tracking_mode="none"))
    both = parse(run_request(move_gate_validation="none", move_validation_mode="allow_prx"))

    assert old_only.payload["move_gate_validation"] == old_only.payload["move_validation_mode"] == "allow_prx"
    assert old_only.payload["move_gate_frame_tracking"] == "none"
    assert both.payload["move_gate_validation"] == "none"


def test_payload_fills_defaults_and_keeps_options() -> None:
    body = {
        "circuits": [bell()],
        "shots": 3,
        "heralding_mode": "zeros",
        "active_reset_cycles": 2,
        "dd_mode": "enabled",
        "dd_strategy": {
            "gate_sequences": [[9, "XYXYYXYX", "asap"], [2, [[math.pi, 0.0], [math.pi, 0]], "center"]]
        },
        "max_circuit_duration_over_t2": 0,
        "calibration_set_id": GARNET.calibration_set_id.upper(),
        "some_future_field": True,
    }

    submission = parse(body)

    payload = submission.payload
    assert payload["calibration_set_id"] == GARNET.calibration_set_id
    assert payload["max_circuit_duration_over_t2"] == 0.0
    assert payload["dd_strategy"]["merge_contiguous_waits"] is True
    assert payload["dd_strategy"]["target_qubits"] is None
    assert "some_future_field" not in payload
    assert submission.active_reset_cycles == 2
    assert submission.circuits[0].herald == ("QB1", "QB2")
    assert submission.circuits[0].measurement_keys == ("m",)


def test_feedback_is_compiled_with_physical_qubits() -> None:
    body = run_request(
        circuit(
            op("measure", "a", key="mid", feedback_key="fb"),
            op("cc_prx", "b", angle=math.pi, phase=0.0, feedback_qubit="a", feedback_key="fb"),
            op("measure", "b", key="final"),
        ),
        qubit_mapping={"a": "QB1", "b": "QB6"},
    )

    submission = parse(body)

    assert submission.circuits[0].instructions[1].args["feedback_qubit"] == "QB1"
    assert submission.circuits[0].feedback == ((1, "QB6", "QB1"),)
    [problem] = compilation_problems(submission.circuits, GARNET)
    assert "instruction 1" in problem
    assert "feedback groups" in problem


def test_move_sandwiches_on_a_star_qpu() -> None:
    sandwich = circuit(
        op("prx", "QB1", angle=math.pi, phase=0.0),
        op("move", "QB1", "CR1"),
        op("cz", "QB2", "CR1"),
        op("move", "QB1", "CR1"),
        op("measure", "QB1", key="m"),
    )
    prx_inside = circuit(
        op("move", "QB1", "CR1"), op("prx", "QB1", angle=1.0, phase=0.0), op("move", "QB1", "CR1")
    )

    parse(run_request(sandwich), DENEB)
    parse(run_request(prx_inside, move_gate_validation="allow_prx"), DENEB)
    parse(run_request(circuit(op("move", "QB1", "CR1")), move_gate_validation="none"), DENEB)
    assert "while their state is in a resonator" in rejected(run_request(prx_inside), DENEB).message
    assert "still in a resonator" in rejected(run_request(circuit(op("move", "QB1", "CR1"))), DENEB).message
    occupied = circuit(op("move", "QB1", "CR1"), op("move", "QB2", "CR1"))
    assert "already occupied by QB1" in rejected(run_request(occupied), DENEB).message
    assert "'move' is not calibrated" in rejected(run_request(circuit(op("move", "QB1", "QB2")))).message


def test_symmetric_gates_accept_either_locus_order() -> None:
    submission = parse(run_request(circuit(op("cz", "QB2", "QB1"), op("barrier", "QB2", "QB1"))))

    assert submission.circuits[0].instructions[0].locus == ("QB2", "QB1")


# --- rejections


@pytest.mark.parametrize(
    ("instruction", "fragments"),
    [
        (op("measure", "QB1", key="__HERALD"), ["instruction 1 ('measure')", "'__HERALD' is reserved"]),
        (op("measure", "QB1", key="__MEASUREMENT_MODE"), ["reserved"]),
        (op("prx", "QB99", angle=1.0, phase=0.0), ["unknown physical qubit 'QB99'"]),
        (op("cz", "QB1", "QB3"), ["('QB1', 'QB3') is not a calibrated locus for 'cz'"]),
        (op("prx", "QB1", implementation="drag_crf", angle=1.0, phase=0.0), ["implementation 'drag_crf'"]),
        (op("kaboom", "QB1"), ["unknown operation"]),
        (op("cz", "QB1", "QB2", "QB4"), ["acts on 2 component(s), but 3 were given"]),
        (op("prx", "QB1", angle=1.0), ["missing argument(s) phase"]),
        (op("prx", "QB1", angle=1.0, phase=0.0, speed=2.0), ["unknown argument(s) speed"]),
        (op("prx", "QB1", angle="fast", phase=0.0), ["argument 'angle' must be a finite number"]),
        (op("prx", "QB1", "QB1", angle=1.0, phase=0.0), ["acts on 1 component(s)"]),
        (op("barrier", "QB1", "QB1"), ["appears twice"]),
        (op("measure", key="m"), ["the locus is empty"]),
        (op("prx", "QB1", implementation="", angle=1.0, phase=0.0), ["non-empty string"]),
        (op("lru", "QB1"), ["operation 'lru' is not calibrated"]),
        (
            op("cc_prx", "QB1", angle=1.0, phase=0.0, feedback_qubit="QB1", feedback_key="fb"),
            ["no earlier measurement"],
        ),
    ],
)
def test_invalid_instructions_are_refused_naming_circuit_and_instruction(
    instruction: dict[str, Any], fragments: list[str]
) -> None:
    body = run_request(bell(), circuit(op("barrier", "QB1"), instruction, name="second"))

    error = rejected(body)
    assert error.status_code == 400
    assert error.error_code == "circuit_validation_error"
    assert error.message.startswith("Circuit 1 ('second'), instruction 1")
    for fragment in fragments:
        assert fragment in error.message


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            run_request(circuit(op("measure", "QB1", key="m"), op("measure", "QB2", key="m"))),
            "used more than once",
        ),
        (run_request(circuit(op("measure", "x", key="m")), qubit_mapping={"a": "QB1"}), "logical qubit 'x'"),
        (run_request(flip(), qubit_mapping={"a": "QB1", "b": "QB1"}), "same physical qubit"),
        (run_request(flip(), qubit_mapping={"a": "QB77"}), "unknown physical qubit 'QB77'"),
        (
            run_request(
                circuit(
                    op("measure", "QB1", key="m", feedback_key="fb"),
                    op("cc_prx", "QB2", angle=1.0, phase=0.0, feedback_qubit="QB3", feedback_key="fb"),
                )
            ),
            "'QB3' is not measured",
        ),
        ({"circuits": ["%Qir = type opaque"], "shots": 1}, "QIR programs are not supported by the emulator"),
        ({"circuits": [], "shots": 1}, "no circuits"),
        (
            {"circuits": [{"name": "", "instructions": [op("barrier", "QB1")]}], "shots": 1},
            "non-empty string 'name'",
        ),
        ({"circuits": [{"name": "empty", "instructions": []}], "shots": 1}, "non-empty array"),
    ],
)
def test_invalid_requests_are_400(body: dict[str, Any], fragment: str) -> None:
    error = rejected(body)

    assert error.status_code == 400
    assert fragment in error.message


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"[1, 2]", "must be a JSON object"),
        ({"shots": 1}, "'circuits' is required"),
        ({"circuits": [bell()]}, "'shots' is required"),
        ({"circuits": [bell()], "shots": 0}, "greater than 0"),
        ({"circuits": [bell()], "shots": True}, "'shots'"),
        (run_request(heralding_mode="sometimes"), "'heralding_mode' must be 'none' or 'zeros'"),
        (run_request(move_gate_validation="lenient"), "'move_gate_validation'"),
        (run_request(dd_mode="on"), "'dd_mode'"),
        (run_request(dd_strategy={"gate_sequences": [[1, "XZ", "asap"]]}), "gate_sequences"),
        (run_request(active_reset_cycles="1"), "active_reset_cycles"),
        (run_request(qubit_mapping=["QB1"]), "qubit_mapping"),
        (run_request(calibration_set_id="latest"), "calibration_set_id"),
        (run_request(circuit({"name": "prx", "locus": "QB1"})), "'locus' must be an array"),
    ],
)
def test_malformed_requests_are_422(body: dict[str, Any] | bytes, fragment: str) -> None:
    error = rejected(body)

    assert error.status_code == 422
    assert fragment in error.message


def test_unknown_calibration_set_is_404() -> None:
    error = rejected(run_request(calibration_set_id="00000000-0000-0000-0000-000000000001"))

    assert error.status_code == 404


# --- over the wire


@pytest.mark.asyncio
async def test_refusals_over_http_use_the_error_body(api: httpx.AsyncClient) -> None:
    invalid = await submit(api, run_request(circuit(op("measure", "QB1", key="__HERALD"))))
    malformed = await api.post("/api/v1/jobs/garnet/circuit", content=b"nope")

    assert invalid.status_code == 400
    assert invalid.json()["error_code"] == "circuit_validation_error"
    assert "reserved" in invalid.json()["detail"]
    assert invalid.headers["Idempotency-Supported"] == "true"
    assert malformed.status_code == 400  # not JSON at all (test_abuse.py has the other malformed bodies)
    assert malformed.json()["source"] == "iqm-server"
    counters = (await api.get("/about")).json()["counters"]
    assert counters["rejected_submissions"] == 2
    assert counters["jobs_created"] == 0


@pytest.mark.asyncio
async def test_legacy_circuit_runs(api: httpx.AsyncClient) -> None:
    legacy = {
        "name": "legacy",
        "instructions": [
            {"name": "phased_rx", "qubits": ["QB1"], "args": {"angle_t": 0.5, "phase_t": 0.0}},
            {"name": "measurement", "qubits": ["QB1"], "args": {"key": "m"}},
        ],
    }
    job = (await submit(api, run_request(legacy, shots=10))).json()

    await wait_for(api, job["id"])

    assert (await api.get(f"/api/v1/jobs/{job['id']}/artifacts/measurements")).json() == [{"m": [[1]] * 10}]


@pytest.mark.asyncio
async def test_feedback_within_a_feedback_group_runs(api: httpx.AsyncClient) -> None:
    body = run_request(
        circuit(
            op("prx", "QB1", angle=math.pi, phase=0.0),
            op("measure", "QB1", key="mid", feedback_key="fb"),
            op("cc_prx", "QB2", angle=math.pi, phase=0.0, feedback_qubit="QB1", feedback_key="fb"),
            op("measure", "QB2", key="final"),
        ),
        shots=8,
    )
    job = (await submit(api, body)).json()

    await wait_for(api, job["id"])

    counts = (await api.get(f"/api/v1/jobs/{job['id']}/artifacts/measurement_counts")).json()
    assert counts == [{"measurement_keys": ["mid", "final"], "counts": {"11": 8}}]


@pytest.mark.asyncio
async def test_feedback_across_groups_fails_at_compilation(api: httpx.AsyncClient) -> None:
    body = run_request(
        circuit(
            op("measure", "QB1", key="mid", feedback_key="fb"),
            op("cc_prx", "QB6", angle=math.pi, phase=0.0, feedback_qubit="QB1", feedback_key="fb"),
        )
    )
    job = (await submit(api, body)).json()

    failed = await wait_for(api, job["id"])

    assert failed["status"] == "failed"
    [error] = failed["errors"]
    assert error["error_code"] == "compilation_error"
    assert "QB6" in error["message"]
    assert set(error) == {"message", "error_code", "source", "detail"}
    assert (await api.get(f"/api/v1/jobs/{job['id']}/artifacts/measurements")).status_code == 409


@pytest.mark.asyncio
async def test_circuit_too_large_to_simulate_fails_the_job(connect: Connect) -> None:
    _, client = await connect(qpu="aphrodite")
    qubits = [f"QB{n}" for n in range(1, 31)]
    body = run_request(flip(), circuit(op("barrier", *qubits), op("measure", "QB1", key="m"), name="wide"))
    job = (await submit(client, body, qc="aphrodite")).json()

    failed = await wait_for(client, job["id"])

    assert failed["status"] == "failed"
    assert failed["errors"][0]["error_code"] == "circuit_too_large"
    assert failed["errors"][0]["message"].startswith("Circuit 1 ('wide')")
