"""The request layer: the only module that sends HTTP requests.

It owns the ``httpx.AsyncClient``, the client-wide request budget, the retry policy and the
translation of HTTP failures into the error tree of ``_errors``. Each logical request is one
tenacity loop; every attempt is sent by ``_send_once``.

Retry policy
    * Safe requests (GET, cancel, delete) are retried on connection errors, timeouts, and 408, 429,
      502, 503, 504, with exponential backoff and jitter, honouring ``Retry-After``.
    * A job submission (``RetryKind.SUBMIT``) is retried only when the request certainly did not
      create a job: it was certainly not sent (see ``_transport``), or the server refused it
      explicitly (429, 503). A failure after it may have reached the server raises
      ``SubmissionOutcomeUnknownError``, which carries the ``Idempotency-Key``.
    * A submission to a server known to honour ``Idempotency-Key`` (``RetryKind.SUBMIT_WITH_KEY``,
      settled by the client before sending) is retried like a safe request, with the same key.

``timeout`` bounds each attempt as a whole (connect, send, wait, read), whatever the server's pace;
the connect phase has its own, shorter bound.
"""

from __future__ import annotations

import enum
import functools
import logging
import ssl
import time
from collections.abc import Mapping
from typing import Final

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
from ._budget import RequestBudget
from ._config import Settings
from ._error_bodies import error_from_response
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    IQMError,
    RateLimitError,
    RedirectRefusedError,
    ResponseDecodeError,
    SubmissionOutcomeUnknownError,
    SystemUnavailableError,
)
from ._sanitize import shown
from ._testing import is_testing
from ._transport import DefaultTransport, NetworkOptions

__all__ = ["HTTPClient", "RetryKind"]

logger = logging.getLogger("iqm_client_async")

_RETRYABLE_STATUSES: Final = frozenset({408, 429, 502, 503, 504})
_REFUSAL_STATUSES: Final = frozenset({429, 503})
_GATEWAY_STATUSES: Final = frozenset({408, 502, 504})  # the request may have been processed behind them
_NOT_SENT_ERRORS: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
MAX_REDIRECTS: Final = 5
MAX_CONNECT_TIMEOUT: Final = 30.0


class RetryKind(enum.Enum):
    """How a request may be retried (see the module docstring)."""

    SAFE = "safe"  # idempotent: GET, cancel, delete
    SUBMIT = "submit"  # creates a job; the server is not known to honour Idempotency-Key
    SUBMIT_WITH_KEY = "submit_with_key"  # creates a job; the server honours Idempotency-Key


IQMErrorLike = APIConnectionError | ResponseDecodeError


