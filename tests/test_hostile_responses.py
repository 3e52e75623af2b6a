"""Broken and hostile server answers: every one becomes an ``IQMError`` with a bounded, printable,
token-free message, over a mocked transport and over real loopback HTTP."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from conftest import BASE, JOB_ID, FakeServer, dqa, job_json

from iqm_client_async import (
    APIStatusError,
    AsyncIQMClient,
    AuthenticationError,
    BadGatewayError,
    Circuit,
    CircuitOperation,
    ClientConfigurationError,
    ForbiddenError,
    InternalServerError,
    InvalidOperationError,
    IQMError,
    RateLimitError,
    ResponseDecodeError,
    ServiceUnavailableError,
)

pytestmark = pytest.mark.asyncio

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2VjcmV0LXNpZ25hdHVyZQ"
MB = 1_000_000
JOB_PATH = f"/api/v1/jobs/{JOB_ID}"


def client_for(server: FakeServer, **kwargs: Any) -> AsyncIQMClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("max_retries", 0)
    return AsyncIQMClient(BASE, transport=server.transport(), **kwargs)


def assert_clean(message: str, *, limit: int = 1600) -> None:
    """One printable line, bounded, without the token or any piece of it."""
    assert message.isprintable(), repr(message[:200])
    assert len(message) <= limit, len(message)
    assert TOKEN not in message
    for piece in TOKEN.split("."):
        assert piece not in message


# ------------------------------------------------------------------------------------- error bodies

ErrorCase = tuple[str, int, dict[str, str], bytes, type[APIStatusError], str]

HTML = {"content-type": "text/html"}
TEXT = {"content-type": "text/plain"}
JSON = {"content-type": "application/json"}

ERROR_CASES: list[ErrorCase] = [
    ("repeated-title-140KB", 502, HTML, b"<title>" * 20_000, BadGatewayError, "Bad Gateway (text/html)"),
    ("repeated-title-1MB", 500, HTML, b"<title>" * 150_000, InternalServerError, "Internal Server Error"),
    ("unclosed-tags-1MB", 502, HTML, b"<" * MB, BadGatewayError, "<<<<"),
    ("tag-soup-1MB", 502, HTML, b"<a" * (MB // 2), BadGatewayError, "<a<a"),
    (
        "unclosed-title",
        500,
        HTML,
        b"<title>never closed " + b"x" * 70_000,
        InternalServerError,
        "never closed",
    ),
    (
        "title-wins",
        503,
        HTML,
        b"<html><title>Maintenance</title><body>" + b"y" * 10_000,
        ServiceUnavailableError,
        "Maintenance",
    ),
    (
        "ansi-escapes",
        500,
        TEXT,
        b"\x1b[2J\x1b[31mred alert\x1b[0m\x1b]0;pwned\x07",
        InternalServerError,
        "red alert",
    ),
    ("nul-bytes", 500, TEXT, b"nul\x00 in\x00 body", InternalServerError, "nul in body"),
    (
        "bidi-override",
        500,
        TEXT,
        "safe \u202etxt.exe\u202c end".encode(),
        InternalServerError,
        "safe txt.exe end",
    ),
    (
        "newlines",
        400,
        TEXT,
        b"line one\r\nline two\n\nline three",
        InvalidOperationError,
        "line one line two line three",
    ),
    ("invalid-utf8", 500, TEXT, b"\xff\xfe\xfa broken", InternalServerError, "broken"),
    (
        "bogus-charset",
        500,
        {"content-type": "text/plain; charset=no-such-codec"},
        b"plain words",
        InternalServerError,
        "plain words",
    ),
    ("content-type-escape", 500, {"content-type": "text/\x1b[31mhtml"}, b"x", InternalServerError, "text/"),
    ("2MB-text", 500, TEXT, b"word " * 400_000, InternalServerError, "characters)"),
    ("empty-body", 500, TEXT, b"", InternalServerError, "(empty body)"),
    (
        "json-message-1MB",
        400,
        JSON,
        json.dumps({"message": "m" * MB}).encode(),
        InvalidOperationError,
        "characters)",
    ),
    (
        "json-message-controls",
        400,
        JSON,
        json.dumps({"message": "a\x00b\x1b[1mc\nd"}).encode(),
        InvalidOperationError,
        "abc d",
    ),
    (
        "json-detail-list",
        422,
        JSON,
        json.dumps({"detail": [{"loc": ["body"], "msg": "bad"}]}).encode(),
        APIStatusError,
        '"msg": "bad"',
    ),
    (
        "json-error-code-escape",
        400,
        JSON,
        json.dumps({"message": "x", "error_code": "e\x1b[31m" + "c" * 500}).encode(),
        InvalidOperationError,
        "HTTP 400 [e",
    ),
    ("json-deeply-nested", 500, JSON, b"[" * 100_000 + b"]" * 100_000, InternalServerError, "[[[["),
    ("json-huge-array", 500, JSON, b"[" + b"1," * 600_000 + b"1]", InternalServerError, "1,1,1"),
    ("json-not-object", 500, JSON, b'"just a string"', InternalServerError, "just a string"),
    ("json-message-number", 500, JSON, b'{"message": 12345}', InternalServerError, "12345"),
    (
        "surrogate-escape",
        500,
        JSON,
        b'{"message": "lone \\ud800 surrogate"}',
        InternalServerError,
        "lone surrogate",
    ),
]


@pytest.mark.parametrize(
    ("status", "headers", "body", "error", "fragment"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
async def test_error_body_becomes_a_clean_status_error(
    server: FakeServer,
    status: int,
    headers: dict[str, str],
    body: bytes,
    error: type[APIStatusError],
    fragment: str,
) -> None:
    server.job.respond(status, headers=headers, content=body)
    client = client_for(server)
    with pytest.raises(error) as info:
        await client.get_job_data(uuid.UUID(JOB_ID))
    assert info.value.status_code == status
    assert fragment in str(info.value)
    assert_clean(str(info.value))
    for attribute in (info.value.message, info.value.error_code, info.value.source):
        assert attribute is None or attribute.isprintable()


TOKEN_ECHOES: list[tuple[str, int, dict[str, str], bytes, type[APIStatusError]]] = [
    (
        "html-echo",
        401,
        HTML,
        f"<title>Unauthorized</title><pre>Authorization: Bearer {TOKEN}</pre>".encode(),
        AuthenticationError,
    ),
    (
        "json-message",
        401,
        JSON,
        json.dumps({"message": f"token {TOKEN} is expired"}).encode(),
        AuthenticationError,
    ),
    (
        "json-error-code",
        403,
        JSON,
        json.dumps({"message": "no", "error_code": TOKEN}).encode(),
        ForbiddenError,
    ),
    (
        "json-source",
        403,
        JSON,
        json.dumps({"message": "no", "source": f"gw {TOKEN}"}).encode(),
        ForbiddenError,
    ),
    ("json-detail-list", 401, JSON, json.dumps({"detail": [{"input": TOKEN}]}).encode(), AuthenticationError),
    ("nul-split", 401, TEXT, (TOKEN[:10] + "\x00" + TOKEN[10:]).encode(), AuthenticationError),
    ("escape-split", 401, TEXT, (TOKEN[:10] + "\x1b[0m" + TOKEN[10:]).encode(), AuthenticationError),
    (
        "at-the-64KiB-cut",
        500,
        TEXT,
        b"a" * (64 * 1024 - 20) + TOKEN.encode() + b"z" * 10,
        InternalServerError,
    ),
    ("in-title", 502, HTML, f"<title>{TOKEN}</title>".encode(), BadGatewayError),
    ("many-times", 500, TEXT, (TOKEN + " ") * 5000, InternalServerError),
]


@pytest.mark.parametrize(
    ("status", "headers", "body", "error"), [c[1:] for c in TOKEN_ECHOES], ids=[c[0] for c in TOKEN_ECHOES]
)
async def test_token_echoed_by_the_server_is_redacted(
    server: FakeServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
    headers: dict[str, str],
    body: bytes | str,
    error: type[APIStatusError],
) -> None:
    server.job.respond(status, headers=headers, content=body.encode() if isinstance(body, str) else body)
    client = client_for(server, max_retries=1)
    with caplog.at_level(logging.DEBUG, logger="iqm_client_async"), pytest.raises(error) as info:
        await client.get_job_data(uuid.UUID(JOB_ID))
    assert_clean(str(info.value))
    assert_clean(repr(info.value.args))
    assert TOKEN not in caplog.text


async def test_the_response_an_error_carries_has_no_token(server: FakeServer) -> None:
    """``error.response`` is server text too: body, headers and the request it answers are redacted."""
    server.job.respond(
        401,
        headers={"www-authenticate": f'Bearer realm="iqm", token="{TOKEN}"', "content-type": "text/plain"},
        content=f"you sent Bearer {TOKEN}".encode(),
    )
    with pytest.raises(AuthenticationError) as info:
        await client_for(server).get_job_data(uuid.UUID(JOB_ID))
    response = info.value.response
    assert response is not None and response.status_code == 401
    assert response.text == "you sent Bearer [REDACTED]"
    assert TOKEN not in str(response.headers.multi_items())
    assert TOKEN not in str(response.request.headers.multi_items())
    assert response.request.url == httpx.URL(f"{BASE}{JOB_PATH}")


async def test_hostile_quantum_computer_aliases_give_a_clean_message(server: FakeServer) -> None:
    computers = [
        {"id": str(uuid.uuid4()), "alias": f"qc\x1b[31m{i}\n" + "x" * 1000, "display_name": "d"}
        for i in range(2000)
    ]
    server.qcs.respond(json={"quantum_computers": computers})
    with pytest.raises(ClientConfigurationError, match="Quantum computer not selected") as info:
        await client_for(server).get_quantum_computer_name()
    assert_clean(str(info.value))


async def test_retry_after_from_a_hostile_server_is_bounded(server: FakeServer) -> None:
    for value, expected in (
        ("1e400", 120.0),
        ("nan", None),
        ("Fri, 99 Foo 2025", None),
        ("9" * 10_000, None),
    ):
        server.job.respond(429, headers={"retry-after": value}, json={"message": "slow down"})
        with pytest.raises(RateLimitError) as info:
            await client_for(server).get_job_data(uuid.UUID(JOB_ID))
        assert info.value.retry_after == expected, value


# ----------------------------------------------------------------------------------- 2xx decoding


def bell() -> Circuit:
    return Circuit(
        "bell",
        (
            CircuitOperation("prx", ("QB1",), {"angle": 1.5, "phase": 0.0}),
            CircuitOperation("cz", ("QB1", "QB2")),
            CircuitOperation("measure", ("QB1", "QB2"), {"key": "m"}),
            CircuitOperation("measure", ("QB1",), {"key": "single"}),
        ),
    )


DecodeCase = tuple[str, Callable[[FakeServer], Any], Callable[[AsyncIQMClient], Any], str]


def job_body(content: bytes | str) -> Callable[[FakeServer], Any]:
    return lambda s: s.job.respond(200, content=content.encode() if isinstance(content, str) else content)


def get_job(client: AsyncIQMClient) -> Any:
    return client.get_job_data(uuid.UUID(JOB_ID))


DECODE_CASES: list[DecodeCase] = [
    ("job-not-json", job_body("<html>ok</html>"), get_job, "validation error"),
    ("job-empty", job_body(b""), get_job, "validation error"),
    ("job-array", job_body("[]"), get_job, "first at the top level"),
    ("job-bad-status", lambda s: s.job.respond(json=job_json("exploded")), get_job, "first at status"),
    ("job-nested", job_body("[" * 100_000), get_job, "validation error"),
    ("job-invalid-utf8", job_body(b'{"id": "\xff"}'), get_job, "validation error"),
    (
        "job-nan-position",
        job_body(json.dumps(job_json()).replace('"queue_position": 0', '"queue_position": NaN')),
        get_job,
        "validation error",
    ),
    ("job-id-not-uuid", lambda s: s.job.respond(json={**job_json(), "id": "../x"}), get_job, "first at id"),
    (
        "qcs-wrong-shape",
        lambda s: s.qcs.respond(json={"quantum_computers": "garnet"}),
        lambda c: c.get_quantum_computers(),
        "first at quantum_computers",
    ),
    (
        "about-list",
        lambda s: s.router.get("/api/v1/about").respond(json=[1, 2]),
        lambda c: c.get_about(),
        "validation error",
    ),
    (
        "dqa-wrong-types",
        lambda s: s.dqa_default.respond(json={**dqa(), "qubits": "QB1"}),
        lambda c: c.get_dynamic_quantum_architecture(),
        "first at qubits",
    ),
    (
        "static-architecture-empty",
        lambda s: (
            s.router.get("/api/v1/quantum-computers/garnet/artifacts/duts").respond(
                json=[{"label": "M000_fake_0_0", "dut_type": "chip"}]
            ),
            s.router.get("/api/v1/quantum-computers/garnet/artifacts/static-quantum-architectures").respond(
                json=[]
            ),
        ),
        lambda c: c.get_static_quantum_architecture(),
        "returned no static quantum architecture",
    ),
    (
        "payload-garbage",
        lambda s: s.router.get(f"{JOB_PATH}/payload").respond(json={"circuits": "x" * MB}),
        lambda c: c._get_submit_circuits_payload(uuid.UUID(JOB_ID)),
        "first at circuits",
    ),
    (
        "channel-properties-garbage",
        lambda s: (
            s.router.get("/api/v1/quantum-computers/garnet/artifacts/channel-properties").respond(
                content=b"\xff" * 100
            ),
            s.router.get("/api/v1/quantum-computers/garnet/artifacts/duts").respond(
                json=[{"label": "d", "dut_type": "chip"}]
            ),
            s.router.get("/api/v1/quantum-computers/garnet/artifacts/static-quantum-architectures").respond(
                json=[
                    {"dut_label": "d", "qubits": ["QB1"], "computational_resonators": [], "connectivity": []}
                ]
            ),
        ),
        lambda c: c.get_feedback_groups(),
        "not a valid protobuf message",
    ),
]

MEASUREMENT_CASES: list[tuple[str, Any, str]] = [
    (
        "value-2",
        [{"m": [[0, 2]], "single": [[1]]}],
        "job 3c3fcda3-e860-46bf-92a4-bcc59fa76ce9, circuit 0, key 'm'",
    ),
    ("value-negative", [{"m": [[0, -1]], "single": [[1]]}], "key 'm' (shot 0)"),
    ("value-string", [{"m": [["1", "0"]], "single": [[1]]}], "key 'm'"),
    ("value-true", [{"m": [[True, False]], "single": [[1]]}], "key 'm'"),
    ("value-float", [{"m": [[1.0, 0.0]], "single": [[1]]}], "key 'm'"),
    ("ragged-rows", [{"m": [[0, 1], [1]], "single": [[1], [0]]}], "rows of lengths [1, 2]"),
    (
        "uneven-shots",
        [{"m": [[0, 1], [1, 1]], "single": [[1]]}],
        "1 shots, but other keys of the circuit have 2",
    ),
    ("not-a-list", {"m": [[0, 1]]}, "Input should be a valid array"),
    ("key-not-rows", [{"m": [0, 1]}], "key 'm'"),
]

SUBMITTED_MEASUREMENT_CASES: list[tuple[str, Any, str]] = [
    (
        "row-shorter-than-locus",
        [{"m": [[0]], "single": [[1]]}],
        "circuit 0 ('bell'), key 'm': rows of lengths [1], expected 2",
    ),
    ("row-longer-than-locus", [{"m": [[0, 1]], "single": [[1, 0]]}], "circuit 0 ('bell'), key 'single'"),
    ("missing-key", [{"m": [[0, 1]]}], "measurement keys missing ['single']"),
    ("extra-key", [{"m": [[0, 1]], "single": [[1]], "bogus": [[1]]}], "unexpected ['bogus']"),
    ("too-many-circuits", [{"m": [[0, 1]], "single": [[1]]}] * 2, "2 circuits in the results, 1 submitted"),
]

COUNTS_CASES: list[tuple[str, Any, str]] = [
    (
        "bitstring-012",
        [{"measurement_keys": ["m"], "counts": {"012": 1}}],
        "the bitstring '012' is not made of 0 and 1",
    ),
    ("negative-count", [{"measurement_keys": ["m"], "counts": {"01": -1}}], "a negative count"),
    (
        "mixed-lengths",
        [{"measurement_keys": ["m"], "counts": {"01": 1, "1": 1}}],
        "bitstrings of lengths [1, 2]",
    ),
    ("count-string", [{"measurement_keys": ["m"], "counts": {"01": "many"}}], "validation error"),
]


@pytest.mark.parametrize(
    ("arrange", "act", "fragment"), [c[1:] for c in DECODE_CASES], ids=[c[0] for c in DECODE_CASES]
)
async def test_malformed_success_response_is_a_decode_error(
    server: FakeServer,
    arrange: Callable[[FakeServer], Any],
    act: Callable[[AsyncIQMClient], Any],
    fragment: str,
) -> None:
    arrange(server)
    client = client_for(server)
    with pytest.raises(ResponseDecodeError) as info:
        await act(client)
    assert fragment in str(info.value)
    assert_clean(str(info.value))


@pytest.mark.parametrize(
    ("body", "fragment"), [c[1:] for c in MEASUREMENT_CASES], ids=[c[0] for c in MEASUREMENT_CASES]
)
async def test_malformed_measurements_name_circuit_and_key(
    server: FakeServer, body: Any, fragment: str
) -> None:
    server.measurements.respond(json=body)
    with pytest.raises(ResponseDecodeError) as info:
        await client_for(server).get_job_measurements(uuid.UUID(JOB_ID))
    assert fragment in str(info.value)
    assert_clean(str(info.value))


@pytest.mark.parametrize(
    ("body", "fragment"),
    [c[1:] for c in SUBMITTED_MEASUREMENT_CASES],
    ids=[c[0] for c in SUBMITTED_MEASUREMENT_CASES],
)
async def test_measurements_of_a_submitted_job_match_its_circuits(
    server: FakeServer, body: Any, fragment: str
) -> None:
    client = client_for(server)
    job = await client.submit_circuits([bell()], shots=1)
    server.measurements.respond(json=body)
    with pytest.raises(ResponseDecodeError) as info:
        await job.result()
    assert fragment in str(info.value)
    assert_clean(str(info.value))


async def test_well_formed_measurements_pass_the_checks(server: FakeServer) -> None:
    """The checks reject what is malformed only: heralded-away shots (0 rows) and valid results pass."""
    client = client_for(server)
    job = await client.submit_circuits([bell()], shots=2)
    server.measurements.respond(json=[{"m": [[0, 1], [1, 1]], "single": [[1], [0]]}])
    assert await job.result() == [{"m": [[0, 1], [1, 1]], "single": [[1], [0]]}]
    server.measurements.respond(json=[{"m": [], "single": []}])
    assert await client.get_job_measurements(job.job_id) == [{"m": [], "single": []}]


@pytest.mark.parametrize(
    ("body", "fragment"), [c[1:] for c in COUNTS_CASES], ids=[c[0] for c in COUNTS_CASES]
)
async def test_malformed_counts_are_a_decode_error(server: FakeServer, body: Any, fragment: str) -> None:
    server.counts.respond(json=body)
    with pytest.raises(ResponseDecodeError) as info:
        await client_for(server).get_job_measurement_counts(uuid.UUID(JOB_ID))
    assert fragment in str(info.value)
    assert_clean(str(info.value))


async def test_token_in_a_job_document_is_redacted_before_decoding(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Job messages and errors are server text that reaches warnings, logs and exceptions."""
    failed = job_json(
        "failed",
        messages=[{"source": "gw", "message": f"auth header was Bearer {TOKEN}"}],
        errors=[{"source": "gw", "error_code": "e", "message": f"token {TOKEN} rejected"}],
    )
    server.job.respond(json=failed)
    client = client_for(server)
    with caplog.at_level(logging.DEBUG, logger="iqm_client_async"), pytest.warns(UserWarning) as warned:
        job = await client.get_job(uuid.UUID(JOB_ID))
        with pytest.raises(IQMError) as info:
            await job.result_or_raise(timeout_secs=5)
    assert "[REDACTED]" in job.data.messages[0].message
    assert TOKEN not in caplog.text and TOKEN not in str(info.value)
    assert all(TOKEN not in str(w.message) for w in warned)


