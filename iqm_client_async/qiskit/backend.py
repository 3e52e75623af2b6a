"""``IQMBackend``: an IQM quantum computer as a Qiskit ``BackendV2``, blocking and async."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Sequence
from typing import Any, TypeAlias
from uuid import UUID

from qiskit.circuit import QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target

from iqm_client_async import (
    AsyncCircuitJob,
    AsyncIQMClient,
    Circuit,
    CircuitCompilationOptions,
    DynamicQuantumArchitecture,
    ObservationFinder,
    PostJobsRequest,
)

from ._runner import LoopRunner, check_loop, require_runner
from .batch import QiskitJobBatch
from .job import IQMJob
from .serialize import ClassicalLayout, serialize_circuit
from .target import IQMTarget
from .transpile.move_routing import MoveRouting
from .transpile.plugin import PLUGIN_NAME

__all__ = ["IQMBackend", "RunInput"]

RunInput: TypeAlias = QuantumCircuit | Sequence[QuantumCircuit]
"""What ``run`` takes: one circuit or a list of circuits."""

_RUN_OPTIONS = ("shots", "calibration_set_id", "circuit_compilation_options", "use_timeslot", "memory")


class IQMBackend(BackendV2):  # type: ignore[misc]  # qiskit is untyped
    """An IQM quantum computer as a Qiskit backend.

    Made by ``IQMProvider.get_backend()`` (blocking use) or ``await IQMBackend.create(async_client)``
    (async use). ``run`` and ``arun`` share one implementation: ``arun`` is awaited in your event
    loop, ``run`` runs it in the provider's client loop and returns at once, the submission
    continuing in the background (so that the jobs of several ``run`` calls, e.g. those of one
    Qiskit primitive call, are submitted concurrently).

    Args:
        client: the async client (jobs are submitted and polled through it).
        architecture: the dynamic quantum architecture the target is built from.
        metrics: calibration data and quality metrics for the target (gate errors, durations).
        calibration_set_id: calibration set to run on (None: the server's default at submission).
        runner: how blocking methods reach the client's event loop (None: async use only).
        provider: the provider that made the backend (kept alive with it).
        name: the backend's name (default: the quantum computer's name).
    """

    def __init__(
        self,
        client: AsyncIQMClient,
        architecture: DynamicQuantumArchitecture,
        *,
        metrics: ObservationFinder | None = None,
        calibration_set_id: UUID | None = None,
        runner: LoopRunner | None = None,
        provider: Any = None,
        name: str | None = None,
    ) -> None:
        super().__init__(provider=provider, name=name or "IQMBackend", backend_version="iqm-client-async")
        self.client = client
        self.architecture = architecture
        self.metrics = metrics
        self.calibration_set_id = calibration_set_id
        self._runner = runner
        self._target = IQMTarget(architecture, metrics=metrics)
        self._target_with_resonators = IQMTarget(architecture, metrics=metrics, include_resonators=True)
        self._max_circuits: int | None = None

    def __repr__(self) -> str:
        return (
            f"IQMBackend({self.name!r}, {self.num_qubits} qubits, "
            f"calibration_set_id={self.architecture.calibration_set_id})"
        )

    @classmethod
    async def create(
        cls,
        client: AsyncIQMClient,
        *,
        calibration_set_id: UUID | None = None,
        use_metrics: bool = False,
        runner: LoopRunner | None = None,
        provider: Any = None,
    ) -> IQMBackend:
        """Fetch the architecture (and, with ``use_metrics``, the quality metrics) and build the backend.

        Args:
            client: the async client.
            calibration_set_id: calibration set to build the target from and run on (None: the default one).
            use_metrics: fill gate errors and durations into the target from the calibration set.
            runner: see the class docstring.
            provider: see the class docstring.
        """
        architecture = await client.get_dynamic_quantum_architecture(calibration_set_id)
        metrics = None
        if use_metrics:
            calibration = await client.get_calibration_set(architecture.calibration_set_id)
            quality = await client.get_quality_metric_set(architecture.calibration_set_id)
            metrics = ObservationFinder([*calibration.observations, *quality.observations])
        return cls(
            client,
            architecture,
            metrics=metrics,
            calibration_set_id=calibration_set_id,
            runner=runner,
            provider=provider,
            name=await client.get_quantum_computer_name(),
        )

    # ----------------------------------------------------------------- Qiskit BackendV2

    @classmethod
    def _default_options(cls) -> Options:
        return Options(
            shots=1024,
            calibration_set_id=None,
            circuit_compilation_options=None,
            use_timeslot=False,
            memory=False,
        )

    @property
    def target(self) -> Target:
        """The target Qiskit transpiles for (qubits only; see ``target_with_resonators``)."""
        return self._target

    @property
    def target_with_resonators(self) -> IQMTarget:
        """The real connectivity: resonators indexed after the qubits, with their MOVE and CZ loci."""
        return self._target_with_resonators

    @property
    def max_circuits(self) -> int | None:
        """Circuits per job that Qiskit's primitives use to split their work (None: no limit). Settable."""
        return self._max_circuits

    @max_circuits.setter
    def max_circuits(self, value: int | None) -> None:
        self._max_circuits = value

    def get_scheduling_stage_plugin(self) -> str:
        """The scheduling stage ``qiskit.transpile`` runs for this backend (MOVE routing on star architectures)."""
        return PLUGIN_NAME

    @property
    def physical_qubits(self) -> list[str]:
        """Qubit names in index order (resonators not included)."""
        return list(self._target.components.qubits)

    def qubit_name_to_index(self, name: str) -> int:
        """The Qiskit index of a qubit (or resonator) name such as ``QB1``.

        Raises:
            ValueError: there is no such component.
        """
        try:
            return self._target.components.index[name]
        except KeyError:
            raise ValueError(f"Qubit '{name}' is not found on the backend.") from None

    def index_to_qubit_name(self, index: int) -> str:
        """The component name of a Qiskit qubit index.

        Raises:
            ValueError: the index is out of range.
        """
        components = self._target.components.components
        if not 0 <= index < len(components):
            raise ValueError(f"Qubit index {index} is not found on the backend.")
        return components[index]

    # ----------------------------------------------------------------- serialization

    def serialize_circuit(self, circuit: QuantumCircuit) -> Circuit:
        """The IQM ``Circuit`` a transpiled circuit is submitted as."""
        return self._serialize([circuit])[0][0]

    def _serialize(self, run_input: RunInput) -> tuple[list[Circuit], list[ClassicalLayout]]:
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        if not circuits:
            raise ValueError("run() needs at least one circuit.")
        serialized = [
            serialize_circuit(self._route_moves(circuit), self._target.components) for circuit in circuits
        ]
        return [circuit for circuit, _ in serialized], [layout for _, layout in serialized]

    def _route_moves(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """Insert MOVEs into a circuit transpiled for the target without the scheduling stage."""
        components = self._target.components
        if not components.resonators or circuit.num_qubits != len(components.qubits):
            return circuit
        for instruction in circuit.data:
            if instruction.operation.name == "cz":
                pair = frozenset(components.qubits[circuit.find_bit(bit).index] for bit in instruction.qubits)
                if pair not in components.cz_pairs:
                    return MoveRouting(self._target)(circuit)
        return circuit

    def _run_options(self, options: dict[str, Any]) -> dict[str, Any]:
        merged = {name: getattr(self.options, name) for name in _RUN_OPTIONS}
        for name, value in options.items():
            if name in merged:
                merged[name] = value
            elif value is not None:
                warnings.warn(f"Option {name}={value!r} is not used by {type(self).__name__}.", stacklevel=3)
        compilation = merged["circuit_compilation_options"]
        if compilation is not None and not isinstance(compilation, CircuitCompilationOptions):
            raise TypeError("circuit_compilation_options must be a CircuitCompilationOptions")
        if merged["calibration_set_id"] is None:
            merged["calibration_set_id"] = self.calibration_set_id
        return merged

    async def _request(self, circuits: list[Circuit], options: dict[str, Any]) -> PostJobsRequest:
        return await self.client.create_run_request(
            circuits,
            calibration_set_id=options["calibration_set_id"],
            shots=options["shots"],
            options=options["circuit_compilation_options"],
        )

    async def _submit(self, request: PostJobsRequest, use_timeslot: bool) -> AsyncCircuitJob:
        return await self.client.submit_run_request(request, use_timeslot=use_timeslot)

    # ----------------------------------------------------------------- running

    async def acreate_run_request(self, run_input: RunInput, **options: Any) -> PostJobsRequest:
        """Serialize and validate circuits into the request ``arun`` would send, without sending it.

        Takes the arguments of ``arun``; raises as ``arun`` does before any request.
        """
        check_loop(self._runner)
        circuits, _ = self._serialize(run_input)
        return await self._request(circuits, self._run_options(options))

    def create_run_request(self, run_input: RunInput, **options: Any) -> PostJobsRequest:
        """Serialize and validate circuits into the request ``run`` would send (see ``acreate_run_request``)."""
        return require_runner(self._runner, "backend.acreate_run_request(...)").run(
            self.acreate_run_request, run_input, **options
        )

    async def arun(self, run_input: RunInput, **options: Any) -> IQMJob:
        """Submit transpiled circuits as one job; ``await`` the returned job for its ``Result``.

        Args:
            run_input: a circuit or a list of circuits, transpiled for this backend.
            **options: ``shots`` (default 1024), ``calibration_set_id``, ``circuit_compilation_options``
                (a ``CircuitCompilationOptions``), ``use_timeslot``; ``memory`` is accepted (per-shot memory
                is always returned, in hex). Other options given a value are ignored with a warning.

        Raises:
            QiskitSerializationError: a circuit is not in the backend's native gates.
            CircuitValidationError: a circuit does not fit the architecture.
            IQMError: the submission failed.
        """
        check_loop(self._runner)
        merged = self._run_options(options)
        circuits, layouts = self._serialize(run_input)
        request = await self._request(circuits, merged)
        job = await self._submit(request, merged["use_timeslot"])
        return IQMJob(self, job, layouts, shots=merged["shots"], runner=self._runner)

    def run(self, run_input: RunInput, **options: Any) -> IQMJob:
        """Submit transpiled circuits as one job (see ``arun``); returns once the circuits are validated.

        The request itself is sent in the background: ``job.job_id()`` and ``job.result()`` wait for it,
        and raise its error if it failed.
        """
        runner = require_runner(self._runner, "backend.arun(...)")
        merged = self._run_options(options)
        circuits, layouts = self._serialize(run_input)
        request = runner.run(self._request, circuits, merged)
        task: asyncio.Task[AsyncCircuitJob] = runner.start(self._submit, request, merged["use_timeslot"])
        return IQMJob(self, task, layouts, shots=merged["shots"], runner=runner)

    async def aretrieve_job(self, job_id: str | UUID) -> IQMJob:
        """An earlier job of this quantum computer, by id (its circuits' layouts come from its payload)."""
        check_loop(self._runner)
        job = await self.client.get_job(UUID(str(job_id)))
        circuits, parameters = await job.payload()
        layouts = [
            ClassicalLayout.from_circuit(circuit)
            if isinstance(circuit, Circuit)
            else ClassicalLayout("qir", (), 0, {})
            for circuit in circuits
        ]
        return IQMJob(self, job, layouts, shots=parameters.shots, runner=self._runner)

    def retrieve_job(self, job_id: str | UUID) -> IQMJob:
        """An earlier job of this quantum computer, by id (see ``aretrieve_job``)."""
        return require_runner(self._runner, "backend.aretrieve_job(...)").run(self.aretrieve_job, job_id)

    def batch(self, *, timeout: float | None = None, progress: bool | None = None) -> QiskitJobBatch:
        """A scope for many Qiskit jobs at once, sharing the client's poller (``async with backend.batch():``).

        See ``QiskitJobBatch``; unfinished jobs are cancelled if the scope ends with an error.
        """
        return QiskitJobBatch(self, self.client.batch(timeout=timeout, progress=progress))
