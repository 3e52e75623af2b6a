"""Injected faults: the failures a client must survive, at seeded, reproducible rates.

A fault spec such as ``503:0.1,429:0.05,reset:0.03,slow:0.02,lost:0.01`` gives the fraction of
requests that meet each fault:

* ``503``   answered ``503`` with an IQMServerError body, without reaching the API;
* ``429``   answered ``429`` with a ``Retry-After`` header, without reaching the API;
* ``reset`` the connection is dropped without any response, without reaching the API;
* ``slow``  the request is processed normally but the response is held back (past a client's read
  timeout), so the client cannot know the outcome;
* ``lost``  submissions only: the job is created and stored, then the connection is dropped.

One random draw per request from a dedicated ``random.Random`` decides; a ``lost`` draw on a request
that is not a submission injects nothing. Faults never touch stored jobs: the API either does not run
at all or runs to completion before the response is withheld.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from dataclasses import dataclass
from enum import StrEnum

from iqm_client_async._errors import IQMError
from iqm_client_async.emulator._asgi import ASGIApp, Message, Receive, Scope, Send, send_error

_SUBMISSION_PATH = re.compile(r"^/api/v1/jobs/[^/]+/circuit/?$")


class FaultKind(StrEnum):
    """The kinds of injected faults, by their name in a fault spec."""

    UNAVAILABLE = "503"
    RATE_LIMITED = "429"
    RESET = "reset"
    SLOW = "slow"
    LOST = "lost"


class FaultSpecError(IQMError, ValueError):
    """A fault spec string could not be parsed."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Per-kind fault rates (fractions of requests, summing to at most 1).

    Attributes:
        rates: ``(kind, rate)`` pairs in the order they were given.
    """

    rates: tuple[tuple[FaultKind, float], ...] = ()

    @classmethod
    def parse(cls, spec: str) -> FaultSpec:
        """Parse ``"503:0.1,429:0.05,reset:0.03,slow:0.02,lost:0.01"`` (an empty string means no faults).

        Raises:
            FaultSpecError: unknown kind, repeated kind, a rate outside [0, 1], or rates summing above 1.
        """
        rates: dict[FaultKind, float] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, sep, value = item.partition(":")
            try:
                kind = FaultKind(name.strip())
            except ValueError:
                known = ", ".join(kind.value for kind in FaultKind)
                raise FaultSpecError(
                    f"Unknown fault kind {name.strip()!r} in {spec!r}; known: {known}"
                ) from None
            try:
                rate = float(value)
            except ValueError:
                raise FaultSpecError(f"Fault {item!r} needs a rate, like '{kind.value}:0.05'") from None
            if not sep or not 0.0 <= rate <= 1.0:
                raise FaultSpecError(f"Fault rate in {item!r} must be a number between 0 and 1")
            if kind in rates:
                raise FaultSpecError(f"Fault kind {kind.value!r} is given twice in {spec!r}")
            rates[kind] = rate
        if sum(rates.values()) > 1.0 + 1e-9:
            raise FaultSpecError(f"Fault rates in {spec!r} add up to more than 1")
        return cls(tuple(rates.items()))

    def rate(self, kind: FaultKind) -> float:
        """The rate of one fault kind (0 when not given)."""
        return dict(self.rates).get(kind, 0.0)

    def __bool__(self) -> bool:
        return any(rate > 0 for _, rate in self.rates)

    def __str__(self) -> str:
        return ",".join(f"{kind.value}:{rate:g}" for kind, rate in self.rates)


class FaultInjector:
    """Decides, request by request, which fault (if any) to inject, and counts what it injected.

    Args:
        spec: the fault rates.
        seed: seeds the injector's own random stream (``None``: fresh entropy); the same seed and the
            same sequence of requests give the same faults.
    """

    def __init__(self, spec: FaultSpec, seed: int | None) -> None:
        self.spec = spec
        self._random = random.Random(f"iqm-emulator-faults:{seed}") if seed is not None else random.Random()
        self.injected: dict[FaultKind, int] = dict.fromkeys(FaultKind, 0)

    def draw(self, *, submission: bool) -> FaultKind | None:
        """The fault for the next request (``None``: serve it normally).

        Args:
            submission: whether the request submits a job (only those can be ``lost``).
        """
        if not self.spec:
            return None
        point = self._random.random()
        threshold = 0.0
        for kind, rate in self.spec.rates:
            threshold += rate
            if point < threshold:
                if kind is FaultKind.LOST and not submission:
                    return None
                self.injected[kind] += 1
                return kind
        return None

    def counts(self) -> dict[str, int]:
        """Injected faults so far, by kind name."""
        return {kind.value: count for kind, count in self.injected.items()}


class ConnectionDropped(Exception):
    """Raised through the ASGI server to abandon a connection when its transport is out of reach."""


async def drop_connection(receive: Receive, send: Send) -> None:
    """Abandon the connection of the current request without a complete response.

    Under uvicorn the socket is aborted (the client sees a reset before any byte of a response).
    Elsewhere a response is started that promises a body, then ``ConnectionDropped`` is raised, so the
    server closes the connection mid-response (the in-process transport turns it into a connection error).
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if isinstance(transport, asyncio.Transport):
        transport.abort()
        await asyncio.sleep(0)  # let the server notice the disconnect before the app returns
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
    raise ConnectionDropped("connection dropped by an injected fault")


class FaultInjectionMiddleware:
    """ASGI middleware injecting the faults drawn by a ``FaultInjector``.

    Args:
        app: the wrapped ASGI application.
        injector: decides the fault of each request.
        slow_delay_s: how long ``slow`` responses are held back.
        retry_after_s: ``Retry-After`` value of injected 429 responses.
        closing: once set, held-back responses are released at once (so shutdown is not delayed).
    """

    def __init__(
        self,
        app: ASGIApp,
        injector: FaultInjector,
        *,
        slow_delay_s: float,
        retry_after_s: int,
        closing: asyncio.Event,
    ) -> None:
        self.app = app
        self.injector = injector
        self.slow_delay_s = slow_delay_s
        self.retry_after_s = retry_after_s
        self.closing = closing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.injector.spec:
            await self.app(scope, receive, send)
            return
        submission = scope["method"] == "POST" and _SUBMISSION_PATH.match(scope["path"]) is not None
        fault = self.injector.draw(submission=submission)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault is FaultKind.UNAVAILABLE:
            await send_error(
                send, 503, "Service temporarily unavailable (injected fault)", "service_unavailable"
            )
        elif fault is FaultKind.RATE_LIMITED:
            await send_error(
                send,
                429,
                "Too many requests (injected fault)",
                "rate_limited",
                extra_headers=[(b"retry-after", str(self.retry_after_s).encode())],
            )
        elif fault is FaultKind.RESET:
            await drop_connection(receive, send)
        elif fault is FaultKind.LOST:
            await self.app(scope, receive, _discard)
            await drop_connection(receive, send)
        else:
            await self._respond_slowly(scope, receive, send)

    async def _respond_slowly(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), timeout=self.slow_delay_s)
        for message in held:
            await send(message)


async def _discard(message: Message) -> None:
    """An ASGI ``send`` that throws the response away."""
