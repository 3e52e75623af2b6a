"""How the blocking facade is derived from the async classes: one declaration per method, no retyping.

``get_about = blocking(AsyncIQMClient.get_about)`` in a facade class makes a method with the async
method's parameters, defaults, docstring and (for mypy) types, that runs the coroutine in the facade's
event-loop thread and waits for it. The variants differ only in how the call is run:

* ``blocking``   a coroutine method, run in the portal;
* ``in_loop``    a plain method that touches event-loop state, run in the portal;
* ``direct``     a plain read-only method, called in the caller's thread;
* ``iterating``  an async-iterator method, driven from the caller's thread one item at a time;
* ``wrapped``    any of those whose result is an async object, returned as its blocking twin.

``same_parameters`` gives a facade's ``__init__`` (or ``from_url``) the async constructor's parameters.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar, overload

if TYPE_CHECKING:
    from .blocking import _Portal

__all__ = ["Facade", "blocking", "direct", "in_loop", "iterating", "same_parameters", "wrapped"]

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")


class Facade(Protocol):
    """A blocking twin: the async object it mirrors, and the portal that object's event loop runs in."""

    @property
    def _portal(self) -> _Portal: ...

    @property
    def _target(self) -> Any: ...


Runner = Callable[[Facade, Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]


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

    def __call__(self, facade: Facade, /, *args: Any, **kwargs: Any) -> Any:
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
    facade: Facade, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    return facade._portal.run(method, *args, **kwargs)


async def _call(method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return method(*args, **kwargs)


def _sync_in_portal(
    facade: Facade, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    return facade._portal.run(_call, method, *args, **kwargs)


def _here(facade: Facade, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return method(*args, **kwargs)


def _iterate(
    facade: Facade, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
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

    def run(facade: Facade, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
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
