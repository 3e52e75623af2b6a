"""Client-side circuit validation: static checks, architecture checks, MOVE rules, normalization."""

from __future__ import annotations

import copy
import re
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import pytest

from iqm_client_async._errors import CircuitValidationError
from iqm_client_async.models.architecture import DynamicQuantumArchitecture
from iqm_client_async.models.circuits import Circuit, CircuitOperation, MoveGateValidationMode
from iqm_client_async.validation import validate_circuits_dynamic, validate_circuits_static

STRICT = MoveGateValidationMode.STRICT
ALL_MODES = list(MoveGateValidationMode)


def _gate(
    loci_by_impl: dict[str, list[list[str]]], overrides: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "implementations": {impl: {"loci": loci} for impl, loci in loci_by_impl.items()},
        "default_implementation": next(iter(loci_by_impl)),
        "override_default_implementation": overrides or {},
    }


def _crystal(measured: list[list[str]]) -> DynamicQuantumArchitecture:
    return DynamicQuantumArchitecture.model_validate(
        {
            "calibration_set_id": "26c5e70f-bea0-43af-bd37-6212ec7d04cb",
            "qubits": ["QB1", "QB2", "QB3"],
            "computational_resonators": [],
            "gates": {
                "prx": _gate(
                    {"drag_gaussian": [["QB1"], ["QB2"], ["QB3"]], "drag_crf": [["QB1"], ["QB3"]]},
                    {"QB3": "drag_crf"},
                ),
                "cc_prx": _gate({"prx_composite": [["QB1"], ["QB2"], ["QB3"]]}),
                "cz": _gate({"tgss": [["QB1", "QB2"], ["QB1", "QB3"]], "crf": [["QB1", "QB2"]]}),
                "measure": _gate({"constant": measured}),
            },
        }
    )


@pytest.fixture
def sample_dynamic_architecture() -> DynamicQuantumArchitecture:
    """The archived suite's crystal sample: QB1-QB3, measure calibrated on QB1 and QB2 only."""
    return _crystal([["QB1"], ["QB2"]])


def _star(move_loci: list[list[str]]) -> DynamicQuantumArchitecture:
    return DynamicQuantumArchitecture.model_validate(
        {
            "calibration_set_id": "5d2f3c1e-8a7b-4c6d-9e0f-112233445566",
            "qubits": ["QB1", "QB2", "QB3"],
            "computational_resonators": ["CR1", "CR2"],
            "gates": {
                "prx": _gate({"drag_gaussian": [["QB1"], ["QB2"], ["QB3"]]}),
                "cz": _gate({"tgss": [["QB1", "CR1"], ["QB2", "CR1"]]}),
                "move": _gate({"tgss_crf": move_loci}),
                "measure": _gate({"constant": [["QB1"], ["QB2"], ["QB3"]]}),
            },
        }
    )


@pytest.fixture
def sample_move_architecture() -> DynamicQuantumArchitecture:
    """The archived suite's star sample: cz (QB1,CR1), (QB2,CR1); move only (QB3,CR1)."""
    return _star([["QB3", "CR1"]])


@pytest.fixture
def wide_move_architecture() -> DynamicQuantumArchitecture:
    """Like the star sample with more MOVE loci calibrated, so the MOVE rules (not the loci) are tested."""
    return _star([["QB3", "CR1"], ["QB2", "CR1"], ["QB3", "CR2"]])


def op(name: str, *locus: str, implementation: str | None = None, **args: Any) -> CircuitOperation:
    return CircuitOperation(name=name, locus=locus, args=args, implementation=implementation)


def prx(qubit: str, angle: Any = 0.5, phase: Any = 0.0) -> CircuitOperation:
    return op("prx", qubit, angle=angle, phase=phase)


def measure(*qubits: str, key: str = "m") -> CircuitOperation:
    return op("measure", *qubits, key=key)


def circuit(*instructions: CircuitOperation, name: str = "circuit") -> Circuit:
    return Circuit(name=name, instructions=instructions)


