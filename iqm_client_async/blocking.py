"""``IQMClient`` and ``CircuitJob``: the blocking facade over ``AsyncIQMClient``.

Each facade owns one anyio blocking portal (an event loop in a daemon thread), entered once; the
``AsyncIQMClient`` is built and lives inside it. Every method is one delegating line that runs the
async method in the portal and waits for it, so sync scripts, threads and notebooks share one code
path with asyncio services.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar, overload
from uuid import UUID

import anyio.from_thread

from ._errors import IQMError
from .batch import JobBatch
from .client import AsyncIQMClient
from .job import AsyncCircuitJob
from .models import (
    JobData,
    JobStatus,
)

__all__ = ["BlockingJobBatch", "CircuitJob", "CircuitJobTracker", "IQMClient"]

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")

_WAKE_INTERVAL = 0.2  # how often a blocked caller wakes up so that Ctrl-C is handled promptly


class _Portal:
    """An anyio blocking portal (an asyncio loop in a daemon thread) with the checks the facade needs."""

    def __init__(self) -> None:
        self._context = anyio.from_thread.start_blocking_portal(backend="asyncio")
        self._portal = self._context.__enter__()
        self._loop: asyncio.AbstractEventLoop = self._portal.call(_running_loop)
        self._pid = os.getpid()
        self._thread_id = self._portal.call(threading.get_ident)
        self._closed = False

    def run(self, func: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``func`` in the portal's event loop and wait for its result.

        Ctrl-C while waiting cancels the coroutine, waits for it to unwind, and re-raises
        ``KeyboardInterrupt``.

        Raises:
            IQMError: the client is closed, used after ``os.fork()``, or called from its own event loop.
        """
        if self._closed:
            raise IQMError("This IQMClient is closed.")
        if os.getpid() != self._pid:
            raise IQMError(
                "This IQMClient was created in another process (before os.fork()); its event-loop "
                "thread does not exist here. Create a new IQMClient in this process."
            )
        if threading.get_ident() == self._thread_id:
            raise IQMError(
                "IQMClient was called from its own event-loop thread (e.g. from inside a coroutine the "
                "client is running). Use the AsyncIQMClient methods there instead."
            )
        finished = threading.Event()

        async def guarded() -> T:
            try:
                return await func(*args, **kwargs)
            finally:
                finished.set()

        # Plain run_coroutine_threadsafe: a third of the latency of portal.start_task_soon.
        future = asyncio.run_coroutine_threadsafe(guarded(), self._loop)
        try:
            while True:
                try:
                    return future.result(timeout=_WAKE_INTERVAL)
                except TimeoutError:
                    if future.done():
                        raise  # the coroutine itself raised TimeoutError
        except KeyboardInterrupt:
            future.cancel()
            finished.wait(5.0)
            raise

    def wrap_async_context_manager(
        self, cm: contextlib.AbstractAsyncContextManager[T]
    ) -> contextlib.AbstractContextManager[T]:
        """Enter and exit an async context manager in the portal's event loop."""
        return self._portal.wrap_async_context_manager(cm)

    def iterate(self, iterator: AsyncIterator[T]) -> Iterator[T]:
        """Drive an async iterator from this thread, one item per call into the event loop."""
        try:
            while True:
                try:
                    yield self.run(iterator.__anext__)
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                self.run(aclose)

    def close(self) -> None:
        """Stop the event-loop thread (idempotent)."""
        if not self._closed and os.getpid() == self._pid:
            self._closed = True
            self._context.__exit__(None, None, None)


async def _build_client(*args: Any, **kwargs: Any) -> AsyncIQMClient:
    # Built inside the portal's event loop: the httpx pool belongs to that loop.
    return AsyncIQMClient(*args, **kwargs)


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def _shutdown(portal: _Portal, client: AsyncIQMClient) -> None:
    with contextlib.suppress(Exception):
        portal.run(client.aclose)
    portal.close()


