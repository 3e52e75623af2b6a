"""The package root exports exactly its documented names, sorted."""

from __future__ import annotations

import iqm_client_async


def test_all_is_sorted_and_complete() -> None:
    names = iqm_client_async.__all__
    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions
    assert names == sorted(names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(iqm_client_async, name), name


def test_reference_model_names_exported() -> None:
    for name in (
        "Circuit",
        "CircuitOperation",
        "CircuitCompilationOptions",
        "HeraldingMode",
        "MoveGateValidationMode",
        "MoveGateFrameTrackingMode",
        "DDMode",
        "DDStrategy",
        "PostJobsRequest",
        "RunRequest",
        "JobData",
        "JobStatus",
        "CircuitMeasurementCounts",
        "StaticQuantumArchitecture",
        "DynamicQuantumArchitecture",
        "GateInfo",
        "GateImplementationInfo",
        "ObservationSetWithObservations",
        "ObservationLite",
        "QuantumComputer",
        "AsyncIQMClient",
        "IQMClient",
        "AsyncCircuitJob",
        "CircuitJob",
        "IQMError",
    ):
        assert name in iqm_client_async.__all__, name


def test_every_raised_error_is_an_iqm_error() -> None:
    for name in iqm_client_async.__all__:
        obj = getattr(iqm_client_async, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, iqm_client_async.IQMError), name