def check(architecture: DynamicQuantumArchitecture, *instructions: CircuitOperation, **kwargs: Any) -> None:
    """Run both passes on one circuit, the way the client does."""
    circuits = validate_circuits_static([circuit(*instructions)])
    mapping = kwargs.pop("qubit_mapping", None)
    mode = kwargs.pop("mode", STRICT)
    validate_circuits_dynamic(circuits, architecture, mapping, mode, **kwargs)


# ------------------------------------------------------------------------------------ static pass


def test_valid_batch_is_returned_as_is() -> None:
    bell = circuit(prx("QB1"), op("cz", "QB1", "QB2"), measure("QB1", "QB2"), name="bell")
    qir = "; ModuleID = 'qir'"
    result = validate_circuits_static([bell, qir])
    assert result == [bell, qir]
    assert result[0] is bell
    assert result[1] is qir


def test_every_documented_operation_passes_with_its_arguments() -> None:
    every = circuit(
        op("barrier", "QB1", "CR1", "QB2"),
        op("delay", "QB1", "QB2", duration=1e-6),
        op("measure", "QB1", key="a", feedback_key="f"),
        op("cc_prx", "QB2", angle=1.0, phase=0.0, feedback_qubit="QB1", feedback_key="f"),
        op("reset", "QB1", "QB2"),
        op("cz", "QB2", "QB1", implementation="crf"),
        op("move", "QB3", "CR1"),
        op("u", "QB1", theta=0.1, phi=0.2, lam=0.3),
        op("sx", "QB1"),
        op("rz", "QB1", angle=0.1),
        op("measure_fidelity", "QB3", key="b"),
    )
    assert validate_circuits_static([every])[0] is every


def test_bad_circuit_is_reported_with_its_index_and_name() -> None:
    good = circuit(measure("QB1"))
    bad = circuit(op("cz", "QB1", "QB2", "QB3"), name="bad one")
    with pytest.raises(CircuitValidationError) as info:
        validate_circuits_static([good, bad])
    error = info.value
    assert (error.circuit_index, error.circuit_name, error.instruction_index) == (1, "bad one", 0)
    assert str(error).startswith("Circuit 1 ('bad one'), instruction 0 (cz on ('QB1', 'QB2', 'QB3')): ")
    assert "The 'cz' operation acts on 2 qubit(s), but 3 were given" in str(error)
    assert error.error_code == "circuit_validation_error"


def test_instruction_index_points_at_the_offending_instruction() -> None:
    bad = circuit(prx("QB1"), prx("QB2"), measure("QB1"), op("kaboom", "QB1"), name="c")
    with pytest.raises(CircuitValidationError, match="Unknown operation 'kaboom'") as info:
        validate_circuits_static([bad])
    assert info.value.instruction_index == 3
    assert "instruction 3 (kaboom on ('QB1',))" in str(info.value)
    assert "Supported operations are 'barrier, delay, measure" in str(info.value)


@pytest.mark.parametrize(
    ("instructions", "name", "message"),
    [
        ((measure("QB1"),), "", "A circuit should have a non-empty string for a name"),
        ((), "empty", "Each circuit should have at least one instruction"),
        ((op("cz", "QB1", "QB2", implementation=""),), "c", "should be None, or a non-empty string"),
        (
            (op("cz", "QB1", "QB2", implementation="xyz"),),
            "c",
            "Unknown implementation 'xyz' for quantum operation 'cz'",
        ),
        (
            (op("barrier", implementation="x"),),
            "c",
            "Unknown implementation 'x' for quantum operation 'barrier'",
        ),
        (
            (op("prx", "QB1", "QB2", angle=1.0, phase=0.0),),
            "c",
            "'prx' operation acts on 1 qubit(s), but 2 were given",
        ),
        ((op("cz", "QB1", "QB1"),), "c", "Repeated locus components"),
        ((op("barrier", "QB1", "QB2", "QB1"),), "c", "Repeated locus components"),
        (
            (op("prx", "QB1", angle=1.0),),
            "c",
            "The operation 'prx' requires the argument(s) ('angle', 'phase')",
        ),
        (
            (CircuitOperation("prx", ("QB1",), {"angle": 1.0, "phase": 0.0, "x": 1.0}),),
            "c",
            "The operation 'prx' allows",
        ),
        ((op("cz", "QB1", "QB2", foo=1.0),), "c", "The operation 'cz' allows no arguments"),
        (
            (prx("QB1", angle="pi"),),
            "c",
            "The argument 'angle' should be of one of the following supported types",
        ),
        (
            (prx("QB1", angle=True),),
            "c",
            "The argument 'angle' should be of one of the following supported types",
        ),
        (
            (op("measure", "QB1", key=3),),
            "c",
            "The argument 'key' should be of one of the following supported types",
        ),
        ((op("measure", "QB1"),), "c", "The operation 'measure' requires the argument(s) ('key',)"),
    ],
)
def test_static_errors(instructions: tuple[CircuitOperation, ...], name: str, message: str) -> None:
    with pytest.raises(CircuitValidationError, match=re.escape(message)):
        validate_circuits_static([Circuit(name=name, instructions=instructions)])


