"""Bad client arguments: each gets a typed error naming the argument, and no request is sent.

Every case is one row of a table: the call, the expected exception class and a message fragment.
The respx router behind the client counts requests; a client-side error must leave it at zero.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from math import pi
from typing import Any

import httpx
import pytest
from conftest import BASE, CALSET_ID, JOB_ID, FakeServer

from iqm_client_async import (
    AsyncIQMClient,
    Circuit,
    CircuitCompilationOptions,
    CircuitOperation,
    CircuitValidationError,
    ClientConfigurationError,
    DDStrategy,
    IQMClient,
)

TOKEN = "s3cret-token-value"
MB = 1_000_000


def prx(qubit: str = "QB1", **args: Any) -> CircuitOperation:
    return CircuitOperation("prx", (qubit,), {"angle": pi / 2, "phase": 0.0, **args})


def measure(*locus: str, key: str = "m") -> CircuitOperation:
    return CircuitOperation("measure", locus, {"key": key})


def circuit(*instructions: Any, name: str = "c", metadata: Any = None) -> Circuit:
    return Circuit(name=name, instructions=instructions or (prx(), measure("QB1")), metadata=metadata)


GOOD = circuit()


@dataclass
class Case:
    """One bad call: ``call(client)`` must raise ``error`` with ``fragment`` in its message."""

    id: str
    call: Callable[[AsyncIQMClient], Awaitable[Any]]
    error: type[Exception]
    fragment: str


def submit(*circuits: Any, **kwargs: Any) -> Callable[[AsyncIQMClient], Awaitable[Any]]:
    return lambda client: client.submit_circuits(list(circuits) if circuits else [GOOD], **kwargs)


def submit_raw(circuits: Any, **kwargs: Any) -> Callable[[AsyncIQMClient], Awaitable[Any]]:
    return lambda client: client.submit_circuits(circuits, **kwargs)


def create(*circuits: Any, **kwargs: Any) -> Callable[[AsyncIQMClient], Awaitable[Any]]:
    return lambda client: client.create_run_request(list(circuits) if circuits else [GOOD], **kwargs)


def method(name: str, *args: Any, **kwargs: Any) -> Callable[[AsyncIQMClient], Awaitable[Any]]:
    async def call(client: AsyncIQMClient) -> Any:
        result = getattr(client, name)(*args, **kwargs)
        return await result if hasattr(result, "__await__") else result

    return call


def options(**fields: Any) -> CircuitCompilationOptions:
    return CircuitCompilationOptions(**fields)


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"x": value}
    return value


CVE, CCE = CircuitValidationError, ClientConfigurationError

SUBMISSION_CASES = [
    # non-finite and unsendable numbers
    Case("angle-nan", submit(circuit(prx(angle=math.nan))), CVE, "'angle' is nan, but it must be a finite"),
    Case("angle-inf", submit(circuit(prx(angle=math.inf))), CVE, "'angle' is inf"),
    Case("angle-minus-inf", submit(circuit(prx(angle=-math.inf))), CVE, "'angle' is -inf"),
    Case("phase-nan", submit(circuit(prx(phase=math.nan))), CVE, "'phase' is nan"),
    Case("angle-huge-int", submit(circuit(prx(angle=10**400))), CVE, "must be a finite number"),
    Case(
        "delay-nan",
        submit(circuit(CircuitOperation("delay", ("QB1",), {"duration": math.nan}), measure("QB1"))),
        CVE,
        "'duration' is nan",
    ),
    Case(
        "u-theta-inf",
        submit(circuit(CircuitOperation("u", ("QB1",), {"theta": math.inf, "phi": 0.0, "lam": 0.0}))),
        CVE,
        "'theta' is inf",
    ),
    Case("angle-str", submit(circuit(prx(angle="pi"))), CVE, "The argument 'angle' should be of one of"),
    Case("angle-none", submit(circuit(prx(angle=None))), CVE, "The argument 'angle' should be of one of"),
    Case("angle-bool", submit(circuit(prx(angle=True))), CVE, "The argument 'angle' should be of one of"),
    # loci
    Case("measure-empty-locus", submit(circuit(prx(), measure())), CVE, "needs at least one locus component"),
    Case(
        "barrier-empty-locus",
        submit(circuit(CircuitOperation("barrier", ()), measure("QB1"))),
        CVE,
        "'barrier' operation needs at least one locus component",
    ),
    Case(
        "reset-empty-locus",
        submit(circuit(CircuitOperation("reset", ()), measure("QB1"))),
        CVE,
        "'reset' operation needs at least one locus component",
    ),
    Case(
        "delay-empty-locus",
        submit(circuit(CircuitOperation("delay", (), {"duration": 1e-6}), measure("QB1"))),
        CVE,
        "needs at least one locus component",
    ),
    Case("locus-empty-name", submit(circuit(measure(""), name="c")), CVE, "non-empty str"),
    Case("locus-int", submit(circuit(CircuitOperation("measure", (1,), {"key": "m"}))), CVE, "non-empty str"),
    Case(
        "locus-str",
        submit(circuit(CircuitOperation("measure", "QB1", {"key": "m"}))),  # type: ignore[arg-type]
        CVE,
        "The locus should be a tuple of component names",
    ),
    Case("locus-surrogate", submit(circuit(measure("QB\ud800"))), CVE, "lone surrogate"),
    # containers
    Case("circuits-empty", submit_raw([]), CVE, "circuits must not be empty"),
    Case("circuits-none", submit_raw(None), CVE, "circuits must be a list of circuits, got NoneType"),
    Case("circuits-dict", submit_raw({"a": GOOD}), CVE, "got dict. A dict's keys would be sent as QIR"),
    Case("circuits-set", submit_raw({"qir"}), CVE, "circuits must be a list of circuits, got set"),
    Case("circuits-generator", submit_raw(c for c in [GOOD]), CVE, "got generator"),
    Case("circuits-single", submit_raw(GOOD), CVE, "not a single circuit"),
    Case("circuits-int", submit_raw(5), CVE, "circuits must be a list of circuits, got int"),
    Case("circuits-bytes", submit_raw(b"qir"), CVE, "got bytes"),
    Case("circuit-int", submit(5), CVE, "should be a Circuit or a str"),
    Case("circuit-dict", submit({"name": "c", "instructions": []}), CVE, "should be a Circuit or a str"),
    Case("instruction-dict", submit(circuit({"name": "prx"})), CVE, "Build it with CircuitOperation"),
    Case("instructions-empty", submit(Circuit("c", ())), CVE, "at least one instruction"),
    Case(
        "instructions-str",
        submit(Circuit("c", "prx")),  # type: ignore[arg-type]
        CVE,
        "instructions must be a sequence",
    ),
    # names, keys and metadata that cannot be sent
    Case(
        "name-surrogate",
        submit(circuit(name="bell\udc80")),
        CVE,
        "The circuit name contains a lone surrogate",
    ),
    Case("name-empty", submit(circuit(name="")), CVE, "non-empty string for a name"),
    Case("name-none", submit(circuit(name=None)), CVE, "non-empty string for a name"),
    Case(
        "name-1MB-unknown-op",
        submit(circuit(CircuitOperation("kaboom", ("QB1",)), name="n" * MB)),
        CVE,
        "characters)",
    ),
    Case(
        "key-surrogate",
        submit(circuit(prx(), measure("QB1", key="m\ud800"))),
        CVE,
        "'key' contains a lone surrogate",
    ),
    Case(
        "key-none",
        submit(circuit(CircuitOperation("measure", ("QB1",), {"key": None}))),
        CVE,
        "'key' should be",
    ),
    Case("qir-surrogate", submit("qir\ud800"), CVE, "QIR program contains a lone surrogate"),
    Case(
        "metadata-str",
        submit(circuit(metadata="experiment 1")),
        CVE,
        "metadata must be a dict (or None), not str",
    ),
    Case(
        "metadata-list", submit(circuit(metadata=[1, 2])), CVE, "metadata must be a dict (or None), not list"
    ),
    Case("metadata-nan", submit(circuit(metadata={"x": math.nan})), CVE, "metadata['x'] is nan"),
    Case(
        "metadata-nested-inf",
        submit(circuit(metadata={"x": {"y": [1, math.inf]}})),
        CVE,
        "metadata['x']['y'][1] is inf",
    ),
    Case(
        "metadata-object",
        submit(circuit(metadata={"x": object()})),
        CVE,
        "holds a object, which has no JSON form",
    ),
    Case("metadata-set", submit(circuit(metadata={"x": {1}})), CVE, "holds a set"),
    Case("metadata-surrogate-key", submit(circuit(metadata={"\ud800": 1})), CVE, "lone surrogate"),
    Case(
        "metadata-surrogate-value",
        submit(circuit(metadata={"k": "\udfff"})),
        CVE,
        "metadata['k'] contains a lone",
    ),
    Case("metadata-tuple-key", submit(circuit(metadata={(1, 2): 1})), CVE, "cannot be a JSON object key"),
    Case("metadata-too-deep", submit(circuit(metadata=deep(100))), CVE, "nested deeper than 64 levels"),
    # shots
    Case("shots-true", submit(shots=True), CVE, "shots must be an int: True would be sent as 1"),
    Case("shots-false", submit(shots=False), CVE, "False would be sent as 0"),
    Case("shots-str", submit(shots="1000"), CVE, "pass a number, e.g. shots=1000"),
    Case("shots-none", submit(shots=None), CVE, "shots must be an int, got NoneType"),
    Case("shots-fraction", submit(shots=1.5), CVE, "shots must be an int, got float 1.5"),
    Case("shots-nan", submit(shots=math.nan), CVE, "shots must be an int, got float nan"),
    Case("shots-zero", submit(shots=0), ValueError, "Number of shots must be greater than zero"),
    Case("shots-negative", submit(shots=-5), ValueError, "Got shots=-5"),
    Case("shots-2**64", submit(shots=2**64), CVE, "shots must be at most"),
    Case("shots-list", create(shots=[1000]), CVE, "shots must be an int, got list"),
    # qubit mapping
    Case("mapping-list", submit(qubit_mapping=["QB1", "QB2"]), CVE, "A list of names is not a mapping"),
    Case("mapping-str", submit(qubit_mapping="QB1"), CVE, "qubit_mapping must be a dict, got str"),
    Case(
        "mapping-int-value",
        submit(qubit_mapping={"QB1": 5}),
        CVE,
        "physical qubit names to non-empty strings",
    ),
    Case("mapping-empty-value", submit(qubit_mapping={"QB1": ""}), CVE, "non-empty strings"),
    Case(
        "mapping-int-key", submit(qubit_mapping={5: "QB1"}), CVE, "logical qubit names to non-empty strings"
    ),
    Case("mapping-surrogate", submit(qubit_mapping={"q\ud800": "QB1"}), CVE, "logical qubit names"),
    # options
    Case(
        "options-dict",
        submit(options={"heralding_mode": "zeros"}),
        CVE,
        "Build it with CircuitCompilationOptions(**",
    ),
    Case("options-str", submit(options="zeros"), CVE, "options must be a CircuitCompilationOptions, got str"),
    Case(
        "options-heralding",
        submit(options=options(heralding_mode="zero")),
        CVE,
        "options.heralding_mode must be one of 'none', 'zeros'",
    ),
    Case(
        "options-frame-tracking",
        submit(options=options(move_gate_frame_tracking="partial")),
        CVE,
        "options.move_gate_frame_tracking must be one of",
    ),
    Case(
        "options-validation",
        create(options=options(move_gate_validation="lenient", move_gate_frame_tracking="none")),
        CVE,
        "options.move_gate_validation must be one of 'strict', 'allow_prx', 'none'",
    ),
    Case(
        "options-dd-mode",
        submit(options=options(dd_mode="on")),
        CVE,
        "options.dd_mode must be one of 'disabled', 'enabled'",
    ),
    Case(
        "options-t2-nan",
        submit(options=options(max_circuit_duration_over_t2=math.nan)),
        CVE,
        "max_circuit_duration_over_t2 must be a finite",
    ),
    Case(
        "options-t2-str", submit(options=options(max_circuit_duration_over_t2="1")), CVE, "must be a number"
    ),
    Case(
        "options-reset-bool",
        submit(options=options(active_reset_cycles=True)),
        CVE,
        "active_reset_cycles must be an int",
    ),
    Case(
        "options-dd-strategy",
        submit(options=options(dd_strategy="standard")),
        CVE,
        "dd_strategy must be a DDStrategy",
    ),
    Case(
        "options-dd-nan",
        submit(options=options(dd_strategy=DDStrategy(gate_sequences=[(2, [(math.nan, 0.0)], "asap")]))),
        CVE,
        "gate_sequences[0] has a NaN or infinite angle",
    ),
    # ids and flags
    Case(
        "calset-path-traversal",
        submit(calibration_set_id="../../../jobs/x"),
        CVE,
        "calibration_set_id must be a UUID",
    ),
    Case("calset-int", create(calibration_set_id=5), CVE, "calibration_set_id must be a UUID"),
    Case("calset-not-uuid", submit(calibration_set_id="default"), CVE, "got str 'default'"),
    Case("timeslot-str", submit(use_timeslot="yes"), CVE, "use_timeslot must be True or False"),
    Case("timeslot-none", submit(use_timeslot=None), CVE, "use_timeslot must be True or False, got NoneType"),
]


OTHER_CALL_CASES = [
    Case(
        "job-path-traversal", method("get_job_data", "../../quantum-computers"), CCE, "job_id must be a UUID"
    ),
    Case("job-int", method("get_job_data", 5), CCE, "job_id must be a UUID"),
    Case("job-none", method("get_job", None), CCE, "got NoneType"),
    Case("job-empty", method("get_job", ""), CCE, "job_id must be a UUID"),
    Case("cancel-slash", method("cancel_job", "abc/def"), CCE, "job_id must be a UUID"),
    Case("delete-dots", method("delete_job", ".."), CCE, "job_id must be a UUID"),
    Case("measurements-bytes", method("get_job_measurements", JOB_ID.encode()), CCE, "got bytes"),
    Case("counts-1MB", method("get_job_measurement_counts", "x" * MB), CCE, "characters)"),
    Case(
        "calset-traversal",
        method("get_calibration_set", "../../../jobs/x"),
        CCE,
        "calibration_set_id must be a UUID",
    ),
    Case("metrics-int", method("get_quality_metric_set", 123), CCE, "calibration_set_id must be a UUID"),
    Case(
        "dqa-traversal",
        method("get_dynamic_quantum_architecture", "../../../jobs/x"),
        CCE,
        "calibration_set_id",
    ),
    Case("finder-str", method("get_calibration_quality_metrics", "latest"), CCE, "calibration_set_id"),
    Case(
        "batch-timeout-str",
        method("batch", timeout="5"),
        CCE,
        "timeout must be a number (a number, not a string)",
    ),
    Case("batch-timeout-nan", method("batch", timeout=math.nan), CCE, "timeout must be a finite number"),
    Case(
        "batch-concurrency-0",
        method("batch", max_concurrent_submissions=0),
        CCE,
        "max_concurrent_submissions must be",
    ),
    Case("batch-progress-str", method("batch", progress="yes"), CCE, "progress must be True or False"),
    Case("run-request-str", method("submit_run_request", "{}"), CVE, "run_request must be a RunRequest"),
]


def client_for(server: FakeServer, **kwargs: Any) -> AsyncIQMClient:
    kwargs.setdefault("token", TOKEN)
    return AsyncIQMClient(BASE, transport=server.transport(), **kwargs)


def check_message(message: str, fragment: str) -> None:
    assert fragment in message
    assert len(message) < 3000, len(message)
    assert message.isprintable()


@pytest.mark.asyncio
@pytest.mark.parametrize("case", SUBMISSION_CASES + OTHER_CALL_CASES, ids=lambda case: case.id)
async def test_bad_argument_is_refused_before_any_request(server: FakeServer, case: Case) -> None:
    client = client_for(server)
    with pytest.raises(case.error) as info:
        await case.call(client)
    assert type(info.value) is case.error
    check_message(str(info.value), case.fragment)
    assert server.router.calls.call_count == 0
    await client.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("case", SUBMISSION_CASES[::7], ids=lambda case: case.id)
async def test_create_run_request_refuses_the_same(server: FakeServer, case: Case) -> None:
    """create_run_request runs the same checks (every 7th submission case, to keep the suite short)."""
    client = client_for(server)

    async def create_instead(c: AsyncIQMClient) -> Any:
        original = c.submit_circuits
        c.submit_circuits = c.create_run_request  # type: ignore[method-assign, assignment]
        try:
            return await case.call(c)
        finally:
            c.submit_circuits = original  # type: ignore[method-assign]

    if "timeslot" in case.id:
        pytest.skip("create_run_request has no use_timeslot")
    with pytest.raises(case.error) as info:
        await create_instead(client)
    check_message(str(info.value), case.fragment)
    assert server.router.calls.call_count == 0


def mutated_request_cases() -> list[tuple[str, dict[str, Any], type[Exception], str]]:
    return [
        ("shots-bool", {"shots": True}, CVE, "shots must be an int"),
        ("shots-zero", {"shots": 0}, ValueError, "greater than zero"),
        ("heralding", {"heralding_mode": "zero"}, CVE, "run_request.heralding_mode must be one of"),
        ("calset", {"calibration_set_id": "../x"}, CVE, "calibration_set_id must be a UUID"),
        ("mapping", {"qubit_mapping": ["QB1"]}, CVE, "A list of names is not a mapping"),
        ("circuits-empty", {"circuits": []}, CVE, "circuits must not be empty"),
        ("angle-nan", {"circuits": [circuit(prx(angle=math.nan))]}, CVE, "'angle' is nan"),
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize(("field", "values", "error", "fragment"), mutated_request_cases())
async def test_modified_run_request_is_checked_again(
    server: FakeServer, field: str, values: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    client = client_for(server)
    request = await client.create_run_request([GOOD])
    sent_before = server.router.calls.call_count
    for name, value in values.items():
        object.__setattr__(request, name, value)  # what a careless caller does to a prepared request
    with pytest.raises(error, match=fragment):
        await client.submit_run_request(request)
    with pytest.raises(CVE, match="use_timeslot must be True or False"):
        await client.submit_run_request(await client.create_run_request([GOOD]), use_timeslot="no")
    assert server.submit.call_count == 0
    assert server.router.calls.call_count >= sent_before


NAN = math.nan
SETTINGS_CASES: list[tuple[str, dict[str, Any], dict[str, str], str]] = [
    ("timeout-str", {"timeout": "5"}, {}, "timeout must be a number (a number, not a string)"),
    ("timeout-nan", {"timeout": NAN}, {}, "timeout must be a finite number, got nan"),
    ("timeout-inf", {"timeout": math.inf}, {}, "timeout must be a finite number, got inf"),
    ("timeout-zero", {"timeout": 0}, {}, "timeout must be positive, got 0.0"),
    ("timeout-negative", {"timeout": -1}, {}, "timeout must be positive"),
    ("timeout-bool", {"timeout": True}, {}, "timeout must be a number, got bool"),
    ("retries-bool", {"max_retries": True}, {}, "max_retries must be an int (True would be taken as 1)"),
    ("retries-negative", {"max_retries": -1}, {}, "max_retries must be between 0 and 100"),
    ("retries-float", {"max_retries": 2.5}, {}, "max_retries must be an int, got float"),
    ("retries-str", {"max_retries": "3"}, {}, "max_retries must be an int, got str"),
    ("retries-huge", {"max_retries": 10**6}, {}, "max_retries must be between 0 and 100"),
    ("poll-nan", {"max_poll_interval": NAN}, {}, "max_poll_interval must be a finite number"),
    ("poll-str", {"max_poll_interval": "1"}, {}, "max_poll_interval must be a number"),
    ("ttl-negative", {"architecture_ttl": -1}, {}, "architecture_ttl must be >= 0"),
    ("ttl-nan", {"architecture_ttl": NAN}, {}, "architecture_ttl must be a finite number"),
    ("rate-zero", {"requests_per_second": 0}, {}, "requests_per_second must be positive"),
    ("rate-nan", {"requests_per_second": NAN}, {}, "requests_per_second must be a finite number"),
    ("concurrency-zero", {"max_concurrent_requests": 0}, {}, "max_concurrent_requests must be between 1"),
    ("concurrency-bool", {"max_concurrent_requests": True}, {}, "max_concurrent_requests must be an int"),
    ("concurrency-float", {"max_concurrent_requests": 1.5}, {}, "max_concurrent_requests must be an int"),
    ("qc-int", {"quantum_computer": 5}, {}, "quantum_computer must be a str, got int"),
    ("qc-1MB", {"quantum_computer": "g" * MB}, {}, "quantum_computer is 1000000 characters long"),
    ("qc-surrogate", {"quantum_computer": "garnet\ud800"}, {}, "quantum_computer contains a lone surrogate"),
    ("token-int", {"token": 5}, {}, "token must be a str, got int <hidden>"),
    ("token-newline", {"token": "abc\r\nX-Injected: 1"}, {}, "token must consist of printable ASCII"),
    ("token-non-ascii", {"token": "tøken"}, {}, "token must consist of printable ASCII"),
    (
        "signature-crlf",
        {"client_signature": "me\r\nX-Evil: 1"},
        {},
        "client_signature must consist of printable ASCII",
    ),
    ("signature-bytes", {"client_signature": b"me"}, {}, "client_signature must be a str, got bytes"),
    ("tokens-file-int", {"tokens_file": 5}, {}, "tokens_file must be a path"),
    ("tokens-file-nul", {"tokens_file": "a\x00b"}, {}, "without NUL characters"),
    (
        "url-bytes",
        {"iqm_server_url": b"https://iqm.example.com"},
        {},
        "iqm_server_url must be a str, got bytes",
    ),
    (
        "url-newline",
        {"iqm_server_url": "https://iqm.example.com/\nHost: evil"},
        {},
        "one line of printable characters",
    ),
    ("url-1MB", {"iqm_server_url": "https://iqm.example.com/" + "a" * MB}, {}, "at most 2048 long"),
    ("transport-str", {"transport": "mock"}, {}, "transport must be an httpx.AsyncBaseTransport"),
    ("idempotent-str", {"idempotent_submissions": "yes"}, {}, "idempotent_submissions must be True or False"),
    ("verify-int", {"verify": 1}, {}, "verify must be True, False, a CA bundle path or an ssl.SSLContext"),
    (
        "env-timeout-nan",
        {},
        {"IQM_CLIENT_REQUESTS_TIMEOUT": "nan"},
        "IQM_CLIENT_REQUESTS_TIMEOUT must be a finite",
    ),
    (
        "env-retries-inf",
        {},
        {"IQM_CLIENT_MAX_RETRIES": "inf"},
        "IQM_CLIENT_MAX_RETRIES must be a whole number",
    ),
    ("env-retries-fraction", {}, {"IQM_CLIENT_MAX_RETRIES": "2.5"}, "must be a whole number, got '2.5'"),
    (
        "env-poll-zero",
        {},
        {"IQM_CLIENT_SECONDS_BETWEEN_CALLS": "0"},
        "IQM_CLIENT_SECONDS_BETWEEN_CALLS must be positive",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "environ", "fragment"), [c[1:] for c in SETTINGS_CASES], ids=[c[0] for c in SETTINGS_CASES]
)
def test_bad_setting_is_refused_at_construction(
    server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    kwargs: dict[str, Any],
    environ: dict[str, str],
    fragment: str,
) -> None:
    for name in ("IQM_TOKEN", "IQM_TOKENS_FILE", "IQM_SERVER_URL", "IQM_QUANTUM_COMPUTER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    arguments: dict[str, Any] = {"iqm_server_url": BASE, "transport": server.transport(), **kwargs}
    if "token" not in arguments and "tokens_file" not in arguments:
        arguments["token"] = TOKEN
    with pytest.raises(ClientConfigurationError) as info:
        AsyncIQMClient(**arguments)
    check_message(str(info.value), fragment)
    if "token" in kwargs and isinstance(kwargs["token"], str):
        assert kwargs["token"] not in str(info.value)
    assert server.router.calls.call_count == 0


def test_the_blocking_facade_inherits_the_checks(server: FakeServer) -> None:
    with pytest.raises(ClientConfigurationError, match="timeout must be a number"):
        IQMClient(BASE, token=TOKEN, transport=server.transport(), timeout="5")  # type: ignore[arg-type]
    with IQMClient(BASE, token=TOKEN, transport=server.transport()) as client:
        with pytest.raises(CircuitValidationError, match="True would be sent as 1"):
            client.submit_circuits([GOOD], shots=True)
        with pytest.raises(ClientConfigurationError, match="job_id must be a UUID"):
            client.get_job_data("../../x")  # type: ignore[arg-type]
        with pytest.raises(CircuitValidationError, match="calibration_set_id must be a UUID"):
            client.submit_circuits([GOOD], calibration_set_id="../../../jobs/x")  # type: ignore[arg-type]
    assert server.router.calls.call_count == 0


@pytest.mark.asyncio
async def test_uuid_strings_and_whole_float_shots_are_accepted(server: FakeServer) -> None:
    """The checks refuse what is wrong, not what is merely spelled differently."""
    client = client_for(server)
    data = await client.get_job_data(JOB_ID)  # type: ignore[arg-type]
    assert data.id == uuid.UUID(JOB_ID)
    request = await client.create_run_request([GOOD], calibration_set_id=CALSET_ID, shots=1e3)  # type: ignore[arg-type]
    assert request.calibration_set_id == uuid.UUID(CALSET_ID) and request.shots == 1000
    assert type(request.shots) is int
    request = await client.create_run_request(
        (GOOD,),
        options=CircuitCompilationOptions(heralding_mode="zeros"),
        qubit_mapping=None,  # type: ignore[arg-type]
    )
    assert request.heralding_mode == "zeros"
    await client.aclose()


@pytest.mark.asyncio
async def test_quantum_computer_alias_is_escaped_in_paths(server: FakeServer) -> None:
    """A server-supplied alias with path syntax stays one path segment."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        if request.url.path == "/api/v1/quantum-computers":
            return httpx.Response(
                200,
                json={"quantum_computers": [{"id": str(uuid.uuid4()), "alias": "..", "display_name": "x"}]},
            )
        return httpx.Response(200, json={"status": "ok"})

    async with AsyncIQMClient(BASE, token=TOKEN, transport=httpx.MockTransport(handler)) as client:
        await client.get_health()
    assert seen[-1] == "/api/v1/quantum-computers/%2E%2E/health"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (circuit(measure("Q" * MB)), "is not allowed as locus for 'measure'"),
        (circuit(prx("Q" * MB)), "is not allowed as locus for 'prx'"),
        (circuit(CircuitOperation("barrier", ("Q" * MB,)), measure("QB1")), "does not exist on the QPU"),
    ],
    ids=["measure", "prx", "barrier"],
)
async def test_1MB_qubit_name_gives_a_short_message(server: FakeServer, bad: Circuit, fragment: str) -> None:
    """Only the architecture knows the name is wrong (one request for it), but the message stays short."""
    client = client_for(server)
    with pytest.raises(CircuitValidationError) as info:
        await client.submit_circuits([bad])
    check_message(str(info.value), fragment)
    assert server.submit.call_count == 0
