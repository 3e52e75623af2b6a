"""Every public name of iqm-client 36's ``iqm.iqm_client`` that we claim to support is ours, compatibly.

``tests/data/iqm_client_36_surface.json`` records, for each claimed name, what it is in iqm-client 36:
the parameters of each claimed method, the fields of a model, the values of an enum. The normal test
session checks our side against that record; the compat session (iqm-client 36 installed) checks the
record against the installed package, so the record cannot drift from what IQM ships. Regenerate it
there with ``python tests/test_iqm36_surface.py > tests/data/iqm_client_36_surface.json``.

"Compatible parameters": every call that 36 accepts is accepted by ours. Positional parameters keep
their position and name; keyword-only ones may be keyword-only or positional-or-keyword on our side;
a parameter with a default in 36 has one in ours; our extra parameters all have defaults.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import iqm_client_async

SURFACE_FILE = Path(__file__).parent / "data" / "iqm_client_36_surface.json"

# Claimed classes with methods: the members we claim, and the ones we knowingly do not (README deviations).
CLAIMED_MEMBERS: dict[str, tuple[list[str], list[str]]] = {
    "IQMClient": (
        [
            "__init__",
            "from_url",
            "get_health",
            "get_about",
            "submit_circuits",
            "create_circuit_job_definition",
            "submit_circuit_job",
            "get_job",
            "cancel_job",
            "delete_job",
            "get_static_quantum_architecture",
            "get_quality_metric_set",
            "get_calibration_set",
            "get_dynamic_quantum_architecture",
            "get_feedback_groups",
            "get_job_measurement_counts",
            "get_job_measurements",
            "get_calibration_quality_metrics",
            "quantum_computer_name",
            "get_chip_label",
            "get_chip_topology",
        ],
        ["get_standard_compiler", "submit_playlist", "get_calibration_set_stash"],
    ),
    "CircuitJobTracker": (
        [
            "job_data",
            "job_id",
            "status",
            "errors",
            "update",
            "cancel",
            "payload",
            "wait_for_completion",
            "find_timeline_entry",
            "result",
            "result_counts",
        ],
        [],
    ),
    "ChipTopology": (
        [
            "from_chip_design_record",
            "mask_set_name",
            "variant",
            "qubits",
            "qubits_sorted",
            "computational_resonators",
            "computational_resonators_sorted",
            "couplers",
            "couplers_sorted",
            "probe_lines",
            "probe_lines_sorted",
            "all_components",
            "coupler_to_components",
            "component_to_couplers",
            "probe_line_to_components",
            "component_to_probe_line",
            "get_neighbor_couplers",
            "get_connecting_couplers",
            "get_coupler_for",
            "get_connected_probe_lines",
            "is_qubit",
            "is_coupler",
            "is_probe_line",
            "is_computational_resonator",
        ],
        [
            "from_chad",
            "get_neighbor_locus_components",
            "get_connected_coupler_map",
            "limit_values",
            "get_common_computational_resonator",
            "get_all_common_resonators",
        ],
    ),
    "ObservationFinder": (
        [
            "get_coherence_times",
            "get_gate_duration",
            "get_gate_fidelity",
            "get_measure_errors",
            "get_measure_repeatability",
            "get_qubit_frequency",
        ],
        [],
    ),
}
MODELS = [
    "CircuitCompilationOptions",
    "CircuitJobDefinition",
    "CircuitJobParameters",
    "CircuitMeasurementCounts",
    "Circuit",
    "CircuitOperation",
    "DynamicQuantumArchitecture",
    "GateImplementationInfo",
    "GateInfo",
    "StaticQuantumArchitecture",
    "CalibrationSet",
    "QualityMetricSet",
]
ENUMS = ["DDMode", "HeraldingMode", "MoveGateFrameTrackingMode", "MoveGateValidationMode"]
OTHER = [
    "CircuitBatch",
    "CircuitMeasurementResults",
    "DDStrategy",
    "Locus",
    "QIRCode",
    "QubitMapping",
    "STANDARD_DD_STRATEGY",
]
ERRORS = [
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "CircuitValidationError",
    "ConflictError",
    "DataSizeError",
    "ForbiddenError",
    "GatewayTimeoutError",
    "IQMError",
    "InternalServerError",
    "InternalSystemError",
    "InvalidOperationError",
    "NotFoundError",
    "OperationTimeoutError",
    "PayloadTooLargeError",
    "RateLimitError",
    "ServiceUnavailableError",
    "SystemUnavailableError",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnknownObservationError",
    "ValidationError",
]


# ----------------------------------------------------------------------------- describing an object


def _parameters(function: Any) -> list[list[Any]]:
    """``[[name, kind, has_default], ...]`` without ``self`` / ``cls``."""
    parameters = list(inspect.signature(function).parameters.values())
    if parameters and parameters[0].name in ("self", "cls"):
        parameters = parameters[1:]
    return [[p.name, p.kind.name, p.default is not inspect.Parameter.empty] for p in parameters]


def _attribute_names(cls: type) -> set[str]:
    """Names an instance has: class attributes, annotated attributes, dataclass and pydantic fields."""
    names = set(dir(cls))
    for klass in cls.__mro__:
        names |= set(getattr(klass, "__annotations__", {}))
    if dataclasses.is_dataclass(cls):
        names |= {f.name for f in dataclasses.fields(cls)}
    names |= set(getattr(cls, "model_fields", {}))
    return names


def describe_member(cls: type, name: str) -> dict[str, Any]:
    """What ``cls.name`` is: a callable with parameters, or an attribute."""
    static = inspect.getattr_static(cls, name, None)
    if isinstance(static, (property, __import__("functools").cached_property)) or static is None:
        if name not in _attribute_names(cls):
            raise AttributeError(name)
        return {"attribute": True}
    if isinstance(static, (staticmethod, classmethod)) or callable(static):
        return {"parameters": _parameters(getattr(cls, name))}
    return {"attribute": True}


def _public_members(cls: type) -> set[str]:
    own: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] in ("iqm", "exa"):
            own |= {n for n in vars(klass) if not n.startswith("_")}
            own |= {n for n in getattr(klass, "__annotations__", {}) if not n.startswith("_")}
    return own


def _fields(cls: Any) -> list[str]:
    if hasattr(cls, "model_fields"):
        return sorted(cls.model_fields)
    return sorted(f.name for f in dataclasses.fields(cls))


def describe(module: Any) -> dict[str, Any]:
    """The record of every claimed name, read from ``module`` (iqm-client 36's ``iqm.iqm_client``)."""
    record: dict[str, Any] = {}
    for name, (claimed, not_claimed) in CLAIMED_MEMBERS.items():
        cls = getattr(module, name)
        record[name] = {
            "kind": "class",
            "members": {member: describe_member(cls, member) for member in claimed},
            "not_claimed": sorted(not_claimed),
            "all_public": sorted(
                _public_members(cls) | {"__init__"} if name == "IQMClient" else _public_members(cls)
            ),
        }
    for name in MODELS:
        record[name] = {"kind": "model", "fields": _fields(getattr(module, name))}
    for name in ENUMS:
        record[name] = {"kind": "enum", "values": sorted(member.value for member in getattr(module, name))}
    for name in OTHER:
        record[name] = {"kind": "other"}
    for name in ERRORS:
        obj = getattr(module, name)
        assert isinstance(obj, type) and issubclass(obj, Exception), name
        record[name] = {"kind": "exception"}
    return record


# ----------------------------------------------------------------------------- our side


def _compatible(ours: list[list[Any]], theirs: list[list[Any]]) -> str | None:
    """Why a call valid for ``theirs`` could fail on ``ours`` (None when every such call works)."""
    by_name = {p[0]: (index, p) for index, p in enumerate(ours)}
    kinds = {p[1] for p in ours}
    positional_kinds = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
    for index, (name, kind, has_default) in enumerate(theirs):
        if kind in ("VAR_POSITIONAL", "VAR_KEYWORD"):
            if kind not in kinds:
                return f"no *{name}"
            continue
        if name not in by_name:
            if "VAR_KEYWORD" in kinds and kind == "KEYWORD_ONLY":
                continue
            return f"missing parameter {name!r}"
        our_index, (_, our_kind, our_default) = by_name[name]
        if kind in positional_kinds and (our_kind not in positional_kinds or our_index != index):
            return f"{name!r} is not positional at index {index}"
        if kind == "KEYWORD_ONLY" and our_kind not in ("KEYWORD_ONLY", "POSITIONAL_OR_KEYWORD"):
            return f"{name!r} cannot be given by keyword"
        if has_default and not our_default:
            return f"{name!r} is required here but optional in iqm-client 36"
    their_names = {p[0] for p in theirs}
    for name, kind, has_default in ours:
        if name not in their_names and not has_default and kind not in ("VAR_POSITIONAL", "VAR_KEYWORD"):
            return f"extra required parameter {name!r}"
    return None


def _record() -> dict[str, Any]:
    return json.loads(SURFACE_FILE.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(_record()))
def test_claimed_name_is_ours_and_compatible(name: str) -> None:
    entry = _record()[name]
    namespace: dict[str, Any] = {}
    exec(f"from iqm_client_async import {name}", namespace)  # the import a script would make
    ours = namespace[name]

    if entry["kind"] == "class":
        for member, what in entry["members"].items():
            assert member in _attribute_names(ours), f"{name}.{member} missing"
            if "parameters" in what:
                our_member = describe_member(ours, member)
                assert "parameters" in our_member, f"{name}.{member} is not callable here"
                problem = _compatible(our_member["parameters"], what["parameters"])
                assert problem is None, f"{name}.{member}: {problem}"
    elif entry["kind"] == "model":
        assert set(entry["fields"]) <= set(_fields(ours)), name
    elif entry["kind"] == "enum":
        assert issubclass(ours, enum.Enum)
        assert set(entry["values"]) <= {member.value for member in ours}, name
    elif entry["kind"] == "exception":
        assert issubclass(ours, iqm_client_async.IQMError), name


def test_every_claimed_name_is_a_root_export() -> None:
    assert set(_record()) <= set(iqm_client_async.__all__)


def test_record_matches_the_installed_iqm_client_36() -> None:
    """Compat session only: the recorded 36 surface is what the installed iqm-client 36 has."""
    reference = pytest.importorskip("iqm.iqm_client")
    if int(metadata.version("iqm-client").split(".")[0]) != 36:
        pytest.skip("needs iqm-client 36: run `nox -s compat`")
    installed = describe(reference)
    assert installed == _record()
    for name, (claimed, not_claimed) in CLAIMED_MEMBERS.items():
        unaccounted = set(installed[name]["all_public"]) - set(claimed) - set(not_claimed)
        assert not unaccounted, (
            f"{name}: public members neither claimed nor listed as not claimed: {unaccounted}"
        )


if __name__ == "__main__":
    import iqm.iqm_client

    json.dump(describe(iqm.iqm_client), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
