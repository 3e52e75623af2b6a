"""The request layer: the only module that sends HTTP requests.

It owns the ``httpx.AsyncClient``, the client-wide request budget, the retry policy and the
translation of HTTP failures into the error tree of ``_errors``.

Retry policy
    * Safe requests (GET, cancel, delete) are retried on connection errors, timeouts, and 408, 429,
      502, 503, 504, with exponential backoff and jitter, honouring ``Retry-After``.
    * Job submission is retried only when the request certainly did not create a job: connect-phase
      failures (nothing was sent) and explicit 429/503 refusals. A failure after the request may have
      reached the server is retried with the same ``Idempotency-Key`` only when the server is known to
      honour that header; otherwise ``SubmissionOutcomeUnknownError`` carries the key to the caller.
"""

from __future__ import annotations

import enum
import functools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import anyio
import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from ._auth import TokenAuth
from ._config import Settings
from ._error_bodies import error_from_response
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    RateLimitError,
    RedirectRefusedError,
    SubmissionOutcomeUnknownError,
    SystemUnavailableError,
)
from ._network import use_asyncio_streams
from ._pool import use_linear_assignment

__all__ = ["HTTPClient", "RequestBudget", "RetryKind"]

logger = logging.getLogger("iqm_client_async")

_RETRYABLE_STATUSES: Final = frozenset({408, 429, 502, 503, 504})
_REFUSAL_STATUSES: Final = frozenset({429, 503})
_NOT_SENT_ERRORS: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RetryKind(enum.Enum):
    """How a request may be retried."""

    SAFE = "safe"  # idempotent: GET, cancel, delete
    SUBMIT = "submit"  # creates a job: see the module docstring


class _PrioritySlots:
    """``total`` slots; a freed slot goes to the longest-waiting foreground request, else background."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._free = total
        self._waiters: tuple[deque[anyio.Event], deque[anyio.Event]] = (deque(), deque())

    @property
    def in_use(self) -> int:
        """Slots held now."""
        return self.total - self._free

    async def acquire(self, *, background: bool) -> None:
        if self._free and not (self._waiters[0] or self._waiters[1]):
            self._free -= 1
            return
        granted = anyio.Event()
        queue = self._waiters[background]
        queue.append(granted)
        try:
            await granted.wait()
        except BaseException:
            if granted.is_set():
                self.release()  # handed a slot while being cancelled: pass it on
            else:
                queue.remove(granted)
            raise

    def release(self) -> None:
        for queue in self._waiters:
            if queue:
                queue.popleft().set()  # the slot passes directly to the waiter
                return
        self._free += 1


class RequestBudget:
    """Client-wide pacing: at most N requests in flight, at most R started per second.

    Status polls are background requests: when requests queue for a slot, submissions, results and
    everything a caller asked for go first, so thousands of waiting jobs cannot starve new work. A 429
    or ``Retry-After`` from the server pauses every request of the client, not just the one that got it.
    """

    def __init__(self, *, max_concurrent: int, requests_per_second: float) -> None:
        self.slots = _PrioritySlots(max_concurrent)
        self._interval = 1.0 / requests_per_second
        self._next_start = 0.0
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold back every request for ``seconds`` from now."""
        self._paused_until = max(self._paused_until, anyio.current_time() + seconds)

    @asynccontextmanager
    async def slot(self, *, background: bool = False) -> AsyncIterator[None]:
        """Wait for a concurrency slot and a start time, held for the duration of one request."""
        await self.slots.acquire(background=background)
        try:
            while True:
                now = anyio.current_time()
                start = max(now, self._next_start, self._paused_until)
                if start <= now:
                    break
                await anyio.sleep(start - now)
            self._next_start = max(now, self._next_start) + self._interval
            yield
        finally:
            self.slots.release()


class _NotSent(Exception):
    """A connect-phase failure: the request never left the client, so any request may be retried."""

    def __init__(self, error: APIConnectionError) -> None:
        super().__init__(str(error))
        self.error = error


class _AmbiguousSubmission(Exception):
    """A submission that may have reached the server; retried only with a server honouring keys."""

    def __init__(self, cause: APIConnectionError) -> None:
        super().__init__(str(cause))
        self.cause = cause


