"""Client settings: resolved once, at construction, as keyword > environment > default.

This is the only module that reads environment variables. Nothing here touches the network.
"""

from __future__ import annotations

import ipaddress
import math
import os
import platform
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from urllib.parse import urlsplit

from ._arguments import check_integer, check_number, check_optional_text, check_path_like
from ._errors import ClientConfigurationError
from ._sanitize import shown
from ._transport import NetworkOptions

__all__ = [
    "DEFAULT_TIMEOUT",
    "Settings",
    "is_loopback_host",
    "normalize_server_url",
    "resolve_network_options",
    "resolve_settings",
]

DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 4
DEFAULT_MAX_POLL_INTERVAL = 5.0
DEFAULT_ARCHITECTURE_TTL = 60.0
DEFAULT_MAX_CONCURRENT_REQUESTS = 32
# No pacing by default: max_concurrent_requests and 429 / Retry-After already bound the load.
DEFAULT_REQUESTS_PER_SECOND = math.inf

_LOOPBACK_NAMES = frozenset({"localhost"})
_MAX_URL_LENGTH = 2048
_MAX_RETRIES = 100
_MAX_CONCURRENT_REQUESTS = 10_000
_INVALID = "invalid_argument"


@dataclass(frozen=True)
class Settings:
    """Everything the client needs to know, fixed for the client's lifetime.

    ``token`` is excluded from ``repr`` so that settings can be logged safely.
    """

    root_url: str
    quantum_computer: str | None
    token: str | None = field(repr=False)
    tokens_file: str | None
    client_signature: str | None
    timeout: float
    max_retries: int
    max_poll_interval: float
    architecture_ttl: float
    max_concurrent_requests: int
    requests_per_second: float
    allow_insecure_auth: bool
    debug: bool = False  # IQM_CLIENT_DEBUG=1: print each run request before submitting it

    @property
    def user_agent(self) -> str:
        """User-Agent header: platform, Python, this library, and the caller's signature."""
        try:
            version = metadata.version("iqm-client-async")
        except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
            version = "0+unknown"
        agent = (
            f"{platform.platform(terse=True)}, python {platform.python_version()}, "
            f"AsyncIQMClient iqm-client-async {version}"
        )
        return f"{agent}, {self.client_signature}" if self.client_signature else agent


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (``127.0.0.0/8``, ``::1``), with or without brackets."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_server_url(url: str) -> str:
    """Check an IQM Server URL and return its normalized root (no trailing slash).

    Keeps the path prefix and port intact (``https://host:8443/prefix``) and accepts bracketed IPv6
    hosts, unlike the reference client.

    Raises:
        ClientConfigurationError: the URL is not usable (scheme, non-ASCII, obsolete forms, or names a
            quantum computer).
    """
    if not isinstance(url, str):
        raise ClientConfigurationError(
            f"iqm_server_url must be a str, got {type(url).__name__} {shown(url)}.", error_code=_INVALID
        )
    if not url.isascii():
        raise ClientConfigurationError(f"Non-ASCII characters in URL: {shown(url, 200)}")
    if not url.isprintable() or len(url) > _MAX_URL_LENGTH:
        raise ClientConfigurationError(
            f"iqm_server_url must be one line of printable characters, at most {_MAX_URL_LENGTH} long, "
            f"got {shown(url, 200)}.",
            error_code=_INVALID,
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ClientConfigurationError(f"Invalid IQM Server URL {shown(url, 200)}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ClientConfigurationError(
            f"The URL scheme has to be http or https. Incorrect scheme in URL: {url}"
        )
    host = parts.hostname
    if not host:
        raise ClientConfigurationError(f"The IQM Server URL {url!r} has no host name.")
    if host.startswith("cocos."):
        raise ClientConfigurationError(
            f"Resonance CoCoS API is obsolete: {url!r}. Use the IQM Server URL instead."
        )
    path = parts.path.rstrip("/")
    last_segment = parts.path.rsplit("/", 1)[-1]
    if last_segment == ":timeslot":
        raise ClientConfigurationError(
            "Quantum computer timeslot URLs are obsolete. Use the server URL and submit with use_timeslot=True."
        )
    if path.lower().endswith("/api/v1") or "/api/v1/" in path.lower() + "/":
        raise ClientConfigurationError(
            f"The IQM Server URL must not include the API path: {url!r}. Give the server root "
            f"(e.g. {parts.scheme}://{parts.netloc}/); the client adds /api/v1 itself."
        )
    if last_segment.removesuffix(":timeslot"):
        raise ClientConfigurationError(
            f"The IQM Server URL {url!r} ends in {last_segment!r}, which reads as a quantum computer name "
            "(a path prefix must end with '/'). Give the server root URL, ending with '/', and select the "
            "quantum computer with quantum_computer=... or IQM_QUANTUM_COMPUTER."
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{path}"


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value else None


def _float_env(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = _env(environ, name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ClientConfigurationError(
            f"Environment variable {name} must be a number, got {shown(raw)}."
        ) from None


def _int_env(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = _env(environ, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ClientConfigurationError(
            f"Environment variable {name} must be a whole number, got {shown(raw)}."
        ) from None


def resolve_settings(
    iqm_server_url: str | None,
    *,
    quantum_computer: str | None,
    token: str | None,
    tokens_file: str | None,
    client_signature: str | None,
    timeout: float | None,
    max_retries: int | None,
    max_poll_interval: float | None = None,
    architecture_ttl: float | None = None,
    max_concurrent_requests: int | None = None,
    requests_per_second: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the client settings from keywords, then the environment, then defaults.

    Raises:
        ClientConfigurationError: missing or invalid URL, conflicting authentication parameters,
            bearer token over plain HTTP to a remote host, or bad numeric settings.
    """
    env = os.environ if environ is None else environ
    quantum_computer = check_optional_text(quantum_computer, "quantum_computer", max_length=200)
    token = check_optional_text(token, "token", ascii_header=True, secret=True, max_length=1 << 16)
    tokens_file = check_path_like(tokens_file, "tokens_file")
    client_signature = check_optional_text(
        client_signature, "client_signature", ascii_header=True, max_length=1000
    )
    url = iqm_server_url or _env(env, "IQM_SERVER_URL")
    if not url:
        raise ClientConfigurationError(
            "IQM Server URL must be provided: pass iqm_server_url=... or set IQM_SERVER_URL."
        )
    root_url = normalize_server_url(url)

    token = token or None
    tokens_file = tokens_file or None
    given_args = [name for name, value in (("token", token), ("tokens_file", tokens_file)) if value]
    given_env = [name for name in ("IQM_TOKEN", "IQM_TOKENS_FILE") if _env(env, name)]
    if given_args and given_env:
        raise ClientConfigurationError(
            "Authentication parameters given both as initialisation args and as environment variables: "
            f"args {given_args}, environment {given_env}. Parameter sources must not be mixed."
        )
    if len(given_args) > 1 or len(given_env) > 1:
        raise ClientConfigurationError(
            f"No more than one authentication parameter may be given, received {given_args or given_env}."
        )
    if given_env:
        token = _env(env, "IQM_TOKEN")
        tokens_file = _env(env, "IQM_TOKENS_FILE")

    allow_insecure = (_env(env, "INSECURE_ALLOW_NON_HTTPS_AUTH") or "").lower() == "true"
    host = urlsplit(root_url).hostname or ""
    insecure = root_url.startswith("http:") and not is_loopback_host(host)
    if (token or tokens_file) and insecure and not allow_insecure:
        raise ClientConfigurationError(
            f"Insecure HTTP requests with authentication to remote hosts are not allowed: {root_url!r}. "
            "Use https, or set INSECURE_ALLOW_NON_HTTPS_AUTH=true if you really mean it."
        )

    resolved_timeout = _positive(
        timeout if timeout is not None else _float_env(env, "IQM_CLIENT_REQUESTS_TIMEOUT", DEFAULT_TIMEOUT),
        "timeout" if timeout is not None else "IQM_CLIENT_REQUESTS_TIMEOUT",
    )
    resolved_retries = _count(
        max_retries
        if max_retries is not None
        else _int_env(env, "IQM_CLIENT_MAX_RETRIES", DEFAULT_MAX_RETRIES),
        "max_retries" if max_retries is not None else "IQM_CLIENT_MAX_RETRIES",
        minimum=0,
        maximum=_MAX_RETRIES,
    )
    resolved_poll = _positive(
        max_poll_interval
        if max_poll_interval is not None
        else _float_env(env, "IQM_CLIENT_SECONDS_BETWEEN_CALLS", DEFAULT_MAX_POLL_INTERVAL),
        "max_poll_interval" if max_poll_interval is not None else "IQM_CLIENT_SECONDS_BETWEEN_CALLS",
    )
    numbers = {
        "timeout": resolved_timeout,
        "max_poll_interval": resolved_poll,
        "architecture_ttl": _positive(
            DEFAULT_ARCHITECTURE_TTL if architecture_ttl is None else architecture_ttl,
            "architecture_ttl",
            allow_zero=True,
            allow_infinity=True,
        ),
        "requests_per_second": _positive(
            DEFAULT_REQUESTS_PER_SECOND if requests_per_second is None else requests_per_second,
            "requests_per_second",
            allow_infinity=True,
        ),
    }
    concurrency = _count(
        DEFAULT_MAX_CONCURRENT_REQUESTS if max_concurrent_requests is None else max_concurrent_requests,
        "max_concurrent_requests",
        minimum=1,
        maximum=_MAX_CONCURRENT_REQUESTS,
    )

    return Settings(
        root_url=root_url,
        quantum_computer=quantum_computer or _env(env, "IQM_QUANTUM_COMPUTER"),
        token=token,
        tokens_file=tokens_file,
        client_signature=client_signature,
        timeout=resolved_timeout,
        max_retries=resolved_retries,
        max_poll_interval=resolved_poll,
        architecture_ttl=numbers["architecture_ttl"],
        max_concurrent_requests=concurrency,
        requests_per_second=numbers["requests_per_second"],
        allow_insecure_auth=allow_insecure,
        debug=_env(env, "IQM_CLIENT_DEBUG") == "1",
    )


_CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


def resolve_network_options(
    verify: bool | str | ssl.SSLContext | None = None, *, environ: Mapping[str, str] | None = None
) -> NetworkOptions:
    """TLS trust and proxies: ``verify=`` > CA-bundle variables > certifi; proxies from the environment.

    CA bundle: ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` (what the reference honours through
    requests), then ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` (what httpx honours). Proxies:
    ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` and ``NO_PROXY``, lower case first, as requests
    and httpx read them.

    Raises:
        ClientConfigurationError: ``verify`` or a CA-bundle variable names a path that does not exist.
    """
    env = os.environ if environ is None else environ
    source = "verify"
    if verify is None:
        verify = True
        for name in _CA_BUNDLE_VARIABLES:
            value = _env(env, name)
            if value:
                verify, source = value, name
                break
    if isinstance(verify, str) and not os.path.exists(verify):
        raise ClientConfigurationError(
            f"{source} names a CA bundle that does not exist: {verify!r}. "
            "Give an existing PEM file or certificate directory."
        )

    def variable(name: str) -> str | None:
        return _env(env, name.lower()) or _env(env, name.upper())

    proxies = {scheme: value for scheme in ("http", "https", "all") if (value := variable(f"{scheme}_proxy"))}
    return NetworkOptions(verify=verify, proxies=proxies, no_proxy=variable("no_proxy"))


def _positive(value: object, name: str, *, allow_zero: bool = False, allow_infinity: bool = False) -> float:
    number = check_number(value, name, allow_minimum=allow_zero, allow_infinity=allow_infinity)
    assert number is not None
    return number


def _count(value: object, name: str, *, minimum: int, maximum: int) -> int:
    number = check_integer(value, name, minimum=minimum, maximum=maximum)
    assert number is not None
    return number
