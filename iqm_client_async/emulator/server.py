"""Running the emulator: in the current event loop (``Emulator``) or in a background thread (``BlockingEmulator``)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx
import uvicorn

from iqm_client_async._errors import IQMError
from iqm_client_async.emulator.app import EmulatorCore
from iqm_client_async.emulator.faults import ConnectionDropped
from iqm_client_async.emulator.settings import EmulatorOptions, EmulatorSettings

_T = TypeVar("_T")


class EmulatorStateError(IQMError):
    """The emulator was used in a state that does not allow it (not started, or already running)."""


class _Server(uvicorn.Server):
    """uvicorn without signal handling: the process that embeds the emulator keeps its own Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _EmulatorTransport(httpx.ASGITransport):
    """In-process transport that turns a dropped connection into the error a socket client would see."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None


class Emulator:
    """An IQM Server emulator serving HTTP on a loopback port, inside the running event loop.

    Use it as ``async with Emulator(qpu="garnet", seed=1) as emu:`` and point a client at ``emu.url``
    (or use ``emu.transport()`` for socket-free tests).

    Args:
        settings: base settings (defaults: ``EmulatorSettings()``, i.e. Garnet on ``127.0.0.1``, a free port).
        serve_http: listen on a TCP port (``False``: only ``transport()`` reaches the emulator).
        **options: overrides of individual settings (``qpu``, ``seed``, ``latency_ms``, ``job_duration_ms``,
            ``workers``, ``token``, ``noise``, ``faults``, ``db``, ``host``, ``port``, ...).

    Raises:
        EmulatorConfigurationError: an option is invalid.
    """

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        /,
        *,
        serve_http: bool = True,
        **options: Unpack[EmulatorOptions],
    ) -> None:
        self.settings = (settings or EmulatorSettings()).replace(**options)
        self.serve_http = serve_http
        self._core: EmulatorCore | None = None
        self._server: _Server | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._port: int | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def core(self) -> EmulatorCore:
        """The running emulator's jobs, counters and ASGI app.

        Raises:
            EmulatorStateError: the emulator is not running.
        """
        if self._core is None:
            raise EmulatorStateError("The emulator is not running; use 'async with Emulator(...)' or start()")
        return self._core

    @property
    def port(self) -> int:
        """The TCP port the emulator listens on.

        Raises:
            EmulatorStateError: the emulator is not running or does not listen on a port.
        """
        if self._port is None or self._server is None:
            raise EmulatorStateError(
                "The emulator does not listen on a port (not started, or serve_http=False)"
            )
        return self._port

    @property
    def url(self) -> str:
        """The server URL to give a client, e.g. ``http://127.0.0.1:54321``."""
        host = self.settings.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport that calls the emulator in-process (no socket).

        With it, ``reset`` and ``lost`` faults raise ``httpx.RemoteProtocolError``; ``slow`` faults delay the
        response (httpx does not apply timeouts to in-process transports).
        """
        return _EmulatorTransport(app=self.core.app)

    def stats(self) -> dict[str, Any]:
        """The emulator's counters (requests, submissions, jobs, idempotent replays, faults by kind)."""
        return self.core.stats()

    async def start(self) -> None:
        """Start executing jobs and, unless ``serve_http=False``, listen on ``settings.port`` (0: a free port).

        Raises:
            EmulatorStateError: already running.
            OSError: the port cannot be bound.
            StoreError: the ``db`` file cannot be used.
        """
        if self._core is not None:
            raise EmulatorStateError("The emulator is already running")
        core = EmulatorCore(self.settings)
        await core.start()
        try:
            if self.serve_http:
                await self._listen(core, self._port if self._port is not None else self.settings.port)
        except BaseException:
            await core.close()
            raise
        self._core = core

    async def stop(self) -> None:
        """Stop listening, stop executing jobs (unfinished ones stay stored) and close the store."""
        core, self._core = self._core, None
        if core is None:
            return
        core.closing.set()
        server, task = self._server, self._server_task
        self._server = self._server_task = None
        if server is not None and task is not None:
            server.should_exit = True
            await asyncio.shield(task)
        await core.close()

    async def restart(self) -> None:
        """Stop and start again on the same port; with a ``db``, stored jobs survive and unfinished ones rerun."""
        await self.stop()
        await self.start()

    async def serve_forever(self) -> None:
        """Wait until the emulator stops (or the waiting task is cancelled, e.g. by Ctrl-C)."""
        task = self._server_task
        if task is None:
            raise EmulatorStateError(
                "The emulator does not listen on a port (not started, or serve_http=False)"
            )
        await asyncio.shield(task)

    async def _listen(self, core: EmulatorCore, port: int) -> None:
        host = self.settings.host
        # IPPROTO_TCP (not 0) so that asyncio sets TCP_NODELAY on accepted connections
        sock = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
        except BaseException:
            sock.close()
            raise
        config = uvicorn.Config(
            core.app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,  # then open requests are cut: stopping takes at most ~1.5 s
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="iqm-emulator-http")
        while not server.started:
            done, _ = await asyncio.wait({task}, timeout=0.005)
            if done:
                sock.close()
                task.result()  # raises what made the server fail
                raise EmulatorStateError("The emulator's HTTP server stopped while starting")
        self._server, self._server_task = server, task
        self._port = int(sock.getsockname()[1])


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    # The loop is run, drained and closed in its own thread, so that stopping works from a thread
    # that runs an event loop of its own (a Jupyter kernel).
    try:
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


class BlockingEmulator:
    """The emulator for scripts and notebooks: runs in a background thread with its own event loop.

    Use it as ``with BlockingEmulator(qpu="garnet") as emu:`` and point a client at ``emu.url``.
    Takes the same arguments as ``Emulator`` (it always listens on a port).
    """

    def __init__(
        self, settings: EmulatorSettings | None = None, /, **options: Unpack[EmulatorOptions]
    ) -> None:
        self._emulator = Emulator(settings, **options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def settings(self) -> EmulatorSettings:
        """The emulator's settings."""
        return self._emulator.settings

    @property
    def url(self) -> str:
        """The server URL to give a client."""
        return self._emulator.url

    @property
    def port(self) -> int:
        """The TCP port the emulator listens on."""
        return self._emulator.port

    def stats(self) -> dict[str, Any]:
        """The emulator's counters (see ``Emulator.stats``)."""
        return self._call(self._stats())

    async def _stats(self) -> dict[str, Any]:
        return self._emulator.stats()

    def start(self) -> None:
        """Start the background thread and the emulator in it.

        Raises:
            EmulatorStateError: already running.
        """
        if self._thread is not None:
            raise EmulatorStateError("The emulator is already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=_run_loop, args=(loop,), name="iqm-emulator", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._call(self._emulator.start())
        except BaseException:
            self._stop_thread()
            raise

    def stop(self) -> None:
        """Stop the emulator and its thread."""
        if self._thread is None:
            return
        try:
            self._call(self._emulator.stop())
        finally:
            self._stop_thread()

    def restart(self) -> None:
        """Stop and start again on the same port (see ``Emulator.restart``)."""
        self._call(self._emulator.restart())

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        if self._loop is None:
            coroutine.close()
            raise EmulatorStateError(
                "The emulator is not running; use 'with BlockingEmulator(...)' or start()"
            )
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _stop_thread(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
