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


# Public names that stay in their module (imported from there, documented there); everything else that a
# public module lists in its __all__ is exported from the package root.
MODULE_LEVEL_API = {
    "calibration": {
        "GATE_FIDELITY_METHODS",
        "LOCUS_SEPARATOR",
        "MIN_NAME_PARTS",
        "ObservationName",
        "locus_str_to_locus",
        "locus_to_locus_str",
        "parse_observation_name",
    },
    "job": {"DEFAULT_TIMEOUT_SECONDS"},
    "models": {
        "NDArrayValue",
        "ObservationSetType",
        "PRXSequence",
        "component_sort_key",
        "serialize_run_request",
    },
    "validation": {
        "MeasurementWidths",
        "check_json_value",
        "check_text",
        "validate_circuits_dynamic",
        "validate_circuits_static",
        "validate_circuits_with_keys",
    },
}


def test_every_public_name_of_a_public_module_is_exported() -> None:
    import importlib
    import pkgutil

    exported = set(iqm_client_async.__all__)
    for module_info in pkgutil.iter_modules(iqm_client_async.__path__):
        if module_info.name.startswith("_") or (module_info.ispkg and module_info.name != "models"):
            continue
        module = importlib.import_module(f"iqm_client_async.{module_info.name}")
        names = set(getattr(module, "__all__", ()))
        assert names, f"{module_info.name} has no __all__"
        missing = names - exported - MODULE_LEVEL_API.get(module_info.name, set())
        assert not missing, (
            f"iqm_client_async.{module_info.name} exports {sorted(missing)}, the package root does not"
        )


def test_exported_names_come_from_this_package() -> None:
    for name in iqm_client_async.__all__:
        value = getattr(iqm_client_async, name)
        module = getattr(value, "__module__", None)
        if isinstance(value, type) and module != "builtins":  # aliases such as QIRCode = str
            assert module.startswith("iqm_client_async"), (name, module)
