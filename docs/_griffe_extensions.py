"""Griffe extensions for the API reference.

* ``FacadeMembers``: the blocking facade derives its methods from the async classes at run time
  (``get_about = blocking(AsyncIQMClient.get_about)``, ``@same_parameters(AsyncIQMClient.__init__)``);
  griffe reads the source without running it, so it would see attributes and ``*args, **kwargs``
  without docstrings. For every class with a ``_target`` property (the async object a facade mirrors),
  each such member gets the async member's parameters and docstring, as it has at run time.
* ``LiteralBlocks``: a docstring paragraph ending in ``::`` (reST's "a code block follows") ends in
  ``:`` on the site, as Sphinx would show it; the indented block after it is already code in Markdown.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_TRAILING_MARKER = re.compile(r"(?<=\S)::$", re.MULTILINE)
_LONE_MARKER = re.compile(r"^[ \t]*::[ \t]*\n", re.MULTILINE)
# ``blocking(AsyncX.method)``, ``iterating(...)``, ``wrapped(blocking(AsyncX.method), Twin)``, ...
_DELEGATE = re.compile(r"^(?:wrapped\()?(?P<kind>\w+)\((?P<target>[\w.]+)\)(?:,\s*(?P<twin>\w+)\))?$")

logger = griffe.get_logger("griffe_facade_members")


class FacadeMembers(griffe.Extension):
    """Give a facade's derived members the parameters and docstrings of the async members they run."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for cls in _classes(pkg):
            target_class = _target_class(cls)
            if target_class is not None:
                _complete_facade(cls, target_class)


def _classes(obj: griffe.Object) -> list[griffe.Class]:
    found: list[griffe.Class] = []
    for member in obj.members.values():
        if member.is_alias:
            continue
        if isinstance(member, griffe.Class):
            found.append(member)
        if isinstance(member, (griffe.Module, griffe.Class)):
            found.extend(_classes(member))
    return found


def _target_class(cls: griffe.Class) -> griffe.Class | None:
    """The class named by the return annotation of ``cls._target``, if it has one."""
    target = cls.members.get("_target")
    if not isinstance(target, (griffe.Function, griffe.Attribute)):
        return None
    annotation = target.returns if isinstance(target, griffe.Function) else target.annotation
    if annotation is None:
        return None
    try:
        resolved = cls.module[str(annotation)]
        return resolved.final_target if resolved.is_alias else resolved  # type: ignore[return-value]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def _complete_facade(cls: griffe.Class, target_class: griffe.Class) -> None:
    for name, member in list(cls.members.items()):
        if member.is_alias or (name.startswith("_") and name != "__init__"):
            continue
        source, docstring = _async_member(target_class, name)
        if source is None:
            continue
        if isinstance(member, griffe.Attribute):
            match = _DELEGATE.match(str(member.value))
            if match is not None:
                cls.set_member(name, _delegate(cls, member, source, docstring, match))
        elif isinstance(member, griffe.Function):
            if _only_varargs(member):
                member.parameters = griffe.Parameters(*(_copy(p) for p in source.parameters))
            if member.docstring is None and docstring is not None:
                member.docstring = _copy_docstring(docstring, member)


def _async_member(
    target_class: griffe.Class, name: str
) -> tuple[griffe.Function | None, griffe.Docstring | None]:
    """The async method ``name`` and its docstring; an alias (``new_name = old_name``) keeps its own docstring."""
    member = target_class.members.get(name)
    if isinstance(member, griffe.Attribute) and member.value is not None:
        aliased = target_class.members.get(str(member.value))
        if isinstance(aliased, griffe.Function):
            return aliased, member.docstring or aliased.docstring
    if isinstance(member, griffe.Function):
        return member, member.docstring
    return None, None


def _delegate(
    cls: griffe.Class,
    attribute: griffe.Attribute,
    source: griffe.Function,
    docstring: griffe.Docstring | None,
    match: re.Match[str],
) -> griffe.Function:
    returns: str | griffe.Expr | None = source.returns
    if match["twin"]:
        returns = griffe.ExprName(match["twin"], parent=cls)
    elif match["kind"] == "iterating" and returns is not None:
        returns = str(returns).replace("AsyncIterator[", "Iterator[", 1)
    function = griffe.Function(
        attribute.name,
        lineno=attribute.lineno,
        endlineno=attribute.endlineno,
        parameters=griffe.Parameters(*(_copy(p) for p in source.parameters)),
        returns=returns,
        parent=cls,
    )
    if docstring is not None:
        function.docstring = _copy_docstring(docstring, function)
    return function


def _copy_docstring(docstring: griffe.Docstring, parent: griffe.Function) -> griffe.Docstring:
    """The same docstring, parsed the same way (Google style), attached to ``parent``."""
    return griffe.Docstring(
        docstring.value,
        lineno=docstring.lineno,
        endlineno=docstring.endlineno,
        parser=docstring.parser,
        parser_options=docstring.parser_options,
        parent=parent,
    )


def _only_varargs(function: griffe.Function) -> bool:
    kinds = {p.kind for p in function.parameters if p.name not in ("self", "cls")}
    return kinds == {griffe.ParameterKind.var_positional, griffe.ParameterKind.var_keyword}


def _copy(parameter: griffe.Parameter) -> griffe.Parameter:
    return griffe.Parameter(
        parameter.name,
        annotation=parameter.annotation,
        kind=parameter.kind,
        default=parameter.default,
        docstring=parameter.docstring,
    )


class LiteralBlocks(griffe.Extension):
    """Turn reST's ``text::`` before an indented block into ``text:`` (and drop a lone ``::`` line)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _objects(pkg):
            if obj.docstring is not None and "::" in obj.docstring.value:
                value = _TRAILING_MARKER.sub(":", obj.docstring.value)
                obj.docstring.value = _LONE_MARKER.sub("", value)


def _objects(obj: griffe.Object) -> list[griffe.Object]:
    found: list[griffe.Object] = [obj]
    for member in obj.members.values():
        if member.is_alias:
            continue
        if isinstance(member, (griffe.Module, griffe.Class)):
            found.extend(_objects(member))
        else:
            found.append(member)
    return found
