"""Shared fixtures: a respx-mocked IQM Server for unit tests of the client; the event loops tests run on."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

EMULATOR_TESTS = Path(__file__).parent / "emulator"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--loops",
        default="asyncio,uvloop",
        help="comma-separated event loops every async client test runs on (asyncio, uvloop)",
    )


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async client test runs on asyncio and on uvloop (the emulator's own tests on asyncio only)."""
    available: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in the test extra (not on Windows)
        pass
    else:
        available["uvloop"] = uvloop.new_event_loop
    wanted = [name for name in str(config.getoption("--loops")).split(",") if name in available]
    if EMULATOR_TESTS in Path(str(item.path)).parents:
        wanted = wanted[:1]
    return {name: available[name] for name in wanted or ["asyncio"]}


BASE = "https://iqm.example.com"
QC_ID = "0b6a9c3e-7f4d-4a3b-9e62-5d1f8c2a7b10"
CALSET_ID = "9ddb9586-8f27-49a9-90ed-41086b47f6bd"
OTHER_CALSET_ID = "cd4dd889-b88b-4370-ba01-eb8262ad9c53"
JOB_ID = "3c3fcda3-e860-46bf-92a4-bcc59fa76ce9"
MISSING_JOB_ID = "059e4186-50a3-4e6c-ba1f-37fe6afbdfc2"


def dqa(calset: str = CALSET_ID) -> dict[str, Any]:
    """The archived suite's sample architecture: QB1-QB3, measure only on QB1 and QB2."""
    return {
        "calibration_set_id": calset,
        "qubits": ["QB1", "QB2", "QB3"],
        "computational_resonators": [],
        "gates": {
            "prx": {
                "implementations": {
                    "drag_gaussian": {"loci": [["QB1"], ["QB2"], ["QB3"]]},
                    "drag_crf": {"loci": [["QB1"], ["QB3"]]},
                },
                "default_implementation": "drag_gaussian",
                "override_default_implementation": {"QB3": "drag_crf"},
            },
            "cc_prx": {
                "implementations": {"prx_composite": {"loci": [["QB1"], ["QB2"], ["QB3"]]}},
                "default_implementation": "prx_composite",
                "override_default_implementation": {},
            },
            "cz": {
                "implementations": {
                    "tgss": {"loci": [["QB1", "QB2"], ["QB1", "QB3"]]},
                    "crf": {"loci": [["QB1", "QB2"]]},
                },
                "default_implementation": "tgss",
                "override_default_implementation": {},
            },
            "measure": {
                "implementations": {"constant": {"loci": [["QB1"], ["QB2"]]}},
                "default_implementation": "constant",
                "override_default_implementation": {},
            },
        },
    }


def job_json(status: str = "waiting", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": JOB_ID,
        "status": status,
        "type": "circuit",
        "messages": [],
        "errors": [],
        "queue_position": 0 if status == "waiting" else None,
        "timeline": [
            {"source": "iqm-server", "status": "created", "timestamp": "2025-11-20T10:00:00.120000Z"}
        ],
    }
    data.update(extra)
    return data


class FakeServer:
    """A respx router with the happy-path routes of one quantum computer ('garnet')."""

    def __init__(self) -> None:
        self.router = respx.MockRouter(base_url=BASE, assert_all_called=False)
        r = self.router
        # asked once per client before its first submission: does the server honour Idempotency-Key?
        self.about = r.get("/api/v1/about").respond(json={"idempotency_key_supported": True})
        self.qcs = r.get("/api/v1/quantum-computers").respond(
            json={"quantum_computers": [{"id": QC_ID, "alias": "garnet", "display_name": "Garnet"}]}
        )
        self.dqa_default = r.get(
            "/api/v1/calibration-sets/garnet/default/dynamic-quantum-architecture"
        ).respond(json=dqa())
        self.dqa_by_id = r.get(
            f"/api/v1/calibration-sets/garnet/{CALSET_ID}/dynamic-quantum-architecture"
        ).respond(json=dqa())
        self.submit = r.post("/api/v1/jobs/garnet/circuit").respond(json=job_json())
        self.job = r.get(f"/api/v1/jobs/{JOB_ID}").respond(json=job_json("completed"))
        self.measurements = r.get(f"/api/v1/jobs/{JOB_ID}/artifacts/measurements").respond(
            json=[{"m": [[0, 0], [1, 1]]}]
        )
        self.counts = r.get(f"/api/v1/jobs/{JOB_ID}/artifacts/measurement_counts").respond(
            json=[{"measurement_keys": ["m"], "counts": {"00": 1, "11": 1}}]
        )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.router.async_handler)

    def sync_transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.router.handler)

    def job_sequence(self, *statuses: str | dict[str, Any]) -> respx.Route:
        """Answer GET /jobs/{id} with these statuses in turn (the last one repeats)."""
        bodies = [job_json(s) if isinstance(s, str) else s for s in statuses]
        calls = {"n": 0}

        def side_effect(request: httpx.Request) -> httpx.Response:
            body = bodies[min(calls["n"], len(bodies) - 1)]
            calls["n"] += 1
            return httpx.Response(200, json=copy.deepcopy(body))

        self.job.side_effect = side_effect
        return self.job


@pytest.fixture
def server() -> Iterator[FakeServer]:
    yield FakeServer()
