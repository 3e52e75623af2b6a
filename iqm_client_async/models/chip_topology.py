"""The chip's components and their connections, read from its chip design record.

A small model of our own for ``get_chip_topology``: qubits, computational resonators, tunable couplers
and probe lines, with the few look-ups circuit-level code needs. It needs no pulse-level packages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import ResponseDecodeError
from .architecture import component_sort_key

__all__ = ["ChipTopology"]

# Component kinds of a chip design record's ``content.components``.
_QUBIT = "qubit"
_RESONATOR = "computational_resonator"
_COUPLER = "tunable_coupler"
_PROBE_LINE = "probe_line"


_NUMBER = re.compile(r"\d+")


def _sorted(names: Iterable[str]) -> tuple[str, ...]:
    """Components in the order iqm-client 36's topology lists them: kinds by name descending (``QB`` before
    ``COMPR``), then by number ascending, then by name descending."""
    ordered = sorted(names, reverse=True)
    ordered.sort(key=lambda name: component_sort_key(name)[1])
    ordered.sort(key=lambda name: component_sort_key(name)[0], reverse=True)
    return tuple(ordered)


def _coupler_key(name: str) -> tuple[int, ...]:
    """Couplers are ordered by all the numbers in their names (``TC-5-6`` before ``TC-5-10``)."""
    return tuple(int(number) for number in _NUMBER.findall(name))


@dataclass(frozen=True)
class ChipTopology:
    """Components of a chip and how they connect.

    Attributes:
        chip_label: the chip's label (``cheddar.chip_label`` of the record), e.g. ``M156_W531_A09_L09``.
        mask_set_name: the chip's mask set.
        variant: the chip's design variant.
        qubits_sorted: qubit names, in component order (``QB2`` before ``QB10``).
        computational_resonators_sorted: computational resonator names, in component order.
        coupler_to_components: tunable coupler -> the qubits and resonators it connects (sorted).
        probe_line_to_components: probe line -> the components read out through it (sorted).
    """

    chip_label: str
    mask_set_name: str
    variant: str
    qubits_sorted: tuple[str, ...]
    computational_resonators_sorted: tuple[str, ...]
    coupler_to_components: Mapping[str, tuple[str, ...]]
    probe_line_to_components: Mapping[str, tuple[str, ...]]
    _component_to_couplers: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, set[str]] = {}
        for coupler, components in self.coupler_to_components.items():
            for component in components:
                index.setdefault(component, set()).add(coupler)
        object.__setattr__(self, "_component_to_couplers", {c: frozenset(s) for c, s in index.items()})

    @classmethod
    def from_chip_design_record(cls, chip_design_record: Mapping[str, Any]) -> ChipTopology:
        """Read a chip design record (one item of ``artifacts/chip-design-records``).

        Connections of couplers and probe lines to components the record does not list as qubits or
        resonators (e.g. a coupler's own probe line) are left out.

        Raises:
            ResponseDecodeError: the record lacks the chip label or its component list.
        """
        record = chip_design_record
        try:
            label = str(record["cheddar"]["chip_label"])
            components: Mapping[str, list[Mapping[str, Any]]] = record["content"]["components"]
        except (KeyError, TypeError) as exc:
            raise ResponseDecodeError(
                f"Chip design record without {exc}: cannot read the chip topology"
            ) from None

        def names(kind: str) -> list[str]:
            return [str(item["name"]) for item in components.get(kind, [])]

        def connections(kind: str, allowed: frozenset[str]) -> dict[str, tuple[str, ...]]:
            linked = {
                str(item["name"]): [str(c) for c in item.get("connections", [])]
                for item in components.get(kind, [])
            }
            key = _coupler_key if kind == _COUPLER else component_sort_key
            return {
                name: _sorted(c for c in linked[name] if c in allowed) for name in sorted(linked, key=key)
            }

        qubits = _sorted(names(_QUBIT))
        resonators = _sorted(names(_RESONATOR))
        data_components = frozenset((*qubits, *resonators))
        couplers = connections(_COUPLER, data_components)
        return cls(
            chip_label=label,
            mask_set_name=str(record.get("mask_set_name", "")),
            variant=str(record.get("variant", "")),
            qubits_sorted=qubits,
            computational_resonators_sorted=resonators,
            coupler_to_components=couplers,
            probe_line_to_components=connections(_PROBE_LINE, data_components | frozenset(couplers)),
        )

    @property
    def qubits(self) -> frozenset[str]:
        """The qubit names."""
        return frozenset(self.qubits_sorted)

    @property
    def computational_resonators(self) -> frozenset[str]:
        """The computational resonator names."""
        return frozenset(self.computational_resonators_sorted)

    @property
    def couplers(self) -> frozenset[str]:
        """The tunable coupler names."""
        return frozenset(self.coupler_to_components)

    @property
    def couplers_sorted(self) -> tuple[str, ...]:
        """The tunable coupler names, in component order."""
        return tuple(self.coupler_to_components)

    @property
    def probe_lines(self) -> frozenset[str]:
        """The probe line names."""
        return frozenset(self.probe_line_to_components)

    @property
    def probe_lines_sorted(self) -> tuple[str, ...]:
        """The probe line names, in component order."""
        return tuple(self.probe_line_to_components)

    @property
    def component_to_couplers(self) -> dict[str, frozenset[str]]:
        """Component -> the couplers connected to it."""
        return dict(self._component_to_couplers)

    @property
    def component_to_probe_line(self) -> dict[str, str]:
        """Component -> the probe line that reads it out (components without one are absent)."""
        return {c: line for line, linked in self.probe_line_to_components.items() for c in linked}

    @property
    def all_components(self) -> frozenset[str]:
        """Every component: qubits, resonators, couplers and probe lines."""
        return self.qubits | self.computational_resonators | self.couplers | self.probe_lines

    def is_qubit(self, component: str) -> bool:
        """Whether ``component`` is a qubit."""
        return component in self.qubits

    def is_computational_resonator(self, component: str) -> bool:
        """Whether ``component`` is a computational resonator."""
        return component in self.computational_resonators

    def is_coupler(self, component: str) -> bool:
        """Whether ``component`` is a tunable coupler."""
        return component in self.coupler_to_components

    def is_probe_line(self, component: str) -> bool:
        """Whether ``component`` is a probe line."""
        return component in self.probe_line_to_components

    def get_connecting_couplers(self, components: Iterable[str]) -> set[str]:
        """Couplers that connect only members of ``components``, and at least two of them."""
        wanted = set(components)
        return {
            coupler
            for coupler in self.get_neighbor_couplers(wanted)
            if len(self.coupler_to_components[coupler]) >= 2
            and wanted.issuperset(self.coupler_to_components[coupler])
        }

    def get_neighbor_couplers(self, components: Iterable[str]) -> set[str]:
        """Couplers connected to at least one of ``components``."""
        found: set[str] = set()
        for component in components:
            found |= self._component_to_couplers.get(component, frozenset())
        return found

    def get_coupler_for(self, component_1: str, component_2: str) -> str:
        """The coupler connecting two components.

        Raises:
            ValueError: no coupler, or more than one, connects exactly these two.
        """
        found = list(self.get_connecting_couplers((component_1, component_2)))
        if len(found) != 1:
            raise ValueError(
                f"Components {component_1} and {component_2} have {len(found)} connecting couplers."
            )
        return found[0]

    def get_connected_probe_lines(self, components: Iterable[str]) -> set[str]:
        """Probe lines that read out at least one of ``components``."""
        wanted = set(components)
        return {line for line, linked in self.probe_line_to_components.items() if wanted & set(linked)}
