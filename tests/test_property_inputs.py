"""Property-based: generated circuits, arguments and response bodies never make anything but the
documented exceptions escape, and whatever passes the checks is sendable JSON."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import httpx
from conftest import dqa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iqm_client_async import (
    APIStatusError,
    Circuit,
    CircuitCompilationOptions,
    CircuitOperation,
    CircuitValidationError,
    ResponseDecodeError,
)
from iqm_client_async._arguments import check_submission
from iqm_client_async._error_bodies import error_from_response
from iqm_client_async._operations import SUPPORTED_OPERATIONS
from iqm_client_async.client import _JOB_DATA, _decode
from iqm_client_async.models import DynamicQuantumArchitecture, PostJobsRequest, serialize_run_request
from iqm_client_async.models.results import decode_measurement_results
from iqm_client_async.validation import validate_circuits_dynamic

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2VjcmV0LXNpZ25hdHVyZQ"
ARCHITECTURE = DynamicQuantumArchitecture.model_validate(dqa())
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def mostly(usual: st.SearchStrategy[Any], *unusual: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` about nine times in ten, otherwise one of ``unusual`` (so deep checks get exercised too).

    ``one_of`` picks a branch uniformly; nine distinct copies of ``usual`` weight it.
    """
    copies = [usual.map(lambda value, _copy=copy: value) for copy in range(9)]
    return st.one_of(*copies, *unusual) if len(unusual) == 1 else st.one_of(*copies, st.one_of(*unusual))


# every character, lone surrogates and control characters included
any_text = st.text(st.characters(exclude_categories=()), max_size=12)
names = st.one_of(st.sampled_from(["QB1", "QB2", "QB3", "m", "c", ""]), any_text)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.fractions(),
)
arg_values = st.one_of(numbers, st.booleans(), st.none(), names, st.lists(st.integers(), max_size=2))
arg_names = st.sampled_from(["angle", "phase", "key", "duration", "theta", "phi", "lam", "feedback_key", "x"])
json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, any_text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(any_text, st.integers()), inner, max_size=3),
        st.tuples(inner),
        st.sets(st.integers(), max_size=2),
    ),
    max_leaves=8,
)


@st.composite
def operations(draw: st.DrawFn) -> Any:
    name = draw(mostly(st.sampled_from(sorted(SUPPORTED_OPERATIONS)), names))
    spec = SUPPORTED_OPERATIONS.get(name) if isinstance(name, str) else None
    if spec is not None and draw(
        st.sampled_from(range(8))
    ):  # mostly well-formed, so later checks get exercised
        locus = tuple(draw(st.permutations(["QB1", "QB2", "QB3"]))[: spec.arity or draw(st.integers(0, 3))])
        args: Any = {
            param: draw(st.one_of(st.just(0.5), numbers) if kind is float else st.one_of(st.just("m"), names))
            for param, kind in spec.params.items()
        }
    else:
        locus = draw(
            st.one_of(st.lists(names, max_size=3).map(tuple), st.lists(names, max_size=3), names, st.none())
        )
        args = draw(st.one_of(st.dictionaries(arg_names, arg_values, max_size=4), st.none(), st.lists(names)))
    implementation = draw(
        st.one_of(
            st.none(), st.none(), st.none(), st.sampled_from(["drag_gaussian", "tgss", "constant"]), names
        )
    )
    operation = CircuitOperation(name, locus, args, implementation)  # type: ignore[arg-type]
    return draw(mostly(st.just(operation), st.sampled_from([None, 5, "prx", {"name": "prx"}])))


@st.composite
def plausible_operations(draw: st.DrawFn) -> CircuitOperation:
    """Well-formed but for the values: any float (NaN and infinities included) and any key text."""
    spec = SUPPORTED_OPERATIONS[
        draw(st.sampled_from(["prx", "cz", "measure", "barrier", "delay", "u", "rz", "reset"]))
    ]
    size = spec.arity or draw(st.integers(1, 3))
    locus = tuple(draw(st.permutations(["QB1", "QB2", "QB3"]))[:size])
    args = {
        param: draw(st.floats(allow_nan=True, allow_infinity=True) if kind is float else any_text)
        for param, kind in spec.params.items()
    }
    return CircuitOperation(spec.name, locus, args)


plausible_circuits = st.builds(
    Circuit,
    name=st.text(min_size=1, max_size=5),
    instructions=st.lists(plausible_operations(), min_size=1, max_size=6),
    metadata=st.one_of(
        st.none(), st.dictionaries(st.text(max_size=3), st.floats() | st.text(max_size=3), max_size=2)
    ),
)

circuits = st.builds(
    Circuit,
    name=mostly(st.just("c"), names, st.none(), st.integers()),
    instructions=st.one_of(
        st.lists(operations(), max_size=5), st.lists(operations(), max_size=5).map(tuple), names
    ),
    metadata=mostly(st.none(), json_like, st.dictionaries(any_text, json_like, max_size=3)),
)
batches = mostly(
    st.lists(st.one_of(plausible_circuits, circuits), min_size=1, max_size=3),
    st.lists(st.one_of(circuits, any_text, st.integers()), max_size=4),
    st.none(),
    st.dictionaries(any_text, circuits, max_size=2),
    circuits,
    st.sets(st.integers(), max_size=2),
)
enum_text = st.one_of(st.sampled_from(["none", "zeros", "strict", "allow_prx", "full", "enabled"]), any_text)
compilation_options = st.one_of(
    st.none(),
    st.builds(
        CircuitCompilationOptions,
        heralding_mode=enum_text,
        move_gate_validation=st.sampled_from(["strict", "allow_prx"]),
        move_gate_frame_tracking=enum_text,
        dd_mode=enum_text,
        max_circuit_duration_over_t2=st.one_of(st.none(), numbers),
        active_reset_cycles=st.one_of(st.none(), st.integers(), st.booleans()),
    ),
    st.dictionaries(any_text, any_text, max_size=2),
)


