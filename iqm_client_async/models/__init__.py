"""Wire models of the IQM Server API (pydantic v2) and the circuit dataclasses."""

from __future__ import annotations

from .architecture import (
    DutData,
    DynamicQuantumArchitecture,
    GateImplementationInfo,
    GateInfo,
    ListQuantumComputersResponse,
    QuantumComputer,
    StaticQuantumArchitecture,
)
from .circuits import (
    STANDARD_DD_STRATEGY,
    Circuit,
    CircuitCompilationOptions,
    CircuitJobParameters,
    CircuitOperation,
    DDMode,
    DDStrategy,
    HeraldingMode,
    Locus,
    MoveGateFrameTrackingMode,
    MoveGateValidationMode,
    QIRCode,
)

__all__ = [
    "STANDARD_DD_STRATEGY",
    "Circuit",
    "CircuitCompilationOptions",
    "CircuitJobParameters",
    "CircuitOperation",
    "DDMode",
    "DDStrategy",
    "DutData",
    "DynamicQuantumArchitecture",
    "GateImplementationInfo",
    "GateInfo",
    "HeraldingMode",
    "ListQuantumComputersResponse",
    "Locus",
    "MoveGateFrameTrackingMode",
    "MoveGateValidationMode",
    "QIRCode",
    "QuantumComputer",
    "StaticQuantumArchitecture",
]