def test_instruction_that_is_not_a_circuit_operation() -> None:
    raw: Any = {"name": "prx", "locus": ["QB1"], "args": {"angle": 1.0, "phase": 0.0}}
    with pytest.raises(
        CircuitValidationError, match="should be of type <CircuitOperation>, not dict"
    ) as info:
        validate_circuits_static([Circuit(name="c", instructions=(measure("QB1"), raw))])
    assert info.value.instruction_index == 1


def test_locus_given_as_a_string_is_rejected() -> None:
    with pytest.raises(CircuitValidationError, match="locus should be a tuple of component names"):
        validate_circuits_static([circuit(CircuitOperation("measure", "QB1", {"key": "m"}))])  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [{"name": "c", "instructions": []}, 42])
def test_object_that_is_not_a_circuit(bad: Any) -> None:
    with pytest.raises(
        CircuitValidationError, match=r"Circuit 0: every circuit in a batch should be a Circuit or a str"
    ):
        validate_circuits_static([bad])


def test_legacy_circuit_object_is_obsolete() -> None:
    class LegacyCircuit:
        name = "old"
        instructions = ()

    with pytest.raises(CircuitValidationError, match="Circuit 1: obsolete circuit type") as info:
        validate_circuits_static(["qir", LegacyCircuit()])  # type: ignore[list-item]
    assert info.value.circuit_index == 1


def test_qir_strings_are_not_validated() -> None:
    assert validate_circuits_static(["not even QIR"]) == ["not even QIR"]
    validate_circuits_dynamic(["not even QIR"], _star([["QB3", "CR1"]]), {"a": "QB1"}, STRICT)


def test_duplicate_measurement_key_in_one_circuit() -> None:
    bad = circuit(measure("QB1", key="m"), prx("QB2"), measure("QB2", key="m"), name="dup")
    with pytest.raises(CircuitValidationError, match="has a non-unique measurement key") as info:
        validate_circuits_static([bad])
    assert info.value.instruction_index == 2
    assert "already used by instruction 0" in str(info.value)


def test_measurement_key_may_repeat_across_circuits() -> None:
    validate_circuits_static([circuit(measure("QB1", key="m")), circuit(measure("QB2", key="m"))])


def test_int_arguments_become_floats_without_touching_the_input() -> None:
    original_args = {"angle": 1, "phase": 0}
    rotation = CircuitOperation("prx", ("QB1",), original_args)
    untouched = measure("QB1")
    mine = Circuit(name="ints", instructions=(rotation, untouched), metadata={"a": 1})
    before = copy.deepcopy(mine)

    [result] = validate_circuits_static([mine])

    assert mine == before
    assert mine.instructions[0] is rotation
    assert rotation.args is original_args
    assert original_args == {"angle": 1, "phase": 0}
    assert isinstance(result, Circuit)
    assert result is not mine
    assert result.name == "ints"
    assert result.metadata == {"a": 1}
    converted = result.instructions[0]
    assert converted.args == {"angle": 1.0, "phase": 0.0}
    assert all(type(value) is float for value in converted.args.values())
    assert result.instructions[1] is untouched


