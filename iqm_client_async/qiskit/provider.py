"""``IQMProvider``: the entry point for blocking Qiskit use, on a server or on the embedded emulator."""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from iqm_client_async import IQMClient

from ._runner import LoopRunner
from .backend import IQMBackend

__all__ = ["IQMProvider"]


class IQMProvider:
    """Backends of the quantum computers of one IQM Server.

    ``IQMProvider(url).get_backend()`` gives a blocking ``IQMBackend``; ``IQMProvider.emulator("deneb")``
    does the same on an embedded emulator (noise-free, or ``noise="calibrated"``). The provider owns a
    blocking ``IQMClient`` per quantum computer (one event-loop thread each); ``close()`` (or ``with``)
    closes them, and the emulator it started.

    Args:
        url: IQM Server root URL (env ``IQM_SERVER_URL`` when None).
        quantum_computer: alias of the quantum computer (None: the server's only one).
        token: bearer token (env ``IQM_TOKEN``).
        tokens_file: tokens file path (env ``IQM_TOKENS_FILE``).
        **client_options: other keyword arguments of ``IQMClient`` (``timeout``, ``max_retries``, ...).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        quantum_computer: str | None = None,
        token: str | None = None,
        tokens_file: str | None = None,
        **client_options: Any,
    ) -> None:
        self.url = url
        self.quantum_computer = quantum_computer
        self._client_options = {"token": token, "tokens_file": tokens_file, **client_options}
        self._clients: dict[str | None, IQMClient] = {}
        self._emulator: Any = None

    def __repr__(self) -> str:
        return f"IQMProvider({self.url!r}, quantum_computer={self.quantum_computer!r})"

    @classmethod
    def emulator(
        cls, qpu: str = "garnet", *, noise: str = "none", seed: int | None = None, **options: Any
    ) -> Self:
        """A provider on an embedded emulator of ``qpu`` (needs the ``emulator`` extra).

        Args:
            qpu: preset name (``garnet``, ``deneb``, ``adonis``, ``apollo``, ``aphrodite``).
            noise: ``"none"`` for an ideal simulation, ``"calibrated"`` for the preset's noise model.
            seed: simulator seed (None: random).
            **options: other emulator settings (``latency_ms``, ``job_duration_ms``, ``workers``, ...).
        """
        from iqm_client_async.emulator import BlockingEmulator

        emulator = BlockingEmulator(qpu=qpu, noise=noise, seed=seed, **options)  # type: ignore[arg-type]
        emulator.start()
        provider = cls(emulator.url)
        provider._emulator = emulator
        return provider

    @property
    def embedded_emulator(self) -> Any:
        """The ``BlockingEmulator`` started by ``IQMProvider.emulator`` (its ``stats()``, ``url``), or None."""
        return self._emulator

    def client(self, quantum_computer: str | None = None) -> IQMClient:
        """The blocking client for a quantum computer (made on first use)."""
        alias = quantum_computer or self.quantum_computer
        if alias not in self._clients:
            self._clients[alias] = IQMClient(self.url, quantum_computer=alias, **self._client_options)
        return self._clients[alias]

    def get_backend(
        self, name: str | None = None, *, calibration_set_id: UUID | None = None, use_metrics: bool = False
    ) -> IQMBackend:
        """A backend for a quantum computer.

        Args:
            name: quantum computer alias (None: the provider's ``quantum_computer``, or the server's only one).
            calibration_set_id: calibration set to build the target from and run on (None: the current default).
            use_metrics: fill gate errors and durations into the target from the calibration data.
        """
        client = self.client(name)
        runner = LoopRunner(client)
        return runner.run(
            IQMBackend.create,
            client.async_client,
            calibration_set_id=calibration_set_id,
            use_metrics=use_metrics,
            runner=runner,
            provider=self,
        )

    def close(self) -> None:
        """Close the clients and stop the emulator this provider started (idempotent)."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self._emulator is not None:
            with contextlib.suppress(Exception):
                self._emulator.stop()
            self._emulator = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
