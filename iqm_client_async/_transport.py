"""The default transport under ``httpx.AsyncClient``: aiohttp on asyncio (uvloop included).

``httpx.AsyncClient`` stays the client (auth flow, redirects, ``MockTransport`` and ``ASGITransport``
keep working); this transport only moves the bytes, through aiohttp's public API, which costs about a
quarter of httpcore's CPU per request (``python -m benchmarks transport``). Under any other event loop (trio through anyio) requests go
through httpx's own transport with the same TLS and proxy settings.

Every aiohttp failure becomes the httpx exception that says how far the request got:

* **certainly not sent** — name resolution, connection refused, TLS handshake, connect timeout,
  waiting for a pool slot, a proxy refusing the tunnel: ``httpx.ConnectError``,
  ``httpx.ConnectTimeout``, ``httpx.ProxyError``. Nothing of the request left the client, so the
  request layer may send it again, even a job submission.
* **may have reached the server** — anything after the connection was handed to the request
  (the first byte of the request may have been written): a reset or a hang-up before or during the
  response, a malformed or truncated response, a read timeout: ``httpx.ReadError``,
  ``httpx.RemoteProtocolError``, ``httpx.ReadTimeout``. On plain TCP a reset that arrives "before
  the request" cannot be told apart from one after it (the kernel accepted the bytes), so it is
  counted here too.

aiohttp re-sends an idempotent request (GET, DELETE) once on a fresh connection when a reused one
turns out to be closed; a POST is never re-sent by aiohttp.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Final, NoReturn

import aiohttp
import certifi
import httpx
import sniffio
import yarl

__all__ = ["DefaultTransport", "NetworkOptions", "bypasses_proxy", "ssl_context_for"]

KEEPALIVE_EXPIRY: Final = 4.0  # below the 5 s idle timeout of uvicorn and many proxies

_NOT_SENT: Final = (
    aiohttp.ClientConnectorError,  # DNS, refused, unreachable, TLS handshake and certificate errors
    aiohttp.ConnectionTimeoutError,  # connect timeout, or waiting for a pool slot
    aiohttp.ClientHttpProxyError,  # the proxy refused the CONNECT tunnel
)


class NetworkOptions:
    """TLS trust and proxies for the default transport (resolved once, by ``_config``).

    Args:
        verify: ``True`` (certifi's CA bundle), ``False`` (no verification), a CA bundle file or
            directory, or a ready ``ssl.SSLContext``.
        proxies: scheme (``http``, ``https``, ``all``) to proxy URL.
        no_proxy: the ``NO_PROXY`` value: hosts that bypass the proxies.
    """

    __slots__ = ("_proxy_cache", "no_proxy", "proxies", "verify")

    def __init__(
        self,
        *,
        verify: bool | str | ssl.SSLContext = True,
        proxies: Mapping[str, str] | None = None,
        no_proxy: str | None = None,
    ) -> None:
        self.verify = verify
        self.proxies = dict(proxies or {})
        self.no_proxy = no_proxy
        self._proxy_cache: dict[tuple[str, str], str | None] = {}

    def __repr__(self) -> str:
        # proxy URLs may carry credentials: show only which schemes are proxied
        return f"NetworkOptions(verify={self.verify!r}, proxied={sorted(self.proxies)!r})"

    def proxy_for(self, scheme: str, host: str) -> str | None:
        """The proxy URL for a request to ``scheme://host``, or None for a direct connection."""
        key = (scheme, host)
        if key not in self._proxy_cache:
            proxy = self.proxies.get(scheme) or self.proxies.get("all")
            if proxy and self.no_proxy and bypasses_proxy(host, self.no_proxy):
                proxy = None
            self._proxy_cache[key] = proxy
        return self._proxy_cache[key]


def bypasses_proxy(host: str, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` exempts ``host``: ``*``, the host itself, a parent domain, or a CIDR block.

    ``example.com`` and ``.example.com`` both exempt ``example.com`` and every host below it, as curl,
    requests and httpx read them.
    """
    host = host.strip("[]").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in no_proxy.replace(" ", "").lower().split(","):
        if not entry:
            continue
        if entry == "*":
            return True
        if address is not None and "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.lstrip(".")
        if entry.startswith("["):  # [::1] or [::1]:port
            entry = entry[1:].split("]", 1)[0]
        elif entry.count(":") == 1:  # host:port
            entry = entry.split(":", 1)[0]
        if host == entry or host.endswith("." + entry):
            return True
    return False


def ssl_context_for(verify: bool | str | ssl.SSLContext) -> ssl.SSLContext:
    """The TLS context for ``verify`` (see ``NetworkOptions``)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        return ssl.create_default_context(cafile=certifi.where())
    if Path(verify).is_dir():
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


class _BodyStream(httpx.AsyncByteStream):
    """A response body read whole by the transport, handed to httpx (which decodes Content-Encoding)."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._body


def _raise_mapped(exc: Exception, request: httpx.Request) -> NoReturn:
    """Raise the httpx exception for an aiohttp failure (see the module docstring)."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        raise httpx.ConnectTimeout(message, request=request) from exc
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        raise httpx.ProxyError(message, request=request) from exc
    if isinstance(exc, _NOT_SENT):
        raise httpx.ConnectError(message, request=request) from exc
    if isinstance(exc, (aiohttp.SocketTimeoutError, TimeoutError)):
        raise httpx.ReadTimeout(message, request=request) from exc
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        raise httpx.RemoteProtocolError(message, request=request) from exc
    if isinstance(exc, aiohttp.ClientResponseError):  # a malformed status line or headers
        raise httpx.RemoteProtocolError(message, request=request) from exc
    if isinstance(exc, aiohttp.InvalidURL):
        raise httpx.UnsupportedProtocol(message, request=request) from exc
    raise httpx.ReadError(message, request=request) from exc  # ClientOSError and the rest


@functools.lru_cache(maxsize=256)
def _yarl_url(url: str) -> yarl.URL:
    """aiohttp's URL for httpx's (already encoded) URL; submissions and repeated polls share one."""
    return yarl.URL(url, encoded=True)


@functools.lru_cache(maxsize=16)
def _client_timeout(connect: float | None, pool: float | None, read: float | None) -> aiohttp.ClientTimeout:
    """httpx's per-phase timeouts as aiohttp's: the pool wait and the connect share ``connect``."""
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if connect is None or pool is None else connect + pool,
        sock_connect=connect,
        sock_read=read,
    )


class DefaultTransport(httpx.AsyncBaseTransport):
    """aiohttp under ``httpx.AsyncClient`` on asyncio; httpx's own transport on other event loops.

    The aiohttp session is opened lazily, in the event loop of the first request.

    Args:
        max_connections: size of the connection pool.
        network: TLS trust and proxies.
    """

    def __init__(self, *, max_connections: int, network: NetworkOptions | None = None) -> None:
        self._max_connections = max_connections
        self._network = network or NetworkOptions()
        self._ssl = ssl_context_for(self._network.verify)
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._fallbacks: dict[str | None, httpx.AsyncHTTPTransport] = {}

    def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            ssl=self._ssl,
            keepalive_timeout=KEEPALIVE_EXPIRY,
        )
        self._session_loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession(
            connector=connector,
            # httpx owns these: cookies, decompression, redirects and every header on the wire
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None),
            trust_env=False,  # proxies come from NetworkOptions, resolved once with the settings
        )
        return self._session

    def _fallback_transport(self, proxy: str | None) -> httpx.AsyncHTTPTransport:
        """httpx's own transport (one per proxy), for event loops other than asyncio."""
        transport = self._fallbacks.get(proxy)
        if transport is None:
            transport = self._fallbacks[proxy] = httpx.AsyncHTTPTransport(
                verify=self._ssl,
                proxy=proxy,
                limits=httpx.Limits(
                    max_connections=self._max_connections,
                    max_keepalive_connections=self._max_connections,
                    keepalive_expiry=KEEPALIVE_EXPIRY,
                ),
            )
        return transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return its response with the body read."""
        url = request.url
        proxy = self._network.proxy_for(url.scheme, url.host) if self._network.proxies else None
        if sniffio.current_async_library() != "asyncio":
            return await self._fallback_transport(proxy).handle_async_request(request)
        session = self._session
        if session is None or self._session_loop is not asyncio.get_running_loop():
            session = self._open_session()  # first request, or the client moved to another event loop
        timeouts: Mapping[str, float | None] = request.extensions.get("timeout", {})
        timeout = _client_timeout(timeouts.get("connect"), timeouts.get("pool"), timeouts.get("read"))
        body = request.content if isinstance(request.stream, httpx.ByteStream) else await request.aread()
        try:
            async with session.request(
                request.method,
                _yarl_url(str(url)),
                data=body or None,
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
                allow_redirects=False,
                timeout=timeout,
                proxy=proxy,
            ) as response:
                content = await response.read()
                return httpx.Response(
                    response.status,
                    headers=response.raw_headers,
                    stream=_BodyStream(content),
                    request=request,
                    extensions={
                        "http_version": b"HTTP/1.1",
                        "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
                    },
                )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            _raise_mapped(exc, request)

    async def aclose(self) -> None:
        """Close the aiohttp session (and httpx's transports, if another event loop used them)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        fallbacks, self._fallbacks = self._fallbacks, {}
        for transport in fallbacks.values():
            await transport.aclose()
