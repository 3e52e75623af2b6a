"""A local emulator of the IQM Server: the REST API of a circuit-running QPU, over real HTTP.

In a coroutine::

    async with Emulator(qpu="garnet", seed=1) as emu:
        async with AsyncIQMClient(emu.url) as client: ...

In a script or notebook::

    with BlockingEmulator(qpu="garnet", seed=1) as emu:
        client = IQMClient(emu.url)

From a shell: ``python -m iqm_client_async.emulator --qpu garnet --port 8000`` (``--help`` lists the options).
Needs the ``emulator`` extra (FastAPI, uvicorn, numpy).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iqm_client_async.emulator.app import EmulatorCore
    from iqm_client_async.emulator.faults import FaultKind, FaultSpec, FaultSpecError
    from iqm_client_async.emulator.server import BlockingEmulator, Emulator, EmulatorStateError
    from iqm_client_async.emulator.settings import (
        EmulatorConfigurationError,
        EmulatorOptions,
        EmulatorSettings,
    )
    from iqm_client_async.emulator.store import StoreError

# Imported on first use, so that the simulation modules (presets, simulator) load without the web stack.
_EXPORTS = {
    "BlockingEmulator": "server",
    "Emulator": "server",
    "EmulatorConfigurationError": "settings",
    "EmulatorCore": "app",
    "EmulatorOptions": "settings",
    "EmulatorSettings": "settings",
    "EmulatorStateError": "server",
    "FaultKind": "faults",
    "FaultSpec": "faults",
    "FaultSpecError": "faults",
    "StoreError": "store",
}

__all__ = [
    "BlockingEmulator",
    "Emulator",
    "EmulatorConfigurationError",
    "EmulatorCore",
    "EmulatorOptions",
    "EmulatorSettings",
    "EmulatorStateError",
    "FaultKind",
    "FaultSpec",
    "FaultSpecError",
    "StoreError",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
