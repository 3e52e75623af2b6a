"""``/openapi.json`` names every route, and the models it is built from validate the real responses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from iqm_client_async.emulator import api_models
from iqm_client_async.emulator.limits import MAX_CIRCUITS, MAX_INSTRUCTIONS, MAX_SHOTS

from .server_helpers import Connect, bell, run_request, submit, wait_for

ROUTES = {
    ("get", "/about"),
    ("get", "/api/v1/about"),
    ("get", "/api/v1/quantum-computers"),
    ("get", "/api/v1/quantum-computers/{qc}/health"),
    ("get", "/api/v1/quantum-computers/{qc}/artifacts/about"),
    ("get", "/api/v1/quantum-computers/{qc}/artifacts/duts"),
    ("get", "/api/v1/quantum-computers/{qc}/artifacts/static-quantum-architectures"),
    ("get", "/api/v1/quantum-computers/{qc}/artifacts/chip-design-records"),
    ("get", "/api/v1/quantum-computers/{qc}/artifacts/channel-properties"),
    ("get", "/api/v1/calibration-sets/{qc}/{calibration_set_id}"),
    ("get", "/api/v1/calibration-sets/{qc}/{calibration_set_id}/dynamic-quantum-architecture"),
    ("get", "/api/v1/calibration-sets/{qc}/{calibration_set_id}/metrics"),
    ("post", "/api/v1/jobs/{qc}/circuit"),
    ("get", "/api/v1/jobs/{job_id}"),
    ("delete", "/api/v1/jobs/{job_id}"),
    ("post", "/api/v1/jobs/{job_id}/cancel"),
    ("get", "/api/v1/jobs/{job_id}/payload"),
    ("get", "/api/v1/jobs/{job_id}/artifacts/measurements"),
    ("get", "/api/v1/jobs/{job_id}/artifacts/measurement_counts"),
}


def validate(model: Any, response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    TypeAdapter(model).validate_json(response.content, strict=True)


@pytest.mark.asyncio
async def test_the_document_lists_every_route_with_its_models(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()

    routes = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert routes == ROUTES
    schemas = document["components"]["schemas"]
    submit_operation = document["paths"]["/api/v1/jobs/{qc}/circuit"]["post"]
    body = submit_operation["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/RunRequest"}
    assert schemas["RunRequest"]["properties"]["shots"]["maximum"] == MAX_SHOTS
    assert schemas["RunRequest"]["properties"]["circuits"]["maxItems"] == MAX_CIRCUITS
    assert schemas["Circuit"]["properties"]["instructions"]["maxItems"] == MAX_INSTRUCTIONS
    assert {"400", "413", "415", "422"} <= set(submit_operation["responses"])
    error = submit_operation["responses"]["413"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/IQMServerError"}
    assert "HTTPValidationError" not in schemas  # FastAPI's 422 shape, which the emulator never sends


@pytest.mark.asyncio
async def test_the_models_validate_real_responses(connect: Connect) -> None:
    _, api = await connect(seed=3, token="t")
    api.headers["Authorization"] = "Bearer t"
    job = (await submit(api, run_request(bell(), shots=5, heralding_mode="zeros"))).json()
    await wait_for(api, job["id"])
    qc = "/api/v1/quantum-computers/garnet"
    calibration = "/api/v1/calibration-sets/garnet/default"
    job_path = f"/api/v1/jobs/{job['id']}"
    expected: list[tuple[Any, str]] = [
        (api_models.About, "/about"),
        (api_models.QuantumComputers, "/api/v1/quantum-computers"),
        (api_models.Health, f"{qc}/health"),
        (api_models.SoftwareVersions, f"{qc}/artifacts/about"),
        (list[api_models.Dut], f"{qc}/artifacts/duts"),
        (list[api_models.StaticQuantumArchitecture], f"{qc}/artifacts/static-quantum-architectures"),
        (api_models.ObservationSet, calibration),
        (api_models.DynamicQuantumArchitecture, f"{calibration}/dynamic-quantum-architecture"),
        (api_models.ObservationSet, f"{calibration}/metrics"),
        (api_models.JobData, job_path),
        (api_models.RunRequest, f"{job_path}/payload"),
        (api_models.Measurements, f"{job_path}/artifacts/measurements"),
        (list[api_models.MeasurementCounts], f"{job_path}/artifacts/measurement_counts"),
    ]

    for model, path in expected:
        validate(model, await api.get(path))
    unauthorized = await api.get("/about", headers={"Authorization": "Bearer wrong"})
    assert unauthorized.status_code == 401
    api_models.IQMServerError.model_validate_json(unauthorized.content, strict=True)
