"""Running the async code from blocking callers: through the event loop of an ``IQMClient`` facade.

The Qiskit classes are written once, async; their blocking methods are one line each that hands
the coroutine to a ``LoopRunner``. A backend made from a bare ``AsyncIQMClient`` has no runner: its
blocking methods raise and point to the async ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from iqm_client_async import IQMClient, IQMError

__all__ = ["LoopRunner", "check_loop", "require_runner"]

P = ParamSpec("P")
T = TypeVar("T")


class LoopRunner:
    """Runs coroutines in the event loop of a blocking ``IQMClient`` (the loop its async client lives in)."""

    def __init__(self, client: IQMClient) -> None:
        self.client = client
        self.loop = client.run_in_loop(_running_loop)

    def run(self, func: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``func(*args, **kwargs)`` in the loop and wait for its result."""
        return self.client.run_in_loop(func, *args, **kwargs)

    def start(
        self, func: Callable[P, Coroutine[Any, Any, T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> asyncio.Task[T]:
        """Start ``func(*args, **kwargs)`` as a task in the loop and return at once (await the task there)."""
        return self.client.run_in_loop(_spawn, func(*args, **kwargs))


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def check_loop(runner: LoopRunner | None) -> None:
    """Refuse to run a blocking backend's coroutines in another event loop (its client belongs to its own).

    Raises:
        IQMError: called from an event loop other than the client's (e.g. a notebook cell's).
    """
    if runner is not None and asyncio.get_running_loop() is not runner.loop:
        raise IQMError(
            "This backend was made by IQMProvider: its client runs in an event loop of its own. Use the "
            "blocking methods (run(), job.result()), or make an async backend in this event loop with "
            "`await IQMBackend.create(AsyncIQMClient(...))`."
        )


async def _spawn(coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    task = asyncio.get_running_loop().create_task(coroutine)
    task.add_done_callback(_retrieve_exception)  # its owner re-raises it when awaited
    return task


def _retrieve_exception(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def require_runner(runner: LoopRunner | None, what: str) -> LoopRunner:
    """The runner, or an error telling an async user which coroutine method to await instead."""
    if runner is None:
        raise IQMError(
            f"This object was made from an AsyncIQMClient and has no event-loop thread to block on: "
            f"use `await ...{what}` instead (or make it through IQMProvider for blocking use)."
        )
    return runner
