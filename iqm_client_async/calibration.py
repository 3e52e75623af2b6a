"""Find calibration data and quality metrics by name: T1/T2, gate durations, fidelities, readout errors.

Observation names are dotted paths with optional ``:key=value`` suffixes, e.g.
``metrics.irb.cz.tgss.QB1__QB2.fidelity:par=d2``. The first element is the domain; multi-component
loci are joined with ``__``. ``ObservationFinder`` files every observation under its path (suffixes
dropped) in a nested dict and answers the queries the reference client offers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, TypeAlias

from ._errors import IQMError
from .models.circuits import Locus
from .models.observations import ObservationLite

__all__ = [
    "GATE_FIDELITY_METHODS",
    "LOCUS_SEPARATOR",
    "MIN_NAME_PARTS",
    "InvalidObservationError",
    "ObservationFinder",
    "ObservationName",
    "UnknownObservationError",
    "locus_str_to_locus",
    "locus_to_locus_str",
    "parse_observation_name",
]

logger = logging.getLogger(__name__)

LOCUS_SEPARATOR = "__"
"""Joins the components of a multi-component locus in observation names (``QB1__QB2``)."""

MIN_NAME_PARTS = {
    "metrics": 4,
    "characterization": 4,
    "controllers": 3,
    "gates": 5,
    "gate_definitions": 3,
}
"""Known observation domains (first name element) and how many dotted elements their names need at least."""

GATE_FIDELITY_METHODS = {"prx": "rb", "measure": "ssro", "measure_fidelity": "ssro"}
"""The benchmark method whose ``fidelity`` metric describes a gate; ``irb`` for gates not listed."""

_DEFAULT_FIDELITY_METHOD = "irb"

Node: TypeAlias = dict[str, Any]
"""A finder node: path element -> child node, or -> the observation at a leaf."""


class UnknownObservationError(IQMError):
    """An observation name that cannot be parsed: unknown domain, too few elements, or a bad suffix."""


class InvalidObservationError(IQMError):
    """A queried path does not end in an observation, or the observation's value is not a number."""


class ObservationName:
    """A parsed observation name.

    Attributes:
        path: the dotted elements, suffixes removed.
        suffixes: ``key -> value`` of the ``:key=value`` suffixes.
    """

    __slots__ = ("path", "suffixes")

    def __init__(self, path: tuple[str, ...], suffixes: dict[str, str]) -> None:
        self.path = path
        self.suffixes = suffixes

    @property
    def domain(self) -> str:
        """The first element: ``metrics``, ``characterization``, ``controllers``, ``gates`` or ``gate_definitions``."""
        return self.path[0]

    def __repr__(self) -> str:
        return f"ObservationName(path={self.path!r}, suffixes={self.suffixes!r})"


def parse_observation_name(name: str) -> ObservationName:
    """Split a qualified observation name into its path and suffixes, checking the domain rules.

    Args:
        name: e.g. ``metrics.rb.prx.drag_gaussian.QB1.fidelity:par=d2``.

    Returns:
        The parsed name.

    Raises:
        UnknownObservationError: the domain is unknown, the name has fewer elements than its domain
            needs, or a suffix is not of the form ``key=value``.
    """
    body, *suffix_parts = name.split(":")
    suffixes: dict[str, str] = {}
    for suffix in suffix_parts:
        key, equals, value = suffix.partition("=")
        if not equals or "=" in value:
            raise UnknownObservationError(f"{name}: Invalid suffix: {suffix}")
        suffixes[key] = value
    path = tuple(body.split("."))
    min_parts = MIN_NAME_PARTS.get(path[0])
    if min_parts is None:
        raise UnknownObservationError(f"{name}: Unknown observation domain.")
    if len(path) < min_parts:
        raise UnknownObservationError(f"{name}: {path[0]} observation name has less than {min_parts} parts.")
    return ObservationName(path, suffixes)


def locus_to_locus_str(locus: Iterable[str]) -> str:
    """The name form of a locus: ``("QB1", "QB2")`` -> ``"QB1__QB2"``."""
    return LOCUS_SEPARATOR.join(locus)


def locus_str_to_locus(locus_str: str) -> Locus:
    """The locus of a name element: ``"QB1__QB2"`` -> ``("QB1", "QB2")``."""
    return tuple(locus_str.split(LOCUS_SEPARATOR))


