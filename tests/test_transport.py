"""The default transport over real loopback sockets: every failure classified as "not sent" or "may have
reached the server", plain and TLS, large bodies, stale keep-alive, pool waits, proxies, whole-request
timeouts. Every async test runs on asyncio and on uvloop (see conftest)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from iqm_client_async import _errors as errors
from iqm_client_async._config import resolve_network_options, resolve_settings
from iqm_client_async._http import HTTPClient, RetryKind
from iqm_client_async._testing import set_testing
from iqm_client_async._transport import DefaultTransport, NetworkOptions

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


class Server:
    """A raw TCP server on a free loopback port running ``handler`` per connection, counting connections."""

    def __init__(self) -> None:
        self.port = 0
        self.connections = 0


@contextlib.asynccontextmanager
async def serving(handler: Handler, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    state = Server()

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            await handler(reader, writer)

    server = await asyncio.start_server(counted, "127.0.0.1", 0, ssl=tls)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


async def read_request(reader: asyncio.StreamReader, seen: list[str] | None = None) -> tuple[str, bytes]:
    """The request line and body of one HTTP/1.1 request."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0
    )
    if seen is not None:
        seen.append(lines[0])
    return lines[0], await reader.readexactly(length)


def ok(body: bytes = b"{}", *extra: str) -> bytes:
    headers = "".join(f"{header}\r\n" for header in extra)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def http_client(
    url: str, *, timeout: float = 5.0, retries: int = 2, network: NetworkOptions | None = None
) -> HTTPClient:
    settings = resolve_settings(
        url,
        quantum_computer=None,
        token=None,
        tokens_file=None,
        client_signature=None,
        timeout=timeout,
        max_retries=retries,
        environ={},
    )
    return HTTPClient(settings, network=network)


async def submit(client: HTTPClient) -> httpx.Response:
    return await client.request(
        "POST",
        "/api/v1/jobs/qc/circuit",
        retry=RetryKind.SUBMIT,
        content=b"{}",
        headers={"Idempotency-Key": "k"},
    )


# --------------------------------------------------------------------------- not sent: resent safely


@pytest.mark.asyncio
async def test_connection_refused_is_not_sent_so_even_a_submission_is_retried() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = http_client(f"http://127.0.0.1:{port}", retries=2)
    with pytest.raises(errors.APIConnectionError) as info:
        await submit(client)
    # not SubmissionOutcomeUnknownError: certainly nothing was created, and it was tried 3 times
    assert type(info.value) is errors.APIConnectionError
    assert "is the server running" in str(info.value)
    await client.aclose()


@pytest.mark.asyncio
async def test_transport_maps_refused_to_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with httpx.AsyncClient(transport=DefaultTransport(max_connections=2)) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


@pytest.mark.asyncio
async def test_waiting_for_a_pool_slot_is_a_connect_timeout() -> None:
    release = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await release.wait()
        writer.write(ok())
        await writer.drain()

    async with serving(slow) as server:
        timeout = httpx.Timeout(5.0, connect=0.1, pool=0.1)
        async with httpx.AsyncClient(transport=DefaultTransport(max_connections=1), timeout=timeout) as http:
            first = asyncio.ensure_future(http.get(f"http://127.0.0.1:{server.port}/"))
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.ConnectTimeout):
                await http.get(f"http://127.0.0.1:{server.port}/second")
            release.set()
            assert (await first).status_code == 200
        assert server.connections == 1  # the second request never reached the server


# --------------------------------------------------------------------------- may have reached the server


async def _reset_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    reset(writer)


async def _reset_after_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    reset(writer)


