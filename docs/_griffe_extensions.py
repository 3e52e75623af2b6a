"""Griffe extensions for the API reference.

* ``FacadeDocstrings``: a facade method decorated ``@_doc(Source.method)`` shows ``Source.method``'s
  docstring. The blocking facade copies the async methods' docstrings at run time; griffe reads the
  source without running it, so the extension does the same copy on the loaded package.
* ``LiteralBlocks``: a docstring paragraph ending in ``::`` (reST's "a code block follows") ends in
  ``:`` on the site, as Sphinx would show it; the indented block after it is already code in Markdown.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_TRAILING_MARKER = re.compile(r"(?<=\S)::$", re.MULTILINE)
_LONE_MARKER = re.compile(r"^[ \t]*::[ \t]*\n", re.MULTILINE)
_DOC_DECORATOR = re.compile(r"^_doc\((?P<target>[\w.]+)\)$")

logger = griffe.get_logger("griffe_facade_docstrings")


class FacadeDocstrings(griffe.Extension):
    """Copy the docstring named by ``@_doc(...)`` onto each decorated function that has none."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for function in _functions(pkg):
            if function.docstring is not None:
                continue
            for decorator in function.decorators:
                match = _DOC_DECORATOR.match(str(decorator.value))
                if match is None:
                    continue
                source = _resolve(function, match["target"])
                if source is None or source.docstring is None:
                    logger.warning("%s: cannot resolve @_doc(%s)", function.path, match["target"])
                    continue
                function.docstring = griffe.Docstring(
                    source.docstring.value, lineno=source.docstring.lineno, parent=function
                )


def _functions(obj: griffe.Object) -> list[griffe.Function]:
    found: list[griffe.Function] = []
    for member in obj.members.values():
        if member.is_alias:
            continue
        if isinstance(member, griffe.Function):
            found.append(member)
        elif isinstance(member, (griffe.Module, griffe.Class)):
            found.extend(_functions(member))
    return found


def _resolve(function: griffe.Function, dotted: str) -> griffe.Object | griffe.Alias | None:
    """``Name.attr`` as seen from the function's module (``Name`` is usually an imported class)."""
    head, *rest = dotted.split(".")
    try:
        target: griffe.Object | griffe.Alias = function.module[head]
        for part in rest:
            target = target[part]
        return target
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


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