def test_int_delay_duration_becomes_float() -> None:
    [result] = validate_circuits_static([circuit(op("delay", "QB1", duration=2))])
    assert isinstance(result, Circuit)
    assert type(result.instructions[0].args["duration"]) is float


def test_list_locus_becomes_tuple() -> None:
    listed = CircuitOperation("cz", ["QB1", "QB2"], {})  # type: ignore[arg-type]
    mine = Circuit(name="lists", instructions=[listed, measure("QB1")])
    [result] = validate_circuits_static([mine])
    assert isinstance(result, Circuit)
    assert result.instructions[0].locus == ("QB1", "QB2")
    assert type(result.instructions[0].locus) is tuple
    assert listed.locus == ["QB1", "QB2"]  # type: ignore[comparison-overlap]
    assert mine.instructions[0] is listed


def test_only_circuits_that_need_it_are_copied() -> None:
    fine = circuit(prx("QB1"), measure("QB1"))
    needs_work = circuit(prx("QB1", angle=1), measure("QB1"))
    result = validate_circuits_static([fine, needs_work])
    assert result[0] is fine
    assert result[1] is not needs_work


def test_reused_operation_objects_are_each_normalized() -> None:
    listed = CircuitOperation("cz", ["QB1", "QB2"], {})  # type: ignore[arg-type]
    [result] = validate_circuits_static([circuit(listed, prx("QB1"), listed)])
    assert isinstance(result, Circuit)
    assert [type(instruction.locus) for instruction in result.instructions] == [tuple, tuple, tuple]


def test_reused_measure_object_is_a_duplicate_key() -> None:
    readout = measure("QB1", key="m")
    with pytest.raises(CircuitValidationError, match="already used by instruction 0") as info:
        validate_circuits_static([circuit(readout, prx("QB1"), readout)])
    assert info.value.instruction_index == 2


def test_other_real_numbers_and_mappings_are_converted() -> None:
    args = MappingProxyType({"angle": Fraction(1, 2), "phase": 0.25})
    [result] = validate_circuits_static([circuit(CircuitOperation("prx", ("QB1",), args))])  # type: ignore[arg-type]
    assert isinstance(result, Circuit)
    assert result.instructions[0].args == {"angle": 0.5, "phase": 0.25}
    assert type(result.instructions[0].args) is dict


def test_known_shape_does_not_hide_bad_arguments() -> None:
    validate_circuits_static([circuit(prx("QB1"))])
    with pytest.raises(CircuitValidationError, match="The argument 'phase' should be of one of"):
        validate_circuits_static([circuit(prx("QB1", phase="0"))])
    with pytest.raises(CircuitValidationError, match="The operation 'prx' requires"):
        validate_circuits_static([circuit(op("prx", "QB1", angle=1.0, phse=0.0))])


def test_single_circuit_instead_of_a_batch_is_rejected() -> None:
    with pytest.raises(CircuitValidationError, match="sequence of circuits"):
        validate_circuits_static(circuit(measure("QB1")))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ qubit mapping


def test_non_injective_mapping(sample_dynamic_architecture: DynamicQuantumArchitecture) -> None:
    with pytest.raises(
        CircuitValidationError, match="Multiple logical qubits map to the same physical qubit"
    ):
        check(sample_dynamic_architecture, measure("a"), qubit_mapping={"a": "QB1", "b": "QB1"})


def test_incomplete_mapping(sample_dynamic_architecture: DynamicQuantumArchitecture) -> None:
    instructions = (op("cz", "Qubit A", "Qubit B"), measure("Qubit A"))
    with pytest.raises(CircuitValidationError) as info:
        validate_circuits_dynamic(
            [Circuit(name="The circuit", instructions=instructions)],
            sample_dynamic_architecture,
            {"Qubit A": "QB1"},
            STRICT,
        )
    assert (
        "The qubits {'Qubit B'} in circuit 'The circuit' at index 0 are not found in the provided qubit mapping"
        in str(info.value)
    )
    assert info.value.circuit_index == 0


