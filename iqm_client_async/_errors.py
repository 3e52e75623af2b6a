"""Everything this library raises on purpose.

::

    IQMError
    ├── ClientConfigurationError        bad settings (URL, auth, numbers), job ids, other non-circuit arguments
    ├── ClientAuthenticationError       no usable token (tokens file missing, unreadable or expired)
    ├── CircuitValidationError          a circuit or run-request argument the server would reject, caught
    │                                   before any request (shots < 1 is a ValueError, as in the reference)
    ├── APIConnectionError              the server could not be reached, or the connection broke
    │   ├── APITimeoutError             a request timed out (connect, read, write or pool)
    │   └── SubmissionOutcomeUnknownError   a submit may or may not have created a job (carries the key)
    ├── JobTimeoutError                 a job or a batch did not finish before its deadline
    ├── ResponseDecodeError             a successful response did not have the documented shape
    └── APIStatusError                  the server answered with an error status
        ├── InvalidOperationError           400  (alias BadRequestError)
        ├── AuthenticationError             401  (alias UnauthorizedError)
        ├── ForbiddenError                  403
        ├── NotFoundError                   404
        ├── ConflictError                   409
        ├── DataSizeError                   413  (alias PayloadTooLargeError)
        ├── ValidationError                 422
        ├── RateLimitError                  429  (alias TooManyRequestsError)
        ├── InternalSystemError             500  (alias InternalServerError)
        ├── BadGatewayError                 502
        ├── SystemUnavailableError          503  (alias ServiceUnavailableError)
        ├── OperationTimeoutError           504  (alias GatewayTimeoutError)
        ├── UnexpectedStatusError           any other status >= 400 (405, 418, 499, ...)
        └── RedirectRefusedError            3xx on a request that must not be redirected

The class names of the HTTP errors are the reference client's. Every error carries ``message`` and
``error_code``; HTTP errors add ``status_code``, ``source``, ``method`` and ``url``. No error text
ever contains the access token: the library never puts request headers into messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "CircuitValidationError",
    "ClientAuthenticationError",
    "ClientConfigurationError",
    "ConflictError",
    "DataSizeError",
    "ForbiddenError",
    "GatewayTimeoutError",
    "IQMError",
    "InternalServerError",
    "InternalSystemError",
    "InvalidOperationError",
    "JobTimeoutError",
    "NotFoundError",
    "OperationTimeoutError",
    "PayloadTooLargeError",
    "RateLimitError",
    "RedirectRefusedError",
    "ResponseDecodeError",
    "ServiceUnavailableError",
    "SubmissionOutcomeUnknownError",
    "SystemUnavailableError",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnexpectedStatusError",
    "ValidationError",
    "error_class_for_status",
]


class IQMError(Exception):
    """Base class of every error this library raises on purpose.

    Attributes:
        message: human-readable description.
        error_code: machine-readable code from the server (or a client-side code), if any.
    """

    def __init__(self, message: str, *, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code

    def __str__(self) -> str:
        return self.message


class ClientConfigurationError(IQMError):
    """The client's settings are invalid (URL, authentication, numbers), or an argument outside a run
    request is (a job id or calibration set id that is not a UUID, a batch setting)."""


class ClientAuthenticationError(IQMError):
    """No usable access token: the tokens file is missing, unreadable, or its token has expired."""


class CircuitValidationError(IQMError):
    """A circuit, or another argument of a run request, failed validation before anything was sent.

    Attributes:
        circuit_index: position of the offending circuit in the submitted batch, if known.
        circuit_name: its name, if known.
        instruction_index: position of the offending instruction in the circuit, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        circuit_index: int | None = None,
        circuit_name: str | None = None,
        instruction_index: int | None = None,
        error_code: str | None = "circuit_validation_error",
    ) -> None:
        super().__init__(message, error_code=error_code)
        self.circuit_index = circuit_index
        self.circuit_name = circuit_name
        self.instruction_index = instruction_index