def strict_json(body: bytes) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(body.decode("utf-8"), parse_constant=refuse)


@EXAMPLES
@given(
    batch=batches,
    shots=st.one_of(st.integers(-3, 10**20), st.booleans(), st.floats(), st.none(), any_text),
    mapping=st.one_of(
        st.none(), st.dictionaries(names, names, max_size=3), st.lists(names, max_size=2), names
    ),
    calibration=st.one_of(st.none(), st.uuids(), st.uuids().map(str), any_text, st.integers()),
    options=compilation_options,
)
def test_generated_submissions_raise_only_documented_errors(
    batch: Any, shots: Any, mapping: Any, calibration: Any, options: Any
) -> None:
    try:
        submission = check_submission(
            batch, qubit_mapping=mapping, calibration_set_id=calibration, shots=shots, options=options
        )
        validate_circuits_dynamic(
            submission.circuits,
            ARCHITECTURE,
            submission.qubit_mapping,
            submission.options.move_gate_validation,
        )
    except (CircuitValidationError, ValueError) as exc:
        if not isinstance(exc, CircuitValidationError):
            assert type(exc) is ValueError and "greater than zero" in str(exc)
        assert str(exc).isprintable() and len(str(exc)) < 5000
        return
    request = PostJobsRequest.from_validated(
        submission.circuits,
        qubit_mapping=submission.qubit_mapping,
        calibration_set_id=submission.calibration_set_id,
        shots=submission.shots,
        options=submission.options,
    )
    body = strict_json(serialize_run_request(request))
    assert len(body["circuits"]) == len(submission.circuits) > 0
    assert type(body["shots"]) is int and body["shots"] >= 1


html_fragments = st.sampled_from(
    ["<title>", "</title>", "<", ">", "<a href='x'>", "\x1b[31m", "\x00", TOKEN, "\u202e"]
)
bodies = st.one_of(
    st.binary(max_size=3000),
    st.lists(st.one_of(html_fragments, any_text), max_size=200).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
    st.dictionaries(
        st.sampled_from(["message", "detail", "error_code", "source"]),
        st.one_of(any_text, html_fragments, json_like.filter(lambda v: not isinstance(v, set | tuple))),
        max_size=4,
    ).map(lambda d: json.dumps(d, default=str).encode()),
)


def response(status: int, body: bytes, content_type: str) -> httpx.Response:
    request = httpx.Request(
        "GET", "https://iqm.example.com/api/v1/jobs/x", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    return httpx.Response(status, content=body, headers={"content-type": content_type}, request=request)


@EXAMPLES
@given(
    status=st.integers(400, 599),
    body=bodies,
    content_type=st.sampled_from(
        ["text/html", "application/json", "text/plain; charset=latin-1", "x/\x7f; charset=bogus"]
    ),
)
def test_generated_error_bodies_give_clean_status_errors(status: int, body: bytes, content_type: str) -> None:
    error = error_from_response(response(status, body, content_type))
    assert isinstance(error, APIStatusError) and error.status_code == status
    text = str(error)
    assert text.isprintable() and len(text) < 1600
    assert TOKEN not in text


results_like = st.one_of(
    bodies,
    st.lists(
        st.dictionaries(
            st.one_of(st.just("m"), any_text),
            st.one_of(
                st.lists(
                    st.lists(st.one_of(st.integers(-1, 2), st.booleans(), st.floats()), max_size=3),
                    max_size=3,
                ),
                json_like,
            ),
            max_size=2,
        ),
        max_size=2,
    ).map(lambda v: json.dumps(v, default=str).encode()),
)


@EXAMPLES
@given(body=results_like)
def test_generated_result_bodies_decode_or_raise_decode_error(body: bytes) -> None:
    job_id = uuid.uuid4()
    try:
        results = decode_measurement_results(body, job_id=job_id)
    except ResponseDecodeError as exc:
        assert str(exc).isprintable() and len(str(exc)) < 1000
        return
    for circuit_results in results:
        shot_counts = {len(rows) for rows in circuit_results.values()}
        assert len(shot_counts) <= 1
        for rows in circuit_results.values():
            assert len({len(row) for row in rows}) <= 1
            assert all(bit in (0, 1) and type(bit) is int for row in rows for bit in row)


@EXAMPLES
@given(body=bodies)
def test_generated_job_documents_decode_or_raise_decode_error(body: bytes) -> None:
    try:
        _decode(_JOB_DATA, response(200, body, "application/json"))
    except ResponseDecodeError as exc:
        assert str(exc).isprintable() and len(str(exc)) < 1000 and TOKEN not in str(exc)


def test_an_accepted_submission_is_strict_json_with_float_angles() -> None:
    """The accepted branch of the property above, spelled out once: ints become floats, no NaN."""
    accepted = Circuit("ok", (CircuitOperation("prx", ("QB1",), {"angle": 1, "phase": math.pi}),))
    submission = check_submission(
        [accepted], qubit_mapping=None, calibration_set_id=None, shots=3, options=None
    )
    request = PostJobsRequest.from_validated(submission.circuits, shots=submission.shots)
    assert (
        strict_json(serialize_run_request(request))["circuits"][0]["instructions"][0]["args"]["angle"] == 1.0
    )
