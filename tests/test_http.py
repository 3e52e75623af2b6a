"""The request layer: error decoding, retry rules, redirects, pacing (MockTransport, no sockets)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import anyio
import httpx
import pytest

from iqm_client_async import _errors as errors
from iqm_client_async._config import resolve_settings
from iqm_client_async._error_bodies import parse_retry_after
from iqm_client_async._http import HTTPClient, RetryKind
from iqm_client_async._testing import set_testing

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    """Retries without waiting (the library's testing mode), except in tests that measure waits."""
    set_testing(True)
    yield
    set_testing(False)


def make_client(
    handler: Handler,
    *,
    retries: int = 3,
    root_url: str = "https://iqm.example.com",
    transport: httpx.AsyncBaseTransport | None = None,
    **kw: object,
) -> HTTPClient:
    settings = resolve_settings(
        root_url,
        quantum_computer=None,
        token="s3cret-token",
        tokens_file=None,
        client_signature=None,
        timeout=5.0,
        max_retries=retries,
        environ={},
        **kw,  # type: ignore[arg-type]
    )
    return HTTPClient(settings, transport=transport or httpx.MockTransport(handler))


def counting(responses: list[httpx.Response | Exception]) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = responses[min(len(seen), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


ERROR_CLASSES = [
    (400, errors.InvalidOperationError),
    (401, errors.AuthenticationError),
    (403, errors.ForbiddenError),
    (404, errors.NotFoundError),
    (409, errors.ConflictError),
    (413, errors.DataSizeError),
    (422, errors.ValidationError),
    (429, errors.RateLimitError),
    (500, errors.InternalSystemError),
    (502, errors.BadGatewayError),
    (503, errors.SystemUnavailableError),
    (504, errors.OperationTimeoutError),
    (405, errors.UnexpectedStatusError),
    (418, errors.UnexpectedStatusError),
    (499, errors.UnexpectedStatusError),  # not an HTTPStatus member: the reference raises ValueError
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "cls"), ERROR_CLASSES)
async def test_every_status_maps_to_its_class(status: int, cls: type[errors.APIStatusError]) -> None:
    body = {
        "message": "Job 1 not found",
        "error_code": "job_not_found",
        "source": "iqm-server",
        "detail": "x",
    }
    handler, seen = counting([httpx.Response(status, json=body)])
    client = make_client(handler, retries=0)
    with pytest.raises(cls) as info:
        await client.request("GET", "/api/v1/jobs/1")
    err = info.value
    assert isinstance(err, errors.IQMError) and isinstance(err, errors.APIStatusError)
    assert (err.status_code, err.error_code, err.message, err.source) == (
        status,
        "job_not_found",
        "Job 1 not found",
        "iqm-server",
    )
    assert "s3cret-token" not in str(err) and "s3cret-token" not in repr(err.__dict__)
    assert len(seen) == 1


@pytest.mark.asyncio
async def test_legacy_detail_body_and_html_body() -> None:
    handler, _ = counting([httpx.Response(401, json={"detail": "unauthorized"})])
    with pytest.raises(errors.AuthenticationError, match="unauthorized"):
        await make_client(handler, retries=0).request("GET", "/x")
    html = "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    handler, _ = counting([httpx.Response(502, text=html, headers={"content-type": "text/html"})])
    with pytest.raises(errors.BadGatewayError) as info:
        await make_client(handler, retries=0).request("GET", "/x")
    assert info.value.message == "Bad Gateway (text/html): 502 Bad Gateway"
    assert info.value.error_code is None


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
async def test_safe_requests_retry_on_transient_statuses(status: int) -> None:
    handler, seen = counting([httpx.Response(status), httpx.Response(200, json={"ok": True})])
    response = await make_client(handler).request("GET", "/x")
    assert response.json() == {"ok": True} and len(seen) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [400, 401, 404, 409, 500])
async def test_no_retry_on_permanent_statuses(status: int) -> None:
    handler, seen = counting([httpx.Response(status, json={"message": "no"})])
    with pytest.raises(errors.APIStatusError):
        await make_client(handler).request("GET", "/x")
    assert len(seen) == 1


@pytest.mark.asyncio
async def test_retries_are_bounded_by_max_retries() -> None:
    handler, seen = counting([httpx.Response(503)])
    with pytest.raises(errors.SystemUnavailableError):
        await make_client(handler, retries=2).request("GET", "/x")
    assert len(seen) == 3


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx.ConnectError("refused"), errors.APIConnectionError),
        (httpx.ReadTimeout("slow"), errors.APITimeoutError),
        (httpx.RemoteProtocolError("reset"), errors.APIConnectionError),
    ],
)
async def test_safe_requests_retry_on_connection_errors(exc: Exception, cls: type[errors.IQMError]) -> None:
    handler, seen = counting([exc, httpx.Response(200)])
    assert (await make_client(handler).request("POST", "/api/v1/jobs/1/cancel")).status_code == 200
    assert len(seen) == 2
    handler, seen = counting([exc])
    with pytest.raises(cls):
        await make_client(handler, retries=1).request("DELETE", "/api/v1/jobs/1")
    assert len(seen) == 2


