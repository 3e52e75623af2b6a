"""Quantum computers and their architectures: static (the chip) and dynamic (what is calibrated)."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BeforeValidator, PlainSerializer

from ._base import ResponseModel
from .circuits import Locus

__all__ = [
    "DutData",
    "DynamicQuantumArchitecture",
    "GateImplementationInfo",
    "GateInfo",
    "ListQuantumComputersResponse",
    "QuantumComputer",
    "StaticQuantumArchitecture",
    "component_sort_key",
]

_FIRST_NUMBER = re.compile(r"\d+")
_NOT_LETTER = re.compile(r"[^a-zA-Z]")


def component_sort_key(name: str) -> tuple[str, int, str]:
    """Sort key for component names: letters first, then the first number, e.g. ``QB2`` < ``QB10`` < ``TC1``.

    Args:
        name: a component name such as ``QB10`` or ``COMPR1``.

    Returns:
        ``(letters of the name, its first number or 0, the name itself)``.
    """
    number = _FIRST_NUMBER.search(name)
    return _NOT_LETTER.sub("", name), int(number.group()) if number else 0, name


def _locus_sort_key(locus: Locus) -> tuple[tuple[str, int, str], ...]:
    return tuple(component_sort_key(component) for component in locus)


def _parse_locus_keys(value: Any) -> Any:
    """Turn wire keys ``"QB1,QB2"`` back into locus tuples; tuples pass unchanged."""
    if isinstance(value, dict):
        return {tuple(key.split(",")) if isinstance(key, str) else key: impl for key, impl in value.items()}
    return value


def _join_locus_keys(value: dict[Locus, str]) -> dict[str, str]:
    return {",".join(locus): impl for locus, impl in value.items()}


LocusKeyedImplementations = Annotated[
    dict[Locus, str],
    BeforeValidator(_parse_locus_keys),
    PlainSerializer(_join_locus_keys, when_used="json"),
]
"""Locus -> implementation name; on the wire the locus is comma-joined (``"QB1,QB2"``)."""


class GateImplementationInfo(ResponseModel):
    """One calibrated implementation of a gate.

    Attributes:
        loci: the loci this implementation is calibrated for.
    """

    loci: tuple[Locus, ...]


class GateInfo(ResponseModel):
    """A gate (quantum operation) of the dynamic architecture.

    Attributes:
        implementations: implementation name -> its calibrated loci.
        default_implementation: the implementation used unless overridden per locus or per instruction.
        override_default_implementation: locus -> implementation that replaces the default there.
    """

    implementations: dict[str, GateImplementationInfo]
    default_implementation: str
    override_default_implementation: LocusKeyedImplementations

    @cached_property
    def loci(self) -> tuple[Locus, ...]:
        """Every locus at least one implementation is calibrated for, sorted component by component."""
        union = {locus for info in self.implementations.values() for locus in info.loci}
        return tuple(sorted(union, key=_locus_sort_key))

    def get_default_implementation(self, locus: Locus) -> str:
        """The implementation used for ``locus`` when an instruction names none.

        Args:
            locus: the gate's locus.

        Returns:
            The per-locus override if there is one, else ``default_implementation``.
        """
        return self.override_default_implementation.get(locus, self.default_implementation)


class DynamicQuantumArchitecture(ResponseModel):
    """The gates and loci calibrated in one calibration set.

    Attributes:
        calibration_set_id: the calibration set this architecture was derived from.
        qubits: qubits that occur in at least one calibrated locus.
        computational_resonators: computational resonators that occur in at least one calibrated locus.
        gates: gate name -> its implementations and defaults.
    """

    calibration_set_id: UUID
    qubits: list[str]
    computational_resonators: list[str]
    gates: dict[str, GateInfo]

    @cached_property
    def components(self) -> tuple[str, ...]:
        """Qubits and computational resonators, sorted by letters then number (``COMPR1, QB1, QB2, QB10``)."""
        return tuple(sorted((*self.qubits, *self.computational_resonators), key=component_sort_key))


class StaticQuantumArchitecture(ResponseModel):
    """The chip itself: components and couplers, independent of calibration.

    Attributes:
        dut_label: label of the chip (device under test); optional on older servers.
        qubits: qubit names, sorted.
        computational_resonators: computational resonator names, sorted.
        connectivity: component groups connected by a coupler (unordered pairs).
    """

    dut_label: str | None = None
    qubits: list[str]
    computational_resonators: list[str]
    connectivity: list[tuple[str, ...]]


class DutData(ResponseModel):
    """A device under test attached to a quantum computer.

    Attributes:
        label: the DUT label, e.g. ``M156_W531_A09_L09``.
        dut_type: ``"chip"`` or ``"twpa"``.
    """

    label: str
    dut_type: Literal["chip", "twpa"] | str


class QuantumComputer(ResponseModel):
    """A quantum computer the server offers.

    Attributes:
        id: its UUID.
        alias: the short name used in URLs, e.g. ``garnet``.
        display_name: human-readable name, e.g. ``Garnet``.
        proxy_path: where the server proxies the computer's own API, if it does (newer servers).
    """

    id: UUID
    alias: str
    display_name: str
    proxy_path: str | None = None


class ListQuantumComputersResponse(ResponseModel):
    """Body of ``GET /api/v1/quantum-computers``.

    Attributes:
        quantum_computers: the quantum computers visible to the caller.
    """

    quantum_computers: list[QuantumComputer]