async def test_job_messages_reach_logs_and_errors_as_one_printable_line(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    failed = job_json(
        "failed",
        messages=[{"source": "x\x1b]0;title\x07", "message": "line\nbreak \x1b[2J" + "z" * 50_000}],
        errors=[{"source": "gw\x00", "error_code": "e\r\nInjected: 1", "message": "\u202eboom\x00"}],
    )
    server.job.respond(json=failed)
    client = client_for(server)
    with caplog.at_level(logging.DEBUG, logger="iqm_client_async"), pytest.warns(UserWarning):
        job = await client.get_job(uuid.UUID(JOB_ID))
        with pytest.raises(IQMError) as info:
            await job.result_or_raise(timeout_secs=5)
    message, error = job.data.messages[0], job.data.errors[0]
    assert message.message.startswith("line break z") and len(message.message) < 10_100
    assert (error.source, error.error_code, error.message) == ("gw", "e Injected: 1", "boom")
    assert_clean(str(info.value))
    assert all(record.getMessage().replace("\n", "").isprintable() for record in caplog.records)


# --------------------------------------------------------------------------------- real loopback HTTP


class _Hostile(BaseHTTPRequestHandler):
    """Answers every request from the ``routes`` table of its server: path -> (status, headers, body)."""

    def do_GET(self) -> None:
        routes: dict[str, tuple[int, dict[str, str], bytes]] = self.server.routes  # type: ignore[attr-defined]
        status, headers, body = routes.get(self.path.split("?")[0], (404, {}, b'{"message": "no route"}'))
        if callable(body):
            body = body(self)
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hostile_server() -> Iterator[tuple[str, dict[str, tuple[int, dict[str, str], Any]]]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    httpd.routes = {  # type: ignore[attr-defined]
        "/api/v1/quantum-computers": (
            200,
            {},
            json.dumps(
                {"quantum_computers": [{"id": str(uuid.uuid4()), "alias": "garnet", "display_name": "G"}]}
            ).encode(),
        ),
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.routes  # type: ignore[attr-defined]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _echo_authorization(handler: BaseHTTPRequestHandler) -> bytes:
    return f"<html><body>you sent: {handler.headers.get('Authorization')}</body></html>".encode()


async def test_loopback_pathological_error_page(hostile_server: tuple[str, dict[str, Any]]) -> None:
    url, routes = hostile_server
    routes[JOB_PATH] = (502, {"Content-Type": "text/html"}, b"<title>" * 150_000)
    async with AsyncIQMClient(url, token=TOKEN, max_retries=0) as client:
        with pytest.raises(BadGatewayError) as info:
            await client.get_job_data(uuid.UUID(JOB_ID))
    assert_clean(str(info.value))


async def test_loopback_401_echoing_the_token(hostile_server: tuple[str, dict[str, Any]]) -> None:
    url, routes = hostile_server
    routes[JOB_PATH] = (401, {"Content-Type": "text/html"}, _echo_authorization)
    async with AsyncIQMClient(url, token=TOKEN, max_retries=0) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.get_job_data(uuid.UUID(JOB_ID))
    assert "you sent: Bearer [REDACTED]" in str(info.value)
    assert_clean(str(info.value))
    assert info.value.response is not None and TOKEN not in info.value.response.text


async def test_loopback_malformed_results_and_job(hostile_server: tuple[str, dict[str, Any]]) -> None:
    url, routes = hostile_server
    routes[f"{JOB_PATH}/artifacts/measurements"] = (200, {}, json.dumps([{"m": [[0, 1], [7, 0]]}]).encode())
    routes[JOB_PATH] = (200, {"Content-Type": "text/plain"}, b"\x1b[31mnot json\x00")
    async with AsyncIQMClient(url, token=TOKEN, max_retries=0) as client:
        with pytest.raises(ResponseDecodeError, match="circuit 0, key 'm' \\(shot 1\\)"):
            await client.get_job_measurements(uuid.UUID(JOB_ID))
        with pytest.raises(ResponseDecodeError) as info:
            await client.get_job_data(uuid.UUID(JOB_ID))
    assert_clean(str(info.value))


async def test_loopback_bad_arguments_send_nothing(hostile_server: tuple[str, dict[str, Any]]) -> None:
    """Over a real socket too: the path-traversal id never leaves the client."""
    url, routes = hostile_server
    hits: list[str] = []
    routes["/api/v1/jobs/x/dynamic-quantum-architecture"] = (200, {}, lambda h: hits.append(h.path) or b"{}")
    async with AsyncIQMClient(url, token=TOKEN, max_retries=0) as client:
        with pytest.raises(Exception) as info:
            await client.get_dynamic_quantum_architecture("../../../jobs/x")  # type: ignore[arg-type]
    assert isinstance(info.value, IQMError) and not hits


async def test_remembered_shapes_are_shared_and_bounded() -> None:
    """A job in flight costs one dict entry; the oldest jobs are forgotten past 100,000 circuits."""
    from iqm_client_async.models.results import ExpectedMeasurements

    expected = ExpectedMeasurements()
    circuit = bell()
    ids = [uuid.uuid4() for _ in range(50_001)]
    for job_id in ids:
        expected.remember(job_id, [circuit, circuit], [{"m": 2, "single": 1}, {"m": 2, "single": 1}])
    assert expected.get(ids[-1]) is expected.get(ids[-2])  # one object for identical jobs
    assert expected.get(ids[0]) is None and expected.get(ids[1]) is not None
    with_qir = uuid.uuid4()
    expected.remember(with_qir, [circuit, "qir"], [{"m": 2}, None])
    assert expected.get(with_qir) is None  # a QIR program's keys are unknown: checked for consistency only