@pytest.mark.asyncio
async def test_submit_not_retried_after_read_timeout() -> None:
    handler, seen = counting([httpx.ReadTimeout("lost"), httpx.Response(200)])
    client = make_client(handler)
    headers = {"Idempotency-Key": "key-1"}
    with pytest.raises(errors.SubmissionOutcomeUnknownError) as info:
        await client.request(
            "POST", "/api/v1/jobs/qc/circuit", retry=RetryKind.SUBMIT, content=b"{}", headers=headers
        )
    assert len(seen) == 1
    assert info.value.idempotency_key == "key-1" and "key-1" in str(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("lost"), httpx.RemoteProtocolError("dropped"), httpx.ReadError("x")]
)
async def test_submit_not_retried_after_ambiguous_errors_when_keys_not_honoured(exc: Exception) -> None:
    handler, seen = counting([exc, httpx.Response(200)])
    with pytest.raises(errors.SubmissionOutcomeUnknownError):
        await make_client(handler).request(
            "POST", "/j", retry=RetryKind.SUBMIT, headers={"Idempotency-Key": "k"}
        )
    assert len(seen) == 1


@pytest.mark.asyncio
async def test_submit_retried_with_same_key_when_server_honours_keys() -> None:
    handler, seen = counting([httpx.ReadTimeout("lost"), httpx.RemoteProtocolError("x"), httpx.Response(200)])
    await make_client(handler).request(
        "POST", "/j", retry=RetryKind.SUBMIT_WITH_KEY, content=b"{}", headers={"Idempotency-Key": "same"}
    )
    assert [r.headers["Idempotency-Key"] for r in seen] == ["same"] * 3


@pytest.mark.asyncio
async def test_submit_ambiguous_retries_exhausted_carries_key() -> None:
    handler, seen = counting([httpx.ReadTimeout("lost")])
    with pytest.raises(errors.SubmissionOutcomeUnknownError) as info:
        await make_client(handler, retries=2).request(
            "POST", "/j", retry=RetryKind.SUBMIT_WITH_KEY, headers={"Idempotency-Key": "k9"}
        )
    assert len(seen) == 3 and info.value.idempotency_key == "k9"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "first",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow connect"),
        httpx.Response(429),
        httpx.Response(503),
    ],
)
async def test_submit_retried_when_certainly_not_created(first: httpx.Response | Exception) -> None:
    handler, seen = counting([first, httpx.Response(200)])
    await make_client(handler).request("POST", "/j", retry=RetryKind.SUBMIT, headers={"Idempotency-Key": "k"})
    assert len(seen) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [500, 502, 504])
async def test_submit_not_retried_on_server_errors(status: int) -> None:
    handler, seen = counting([httpx.Response(status)])
    with pytest.raises(errors.APIStatusError):
        await make_client(handler).request("POST", "/j", retry=RetryKind.SUBMIT)
    assert len(seen) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_redirect_refused_on_mutating_requests(method: str) -> None:
    handler, seen = counting([httpx.Response(307, headers={"Location": "https://evil.example.com/j"})])
    with pytest.raises(errors.RedirectRefusedError, match=r"evil\.example\.com") as info:
        await make_client(handler).request(method, "/j")
    assert info.value.location == "https://evil.example.com/j" and len(seen) == 1


@pytest.mark.asyncio
async def test_get_redirect_followed_without_authorization_to_other_origin() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "iqm.example.com":
            return httpx.Response(302, headers={"Location": "https://other.example.com/x"})
        seen.append(request)
        return httpx.Response(200)

    seen: list[httpx.Request] = []
    await make_client(handler).request("GET", "/x")
    assert len(seen) == 1 and "Authorization" not in seen[0].headers


