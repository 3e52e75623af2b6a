"""Canned IQM Server answers, for benchmarks that take the network out of the measurement.

``mock_transport()`` serves them to our client through ``httpx.MockTransport``; ``stubbed_requests()``
serves the same bytes to the reference client by replacing ``requests.Session.send`` (the reference
sends every request through ``requests.get``/``requests.post``, which end there).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import httpx

from ._common import GARNET

MOCK_URL = "http://127.0.0.1:9"
QUANTUM_COMPUTER = GARNET.name

_CREATED = "2025-06-02T10:00:00.000000Z"


def _json(document: Any) -> bytes:
    return json.dumps(document).encode()


QUANTUM_COMPUTERS = _json(
    {
        "quantum_computers": [
            {
                "id": GARNET.quantum_computer_id,
                "alias": GARNET.name,
                "display_name": GARNET.display_name,
                "proxy_path": None,
            }
        ]
    }
)
DYNAMIC_ARCHITECTURE = _json(GARNET.dynamic_architecture())
JOB_DATA = _json(
    {
        "id": str(uuid.UUID(int=1)),
        "type": "circuit",
        "status": "waiting",
        "execution": None,
        "compilation": None,
        "messages": [],
        "errors": [],
        "queue_position": 0,
        "timeline": [{"source": "iqm-server", "status": "created", "timestamp": _CREATED}],
    }
)
ABOUT = _json({"version": "benchmark", "idempotency_key_supported": True})
NOT_FOUND = _json({"message": "not found", "error_code": "not_found", "source": "benchmark"})


def canned_response(method: str, path: str) -> tuple[int, bytes]:
    """Status and JSON body for a request; 404 for anything a submission does not need."""
    if method == "GET" and path.endswith("/quantum-computers"):
        return 200, QUANTUM_COMPUTERS
    if method == "GET" and path.endswith("/dynamic-quantum-architecture"):
        return 200, DYNAMIC_ARCHITECTURE
    if method == "POST" and path.endswith(f"/jobs/{QUANTUM_COMPUTER}/circuit"):
        return 200, JOB_DATA
    if method == "GET" and path.endswith("/about"):
        return 200, ABOUT
    return 404, NOT_FOUND


def _handle(request: httpx.Request) -> httpx.Response:
    status, body = canned_response(request.method, request.url.path)
    return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})


def mock_transport() -> httpx.MockTransport:
    """An httpx transport answering every request with ``canned_response``."""
    return httpx.MockTransport(_handle)


@contextlib.contextmanager
def stubbed_requests() -> Iterator[None]:
    """Within the block, ``requests`` answers with ``canned_response`` instead of using the network."""
    requests = importlib.import_module("requests")  # the reference's dependency, not ours

    def send(session: Any, request: Any, **kwargs: Any) -> Any:
        status, body = canned_response(request.method or "GET", urlsplit(request.url or "").path)
        response = requests.Response()
        response.status_code = status
        response._content = body
        response.headers = requests.structures.CaseInsensitiveDict({"Content-Type": "application/json"})
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    with mock.patch.object(requests.Session, "send", send):
        yield
