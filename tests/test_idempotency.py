"""No duplicate jobs, at client level: a submission whose response is lost is resent only to a server that
honours ``Idempotency-Key`` — as its ``/about`` says, or as the caller says with ``idempotent_submissions``.

Real loopback HTTP: the client talks to a small fault proxy in front of the emulator. The proxy loses the
response to the first submission (the job is created, the connection is reset), answers ``/about`` in
the shape a test asks for, and plays a server that ignores keys by stripping the header.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import AsyncIterator, Iterator
from math import pi

import anyio
import httpx
import pytest

from iqm_client_async import AsyncIQMClient, Circuit, CircuitOperation, SubmissionOutcomeUnknownError
from iqm_client_async._testing import set_testing
from iqm_client_async.emulator import Emulator

BELL = Circuit(
    name="bell",
    instructions=(
        CircuitOperation("prx", ("QB1",), {"angle": pi / 2, "phase": pi / 2}),
        CircuitOperation("measure", ("QB1",), {"key": "m"}),
    ),
)


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


class FaultProxy:
    """Forwards HTTP/1.1 requests to the emulator, one upstream connection per request.

    Args:
        upstream: the emulator's port.
        honour_keys: False strips ``Idempotency-Key`` (a server that ignores keys).
        about: ``"pass"`` (the emulator's own), ``"no-flag"``, ``"404"``, ``"500"`` or ``"hang"``.
    """

    def __init__(self, upstream: int, *, honour_keys: bool, about: str) -> None:
        self.upstream = upstream
        self.honour_keys = honour_keys
        self.about = about
        self.about_requests = 0
        self.submissions = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = next((int(v.split(":")[1]) for v in lines if v.lower().startswith("content-length:")), 0)
            body = await reader.readexactly(length)
            method, target, _ = lines[0].split(" ")
            if target.split("?")[0].endswith("/about"):
                self.about_requests += 1
                if self.about != "pass":
                    await self._answer_about(writer)
                    return
            kept = [
                line
                for line in lines[1:]
                if line and not line.lower().startswith("connection:")
                if self.honour_keys or not line.lower().startswith("idempotency-key:")
            ]
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
            request = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1") + body
            upstream_writer.write(request)
            response = await upstream_reader.read()  # to EOF: the upstream closes after answering
            upstream_writer.close()
            if method == "POST" and target.split("?")[0].endswith("/circuit"):
                self.submissions += 1
                if self.submissions == 1:  # the job exists now; its response is lost on the way back
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
            writer.write(response)
            await writer.drain()
            writer.close()

    async def _answer_about(self, writer: asyncio.StreamWriter) -> None:
        if self.about == "hang":
            await asyncio.sleep(30)
            return
        status, body = {
            "no-flag": (200, {"version": "an older server"}),
            "404": (404, {"message": "Not found", "error_code": "not_found"}),
            "500": (500, {"message": "Internal error", "error_code": "internal_error"}),
        }[self.about]
        payload = json.dumps(body).encode()
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def proxied_emulator(*, honour_keys: bool, about: str) -> AsyncIterator[tuple[FaultProxy, Emulator]]:
    async with Emulator(qpu="garnet", seed=1) as emulator:
        proxy = FaultProxy(httpx.URL(emulator.url).port or 80, honour_keys=honour_keys, about=about)
        server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
        proxy.port = server.sockets[0].getsockname()[1]
        try:
            yield proxy, emulator
        finally:
            server.close()


async def jobs_created(emulator: Emulator) -> int:
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        return int((await http.get("/about")).json()["counters"]["jobs_created"])


@pytest.mark.asyncio
async def test_a_lost_response_is_resent_with_its_key_to_a_server_that_says_it_honours_keys() -> None:
    async with proxied_emulator(honour_keys=True, about="pass") as (proxy, emulator):
        async with AsyncIQMClient(f"http://127.0.0.1:{proxy.port}", max_retries=2) as client:
            job = await client.submit_circuits([BELL], shots=10)
            await job.wait_for_completion()
            assert (await job.result()) is not None
        assert proxy.submissions == 2 and proxy.about_requests == 1
        assert await jobs_created(emulator) == 1  # the resend found the job the lost one created


@pytest.mark.asyncio
@pytest.mark.parametrize("about", ["no-flag", "404", "500", "hang"])
async def test_nothing_is_resent_unless_the_server_says_it_honours_keys(about: str) -> None:
    async with proxied_emulator(honour_keys=False, about=about) as (proxy, emulator):
        async with AsyncIQMClient(f"http://127.0.0.1:{proxy.port}", max_retries=1, timeout=1.0) as client:
            with pytest.raises(SubmissionOutcomeUnknownError) as info:
                await client.submit_circuits([BELL], shots=10)
        assert info.value.idempotency_key
        assert proxy.submissions == 1 and proxy.about_requests >= 1
        assert await jobs_created(emulator) == 1


@pytest.mark.asyncio
async def test_idempotent_submissions_false_is_believed_without_asking() -> None:
    async with proxied_emulator(honour_keys=True, about="pass") as (proxy, emulator):
        client = AsyncIQMClient(f"http://127.0.0.1:{proxy.port}", idempotent_submissions=False)
        async with client:
            with pytest.raises(SubmissionOutcomeUnknownError):
                await client.submit_circuits([BELL], shots=10)
        assert proxy.about_requests == 0 and proxy.submissions == 1
        assert await jobs_created(emulator) == 1


@pytest.mark.asyncio
async def test_idempotent_submissions_true_is_believed_without_asking() -> None:
    # the caller's word wins: against a server that ignores keys, the resend creates a second job
    async with proxied_emulator(honour_keys=False, about="no-flag") as (proxy, emulator):
        async with AsyncIQMClient(f"http://127.0.0.1:{proxy.port}", idempotent_submissions=True) as client:
            await client.submit_circuits([BELL], shots=10)
        assert proxy.about_requests == 0 and proxy.submissions == 2
        assert await jobs_created(emulator) == 2


@pytest.mark.asyncio
async def test_a_hanging_about_holds_the_first_submission_only_for_the_probe_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from iqm_client_async import client as client_module

    monkeypatch.setattr(client_module, "IDEMPOTENCY_PROBE_SECONDS", 0.5)
    async with proxied_emulator(honour_keys=False, about="hang") as (proxy, emulator):
        # a 30 s request timeout with retries would hold the submission for minutes without the bound
        async with AsyncIQMClient(f"http://127.0.0.1:{proxy.port}", timeout=30.0) as client:
            with anyio.fail_after(10):
                with pytest.raises(SubmissionOutcomeUnknownError):
                    await client.submit_circuits([BELL], shots=10)
        assert proxy.submissions == 1
        assert await jobs_created(emulator) == 1