@pytest.mark.asyncio
async def test_same_origin_redirect_keeps_authorization() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/x":
            return httpx.Response(301, headers={"Location": "/y"})
        seen.append(request)
        return httpx.Response(200)

    seen: list[httpx.Request] = []
    await make_client(handler).request("GET", "/x")
    assert seen[0].headers["Authorization"] == "Bearer s3cret-token"


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now.timestamp())
        == 7.0
    )
    assert (
        parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now.timestamp())
        == 0.0
    )
    assert parse_retry_after("99999") == 120.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@pytest.mark.asyncio
async def test_retry_after_is_honoured_and_pauses_every_request() -> None:
    set_testing(False)
    handler, seen = counting([httpx.Response(429, headers={"Retry-After": "0.3"}), httpx.Response(200)])
    client = make_client(handler)
    started = anyio.current_time()
    await client.request("GET", "/x")
    assert anyio.current_time() - started >= 0.29 and len(seen) == 2
    # the pause applied to the whole client: a fresh request right after a 429 also waits
    handler2, _ = counting([httpx.Response(200)])
    client2 = make_client(handler2)
    client2.budget.pause(0.2)
    started = anyio.current_time()
    await client2.request("GET", "/y")
    assert anyio.current_time() - started >= 0.19


@pytest.mark.asyncio
async def test_concurrency_budget_caps_requests_in_flight() -> None:
    in_flight = 0
    peak = 0

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await anyio.sleep(0.01)
            in_flight -= 1
            return httpx.Response(200)

    client = make_client(
        lambda r: httpx.Response(200), transport=Slow(), max_concurrent_requests=4, requests_per_second=10_000
    )
    async with anyio.create_task_group() as tg:
        for _ in range(40):
            tg.start_soon(client.request, "GET", "/x")
    assert peak == 4


@pytest.mark.asyncio
async def test_token_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    handler, _ = counting([httpx.Response(503), httpx.Response(200)])
    await make_client(handler).request("GET", "/x")
    assert caplog.records and "s3cret-token" not in caplog.text


@pytest.mark.asyncio
async def test_queued_foreground_requests_overtake_queued_polls() -> None:
    order: list[str] = []
    gate = anyio.Event()

    class Gated(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await gate.wait()
            order.append(request.url.path)
            return httpx.Response(200)

    client = make_client(
        lambda r: httpx.Response(200),
        transport=Gated(),
        max_concurrent_requests=1,
        requests_per_second=10_000,
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: client.request("GET", "/first", background=True))
        await anyio.wait_all_tasks_blocked()
        for name in ("poll-a", "poll-b"):
            tg.start_soon(lambda n=name: client.request("GET", f"/{n}", background=True))
            await anyio.wait_all_tasks_blocked()
        tg.start_soon(lambda: client.request("POST", "/submit", retry=RetryKind.SUBMIT))
        await anyio.wait_all_tasks_blocked()
        gate.set()
    assert order == ["/first", "/submit", "/poll-a", "/poll-b"]


@pytest.mark.asyncio
async def test_a_cancelled_waiter_neither_leaks_nor_keeps_a_slot() -> None:
    client = make_client(lambda r: httpx.Response(200), max_concurrent_requests=1)
    async with client.budget.slot():
        with anyio.move_on_after(0.05):
            async with client.budget.slot(background=True):
                pytest.fail("got a slot that was held")
    with anyio.fail_after(1):  # the one slot is free again: neither holder nor cancelled waiter kept it
        async with client.budget.slot():
            pass
        await client.request("GET", "/x", background=True)


@pytest.mark.parametrize(
    "root_url", ["https://iqm.example.com", "https://iqm.example.com/station/", "http://127.0.0.1:8000"]
)
@pytest.mark.parametrize(
    ("method", "path", "params", "content", "headers"),
    [
        ("GET", "/api/v1/jobs/0b0a5f5c-8c1b-4a4e-9c55-1e2a3b4c5d6e", None, None, None),
        (
            "GET",
            "/api/v1/quantum-computers/garnet/artifacts/channel-properties",
            None,
            None,
            {"Accept": "application/protobuf"},
        ),
        (
            "POST",
            "/api/v1/jobs/garnet/circuit",
            {"use_timeslot": "false"},
            b'{"circuits": []}',
            {"Content-Type": "application/json", "Idempotency-Key": "k-1"},
        ),
        ("POST", "/api/v1/jobs/x y/cancel", None, None, None),
        ("DELETE", "/api/v1/jobs/1?kept=1", {"more": "a b&c"}, None, None),
    ],
)
def test_requests_are_the_ones_httpx_would_build(
    root_url: str,
    method: str,
    path: str,
    params: dict[str, str] | None,
    content: bytes | None,
    headers: dict[str, str] | None,
) -> None:
    client = make_client(counting([])[0], root_url=root_url)
    ours = client._build_request(method, path, params, content, headers)
    theirs = client._client.build_request(method, path, params=params, content=content, headers=headers)
    assert (ours.method, ours.url, ours.headers.raw, ours.content, ours.extensions) == (
        theirs.method,
        theirs.url,
        theirs.headers.raw,
        theirs.content,
        theirs.extensions,
    )


def test_cookies_set_by_the_server_are_sent_back() -> None:
    client = make_client(counting([])[0])
    client._client.cookies.set("route", "node-2", domain="iqm.example.com")
    request = client._build_request("GET", "/api/v1/jobs/1", None, None, None)
    assert request.headers["Cookie"] == "route=node-2"


@pytest.mark.asyncio
async def test_retries_are_numbered_and_logged_from_the_first_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="iqm_client_async")
    handler, seen = counting([httpx.Response(503), httpx.Response(503), httpx.Response(200)])
    assert (await make_client(handler, retries=2).request("GET", "/x")).status_code == 200
    retries = [record.getMessage() for record in caplog.records if record.getMessage().startswith("Retrying")]
    assert len(seen) == 3
    assert [("attempt 1," in message, "attempt 2," in message) for message in retries] == [
        (True, False),
        (False, True),
    ]