@functools.lru_cache(maxsize=64)
def _parse_url(url: str, params: tuple[tuple[str, str], ...]) -> httpx.URL:
    """``httpx.URL`` of ``url`` with ``params`` as its query (URLs are immutable, so they are shared)."""
    return httpx.URL(url, params=params) if params else httpx.URL(url)


def _connection_error(exc: httpx.TransportError, request: httpx.Request | None) -> APIConnectionError:
    method = request.method if request is not None else None
    url = str(request.url) if request is not None else None
    kind = type(exc).__name__
    detail = str(exc) or kind
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Request timed out ({kind}): {method} {url}", method=method, url=url)
    return APIConnectionError(f"Connection failed ({kind}: {detail}): {method} {url}", method=method, url=url)


def _is_retryable_safe(exc: BaseException) -> bool:
    if isinstance(exc, APIStatusError):
        return exc.status_code in _RETRYABLE_STATUSES
    return isinstance(exc, (APIConnectionError, _NotSent))


def _is_retryable_submit(exc: BaseException) -> bool:
    if isinstance(exc, APIStatusError):
        return exc.status_code in _REFUSAL_STATUSES
    return isinstance(exc, (_NotSent, _AmbiguousSubmission))


class HTTPClient:
    """Sends requests to the IQM Server with auth, pacing, retries and error decoding.

    Args:
        settings: resolved client settings.
        transport: optional httpx async transport (``MockTransport``, ``ASGITransport``, ...).
        honours_idempotency: coroutine telling whether the server honours ``Idempotency-Key``;
            asked only after an ambiguous submission failure.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        honours_idempotency: Callable[[], Awaitable[bool]] | None = None,
        backoff_scale: float = 1.0,
    ) -> None:
        self._settings = settings
        auth = None
        if settings.token or settings.tokens_file:
            auth = TokenAuth(
                token=settings.token,
                tokens_file=settings.tokens_file,
                allow_insecure=settings.allow_insecure_auth,
            )
        self.budget = RequestBudget(
            max_concurrent=settings.max_concurrent_requests,
            requests_per_second=settings.requests_per_second,
        )
        # The pool holds exactly as many connections as the budget lets requests run, so waiting
        # happens in the budget (no timeout) and never as an httpx PoolTimeout.
        limits = httpx.Limits(
            max_connections=settings.max_concurrent_requests,
            max_keepalive_connections=settings.max_concurrent_requests,
        )
        if transport is None:
            transport = httpx.AsyncHTTPTransport(limits=limits)
            use_linear_assignment(transport)
            use_asyncio_streams(transport)
        self._client = httpx.AsyncClient(
            base_url=settings.root_url,
            headers={"User-Agent": settings.user_agent, "Accept": "application/json"},
            timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 30.0)),
            limits=limits,
            transport=transport,
            auth=auth,
            follow_redirects=False,
        )
        self._url_prefix = str(self._client.base_url).rstrip("/")
        self._timeout_extension = self._client.timeout.as_dict()
        self._honours_idempotency = honours_idempotency
        self._backoff_scale = backoff_scale

    def __repr__(self) -> str:
        return f"HTTPClient({self._settings.root_url!r})"

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose`` has been called."""
        return self._client.is_closed

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, APIStatusError) and exc.retry_after is not None:
            return exc.retry_after
        backoff = wait_exponential_jitter(multiplier=0.2, max=8.0, jitter=0.2)(state)
        return float(backoff) * self._backoff_scale

    async def request(
        self,
        method: str,
        path: str,
        *,
        retry: RetryKind = RetryKind.SAFE,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        background: bool = False,
    ) -> httpx.Response:
        """Send one logical request (with retries) and return the successful response.

        ``background`` requests (status polls) yield their turn in the request budget to the others.

        Raises:
            APIStatusError: the server answered with an error status (after retries).
            APIConnectionError: no response (after retries).
            SubmissionOutcomeUnknownError: a submission failed ambiguously (see module docstring).
        """
        predicate = _is_retryable_submit if retry is RetryKind.SUBMIT else _is_retryable_safe
        first_failure: Exception | None = None
        try:
            try:
                # The first attempt runs without tenacity: most requests succeed at once, and building a
                # retry controller costs more than the rest of our request layer.
                return await self._send_once(method, path, retry, params, content, headers, background)
            except Exception as exc:
                if not predicate(exc) or self._settings.max_retries == 0:
                    raise
                first_failure = exc
            retrying = AsyncRetrying(
                stop=stop_after_attempt(self._settings.max_retries + 1),
                wait=self._wait,
                retry=retry_if_exception(predicate),
                reraise=True,
                sleep=anyio.sleep,
                before_sleep=self._log_retry,
            )
            async for attempt in retrying:
                with attempt:
                    if first_failure is not None:
                        # Replayed as tenacity's first attempt, so waits, logging and the stop count
                        # are exactly those of a loop that ran every attempt.
                        failure, first_failure = first_failure, None
                        raise failure
                    return await self._send_once(method, path, retry, params, content, headers, background)
        except _AmbiguousSubmission as exc:
            raise self._outcome_unknown(exc.cause, headers) from exc.cause.__cause__
        except _NotSent as exc:
            raise exc.error from exc.__cause__
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    @staticmethod
    def _outcome_unknown(
        cause: APIConnectionError, headers: Mapping[str, str] | None
    ) -> SubmissionOutcomeUnknownError:
        key = (headers or {}).get("Idempotency-Key", "")
        return SubmissionOutcomeUnknownError(
            f"{cause.message}. The job may or may not have been created; the server is not known to honour "
            f"Idempotency-Key, so it was not resubmitted. Idempotency-Key: {key}",
            idempotency_key=key,
            method=cause.method,
            url=cause.url,
        )

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        sleep = state.next_action.sleep if state.next_action is not None else 0.0
        logger.info("Retrying after %s (attempt %d, waiting %.2f s)", exc, state.attempt_number, sleep)

    def _build_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Request:
        """The request ``build_request`` would make, with the URL parsed once instead of three times.

        ``AsyncClient.build_request`` parses the path, the merged URL and the URL with its (empty)
        query separately, which is most of its cost; the URLs used again and again (submissions, a
        job polled repeatedly) are not parsed again at all. Cookies, rare against the IQM Server, take
        httpx's own path, which merges them.
        """
        client = self._client
        if client.cookies:
            return client.build_request(method, path, params=params, content=content, headers=headers)
        merged = client.headers.copy()
        if headers:
            merged.update(headers)
        return httpx.Request(
            method,
            _parse_url(self._url_prefix + path, tuple(params.items()) if params else ()),
            headers=merged,
            content=content,
            extensions={"timeout": self._timeout_extension},
        )

    async def _send_once(
        self,
        method: str,
        path: str,
        retry: RetryKind,
        params: Mapping[str, str] | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        background: bool,
    ) -> httpx.Response:
        failure: httpx.TransportError | None = None
        async with self.budget.slot(background=background):
            # built in the slot: thousands of requests queued for the budget hold no request objects
            request = self._build_request(method, path, params, content, headers)
            started = time.perf_counter()
            try:
                response = await self._client.send(request, follow_redirects=method == "GET")
            except httpx.TransportError as exc:
                failure = exc
        if failure is not None:
            # Decided outside the slot: asking the server about idempotency is itself a request.
            error = _connection_error(failure, request)
            if isinstance(failure, _NOT_SENT_ERRORS):
                raise _NotSent(error) from failure
            if retry is RetryKind.SUBMIT:
                if self._honours_idempotency is not None and await self._honours_idempotency():
                    raise _AmbiguousSubmission(error) from failure
                raise self._outcome_unknown(error, headers) from failure
            raise error from failure
        logger.debug(
            "%s %s -> %d (%.1f ms)",
            method,
            request.url,
            response.status_code,
            (time.perf_counter() - started) * 1e3,
        )
        if response.is_redirect:
            location = response.headers.get("location")
            raise RedirectRefusedError(
                f"The server requested a redirect to {location!r} during a {method} request; "
                "redirects are not followed for requests that change server state.",
                location=location,
                status_code=response.status_code,
                method=method,
                url=str(request.url),
            )
        if response.status_code >= 400:
            status_error = error_from_response(response)
            if (
                isinstance(status_error, (RateLimitError, SystemUnavailableError))
                and status_error.retry_after
            ):
                self.budget.pause(status_error.retry_after)
            raise status_error
        return response

    async def get_json(self, path: str) -> Any:
        """GET a JSON document (decoded with the standard library)."""
        return (await self.request("GET", path)).json()