async def _close_after_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def _close_mid_response(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"id": ')
    await writer.drain()
    writer.close()


async def _garbage_response(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
    await writer.drain()
    writer.close()


AMBIGUOUS = {
    # on plain TCP a reset "before the request" arrives after the kernel took the request's bytes
    "reset before the request": _reset_at_once,
    "reset after the request is written": _reset_after_request,
    "closed after reading the headers": _close_after_headers,
    "closed mid-response": _close_mid_response,
    "not HTTP": _garbage_response,
}


@pytest.mark.asyncio
@pytest.mark.parametrize("case", sorted(AMBIGUOUS))
async def test_failures_after_connecting_may_have_reached_the_server(case: str) -> None:
    async with serving(AMBIGUOUS[case]) as server:
        client = http_client(f"http://127.0.0.1:{server.port}", retries=3)
        with pytest.raises(errors.SubmissionOutcomeUnknownError) as info:
            await submit(client)
        assert info.value.idempotency_key == "k"
        assert server.connections == 1  # never resent: the job may exist
        await client.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("case", sorted(AMBIGUOUS))
async def test_a_safe_request_is_retried_after_the_same_failures(case: str) -> None:
    async with serving(AMBIGUOUS[case]) as server:
        client = http_client(f"http://127.0.0.1:{server.port}", retries=2)
        with pytest.raises(errors.APIConnectionError) as info:
            await client.request("POST", "/api/v1/jobs/1/cancel")
        assert not isinstance(info.value, errors.SubmissionOutcomeUnknownError)
        assert server.connections == 3
        await client.aclose()


@pytest.mark.asyncio
async def test_a_keyed_submission_is_resent_with_the_same_key() -> None:
    keys: list[str] = []

    async def lose_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        keys.extend(
            line.split(":", 1)[1].strip() for line in head.split("\r\n") if line.startswith("Idempotency-Key")
        )
        await reader.readexactly(2)
        if len(keys) == 1:
            reset(writer)
            return
        writer.write(ok())
        await writer.drain()

    async with serving(lose_first) as server:
        client = http_client(f"http://127.0.0.1:{server.port}")
        response = await client.request(
            "POST", "/j", retry=RetryKind.SUBMIT_WITH_KEY, content=b"{}", headers={"Idempotency-Key": "same"}
        )
        assert response.status_code == 200 and keys == ["same", "same"]
        await client.aclose()


@pytest.mark.asyncio
async def test_a_silent_server_is_a_read_timeout_that_may_have_reached_it() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(10)

    async with serving(silent) as server:
        client = http_client(f"http://127.0.0.1:{server.port}", timeout=0.3)
        with pytest.raises(errors.SubmissionOutcomeUnknownError) as info:
            await submit(client)
        assert "timed out" in str(info.value)
        await client.aclose()


@pytest.mark.asyncio
async def test_timeout_bounds_the_whole_request_not_each_read() -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n")
        for _ in range(40):  # one byte every 0.1 s: each read is quick, the whole takes 4 s
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.1)

    async with serving(trickle) as server:
        client = http_client(f"http://127.0.0.1:{server.port}", timeout=0.5, retries=0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(errors.APITimeoutError):
            await client.request("GET", "/x")
        assert loop.time() - started < 2.0  # bounded by the 0.5 s timeout, not 4 s of trickle
        await client.aclose()


# --------------------------------------------------------------------------- the happy paths


async def echo_digest(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer every request with its body's SHA-256 repeated to the body's length (or 'ok')."""
    while True:
        _, body = await read_request(reader)
        digest = hashlib.sha256(body).digest()
        answer = (digest * (len(body) // len(digest) + 1))[: len(body)] if body else b"ok"
        writer.write(ok(answer))
        await writer.drain()


@pytest.mark.asyncio
async def test_round_trips_reuse_one_connection_and_send_httpx_headers() -> None:
    heads: list[str] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            heads.append(head)
            writer.write(ok(b'{"a": 1}'))
            await writer.drain()

    async with serving(record) as server:
        client = http_client(f"http://127.0.0.1:{server.port}")
        for _ in range(3):
            assert (await client.request("GET", "/x")).json() == {"a": 1}
        assert server.connections == 1
        lines = {line.split(":", 1)[0].lower() for line in heads[0].split("\r\n")[1:] if line}
        # exactly what httpx put on the request, nothing added by aiohttp
        assert lines == {"host", "accept", "accept-encoding", "connection", "user-agent"}
        assert "AsyncIQMClient" in heads[0] and "aiohttp" not in heads[0]
        await client.aclose()


@pytest.mark.asyncio
async def test_eight_megabytes_both_ways() -> None:
    body = bytes(range(256)) * (8 * 1024 * 1024 // 256)
    async with serving(echo_digest) as server:
        client = http_client(f"http://127.0.0.1:{server.port}")
        response = await client.request("POST", "/echo", content=body)
        digest = hashlib.sha256(body).digest()
        assert response.content == (digest * (len(body) // 32 + 1))[: len(body)]
        await client.aclose()


@pytest.mark.asyncio
async def test_gzip_bodies_are_decoded_and_a_broken_one_is_a_decode_error() -> None:
    import gzip

    payload = gzip.compress(b'{"ok": true}')

    async def gzipped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line, _ = await read_request(reader)
            body = payload if "good" in line else b"\x1f\x8b not gzip at all"
            writer.write(ok(body, "Content-Encoding: gzip"))
            await writer.drain()

    async with serving(gzipped) as server:
        client = http_client(f"http://127.0.0.1:{server.port}")
        assert (await client.request("GET", "/good")).json() == {"ok": True}
        with pytest.raises(errors.ResponseDecodeError):
            await client.request("GET", "/bad")
        with pytest.raises(errors.SubmissionOutcomeUnknownError):  # the job may exist, its id is lost
            await client.request("POST", "/bad", retry=RetryKind.SUBMIT, headers={"Idempotency-Key": "k"})
        await client.aclose()


@pytest.mark.asyncio
async def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    seen: list[str] = []

    async def one_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader, seen)
        writer.write(ok())
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()  # keep-alive timeout on the server side: a FIN on the idle connection

    async with serving(one_then_close) as server:
        client = http_client(f"http://127.0.0.1:{server.port}")
        await submit(client)
        await asyncio.sleep(0.3)
        await submit(client)  # on a fresh connection; the stale one was never written to
        assert server.connections == 2 and len(seen) == 2
        await client.aclose()


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.mark.asyncio
async def test_tls_with_a_trusted_ca_file(ca: trustme.CA, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    async with serving(echo_digest, tls=server_tls(ca)) as server:
        client = http_client(f"https://127.0.0.1:{server.port}", network=resolve_network_options(str(bundle)))
        assert (await client.request("GET", "/")).content == b"ok"
        await client.aclose()


@pytest.mark.asyncio
async def test_an_untrusted_certificate_is_not_sent(ca: trustme.CA, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="iqm_client_async")
    seen: list[str] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader, seen)

    async with serving(record, tls=server_tls(ca)) as server:
        client = http_client(f"https://127.0.0.1:{server.port}", retries=1)
        with pytest.raises(errors.APIConnectionError) as info:
            await submit(client)
        assert type(info.value) is errors.APIConnectionError and "TLS" in str(info.value)
        assert seen == []
        assert "Retrying" not in caplog.text  # sending again cannot fix a certificate
        await client.aclose()


@pytest.mark.asyncio
async def test_https_against_a_plain_http_server_hints_at_tls() -> None:
    async def plain_http_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # a TLS ClientHello is not HTTP: answered as a plain HTTP server would
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    async with serving(plain_http_server) as server:
        client = http_client(f"https://127.0.0.1:{server.port}", retries=3)
        with pytest.raises(errors.APIConnectionError) as info:
            await client.request("GET", "/")
        assert "TLS" in str(info.value)
        assert server.connections == 1  # answered at once, not after retries
        await client.aclose()


# --------------------------------------------------------------------------- proxies


class Proxy:
    """A minimal forward proxy: CONNECT tunnels and absolute-form plain-HTTP requests."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line = head.split(b"\r\n", 1)[0].decode()
        self.seen.append(request_line)
        method, target, _ = request_line.split(" ")
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        else:
            url = httpx.URL(target)
            upstream_reader, upstream_writer = await asyncio.open_connection(url.host, url.port)
            upstream_writer.write(head.replace(target.encode(), url.raw_path, 1))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


@pytest.mark.asyncio
async def test_https_through_a_connect_proxy_from_the_environment(ca: trustme.CA, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    proxy = Proxy()
    async with serving(echo_digest, tls=server_tls(ca)) as server, serving(proxy) as proxy_server:
        environ = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy_server.port}", "REQUESTS_CA_BUNDLE": str(bundle)}
        client = http_client(
            f"https://localhost:{server.port}", network=resolve_network_options(environ=environ)
        )
        assert (await client.request("GET", "/")).content == b"ok"
        assert proxy.seen == [f"CONNECT localhost:{server.port} HTTP/1.1"]
        await client.aclose()


@pytest.mark.asyncio
async def test_plain_http_through_a_proxy_and_no_proxy_bypass() -> None:
    proxy = Proxy()
    async with serving(echo_digest) as server, serving(proxy) as proxy_server:
        environ = {"http_proxy": f"http://127.0.0.1:{proxy_server.port}"}
        client = http_client(
            f"http://127.0.0.1:{server.port}", network=resolve_network_options(environ=environ)
        )
        assert (await client.request("GET", "/via")).content == b"ok"
        assert proxy.seen == [f"GET http://127.0.0.1:{server.port}/via HTTP/1.1"]
        await client.aclose()
        environ["NO_PROXY"] = "127.0.0.1"
        client = http_client(
            f"http://127.0.0.1:{server.port}", network=resolve_network_options(environ=environ)
        )
        assert (await client.request("GET", "/direct")).content == b"ok"
        assert len(proxy.seen) == 1
        await client.aclose()


def test_ca_bundle_variables_in_order_and_missing_files_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    first.write_text("x")
    second.write_text("y")
    assert resolve_network_options(environ={}).verify is True
    environ = {"SSL_CERT_FILE": str(second), "REQUESTS_CA_BUNDLE": str(first)}
    assert resolve_network_options(environ=environ).verify == str(first)
    assert resolve_network_options(False, environ=environ).verify is False
    with pytest.raises(errors.ClientConfigurationError, match="REQUESTS_CA_BUNDLE"):
        resolve_network_options(environ={"REQUESTS_CA_BUNDLE": str(tmp_path / "missing.pem")})


def test_proxy_urls_with_credentials_stay_out_of_reprs() -> None:
    options = resolve_network_options(environ={"HTTPS_PROXY": "http://user:pa55word@proxy.example:3128"})
    assert "pa55word" not in repr(options)
    assert options.proxy_for("https", "iqm.example.com") == "http://user:pa55word@proxy.example:3128"