def test_mapping_to_unknown_component(sample_dynamic_architecture: DynamicQuantumArchitecture) -> None:
    with pytest.raises(
        CircuitValidationError, match="Component QB9 not present in dynamic quantum architecture"
    ):
        check(sample_dynamic_architecture, measure("a"), qubit_mapping={"a": "QB9"})


def test_incomplete_mapping_is_reported_before_unknown_targets(
    sample_dynamic_architecture: DynamicQuantumArchitecture,
) -> None:
    mapping = {"a": "QB9"}
    with pytest.raises(CircuitValidationError, match="not found in the provided qubit mapping") as info:
        check(sample_dynamic_architecture, measure("a"), measure("b", key="other"), qubit_mapping=mapping)
    assert info.value.circuit_index == 0


def test_swapped_mapping_is_applied(sample_dynamic_architecture: DynamicQuantumArchitecture) -> None:
    mapping = {"QB1": "QB3", "QB3": "QB1", "QB2": "QB2"}
    check(sample_dynamic_architecture, op("cz", "QB3", "QB2"), measure("QB3"), qubit_mapping=mapping)
    with pytest.raises(
        CircuitValidationError, match="Component QB1 = QB3 is not allowed as locus for 'measure'"
    ):
        check(sample_dynamic_architecture, measure("QB1"), qubit_mapping=mapping)
    with pytest.raises(
        CircuitValidationError, match=r"\('QB1', 'QB2'\) = \('QB3', 'QB2'\) is not allowed as locus for 'cz'"
    ):
        check(sample_dynamic_architecture, op("cz", "QB1", "QB2"), qubit_mapping=mapping)


def test_mapping_is_not_applied_to_arguments(sample_dynamic_architecture: DynamicQuantumArchitecture) -> None:
    feedback = op("cc_prx", "a", angle=1.0, phase=0.0, feedback_qubit="not mapped", feedback_key="f")
    check(sample_dynamic_architecture, feedback, qubit_mapping={"a": "QB1"})


# ------------------------------------------------------------------------------ instruction checks


@pytest.mark.parametrize(
    "instruction",
    [
        op("barrier", "QB1"),
        op("barrier", "QB3", "QB1", "QB2"),
        op("delay", "QB2", "QB3", duration=1e-7),
        prx("QB1"),
        op("cc_prx", "QB2", angle=1.0, phase=0.0, feedback_qubit="QB1", feedback_key="fk"),
        op("reset", "QB1", "QB2", "QB3"),
        op("cz", "QB1", "QB2"),
        op("cz", "QB2", "QB1"),
        op("cz", "QB3", "QB1"),
        measure("QB1"),
        measure("QB2", "QB1"),
        op("rz", "QB3", angle=0.1),
        op("sx", "QB3"),
        op("u", "QB2", theta=0.1, phi=0.2, lam=0.3),
        op("prx", "QB3", angle=1.0, phase=0.0, implementation="drag_crf"),
        op("cz", "QB2", "QB1", implementation="crf"),
    ],
)
def test_valid_instructions(
    sample_dynamic_architecture: DynamicQuantumArchitecture, instruction: CircuitOperation
) -> None:
    check(sample_dynamic_architecture, instruction)


@pytest.mark.parametrize(
    ("instruction", "message"),
    [
        (op("barrier", "QB1", "QB4"), "Component QB4 does not exist"),
        (op("delay", "QB4", duration=1e-7), "Component QB4 does not exist"),
        (op("reset", "QB5"), "Component QB5 does not exist"),
        (prx("QB4"), r"\('QB4',\) is not allowed as locus for 'prx'"),
        (op("cz", "QB2", "QB3"), r"\('QB2', 'QB3'\) is not allowed as locus for 'cz'"),
        (measure("QB3"), "Component QB3 is not allowed as locus for 'measure'"),
        (measure("QB1", "QB3"), "Component QB3 is not allowed as locus for 'measure'"),
        (
            op("cz", "QB1", "QB2", implementation="tgss_crf"),
            "'cz' implementation 'tgss_crf' is not supported",
        ),
        (
            op("prx", "QB2", angle=1.0, phase=0.0, implementation="drag_crf"),
            "not allowed as locus for 'prx.drag_crf'",
        ),
        (op("cz", "QB3", "QB1", implementation="crf"), "not allowed as locus for 'cz.crf'"),
        (op("move", "QB1", "QB2"), "Operation 'move' is not supported by the dynamic quantum architecture"),
        (op("lru", "QB1"), "Operation 'lru' is not supported"),
        (op("reset", "QB1", implementation="f0g1_composite"), "Operation 'reset' is not supported"),
        (op("measure_fidelity", "QB1", key="f"), "Operation 'measure_fidelity' is not supported"),
    ],
)
def test_invalid_instructions(
    sample_dynamic_architecture: DynamicQuantumArchitecture, instruction: CircuitOperation, message: str
) -> None:
    with pytest.raises(CircuitValidationError, match=message):
        check(sample_dynamic_architecture, instruction)


