"""The asyncio network backend under the connection pool: real loopback sockets, plain and TLS."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import httpcore
import httpx
import pytest
import sniffio
import trustme

from iqm_client_async._config import resolve_settings
from iqm_client_async._http import HTTPClient
from iqm_client_async._network import AsyncioBackend, use_asyncio_streams

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serving(handler: Handler, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A TCP server on a free loopback port running ``handler`` per connection; yields the port."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


async def read_request(reader: asyncio.StreamReader) -> tuple[str, bytes]:
    """The request line and body of one HTTP/1.1 request."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    length = next(
        (int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0
    )
    return lines[0], await reader.readexactly(length)


def response(body: bytes, *extra_headers: str) -> bytes:
    headers = "".join(f"{header}\r\n" for header in extra_headers)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


async def echo_digest(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer every request with the SHA-256 of its body, repeated to the body's length (or 'ok')."""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        while True:
            _, body = await read_request(reader)
            digest = hashlib.sha256(body).digest()
            answer = (digest * (len(body) // len(digest) + 1))[: len(body)] if body else b"ok"
            writer.write(response(answer))
            await writer.drain()
    writer.close()


def client(transport: httpx.AsyncHTTPTransport, **options: object) -> httpx.AsyncClient:
    assert use_asyncio_streams(transport)
    return httpx.AsyncClient(transport=transport, **options)  # type: ignore[arg-type]


def test_applies_once_and_by_default() -> None:
    transport = httpx.AsyncHTTPTransport()
    assert use_asyncio_streams(transport) and isinstance(transport._pool._network_backend, AsyncioBackend)
    assert not use_asyncio_streams(transport)  # already there: left alone
    settings = resolve_settings(
        "http://127.0.0.1:9",
        quantum_computer=None,
        token=None,
        tokens_file=None,
        client_signature=None,
        timeout=5.0,
        max_retries=0,
        environ={},
    )
    default = HTTPClient(settings)._client._transport
    assert isinstance(default._pool._network_backend, AsyncioBackend)  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_plain_http_round_trips_reuse_one_connection() -> None:
    async with serving(echo_digest) as port, client(httpx.AsyncHTTPTransport()) as http:
        for _ in range(3):
            assert (await http.get(f"http://127.0.0.1:{port}/")).content == b"ok"
        assert len(http._transport._pool.connections) == 1  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_https_through_start_tls() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with (
        serving(echo_digest, tls=server_context) as port,
        client(httpx.AsyncHTTPTransport(verify=client_context)) as http,
    ):
        answer = await http.post(f"https://127.0.0.1:{port}/", content=b"quantum")
        assert answer.content == hashlib.sha256(b"quantum").digest()[:7]
        assert answer.extensions["network_stream"].get_extra_info("ssl_object") is not None


@pytest.mark.asyncio
async def test_untrusted_certificate_is_a_connect_error() -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(server_context)
    async with serving(echo_digest, tls=server_context) as port, client(httpx.AsyncHTTPTransport()) as http:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.get(f"https://127.0.0.1:{port}/")


@pytest.mark.asyncio
async def test_megabytes_both_ways_pass_flow_control() -> None:
    body = bytes(range(256)) * (8 * 4096)  # 8 MiB: more than asyncio's write buffer and our read buffer
    async with serving(echo_digest) as port, client(httpx.AsyncHTTPTransport()) as http:
        async with http.stream("POST", f"http://127.0.0.1:{port}/", content=body) as answer:
            stream = answer.extensions["network_stream"]
            with anyio.fail_after(10):
                while not stream._protocol.reading_paused:  # noqa: ASYNC110 - a flag of the protocol, no event
                    await asyncio.sleep(0.01)
                content = await answer.aread()
    digest = hashlib.sha256(body).digest()
    assert len(content) == len(body) and content[:64] == digest * 2


@pytest.mark.asyncio
async def test_a_silent_server_is_a_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up

    async with serving(silent) as port, client(httpx.AsyncHTTPTransport(), timeout=0.2) as http:
        with anyio.fail_after(5), pytest.raises(httpx.ReadTimeout):
            await http.get(f"http://127.0.0.1:{port}/")


@pytest.mark.asyncio
async def test_nothing_listening_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with client(httpx.AsyncHTTPTransport()) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


@pytest.mark.asyncio
async def test_a_server_hanging_up_without_an_answer_is_a_protocol_error() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    async with serving(hang_up) as port, client(httpx.AsyncHTTPTransport()) as http:
        with pytest.raises(httpx.RemoteProtocolError, match="disconnected"):
            await http.get(f"http://127.0.0.1:{port}/")


@pytest.mark.asyncio
async def test_an_idle_connection_the_server_closed_is_replaced() -> None:
    connections = 0

    async def one_request_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(response(b"ok"))  # keep-alive as far as the client knows
        await writer.drain()
        writer.close()

    async with serving(one_request_each) as port, client(httpx.AsyncHTTPTransport()) as http:
        for _ in range(3):
            assert (await http.get(f"http://127.0.0.1:{port}/")).content == b"ok"
            await asyncio.sleep(0.05)  # the server's close arrives while the connection is idle
    assert connections == 3


@pytest.mark.asyncio
async def test_a_cancelled_request_leaves_the_pool_usable() -> None:
    async def slow_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                line, _ = await read_request(reader)
                if "/slow" in line:
                    await asyncio.sleep(0.5)
                writer.write(response(b"ok"))
                await writer.drain()

    async with serving(slow_first) as port, client(httpx.AsyncHTTPTransport()) as http:
        with anyio.move_on_after(0.1) as scope:
            await http.get(f"http://127.0.0.1:{port}/slow")
        assert scope.cancelled_caught
        assert (await http.get(f"http://127.0.0.1:{port}/fast")).content == b"ok"


@pytest.mark.asyncio
async def test_writing_to_a_closed_connection_is_a_write_error() -> None:
    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with serving(close_at_once) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert await stream.read(1024, timeout=5) == b""
        assert stream.get_extra_info("is_readable")
        with pytest.raises(httpcore.WriteError):
            await stream.write(b"GET / HTTP/1.1\r\n\r\n")
        await stream.aclose()


@pytest.mark.asyncio
async def test_other_event_loops_get_httpcores_anyio_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class Recording(httpcore.AsyncNetworkBackend):
        async def sleep(self, seconds: float) -> None:
            calls.append("sleep")

    monkeypatch.setattr(httpcore, "AnyIOBackend", Recording)
    backend = AsyncioBackend()
    token = sniffio.current_async_library_cvar.set("trio")
    try:
        await backend.sleep(0)
    finally:
        sniffio.current_async_library_cvar.reset(token)
    await backend.sleep(0)  # back on asyncio: its own
    assert calls == ["sleep"]
