"""Fixtures of the Qiskit tests: providers on embedded emulators (over loopback HTTP).

This directory has no conftest.py, which would shadow tests/conftest.py (other tests import it as
``conftest``): the test modules that need these fixtures name this module in ``pytest_plugins``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from qiskit_helpers import SEED


@pytest.fixture(scope="session")
def providers() -> Iterator[dict[str, Any]]:
    """One provider per QPU preset on an embedded emulator, started on first use."""
    from iqm_client_async.qiskit import IQMProvider

    started: dict[str, Any] = {}

    class Lazy(dict[str, Any]):
        def __missing__(self, key: str) -> Any:
            qpu, noise = key.split(":") if ":" in key else (key, "none")
            started[key] = IQMProvider.emulator(qpu, noise=noise, seed=SEED)
            self[key] = started[key]
            return started[key]

    yield Lazy()
    for provider in started.values():
        provider.close()


@pytest.fixture(params=["garnet", "deneb"])
def backend(request: pytest.FixtureRequest, providers: dict[str, Any]) -> Any:
    """A noise-free backend on garnet (square lattice) and on deneb (star with a resonator)."""
    return providers[request.param].get_backend()