def test_dynamic_error_names_circuit_instruction_and_calibrated_loci(
    sample_dynamic_architecture: DynamicQuantumArchitecture,
) -> None:
    good = circuit(measure("QB1"), name="first")
    bell = circuit(prx("QB1"), prx("QB2"), measure("QB1"), op("cz", "QB2", "QB3"), name="bell")
    with pytest.raises(CircuitValidationError) as info:
        validate_circuits_dynamic([good, bell], sample_dynamic_architecture, None, STRICT)
    error = info.value
    assert (error.circuit_index, error.circuit_name, error.instruction_index) == (1, "bell", 3)
    assert str(error) == (
        "Circuit 1 ('bell'), instruction 3 (cz on ('QB2', 'QB3')): ('QB2', 'QB3') is not allowed as locus "
        "for 'cz'. For 'cz': QB2 pairs with QB1; QB3 pairs with QB1."
    )


def test_failure_is_reported_again_after_a_success_was_cached(
    sample_dynamic_architecture: DynamicQuantumArchitecture,
) -> None:
    check(sample_dynamic_architecture, op("cz", "QB1", "QB2"), measure("QB1"))
    for _ in range(2):
        with pytest.raises(CircuitValidationError, match="not allowed as locus for 'cz'"):
            check(sample_dynamic_architecture, op("cz", "QB1", "QB2"), op("cz", "QB3", "QB2"))


def test_changed_architecture_object_is_not_served_from_the_cache(
    sample_dynamic_architecture: DynamicQuantumArchitecture,
) -> None:
    check(sample_dynamic_architecture, measure("QB2"))
    with pytest.raises(CircuitValidationError, match="Component QB2 is not allowed as locus for 'measure'"):
        check(_crystal([["QB1"]]), measure("QB2"))


def test_dynamic_pass_accepts_unnormalized_circuits(
    sample_dynamic_architecture: DynamicQuantumArchitecture,
) -> None:
    listed = CircuitOperation("cz", ["QB2", "QB1"], {})  # type: ignore[arg-type]
    validate_circuits_dynamic([circuit(listed)], sample_dynamic_architecture, None, STRICT)
    bad: Any = {"name": "cz"}
    with pytest.raises(CircuitValidationError, match="should be of type <CircuitOperation>"):
        validate_circuits_dynamic([circuit(measure("QB1"), bad)], sample_dynamic_architecture, None, STRICT)


# ------------------------------------------------------------------------------------ star loci

STAR_MAPPING = {"0": "CR1", "1": "QB1", "2": "QB2", "3": "QB3", "100": "CR2"}
STAR_LOGICAL = {value: key for key, value in STAR_MAPPING.items()}


@pytest.mark.parametrize("mapped", [False, True])
@pytest.mark.parametrize(
    ("locus", "allowed"),
    [
        (("QB1", "CR1"), True),
        (("CR1", "QB1"), True),
        (("CR1", "QB2"), True),
        (("QB1", "QB2"), False),
        (("QB2", "QB1"), False),
        (("QB3", "QB1"), False),
        (("CR1", "QB3"), False),
    ],
)
def test_star_cz_loci(
    sample_move_architecture: DynamicQuantumArchitecture, locus: tuple[str, str], allowed: bool, mapped: bool
) -> None:
    names = tuple(STAR_LOGICAL[c] for c in locus) if mapped else locus
    mapping = STAR_MAPPING if mapped else None
    if allowed:
        check(sample_move_architecture, op("cz", *names), qubit_mapping=mapping)
    else:
        with pytest.raises(CircuitValidationError, match="is not allowed as locus for 'cz'"):
            check(sample_move_architecture, op("cz", *names), qubit_mapping=mapping)