class _Failed(Exception):
    """An attempt that got no usable response, classified by how far it may have got.

    Attributes:
        error: what the caller sees if this is the last attempt.
        retry: whether sending the request again is safe and may help.
        reached: whether the request may have reached the server (for a submission: a job may exist).
    """

    def __init__(self, error: IQMErrorLike, *, retry: bool, reached: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry = retry
        self.reached = reached


@functools.lru_cache(maxsize=64)
def _parse_url(url: str, params: tuple[tuple[str, str], ...]) -> httpx.URL:
    """``httpx.URL`` of ``url`` with ``params`` as its query (URLs are immutable, so they are shared)."""
    return httpx.URL(url, params=params) if params else httpx.URL(url)


def _connection_error(exc: Exception, request: httpx.Request) -> APIConnectionError:
    method, url = request.method, str(request.url)
    kind = type(exc).__name__
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return APITimeoutError(f"Request timed out ({kind}): {method} {url}", method=method, url=url)
    detail = str(exc) or kind
    hint = ""
    if isinstance(exc, httpx.ConnectError):
        if _caused_by_tls(exc):
            hint = " (TLS failed: is the server really https, and is its certificate trusted? see verify=)"
        else:
            hint = " (is the server running and reachable at this address?)"
    return APIConnectionError(
        f"Connection failed ({kind}: {detail}): {method} {url}{hint}", method=method, url=url
    )


def _caused_by_tls(exc: BaseException) -> bool:
    """Whether a TLS error is among the causes of ``exc``."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _retryable_status(exc: APIStatusError, retry: RetryKind) -> bool:
    statuses = _REFUSAL_STATUSES if retry is RetryKind.SUBMIT else _RETRYABLE_STATUSES
    return exc.status_code in statuses


class HTTPClient:
    """Sends requests to the IQM Server with auth, pacing, retries and error decoding.

    Args:
        settings: resolved client settings.
        network: TLS trust and proxies of the default transport.
        transport: optional httpx async transport (``MockTransport``, ``ASGITransport``, ...) instead of
            the default one.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        network: NetworkOptions | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
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
        if transport is None:
            # The pool holds exactly as many connections as the budget lets requests run, so waiting
            # happens in the budget (no timeout) and never in the pool.
            transport = DefaultTransport(max_connections=settings.max_concurrent_requests, network=network)
        connect_timeout = min(settings.timeout, MAX_CONNECT_TIMEOUT)
        self._client = httpx.AsyncClient(
            base_url=settings.root_url,
            headers={"User-Agent": settings.user_agent, "Accept": "application/json"},
            timeout=httpx.Timeout(settings.timeout, connect=connect_timeout),
            transport=transport,
            auth=auth,
            follow_redirects=False,
            trust_env=False,  # proxies and CA bundles are resolved once, in _config
        )
        self._url_prefix = str(self._client.base_url).rstrip("/")
        self._timeout_extension = self._client.timeout.as_dict()

    def __repr__(self) -> str:
        return f"HTTPClient({self._settings.root_url!r})"

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose`` has been called."""
        return self._client.is_closed

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    @staticmethod
    def _wait(state: RetryCallState) -> float:
        if is_testing():
            return 0.0
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, APIStatusError) and exc.retry_after is not None:
            return exc.retry_after
        return float(wait_exponential_jitter(multiplier=0.2, max=8.0, jitter=0.2)(state))

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
            SubmissionOutcomeUnknownError: a submission failed after it may have reached the server.
            ResponseDecodeError: the response body could not be decoded.
        """

        reached = False  # whether an attempt of a keyed submission may have created the job

        def retryable(exc: BaseException) -> bool:
            nonlocal reached
            if isinstance(exc, APIStatusError):
                may_exist = retry is RetryKind.SUBMIT_WITH_KEY and exc.status_code in _GATEWAY_STATUSES
                reached = reached or may_exist
                return _retryable_status(exc, retry)
            if isinstance(exc, _Failed):
                reached = reached or exc.reached
                return exc.retry
            return False

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._settings.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(retryable),
            reraise=True,
            sleep=anyio.sleep,
            before_sleep=self._log_retry,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._send_once(method, path, retry, params, content, headers, background)
        except _Failed as exc:
            # a keyed submission that an earlier attempt may have created stays "unknown" to the end,
            # whatever stopped the last attempt
            if reached and exc.retry:
                raise self._outcome_unknown(exc.error, headers, retried=True) from exc.__cause__
            raise exc.error from exc.__cause__
        except APIStatusError as exc:
            if reached and _retryable_status(exc, retry):
                raise self._outcome_unknown(exc, headers, retried=True) from exc
            raise
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    @staticmethod
    def _outcome_unknown(
        cause: IQMError, headers: Mapping[str, str] | None, *, retried: bool
    ) -> SubmissionOutcomeUnknownError:
        key = (headers or {}).get("Idempotency-Key", "")
        why = (
            "it was resent with the same key until the retries ran out"
            if retried
            else "the server is not known to honour Idempotency-Key, so it was not resubmitted"
        )
        return SubmissionOutcomeUnknownError(
            f"{cause.message}. The job may or may not have been created; {why}. Idempotency-Key: {key}",
            idempotency_key=key,
            method=getattr(cause, "method", None),
            url=getattr(cause, "url", None),
        )

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Failed):
            exc = exc.error
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

    async def _send_following_get_redirects(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; a GET follows up to ``MAX_REDIRECTS`` redirects, dropping auth across origins."""
        response = await self._client.send(request)
        hops = 0
        while request.method == "GET" and response.is_redirect and response.next_request is not None:
            if hops == MAX_REDIRECTS:
                location = response.headers.get("location")
                raise RedirectRefusedError(
                    f"The server redirected GET {request.url} more than {MAX_REDIRECTS} times "
                    f"(a redirect loop?); the last Location was {shown(location, 200)}.",
                    location=location,
                    status_code=response.status_code,
                    method=request.method,
                    url=str(request.url),
                )
            hops += 1
            next_request = response.next_request
            await response.aclose()
            if _same_origin(next_request.url, request.url):
                response = await self._client.send(next_request)
            else:  # httpx dropped Authorization from the redirect; the client's auth must not re-add it
                response = await self._client.send(next_request, auth=None)
        return response

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
        failure: Exception | None = None
        async with self.budget.slot(background=background):
            # built in the slot: thousands of requests queued for the budget hold no request objects
            request = self._build_request(method, path, params, content, headers)
            started = time.perf_counter()
            try:
                with anyio.fail_after(self._settings.timeout):
                    response = await self._send_following_get_redirects(request)
            except (httpx.TransportError, httpx.DecodingError, TimeoutError) as exc:
                failure = exc
        if failure is not None:
            raise self._failure(failure, request, retry, headers) from failure
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
                f"The server requested a redirect to {shown(location, 200)} during a {method} request; "
                "redirects are not followed for requests that change server state.",
                location=location,
                status_code=response.status_code,
                method=method,
                url=str(request.url),
            )
        if response.status_code >= 400:
            status_error = error_from_response(response)
            status_error.response = response
            if (
                isinstance(status_error, (RateLimitError, SystemUnavailableError))
                and status_error.retry_after
                and not is_testing()
            ):
                self.budget.pause(status_error.retry_after)
            raise status_error
        return response

    def _failure(
        self, failure: Exception, request: httpx.Request, retry: RetryKind, headers: Mapping[str, str] | None
    ) -> Exception:
        """The exception for a request that got no usable response, by how far it may have got."""
        if isinstance(failure, httpx.DecodingError):  # an answer came: retrying a GET would not fix it
            decode = ResponseDecodeError(
                f"The response to {request.method} {request.url} could not be decoded "
                f"({type(failure).__name__}: {failure})"
            )
            return self._may_have_reached(decode, retry, headers, retry_safe=False)
        error = _connection_error(failure, request)
        if isinstance(failure, httpx.ConnectError) and _caused_by_tls(failure):
            # https to a plain-http server, an untrusted certificate: sending again cannot fix it
            return _Failed(error, retry=False, reached=False)
        if isinstance(failure, _NOT_SENT_ERRORS):
            return _Failed(error, retry=True, reached=False)
        return self._may_have_reached(error, retry, headers, retry_safe=True)

    def _may_have_reached(
        self, error: IQMErrorLike, retry: RetryKind, headers: Mapping[str, str] | None, *, retry_safe: bool
    ) -> Exception:
        if retry is RetryKind.SUBMIT:
            return self._outcome_unknown(error, headers, retried=False)
        if retry is RetryKind.SUBMIT_WITH_KEY:
            return _Failed(error, retry=True, reached=True)
        return _Failed(error, retry=retry_safe, reached=False)