def _as_float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidObservationError(
            f"{name}: cannot convert value of type {type(value).__name__} to float"
        ) from None


class ObservationFinder(dict[str, Any]):
    """Observations of a calibration set and its quality metrics, searchable by name.

    The finder is a nested dict following the dotted names (``finder["metrics"]["rb"]...``) whose
    leaves are the observations. Queries return None (and log a warning) when data is missing.
    Loci are matched exactly, in the given component order.

    Args:
        observations: the observations, e.g. ``calibration_set.observations + metrics.observations``.
        skip_unparseable: log and skip observations whose name cannot be parsed, instead of raising.

    Raises:
        UnknownObservationError: an observation name cannot be parsed (unless ``skip_unparseable``).
    """

    def __init__(self, observations: Iterable[ObservationLite], skip_unparseable: bool = False) -> None:
        super().__init__()
        for observation in observations:
            try:
                path = parse_observation_name(observation.dut_field).path
            except UnknownObservationError:
                if not skip_unparseable:
                    raise
                logger.warning("Skipping observation with unparseable name %r", observation.dut_field)
                continue
            node: Node = self
            for element in path[:-1]:
                child = node.setdefault(element, {})
                if not isinstance(child, dict):
                    # A name continues below another observation's leaf; keep the first one.
                    logger.warning(
                        "Ignoring %s: %s is already an observation", observation.dut_field, child.dut_field
                    )
                    break
                node = child
            else:
                existing = node.get(path[-1])
                if existing is None:
                    node[path[-1]] = observation
                else:
                    logger.warning(
                        "Repeated observations: using %s, ignoring %s",
                        getattr(existing, "dut_field", ".".join(path)),
                        observation.dut_field,
                    )

    def _find(self, path: Iterable[str]) -> Node | ObservationLite | None:
        """The node or observation at ``path``; None if any step is missing."""
        node: Node | ObservationLite = self
        for element in path:
            if not isinstance(node, dict) or element not in node:
                return None
            node = node[element]
        return node

    def _value(self, path: list[str]) -> float | None:
        """The float value of the observation at ``path``; None if there is none.

        Raises:
            InvalidObservationError: the path ends in a node, or the value is not a number.
        """
        found = self._find(path)
        if found is None:
            return None
        if not isinstance(found, ObservationLite):
            raise InvalidObservationError(f"Path {'.'.join(path)} does not end in an observation")
        return _as_float(found.value, found.dut_field)

    def get_coherence_times(self, components: Iterable[str]) -> tuple[dict[str, float], dict[str, float]]:
        """T1 and T2 times of components (``characterization.model.{component}.t1_time`` / ``t2_time``).

        Args:
            components: component names, e.g. qubits.

        Returns:
            ``(T1, T2)``: component -> time in seconds. Components without a (numeric) value are absent.
        """
        model = self._find(("characterization", "model"))
        if not isinstance(model, dict) or not model:
            logger.warning("Missing characterization.model data")
            return {}, {}
        t1: dict[str, float] = {}
        t2: dict[str, float] = {}
        for component in components:
            entries = model.get(component)
            if not isinstance(entries, dict):
                continue
            for key, target in (("t1_time", t1), ("t2_time", t2)):
                observation = entries.get(key)
                if isinstance(observation, ObservationLite):
                    try:
                        target[component] = float(observation.value)  # type: ignore[arg-type]
                    except (TypeError, ValueError):
                        continue
        return t1, t2

    def get_t2_echo_times(self, components: Iterable[str]) -> dict[str, float]:
        """Hahn-echo T2 times of components (``characterization.model.{component}.t2_echo_time``).

        Args:
            components: component names, e.g. qubits.

        Returns:
            Component -> time in seconds. Components without a (numeric) value are absent.
        """
        echo: dict[str, float] = {}
        for component in components:
            try:
                value = self._value(["characterization", "model", component, "t2_echo_time"])
            except InvalidObservationError:
                continue
            if value is not None:
                echo[component] = value
        return echo

    def get_gate_duration(self, gate_name: str, impl_name: str, locus: Locus) -> float | None:
        """Duration of a gate implementation on a locus (``gates.{gate}.{impl}.{locus}.duration``), in seconds.

        Args:
            gate_name: e.g. ``cz``.
            impl_name: e.g. ``tgss``.
            locus: e.g. ``("QB1", "QB2")`` (order matters).

        Returns:
            The duration, or None if the calibration has none.

        Raises:
            InvalidObservationError: the value is not a number.
        """
        locus_str = locus_to_locus_str(locus)
        duration = self._value(["gates", gate_name, impl_name, locus_str, "duration"])
        if duration is None:
            logger.warning("Missing duration for %s.%s.%s", gate_name, impl_name, locus_str)
        return duration

    def get_gate_fidelity(self, gate_name: str, impl_name: str, locus: Locus) -> float | None:
        """Fidelity of a gate implementation on a locus.

        Read from ``metrics.{method}.{gate}.{impl}.{locus}.fidelity``, where the method is ``rb`` for
        ``prx``, ``ssro`` for ``measure``/``measure_fidelity`` and ``irb`` otherwise.

        Args:
            gate_name: e.g. ``prx``.
            impl_name: e.g. ``drag_gaussian``.
            locus: e.g. ``("QB1",)`` (order matters).

        Returns:
            The fidelity, or None if the quality metrics have none.

        Raises:
            InvalidObservationError: the value is not a number.
        """
        method = GATE_FIDELITY_METHODS.get(gate_name, _DEFAULT_FIDELITY_METHOD)
        locus_str = locus_to_locus_str(locus)
        fidelity = self._value(["metrics", method, gate_name, impl_name, locus_str, "fidelity"])
        if fidelity is None:
            logger.warning("Missing fidelity for %s.%s.%s", gate_name, impl_name, locus_str)
        return fidelity

    def get_measure_errors(self, gate_name: str, impl_name: str, locus: Locus) -> tuple[float, float] | None:
        """Readout errors ``(P(1 | prepared 0), P(0 | prepared 1))`` of a measure implementation on a locus.

        Read from ``metrics.ssro.{gate}.{impl}.{locus}.error_0_to_1`` and ``.error_1_to_0``.

        Args:
            gate_name: e.g. ``measure``.
            impl_name: e.g. ``constant``.
            locus: e.g. ``("QB1",)``.

        Returns:
            The two errors, or None unless both exist.

        Raises:
            InvalidObservationError: the locus path ends in an observation, or a value is not a number.
        """
        locus_str = locus_to_locus_str(locus)
        path = ("metrics", "ssro", gate_name, impl_name, locus_str)
        node = self._find(path)
        if isinstance(node, ObservationLite):
            raise InvalidObservationError(f"Path {'.'.join(path)} does not end in a node")
        if node is not None and "error_0_to_1" in node and "error_1_to_0" in node:
            error_0_to_1, error_1_to_0 = node["error_0_to_1"], node["error_1_to_0"]
            return (
                _as_float(getattr(error_0_to_1, "value", error_0_to_1), ".".join((*path, "error_0_to_1"))),
                _as_float(getattr(error_1_to_0, "value", error_1_to_0), ".".join((*path, "error_1_to_0"))),
            )
        logger.warning("Missing errors for %s.%s.%s.", gate_name, impl_name, locus_str)
        return None

    def get_measure_repeatability(self, gate_name: str, impl_name: str, locus: Locus) -> float | None:
        """Repeatability of a measure implementation on a locus (``metrics.qndness.….repeatability``).

        Args:
            gate_name: e.g. ``measure``.
            impl_name: e.g. ``constant``.
            locus: e.g. ``("QB1",)``.

        Returns:
            The repeatability, or None if the quality metrics have none.

        Raises:
            InvalidObservationError: the value is not a number.
        """
        locus_str = locus_to_locus_str(locus)
        repeatability = self._value(["metrics", "qndness", gate_name, impl_name, locus_str, "repeatability"])
        if repeatability is None:
            logger.warning("Missing repeatability for %s.%s.%s.", gate_name, impl_name, locus_str)
        return repeatability

    def get_qubit_frequency(self, qubit: str) -> float | None:
        """Drive frequency of a qubit (``controllers.{qubit}.drive.frequency``), in Hz.

        Args:
            qubit: e.g. ``QB1``.

        Returns:
            The frequency, or None if the calibration has none.

        Raises:
            InvalidObservationError: the value is not a number.
        """
        frequency = self._value(["controllers", qubit, "drive", "frequency"])
        if frequency is None:
            logger.warning("Missing drive frequency for %s.", qubit)
        return frequency
