"""Fail unless the built API reference documents every public name.

Reads the site's ``objects.inv`` (the inventory mkdocstrings writes of every object it rendered) and checks
that each name in ``__all__`` of ``iqm_client_async``, ``iqm_client_async.emulator`` and, when it exists,
``iqm_client_async.qiskit`` has its own entry under its public path (``iqm_client_async.AsyncIQMClient``,
not only ``iqm_client_async.client.AsyncIQMClient``); and that each name a public module of the package
lists in its ``__all__`` without the root exporting it (``iqm_client_async.calibration.parse_observation_name``)
is documented under its module.

    python docs/_check_reference.py site/objects.inv
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import sys
import zlib
from pathlib import Path

PUBLIC_MODULES = ("iqm_client_async", "iqm_client_async.emulator")
OPTIONAL_MODULES = ("iqm_client_async.qiskit",)


def inventory_names(path: Path) -> set[str]:
    """The object names of a Sphinx v2 inventory (the format mkdocstrings writes)."""
    data = path.read_bytes()
    header_lines = 4
    parts = data.split(b"\n", header_lines)
    if not parts[0].startswith(b"# Sphinx inventory version 2"):
        raise SystemExit(f"{path}: not a Sphinx v2 inventory")
    body = zlib.decompress(parts[header_lines]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines() if line.strip()}


def exported_names(module: str) -> list[str]:
    """``__all__`` of a module: imported, or read from its source when importing needs a missing extra."""
    try:
        return list(importlib.import_module(module).__all__)
    except ImportError:
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
            ):
                return list(ast.literal_eval(node.value))
        raise SystemExit(f"{module} has no literal __all__") from None


def module_level_names() -> list[str]:
    """``module.name`` for the public names of the package's public modules that the root does not export."""
    import iqm_client_async

    exported = set(iqm_client_async.__all__)
    found = []
    for info in pkgutil.iter_modules(iqm_client_async.__path__):
        if info.name.startswith("_") or f"iqm_client_async.{info.name}" in PUBLIC_MODULES + OPTIONAL_MODULES:
            continue
        module = f"iqm_client_async.{info.name}"
        found += [f"{module}.{name}" for name in exported_names(module) if name not in exported]
    return found


def main(argv: list[str]) -> int:
    inventory = Path(argv[1] if len(argv) > 1 else "site/objects.inv")
    documented = inventory_names(inventory)
    modules = list(PUBLIC_MODULES)
    modules += [m for m in OPTIONAL_MODULES if importlib.util.find_spec(m) is not None]
    public = [f"{module}.{name}" for module in modules for name in exported_names(module)]
    public += module_level_names()
    missing = [name for name in public if name not in documented]
    if missing:
        print(
            f"The API reference misses {len(missing)} public name(s); add each to a page in docs/reference/:"
        )
        for name in missing:
            print(f"  ::: {name}")
        return 1
    print(
        f"API reference covers all {len(public)} public names: __all__ of {', '.join(modules)}, "
        "and the module-level API of the package's other public modules."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
