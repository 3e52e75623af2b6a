"""The Qiskit target built from a dynamic architecture: indices, native gates, virtual CZs on stars, metrics."""

from __future__ import annotations

import pytest

pytest.importorskip("qiskit")

from qiskit.circuit import IfElseOp
from qiskit_helpers import line_architecture, star_architecture

from iqm_client_async import ObservationFinder
from iqm_client_async.qiskit import ComponentIndex, IQMTarget

pytest_plugins = ["qiskit_fixtures"]  # this directory has no conftest.py


def test_qubits_without_measurement_are_left_out_and_indices_follow_names() -> None:
    target = IQMTarget(line_architecture())
    assert target.components.qubits == ("QB1", "QB2", "QB3")
    assert target.num_qubits == 3
    assert set(target.operation_names) >= {"r", "cz", "measure", "reset", "delay", "if_else"}
    assert "move" not in target.operation_names
    assert set(target["cz"]) == {(0, 1), (1, 0), (1, 2), (2, 1)}  # QB3-QB4 dropped with QB4
    assert set(target["r"]) == {(0,), (1,), (2,)}
    assert target.operation_from_name("if_else") is IfElseOp


def test_star_target_offers_virtual_czs_where_one_qubit_can_be_moved() -> None:
    target = IQMTarget(star_architecture())
    assert target.num_qubits == 3
    # QB1 and QB2 can be moved; QB3 cannot, but any pair contains a movable qubit.
    assert set(target["cz"]) == {(0, 1), (1, 0), (0, 2), (2, 0), (1, 2), (2, 1)}
    route = target.components.star_route("QB3", "QB2")
    assert route is not None and (route.moved, route.other, route.resonator) == ("QB2", "QB3", "CR1")


def test_target_with_resonators_has_the_real_loci_and_moves() -> None:
    target = IQMTarget(star_architecture(), include_resonators=True)
    assert target.num_qubits == 4
    assert target.components.index["CR1"] == 3
    assert set(target["move"]) == {(0, 3), (1, 3)}
    assert set(target["cz"]) == {(0, 3), (3, 0), (1, 3), (3, 1), (2, 3), (3, 2)}


def test_no_route_between_two_unmovable_qubits() -> None:
    components = ComponentIndex.from_architecture(star_architecture())
    assert components.star_route("QB3", "QB3") is None


def test_metrics_fill_errors_and_durations(providers: dict[str, object]) -> None:
    backend = providers["garnet"].get_backend(use_metrics=True)  # type: ignore[attr-defined]
    assert isinstance(backend.metrics, ObservationFinder)
    cz = backend.target["cz"]
    assert all(props is not None and 0 < props.error < 0.2 and props.duration > 0 for props in cz.values())
    r = backend.target["r"]
    assert all(props is not None and 0 < props.error < 0.05 for props in r.values())
    measure = backend.target["measure"]
    assert all(props is not None and 0 < props.error < 0.2 for props in measure.values())
    plain = providers["garnet"].get_backend()  # type: ignore[attr-defined]
    assert all(props is None for props in plain.target["cz"].values())


def test_deneb_metrics_give_virtual_czs_the_cost_of_the_whole_sandwich(providers: dict[str, object]) -> None:
    backend = providers["deneb"].get_backend(use_metrics=True)  # type: ignore[attr-defined]
    real = backend.target_with_resonators["cz"]
    virtual = backend.target["cz"]
    cz_error = max(props.error for props in real.values())
    assert all(props.error > cz_error * 0.99 for props in virtual.values())
    assert len(virtual) == 6 * 5


def test_index_and_name_round_trip(providers: dict[str, object]) -> None:
    backend = providers["deneb"].get_backend()  # type: ignore[attr-defined]
    assert backend.num_qubits == 6
    assert [backend.index_to_qubit_name(i) for i in range(7)] == [
        "QB1",
        "QB2",
        "QB3",
        "QB4",
        "QB5",
        "QB6",
        "CR1",
    ]
    assert backend.qubit_name_to_index("QB3") == 2
    assert backend.qubit_name_to_index("CR1") == 6
    with pytest.raises(ValueError, match="QB99"):
        backend.qubit_name_to_index("QB99")
    with pytest.raises(ValueError, match="7"):
        backend.index_to_qubit_name(7)


def test_targets_survive_pickling_for_parallel_transpilation() -> None:
    import pickle

    for include_resonators in (False, True):
        target = IQMTarget(star_architecture(), include_resonators=include_resonators)
        copy = pickle.loads(pickle.dumps(target))
        assert isinstance(copy, IQMTarget)
        assert copy.components == target.components
        assert copy.include_resonators is include_resonators
        assert {name: set(copy[name]) for name in copy.operation_names if name != "if_else"} == {
            name: set(target[name]) for name in target.operation_names if name != "if_else"
        }
