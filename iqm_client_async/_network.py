"""An asyncio-native network backend for httpcore: the socket reads and writes under the connection pool.

On asyncio, httpcore's default backend goes through anyio: every read and every write enters a cancel
scope with a deadline (a timer armed and disarmed), and each keep-alive check builds anyio's table of
socket attributes. With thousands of small requests that is about a tenth of the client's CPU.

``use_asyncio_streams`` gives a transport's pool a backend built on an ``asyncio.Protocol`` instead: data
is buffered as it arrives, a read that finds data returns without a timer, a read that must wait arms
one ``call_later`` whose expiry fails the wait with ``ReadTimeout``, and writes go straight to the
transport, waiting only when asyncio's flow control pauses writing. TLS uses ``loop.start_tls``. On an
event loop other than asyncio (trio, through anyio) every call goes to httpcore's own anyio backend.
"""

# httpcore's backend interface passes timeouts as arguments, so they are arguments here too.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any, Final, Literal

import httpcore
import httpx
import sniffio

__all__ = ["AsyncioBackend", "use_asyncio_streams"]

_HAPPY_EYEBALLS_DELAY: Final = 0.25  # what anyio's connect_tcp uses
_PAUSE_READING_AT: Final = 1 << 20  # bytes buffered before the socket is left unread
_RESUME_READING_AT: Final = 1 << 18
_EXTRA_INFO: Final = {
    "ssl_object": "ssl_object",
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
}

SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


def _is_socket_readable(sock: socket.socket | None) -> bool:
    """Whether a read would not block: data, or the peer closed (a closed socket counts as readable)."""
    if sock is None or sock.fileno() < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _set_exception(waiter: asyncio.Future[None], error: type[Exception], message: str) -> None:
    if not waiter.done():
        waiter.set_exception(error(message))


def _set_result(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class _StreamProtocol(asyncio.Protocol):
    """Buffers what arrives and wakes the one reader or writer that waits for it."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed = False  # EOF or connection lost: nothing more will arrive
        self.error: Exception | None = None
        self.read_waiter: asyncio.Future[None] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None
        self.writing_paused = False
        self.reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        _set_result(self.read_waiter)
        if len(self.buffer) > _PAUSE_READING_AT and self.transport is not None and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        self.closed = True
        _set_result(self.read_waiter)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        _set_result(self.read_waiter)
        _set_result(self.drain_waiter)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        _set_result(self.drain_waiter)

    async def wait(
        self,
        slot: Literal["read_waiter", "drain_waiter"],
        timeout: float | None,
        error: type[Exception],
        message: str,
    ) -> None:
        """Wait until woken through ``slot``; ``error(message)`` is raised if ``timeout`` s pass first."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        setattr(self, slot, waiter)
        timer = None if timeout is None else loop.call_later(timeout, _set_exception, waiter, error, message)
        try:
            await waiter
        finally:
            setattr(self, slot, None)
            if timer is not None:
                timer.cancel()

    def take(self, max_bytes: int) -> bytes:
        if len(self.buffer) <= max_bytes:
            data = bytes(self.buffer)
            self.buffer.clear()
        else:
            data = bytes(self.buffer[:max_bytes])
            del self.buffer[:max_bytes]
        if self.reading_paused and len(self.buffer) < _RESUME_READING_AT and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()
        return data


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: an asyncio transport and the protocol buffering its data."""

    def __init__(self, transport: asyncio.Transport, protocol: _StreamProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.buffer and not protocol.closed:
            await protocol.wait("read_waiter", timeout, httpcore.ReadTimeout, "The read operation timed out")
        if protocol.buffer:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""  # the server closed the connection

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.closed or self._transport.is_closing():
            raise httpcore.WriteError(str(protocol.error or "The connection is closed"))
        self._transport.write(buffer)
        if protocol.writing_paused:
            await protocol.wait(
                "drain_waiter", timeout, httpcore.WriteTimeout, "The write operation timed out"
            )
            if protocol.closed:
                raise httpcore.WriteError(str(protocol.error or "The connection is closed"))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await asyncio.wait_for(
                loop.start_tls(self._transport, self._protocol, ssl_context, server_hostname=server_hostname),
                timeout,
            )
        except TimeoutError:
            self._transport.abort()
            raise httpcore.ConnectTimeout("The TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        if transport is None:  # the connection was lost during the handshake
            raise httpcore.ConnectError("The connection was closed during the TLS handshake")
        self._protocol.transport = transport  # flow control now pauses the TLS layer
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # readable while idle means the server closed the connection or sent something unasked
            if self._protocol.buffer or self._protocol.closed:
                return True
            return _is_socket_readable(self._transport.get_extra_info("socket"))
        key = _EXTRA_INFO.get(info)
        return None if key is None else self._transport.get_extra_info(key)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections on asyncio transports; on any other event loop, httpcore's anyio backend."""

    def __init__(self) -> None:
        self._fallback: httpcore.AsyncNetworkBackend | None = None

    def _other_loop(self) -> httpcore.AsyncNetworkBackend | None:
        if sniffio.current_async_library() == "asyncio":
            return None
        if self._fallback is None:
            self._fallback = httpcore.AnyIOBackend()
        return self._fallback

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if (fallback := self._other_loop()) is not None:
            return await fallback.connect_tcp(host, port, timeout, local_address, socket_options)
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(
            _StreamProtocol,
            host,
            port,
            local_addr=(local_address, 0) if local_address else None,
            happy_eyeballs_delay=_HAPPY_EYEBALLS_DELAY,
        )
        return await self._connected(connecting, timeout, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if (fallback := self._other_loop()) is not None:
            return await fallback.connect_unix_socket(path, timeout, socket_options)
        connecting = asyncio.get_running_loop().create_unix_connection(_StreamProtocol, path)
        return await self._connected(connecting, timeout, socket_options)

    @staticmethod
    async def _connected(
        connecting: Any, timeout: float | None, socket_options: Iterable[SocketOption] | None
    ) -> AsyncioStream:
        try:
            transport, protocol = await asyncio.wait_for(connecting, timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout("Connecting timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        if (fallback := self._other_loop()) is not None:
            await fallback.sleep(seconds)
            return
        await asyncio.sleep(seconds)


def use_asyncio_streams(transport: httpx.AsyncHTTPTransport) -> bool:
    """Give ``transport``'s connection pool the asyncio backend; return whether it was applied."""
    pool = getattr(transport, "_pool", None)
    if (
        isinstance(pool, httpcore.AsyncConnectionPool)
        and httpcore.__version__.startswith("1.0.")
        and isinstance(getattr(pool, "_network_backend", None), httpcore.AsyncNetworkBackend)
        and not isinstance(pool._network_backend, AsyncioBackend)
    ):
        pool._network_backend = AsyncioBackend()
        return True
    return False