# ----------------------------------------------------------------- deriving the facade
#
# How the blocking facade is derived from the async classes: one declaration per method, no retyping.
#
# ``get_about = blocking(AsyncIQMClient.get_about)`` in a facade class makes a method with the async
# method's parameters, defaults, docstring and (for mypy) types, that runs the coroutine in the facade's
# event-loop thread and waits for it. The variants differ only in how the call is run:
#
# * ``blocking``   a coroutine method, run in the portal;
# * ``in_loop``    a plain method that touches event-loop state, run in the portal;
# * ``direct``     a plain read-only method, called in the caller's thread;
# * ``iterating``  an async-iterator method, driven from the caller's thread one item at a time;
# * ``wrapped``    any of those whose result is an async object, returned as its blocking twin.
#
# ``same_parameters`` gives a facade's ``__init__`` (or ``from_url``) the async constructor's parameters.


class _Facade(Protocol):
    """A blocking twin: the async object it mirrors, and the portal that object's event loop runs in."""

    @property
    def _portal(self) -> _Portal: ...

    @property
    def _target(self) -> Any: ...


Runner = Callable[[_Facade, Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]


class _Delegate(Generic[P, T]):
    """A facade method derived from an async-side method (see the module docstring)."""

    def __init__(self, method: Callable[..., Any], run: Runner) -> None:
        self._method_name = method.__name__
        self._run = run
        self.__doc__ = method.__doc__
        self.__name__ = method.__name__
        self.__qualname__ = method.__qualname__
        self.__signature__ = inspect.signature(method)
        parameters = list(self.__signature__.parameters.values())[1:]  # without self
        self._bound_signature = self.__signature__.replace(parameters=parameters)

    def __set_name__(self, owner: type, name: str) -> None:
        self.__qualname__ = f"{owner.__qualname__}.{name}"

    def __call__(self, facade: _Facade, /, *args: Any, **kwargs: Any) -> Any:
        """Called on the class (``IQMClient.get_about(client)``), like a plain function."""
        return self.__get__(facade, type(facade))(*args, **kwargs)

    @overload
    def __get__(self, facade: None, owner: type) -> Self: ...

    @overload
    def __get__(self, facade: object, owner: type | None = None) -> Callable[P, T]: ...

    def __get__(self, facade: object, owner: type | None = None) -> Self | Callable[P, T]:
        if facade is None:
            return self
        target_method = getattr(facade._target, self._method_name)  # type: ignore[attr-defined]
        run = self._run

        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return run(facade, target_method, args, kwargs)  # type: ignore[arg-type,no-any-return]

        call.__name__ = self.__name__
        call.__qualname__ = self.__qualname__
        call.__doc__ = self.__doc__
        call.__signature__ = self._bound_signature  # type: ignore[attr-defined]
        return call


def _in_portal(
    facade: _Facade, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    return facade._portal.run(method, *args, **kwargs)


async def _call(method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return method(*args, **kwargs)


def _sync_in_portal(
    facade: _Facade, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    return facade._portal.run(_call, method, *args, **kwargs)


def _here(facade: _Facade, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return method(*args, **kwargs)


def _iterate(
    facade: _Facade, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    return facade._portal.iterate(method(*args, **kwargs))


def blocking(method: Callable[Concatenate[Any, P], Awaitable[T]]) -> _Delegate[P, T]:
    """A facade method running the coroutine method ``method`` in the portal and returning its result."""
    return _Delegate(method, _in_portal)


def in_loop(method: Callable[Concatenate[Any, P], T]) -> _Delegate[P, T]:
    """A facade method calling the plain method ``method`` inside the portal's event loop."""
    return _Delegate(method, _sync_in_portal)


def direct(method: Callable[Concatenate[Any, P], T]) -> _Delegate[P, T]:
    """A facade method calling the plain, read-only method ``method`` in the caller's thread."""
    return _Delegate(method, _here)


def iterating(method: Callable[Concatenate[Any, P], AsyncIterator[T]]) -> _Delegate[P, Iterator[T]]:
    """A facade method returning a blocking iterator over the async iterator ``method`` returns."""
    return _Delegate(method, _iterate)


def wrapped(delegate: _Delegate[P, R], twin: Callable[[R, _Portal], T]) -> _Delegate[P, T]:
    """``delegate`` with its result (an async object) returned as its blocking ``twin``."""
    inner = delegate._run

    def run(facade: _Facade, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        return twin(inner(facade, method, args, kwargs), facade._portal)

    derived: _Delegate[P, T] = _Delegate.__new__(_Delegate)
    derived.__dict__.update(delegate.__dict__)
    derived._run = run
    return derived


def same_parameters(
    source: Callable[Concatenate[Any, P], Any],
) -> Callable[[Callable[..., T]], Callable[Concatenate[Any, P], T]]:
    """Give the decorated ``(self, *args, **kwargs)`` function the parameters and docstring of ``source``."""

    def decorate(func: Callable[..., T]) -> Callable[Concatenate[Any, P], T]:
        func.__signature__ = inspect.signature(source).replace(  # type: ignore[attr-defined]
            return_annotation=inspect.signature(func).return_annotation
        )
        if func.__doc__ is None:
            func.__doc__ = source.__doc__
        return func

    return decorate


class CircuitJob:
    """Blocking twin of ``AsyncCircuitJob``: same attributes and methods, each derived from it."""

    def __init__(self, job: AsyncCircuitJob, portal: _Portal) -> None:
        self._job = job
        self._portal = portal

    def __repr__(self) -> str:
        return f"CircuitJob(job_id={self.job_id!s}, status={self.status.value!r})"

    @property
    def _target(self) -> AsyncCircuitJob:
        return self._job

    @property
    def async_job(self) -> AsyncCircuitJob:
        """The underlying ``AsyncCircuitJob``."""
        return self._job

    @property
    def data(self) -> JobData:
        """The last status document seen."""
        return self._job.data

    @property
    def job_data(self) -> JobData:
        """The last status document seen (iqm-client 36's name for ``data``)."""
        return self._job.job_data

    @property
    def job_id(self) -> UUID:
        """The job's id."""
        return self._job.job_id

    @property
    def status(self) -> JobStatus:
        """The last status seen (call ``update()`` for the current one)."""
        return self._job.status

    @property
    def errors(self) -> str:
        """The job's errors, one per line (empty when there are none)."""
        return self._job.errors

    update = blocking(AsyncCircuitJob.update)
    wait_for_completion = blocking(AsyncCircuitJob.wait_for_completion)
    result = blocking(AsyncCircuitJob.result)
    result_counts = blocking(AsyncCircuitJob.result_counts)
    result_or_raise = blocking(AsyncCircuitJob.result_or_raise)
    payload = blocking(AsyncCircuitJob.payload)
    cancel = blocking(AsyncCircuitJob.cancel)
    find_timeline_entry = direct(AsyncCircuitJob.find_timeline_entry)


CircuitJobTracker = CircuitJob
"""iqm-client 36's name for the job object ``submit_circuits`` and ``get_job`` return."""


class BlockingJobBatch:
    """Blocking twin of ``JobBatch``: use ``with client.batch(...) as batch:``; each method is derived from it."""

    def __init__(self, batch: JobBatch, portal: _Portal) -> None:
        self._batch = batch
        self._portal = portal
        self._context: contextlib.AbstractContextManager[JobBatch] | None = None

    def __enter__(self) -> Self:
        self._context = self._portal.wrap_async_context_manager(self._batch)
        self._context.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._context is not None
        return self._context.__exit__(exc_type, exc, tb)

    @property
    def _target(self) -> JobBatch:
        return self._batch

    @property
    def jobs(self) -> list[CircuitJob]:
        """The jobs submitted so far, in submission order."""
        return [CircuitJob(job, self._portal) for job in self._batch.jobs]

    progress = direct(JobBatch.progress)
    detach = in_loop(JobBatch.detach)
    keep_open = in_loop(JobBatch.keep_open)
    close = in_loop(JobBatch.close)
    submit = wrapped(blocking(JobBatch.submit), CircuitJob)
    submit_soon = in_loop(JobBatch.submit_soon)
    as_completed = iterating(JobBatch.as_completed)
    progress_events = iterating(JobBatch.progress_events)


class IQMClient:
    """Blocking client for IQM quantum computers: ``AsyncIQMClient`` run through an anyio portal.

    Takes the same arguments as ``AsyncIQMClient`` and offers the same methods, blocking. Works in
    plain scripts, from several threads at once, and from code already running an event loop
    (a notebook cell). Ctrl-C while waiting cancels the running request or poll. Use ``with`` or
    call ``close()``; a client that is never closed is closed when garbage-collected.
    """

    @same_parameters(AsyncIQMClient.__init__)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        portal = _Portal()
        try:
            self._async = portal.run(_build_client, *args, **kwargs)
        except BaseException:
            portal.close()
            raise
        self._portal = portal
        self._finalizer = weakref.finalize(self, _shutdown, portal, self._async)

    @classmethod
    def from_url(cls, *args: Any, **kwargs: Any) -> Self:
        return cls(*args, **kwargs)

    from_url.__func__.__signature__ = inspect.signature(vars(AsyncIQMClient)["from_url"].__func__)  # type: ignore[attr-defined]
    from_url.__func__.__doc__ = AsyncIQMClient.from_url.__doc__  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncIQMClient", "IQMClient", 1)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and stop the event-loop thread (idempotent)."""
        self._finalizer()

    @property
    def _target(self) -> AsyncIQMClient:
        return self._async

    @property
    def async_client(self) -> AsyncIQMClient:
        """The underlying ``AsyncIQMClient`` (bound to this facade's event-loop thread)."""
        return self._async

    def run_in_loop(self, func: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run an async function in this client's event loop (where ``async_client`` lives) and wait for it.

        For building blocking APIs on top of ``async_client`` (the Qiskit backend does). Ctrl-C while
        waiting cancels the coroutine.

        Raises:
            IQMError: the client is closed, used after ``os.fork()``, or called from its own event loop.
        """
        return self._portal.run(func, *args, **kwargs)

    @property
    def quantum_computer_name(self) -> str:
        """Name of the quantum computer (resolved on first use)."""
        return self._portal.run(self._async.get_quantum_computer_name)

    get_quantum_computer_name = blocking(AsyncIQMClient.get_quantum_computer_name)
    get_quantum_computers = blocking(AsyncIQMClient.get_quantum_computers)
    resolve_quantum_computer = blocking(AsyncIQMClient.resolve_quantum_computer)
    get_health = blocking(AsyncIQMClient.get_health)
    get_about = blocking(AsyncIQMClient.get_about)
    _get_dut_label = blocking(AsyncIQMClient._get_dut_label)
    get_static_quantum_architecture = blocking(AsyncIQMClient.get_static_quantum_architecture)
    get_feedback_groups = blocking(AsyncIQMClient.get_feedback_groups)
    get_calibration_set = blocking(AsyncIQMClient.get_calibration_set)
    get_quality_metric_set = blocking(AsyncIQMClient.get_quality_metric_set)
    get_calibration_quality_metrics = blocking(AsyncIQMClient.get_calibration_quality_metrics)
    _get_calibration_quality_metrics = blocking(AsyncIQMClient._get_calibration_quality_metrics)
    get_dynamic_quantum_architecture = blocking(AsyncIQMClient.get_dynamic_quantum_architecture)
    create_run_request = blocking(AsyncIQMClient.create_run_request)
    submit_circuits = wrapped(blocking(AsyncIQMClient.submit_circuits), CircuitJob)
    submit_run_request = wrapped(blocking(AsyncIQMClient.submit_run_request), CircuitJob)
    batch = wrapped(direct(AsyncIQMClient.batch), BlockingJobBatch)
    get_job_data = blocking(AsyncIQMClient.get_job_data)
    get_job = wrapped(blocking(AsyncIQMClient.get_job), CircuitJob)
    cancel_job = blocking(AsyncIQMClient.cancel_job)
    delete_job = blocking(AsyncIQMClient.delete_job)
    get_job_measurements = blocking(AsyncIQMClient.get_job_measurements)
    get_job_measurement_counts = blocking(AsyncIQMClient.get_job_measurement_counts)
    _get_submit_circuits_payload = blocking(AsyncIQMClient._get_submit_circuits_payload)

    # iqm-client 36 vocabulary
    create_circuit_job_definition = blocking(AsyncIQMClient.create_circuit_job_definition)
    submit_circuit_job = wrapped(blocking(AsyncIQMClient.submit_circuit_job), CircuitJob)
    get_chip_design_record = blocking(AsyncIQMClient.get_chip_design_record)
    get_chip_label = blocking(AsyncIQMClient.get_chip_label)
    get_chip_topology = blocking(AsyncIQMClient.get_chip_topology)
    get_proxy_path = blocking(AsyncIQMClient.get_proxy_path)
