"""Qiskit on IQM quantum computers (extra ``[qiskit]``): provider, backend, target, MOVE routing, jobs.

Blocking, with the names of IQM's own adapter::

    from iqm_client_async.qiskit import IQMProvider, transpile_to_IQM

    backend = IQMProvider(url).get_backend()          # or IQMProvider.emulator("deneb").get_backend()
    job = backend.run(transpile_to_IQM(circuit, backend), shots=1000)
    print(job.result().get_counts())

Async::

    async with AsyncIQMClient(url) as client:
        backend = await IQMBackend.create(client)
        result = await (await backend.arun(qiskit.transpile(circuit, backend), shots=1000))
"""

from __future__ import annotations

try:
    import qiskit  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("iqm_client_async.qiskit needs Qiskit: pip install 'iqm-client-async[qiskit]'") from exc

from .backend import IQMBackend
from .batch import QiskitJobBatch, QiskitJobOutcome
from .job import IQMJob
from .move_gate import MoveGate
from .provider import IQMProvider
from .result import build_result
from .serialize import ClassicalLayout, QiskitSerializationError, serialize_circuit
from .target import ComponentIndex, IQMTarget
from .transpile import IQMSchedulingPlugin, MoveRouting, OptimizeSingleQubitGates, transpile_to_IQM

__all__ = [
    "ClassicalLayout",
    "ComponentIndex",
    "IQMBackend",
    "IQMJob",
    "IQMProvider",
    "IQMSchedulingPlugin",
    "IQMTarget",
    "MoveGate",
    "MoveRouting",
    "OptimizeSingleQubitGates",
    "QiskitJobBatch",
    "QiskitJobOutcome",
    "QiskitSerializationError",
    "build_result",
    "serialize_circuit",
    "transpile_to_IQM",
]