@pytest.mark.parametrize("locus", [("QB1", "QB1"), ("CR1", "CR1")])
def test_star_cz_on_one_component_twice(
    sample_move_architecture: DynamicQuantumArchitecture, locus: tuple[str, str]
) -> None:
    with pytest.raises(CircuitValidationError, match="Repeated locus components"):
        check(sample_move_architecture, op("cz", *locus))


@pytest.mark.parametrize(
    ("locus", "allowed"),
    [(("QB3", "CR1"), True), (("CR1", "QB3"), False), (("QB1", "CR1"), False), (("QB3", "CR2"), False)],
)
def test_star_move_loci_are_ordered(
    sample_move_architecture: DynamicQuantumArchitecture, locus: tuple[str, str], allowed: bool
) -> None:
    sandwich = (op("move", *locus), op("move", *locus))
    if allowed:
        check(sample_move_architecture, *sandwich)
    else:
        with pytest.raises(CircuitValidationError, match="is not allowed as locus for 'move'"):
            check(sample_move_architecture, *sandwich)


@pytest.mark.parametrize(
    ("qubits", "allowed"),
    [(("QB1",), True), (("QB3", "QB1", "QB2"), True), (("QB1", "CR1"), False), (("QB2", "QB4"), False)],
)
def test_star_measure_subsets(
    sample_move_architecture: DynamicQuantumArchitecture, qubits: tuple[str, ...], allowed: bool
) -> None:
    if allowed:
        check(sample_move_architecture, measure(*qubits))
    else:
        with pytest.raises(CircuitValidationError, match="is not allowed as locus for 'measure'"):
            check(sample_move_architecture, measure(*qubits))


# ------------------------------------------------------------------------------------- MOVE rules

MOVE = op("move", "QB3", "CR1")


@pytest.mark.parametrize("mode", ALL_MODES)
def test_closed_sandwich_is_valid_under_every_mode(
    sample_move_architecture: DynamicQuantumArchitecture, mode: MoveGateValidationMode
) -> None:
    check(sample_move_architecture, MOVE, MOVE, mode=mode, must_close_sandwiches=True)


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("moves", [1, 3])
def test_open_sandwich(
    sample_move_architecture: DynamicQuantumArchitecture, mode: MoveGateValidationMode, moves: int
) -> None:
    instructions = (MOVE,) * moves
    check(sample_move_architecture, *instructions, mode=mode)  # the reference does not require closing
    if mode is MoveGateValidationMode.NONE:
        check(sample_move_architecture, *instructions, mode=mode, must_close_sandwiches=True)
    else:
        with pytest.raises(
            CircuitValidationError, match="qubit state\\(s\\) are still in a resonator"
        ) as info:
            check(sample_move_architecture, *instructions, mode=mode, must_close_sandwiches=True)
        assert info.value.instruction_index is None


@pytest.mark.parametrize("mode", ALL_MODES)
def test_move_into_occupied_resonator(
    wide_move_architecture: DynamicQuantumArchitecture, mode: MoveGateValidationMode
) -> None:
    instructions = (MOVE, op("move", "QB2", "CR1"))
    if mode is MoveGateValidationMode.NONE:
        check(wide_move_architecture, *instructions, mode=mode)
    else:
        with pytest.raises(CircuitValidationError, match="already occupied resonator") as info:
            check(wide_move_architecture, *instructions, mode=mode)
        assert info.value.instruction_index == 1


