"""The quantum operations a circuit may contain, as far as client-side validation needs to know them.

The facts (names, arity, parameters, implementations, which implementations need calibration data,
symmetry, factorizability) are those of the operation table of iqm-client 35.0.3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["SUPPORTED_OPERATIONS", "OperationSpec"]


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """What validation knows about one quantum operation.

    Attributes:
        name: the operation's name in circuits.
        arity: number of locus components; 0 means any number (including none).
        params: required parameters and their type (``float`` or ``str``).
        optional_params: optional parameters and their type.
        implementations: known implementation names, each mapped to whether it needs calibration data.
        default_implementation: the implementation used when an instruction names none; ``None`` for
            operations that have no implementation to choose (``barrier``).
        symmetric: the locus order does not matter (any permutation of a calibrated locus is accepted).
        factorizable: the operation acts on each locus component independently, so every component only
            needs to be calibrated on its own.
    """

    name: str
    arity: int
    params: Mapping[str, type]
    optional_params: Mapping[str, type]
    implementations: Mapping[str, bool]
    default_implementation: str | None
    symmetric: bool = False
    factorizable: bool = False
    required_names: frozenset[str] = field(init=False)
    allowed_names: frozenset[str] = field(init=False)
    required_typed: tuple[tuple[str, type], ...] = field(init=False)
    required_count: int = field(init=False)
    has_key: bool = field(init=False)

    def __post_init__(self) -> None:
        every = {**self.params, **self.optional_params}
        object.__setattr__(self, "required_names", frozenset(self.params))
        object.__setattr__(self, "allowed_names", frozenset(every))
        object.__setattr__(self, "required_typed", tuple(self.params.items()))
        object.__setattr__(self, "required_count", len(self.params))
        # Measurement keys (the ``key`` argument) must be unique within a circuit.
        object.__setattr__(self, "has_key", "key" in self.params)

    def needs_calibration(self, implementation: str | None) -> bool:
        """Whether ``implementation`` (``None``: the default one) needs calibration data for its locus."""
        chosen = implementation or self.default_implementation
        return chosen is not None and self.implementations.get(chosen, True)

    def param_type(self, arg_name: str) -> type:
        """The type of parameter ``arg_name`` (required or optional).

        Raises:
            KeyError: the operation has no such parameter.
        """
        return self.params.get(arg_name) or self.optional_params[arg_name]


_NO_PARAMS: Mapping[str, type] = MappingProxyType({})
_ANGLES: Mapping[str, type] = MappingProxyType({"angle": float, "phase": float})


def _spec(
    name: str,
    arity: int,
    implementations: dict[str, bool],
    *,
    params: Mapping[str, type] = _NO_PARAMS,
    optional: Mapping[str, type] = _NO_PARAMS,
    symmetric: bool = False,
    factorizable: bool = False,
) -> OperationSpec:
    return OperationSpec(
        name=name,
        arity=arity,
        params=MappingProxyType(dict(params)),
        optional_params=MappingProxyType(dict(optional)),
        implementations=MappingProxyType(implementations),
        default_implementation=next(iter(implementations), None),
        symmetric=symmetric,
        factorizable=factorizable,
    )


# The first implementation listed is the default one; True = needs calibration data.
_OPERATIONS = (
    _spec("barrier", 0, {}, symmetric=True),
    _spec("delay", 0, {"wait": False}, params={"duration": float}, symmetric=True),
    _spec(
        "measure",
        0,
        {"constant": True, "fast_constant": True, "constant_bias": True},
        params={"key": str},
        optional={"feedback_key": str},
        factorizable=True,
    ),
    _spec(
        "measure_fidelity",
        0,
        {"constant": True, "shelved_constant": True, "constant_bias": True},
        params={"key": str},
        factorizable=True,
    ),
    _spec(
        "prx",
        1,
        {"drag_gaussian": True, "drag_crf": True, "drag_crf_sx": True, "drag_gaussian_sx": True},
        params=_ANGLES,
    ),
    _spec("prx_12", 1, {"modulated_drag_crf": True}, params=_ANGLES),
    _spec("u", 1, {"prx_u": False}, params={"theta": float, "phi": float, "lam": float}),
    _spec("sx", 1, {"prx_sx": False}),
    _spec("rz", 1, {"virtual": False, "prx_composite": False}, params={"angle": float}),
    _spec("rz_physical", 1, {"ac_stark_crf": True}),
    _spec(
        "cz",
        2,
        {
            "tgss": True,
            "tgss_crf": True,
            "crf_crf": True,
            "crf": True,
            "gaussian_smoothed_square": True,
            "slepian": True,
            "slepian_crf": True,
            "crf_acstarkcrf": True,
            "slepian_acstarkcrf": True,
        },
        symmetric=True,
    ),
    _spec("move", 2, {"tgss_crf": True, "crf_crf": True, "slepian_crf": True}),
    _spec(
        "cc_prx",
        1,
        {"prx_composite": True, "prx_composite_drag_crf": True, "prx_composite_drag_gaussian": True},
        params={"angle": float, "phase": float, "feedback_qubit": str, "feedback_key": str},
    ),
    _spec(
        "reset",
        0,
        {"reset_conditional": False, "f0g1_composite": True},
        symmetric=True,
        factorizable=True,
    ),
    _spec("reset_wait", 0, {"reset_wait": True}, symmetric=True, factorizable=True),
    _spec("lru", 1, {"f0g1": True}),
)

SUPPORTED_OPERATIONS: Mapping[str, OperationSpec] = {op.name: op for op in _OPERATIONS}
"""Every operation a circuit may contain, by name (in the reference's order). Read-only by convention:
a plain dict because validation looks names up once per instruction."""