class APIConnectionError(IQMError):
    """The request did not get an HTTP response (DNS, refused or reset connection, protocol error)."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class APITimeoutError(APIConnectionError):
    """A request timed out (per-request timeout, not a job deadline)."""


class SubmissionOutcomeUnknownError(APIConnectionError):
    """A job submission failed after the request may have reached the server.

    The job may or may not exist. The client did not resubmit, because the server is not known to
    honour ``Idempotency-Key``. Resubmitting with the same key on a server that honours it is safe.

    Attributes:
        idempotency_key: the ``Idempotency-Key`` the failed request carried.
    """

    def __init__(
        self, message: str, *, idempotency_key: str, method: str | None = None, url: str | None = None
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.idempotency_key = idempotency_key


class JobTimeoutError(IQMError):
    """A job (or a batch of jobs) did not reach a terminal status before its deadline."""


class ResponseDecodeError(IQMError):
    """A successful (2xx) response body did not match the documented wire shape."""


class APIStatusError(IQMError):
    """The server answered with an HTTP error status.

    Attributes:
        status_code: the HTTP status.
        error_code: the server's ``error_code`` (``None`` when the body had none).
        message: the server's ``message``, or a readable summary of a non-JSON body.
        source: the server's ``source`` field, if any.
        method: the request method.
        url: the request URL.
        retry_after: seconds the server asked us to wait (``Retry-After``), if it said so.
        response: the ``httpx.Response`` (status, headers, body), when the error came from one; a copy
            with the client's token redacted from its body, headers and request.
    """

    status: ClassVar[int | None] = None
    retry_after: float | None = None
    _response: httpx.Response | None = None
    _raw_response: httpx.Response | None = None

    @property
    def response(self) -> httpx.Response | None:
        """The response this error came from, with the client's token redacted (see the class doc)."""
        return self._response

    @response.setter
    def response(self, response: httpx.Response | None) -> None:
        if response is None or response is self._raw_response:
            if response is None:
                self._response = self._raw_response = None
            return
        from ._error_bodies import without_token  # the body helpers import this module

        self._raw_response, self._response = response, without_token(response)

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_code: str | None = None,
        source: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, error_code=error_code)
        self.status_code = status_code
        self.source = source
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method and self.url else ""
        code = f" [{self.error_code}]" if self.error_code else ""
        return f"HTTP {self.status_code}{code}: {self.message}{where}"


class InvalidOperationError(APIStatusError):
    """HTTP 400: the server refused the request as invalid."""

    status = 400


class AuthenticationError(APIStatusError):
    """HTTP 401: the token is missing, wrong or expired."""

    status = 401


class ForbiddenError(APIStatusError):
    """HTTP 403: the token is valid but lacks permission."""

    status = 403


class NotFoundError(APIStatusError):
    """HTTP 404: no such job, quantum computer, calibration set or route."""

    status = 404


class ConflictError(APIStatusError):
    """HTTP 409: the request conflicts with the resource's state (e.g. artifacts of an unfinished job)."""

    status = 409


class DataSizeError(APIStatusError):
    """HTTP 413: the request body is too large."""

    status = 413


class ValidationError(APIStatusError):
    """HTTP 422: the server rejected the request body."""

    status = 422


class RateLimitError(APIStatusError):
    """HTTP 429: too many requests; retried automatically where safe, honouring ``Retry-After``."""

    status = 429


class InternalSystemError(APIStatusError):
    """HTTP 500: the server failed."""

    status = 500


class BadGatewayError(APIStatusError):
    """HTTP 502: a proxy in front of the server failed."""

    status = 502


class SystemUnavailableError(APIStatusError):
    """HTTP 503: the server is temporarily unavailable."""

    status = 503


class OperationTimeoutError(APIStatusError):
    """HTTP 504: a gateway timed out waiting for the server."""

    status = 504


class UnexpectedStatusError(APIStatusError):
    """Any other HTTP error status (405, 418, 499, ...)."""


class RedirectRefusedError(APIStatusError):
    """The server redirected a request that must not follow redirects (POST, DELETE, or cross-origin).

    Attributes:
        location: the ``Location`` header of the redirect.
    """

    def __init__(self, message: str, *, location: str | None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.location = location


BadRequestError = InvalidOperationError
UnauthorizedError = AuthenticationError
PayloadTooLargeError = DataSizeError
TooManyRequestsError = RateLimitError
InternalServerError = InternalSystemError
ServiceUnavailableError = SystemUnavailableError
GatewayTimeoutError = OperationTimeoutError

_BY_STATUS: dict[int, type[APIStatusError]] = {
    cls.status: cls
    for cls in (
        InvalidOperationError,
        AuthenticationError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        DataSizeError,
        ValidationError,
        RateLimitError,
        InternalSystemError,
        BadGatewayError,
        SystemUnavailableError,
        OperationTimeoutError,
    )
    if cls.status is not None
}


def error_class_for_status(status_code: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status (``UnexpectedStatusError`` for unlisted ones)."""
    return _BY_STATUS.get(status_code, UnexpectedStatusError)