@pytest.mark.parametrize("mode", ALL_MODES)
def test_moved_qubit_into_another_resonator(
    wide_move_architecture: DynamicQuantumArchitecture, mode: MoveGateValidationMode
) -> None:
    instructions = (MOVE, op("move", "QB3", "CR2"))
    if mode is MoveGateValidationMode.NONE:
        check(wide_move_architecture, *instructions, mode=mode)
    else:
        with pytest.raises(CircuitValidationError, match="is in another resonator"):
            check(wide_move_architecture, *instructions, mode=mode)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_prx_on_moved_qubit(
    sample_move_architecture: DynamicQuantumArchitecture, mode: MoveGateValidationMode
) -> None:
    instructions = (MOVE, prx("QB3"), MOVE)
    if mode is STRICT:
        with pytest.raises(
            CircuitValidationError, match="while the state\\(s\\) of \\{'QB3'\\} are in a resonator"
        ) as info:
            check(sample_move_architecture, *instructions, mode=mode)
        assert "allow_prx" in str(info.value)
    else:
        check(sample_move_architecture, *instructions, mode=mode)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_gates_inside_sandwich_on_other_components(
    sample_move_architecture: DynamicQuantumArchitecture, mode: MoveGateValidationMode
) -> None:
    check(
        sample_move_architecture,
        MOVE,
        op("cz", "QB2", "CR1"),
        prx("QB1"),
        op("barrier", "QB3", "CR1"),
        MOVE,
        mode=mode,
    )


@pytest.mark.parametrize("mode", [STRICT, MoveGateValidationMode.ALLOW_PRX])
def test_measure_on_moved_qubit(
    sample_move_architecture: DynamicQuantumArchitecture, mode: MoveGateValidationMode
) -> None:
    with pytest.raises(
        CircuitValidationError, match="Instruction measure acts on \\('QB3',\\) while the state"
    ):
        check(sample_move_architecture, MOVE, measure("QB3"), MOVE, mode=mode)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_move_on_device_without_move(
    sample_dynamic_architecture: DynamicQuantumArchitecture, mode: MoveGateValidationMode
) -> None:
    with pytest.raises(CircuitValidationError, match="'move' is not supported"):
        check(sample_dynamic_architecture, op("move", "QB1", "QB2"), mode=mode)


def test_move_rules_through_a_partial_mapping(sample_move_architecture: DynamicQuantumArchitecture) -> None:
    mapping = {"q": "QB3", "r": "CR1", "other": "QB1"}
    move = op("move", "q", "r")
    check(sample_move_architecture, move, op("cz", "other", "r"), move, qubit_mapping=mapping)
    with pytest.raises(
        CircuitValidationError, match="while the state\\(s\\) of \\{'q'\\} are in a resonator"
    ):
        check(sample_move_architecture, move, prx("q"), move, qubit_mapping=mapping)
    check(sample_move_architecture, move, prx("q"), move, qubit_mapping=mapping, mode="allow_prx")


def test_move_rules_apply_per_circuit(sample_move_architecture: DynamicQuantumArchitecture) -> None:
    circuits = validate_circuits_static([circuit(MOVE), circuit(prx("QB3"), MOVE, MOVE)])
    validate_circuits_dynamic(circuits, sample_move_architecture, None, STRICT)


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [("qb1", "Did you mean 'QB1'?"), ("QB21", "Did you mean 'QB2'"), ("QB 3", "Did you mean 'QB3'")],
)
def test_a_typoed_qubit_gets_the_close_name(
    typo: str, suggestion: str, sample_dynamic_architecture: DynamicQuantumArchitecture
) -> None:
    with pytest.raises(CircuitValidationError, match=re.escape(suggestion)):
        check(sample_dynamic_architecture, prx(typo))
    with pytest.raises(CircuitValidationError, match=re.escape(suggestion)):
        check(sample_dynamic_architecture, op("cz", "QB1", typo))


def test_an_uncoupled_pair_names_the_neighbours_of_its_qubits(
    sample_dynamic_architecture: DynamicQuantumArchitecture,
) -> None:
    with pytest.raises(CircuitValidationError) as info:
        check(sample_dynamic_architecture, op("cz", "QB2", "QB3"))
    assert "QB2 pairs with QB1; QB3 pairs with QB1" in str(info.value)