@pytest.mark.asyncio
async def test_testing_mode_removes_every_wait_but_keeps_the_retry_rules() -> None:
    responses = [httpx.Response(429, headers={"Retry-After": "30"}), httpx.Response(503), httpx.Response(200)]
    handler, seen = counting(responses)
    client = make_client(handler)
    started = anyio.current_time()
    assert (await client.request("GET", "/x")).status_code == 200
    assert anyio.current_time() - started < 5 and len(seen) == 3  # a 30 s Retry-After, not waited for
    handler, seen = counting([httpx.Response(500)])
    with pytest.raises(errors.InternalSystemError):  # still not retried: the rules are unchanged
        await make_client(handler).request("GET", "/x")
    assert len(seen) == 1


@pytest.mark.asyncio
async def test_status_errors_carry_the_response() -> None:
    handler, _ = counting([httpx.Response(404, json={"message": "no job"}, headers={"X-Request-Id": "r-1"})])
    with pytest.raises(errors.NotFoundError) as info:
        await make_client(handler).request("GET", "/api/v1/jobs/1")
    assert info.value.response is not None
    assert info.value.response.status_code == 404 and info.value.response.headers["X-Request-Id"] == "r-1"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "later", [httpx.ConnectError("refused"), httpx.Response(504), httpx.Response(503)], ids=str
)
async def test_a_keyed_submission_that_may_exist_stays_unknown_whatever_ends_the_retries(
    later: httpx.Response | Exception,
) -> None:
    # the first attempt may have created the job; later attempts fail otherwise: the caller must not
    # read the last error as "no job was created"
    handler, seen = counting([httpx.ReadTimeout("lost"), later])
    with pytest.raises(errors.SubmissionOutcomeUnknownError) as info:
        await make_client(handler, retries=2).request(
            "POST", "/j", retry=RetryKind.SUBMIT_WITH_KEY, headers={"Idempotency-Key": "k7"}
        )
    assert len(seen) == 3 and info.value.idempotency_key == "k7"


@pytest.mark.asyncio
async def test_a_keyed_submission_that_never_left_is_a_plain_connection_error() -> None:
    handler, seen = counting([httpx.ConnectError("refused")])
    with pytest.raises(errors.APIConnectionError) as info:
        await make_client(handler, retries=2).request(
            "POST", "/j", retry=RetryKind.SUBMIT_WITH_KEY, headers={"Idempotency-Key": "k8"}
        )
    assert not isinstance(info.value, errors.SubmissionOutcomeUnknownError) and len(seen) == 3
