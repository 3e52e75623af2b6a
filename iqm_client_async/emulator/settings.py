"""The emulator's settings: one frozen object shared by the command line and in-process use."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

from iqm_client_async._errors import IQMError
from iqm_client_async.emulator.faults import FaultSpec

NoiseSetting = Literal["none", "calibrated"]


class EmulatorConfigurationError(IQMError, ValueError):
    """An emulator option is invalid (unknown QPU, negative duration, malformed fault spec, ...)."""


@dataclass(frozen=True, slots=True)
class EmulatorSettings:
    """Everything that configures an emulator instance.

    Attributes:
        host: interface to listen on.
        port: TCP port; 0 picks a free one (the default for in-process use).
        qpu: QPU preset name (``adonis``, ``apollo``, ``garnet``, ``aphrodite``, ``deneb``).
        seed: seed for measurement sampling and fault injection; ``None`` draws fresh entropy.
        latency_ms: extra delay added to every HTTP response.
        job_duration_ms: minimum time a job spends executing (on top of the simulation itself); with the
            two fields below, the fixed overhead of every job.
        circuit_duration_ms: minimum execution time added per circuit of a job.
        shot_duration_us: minimum execution time added per shot of each circuit (microseconds).
        workers: execution slots; 1 behaves like a real QPU's single queue.
        token: when set, every request must carry ``Authorization: Bearer <token>``.
        noise: ``"none"`` for ideal simulation, ``"calibrated"`` for the preset's noise model.
        faults: fraction of requests answered with each injected fault.
        slow_delay_s: how long a ``slow`` fault holds the response back.
        retry_after_s: the ``Retry-After`` value (seconds) sent with injected 429 responses.
        db: SQLite file that keeps jobs across restarts; ``None`` keeps them in memory only.
    """

    host: str = "127.0.0.1"
    port: int = 0
    qpu: str = "garnet"
    seed: int | None = None
    latency_ms: float = 0.0
    job_duration_ms: float = 0.0
    circuit_duration_ms: float = 0.0
    shot_duration_us: float = 0.0
    workers: int = 1
    token: str | None = None
    noise: NoiseSetting = "none"
    faults: FaultSpec = dataclasses.field(default_factory=FaultSpec)
    slow_delay_s: float = 30.0
    retry_after_s: int = 1
    db: Path | None = None

    def __post_init__(self) -> None:
        problems = [
            f"{name} must not be negative"
            for name in (
                "port",
                "latency_ms",
                "job_duration_ms",
                "circuit_duration_ms",
                "shot_duration_us",
                "slow_delay_s",
                "retry_after_s",
            )
            if getattr(self, name) < 0
        ]
        if self.workers < 1:
            problems.append("workers must be at least 1")
        if self.noise not in ("none", "calibrated"):
            problems.append(f"noise must be 'none' or 'calibrated', not {self.noise!r}")
        if problems:
            raise EmulatorConfigurationError("Invalid emulator settings: " + "; ".join(problems))

    def execution_seconds(self, circuits: int, shots: int) -> float:
        """Minimum execution time of a job: the fixed overhead plus a time per circuit and per shot."""
        per_circuit = self.circuit_duration_ms / 1000 + shots * self.shot_duration_us / 1e6
        return self.job_duration_ms / 1000 + circuits * per_circuit

    def replace(self, **changes: object) -> EmulatorSettings:
        """A copy with some fields changed (``faults`` may be given as a spec string, ``db`` as a str).

        Raises:
            EmulatorConfigurationError: a value is invalid or a field name is unknown.
        """
        if isinstance(changes.get("faults"), str):
            changes["faults"] = FaultSpec.parse(str(changes["faults"]))
        if changes.get("faults") is None:
            changes.pop("faults", None)
        if isinstance(changes.get("db"), str):
            changes["db"] = Path(str(changes["db"]))
        unknown = set(changes) - {field.name for field in dataclasses.fields(self)}
        if unknown:
            raise EmulatorConfigurationError(f"Unknown emulator option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


class EmulatorOptions(TypedDict, total=False):
    """Keyword options accepted by ``Emulator`` and ``BlockingEmulator`` (the fields of ``EmulatorSettings``)."""

    host: str
    port: int
    qpu: str
    seed: int | None
    latency_ms: float
    job_duration_ms: float
    circuit_duration_ms: float
    shot_duration_us: float
    workers: int
    token: str | None
    noise: NoiseSetting
    faults: FaultSpec | str | None
    slow_delay_s: float
    retry_after_s: int
    db: Path | str | None
