"""The ``qiskit`` extra stays optional: the core package never imports Qiskit, and says how to get it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_core_package_does_not_import_qiskit() -> None:
    completed = run_python(
        "import sys, iqm_client_async, iqm_client_async.blocking, iqm_client_async.batch\n"
        "assert not [m for m in sys.modules if m == 'qiskit' or m.startswith('qiskit.')], 'qiskit imported'\n"
    )
    assert completed.returncode == 0, completed.stderr


def test_qiskit_is_only_in_the_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [dep for dep in project["dependencies"] if dep.lower().startswith("qiskit")]
    assert any(dep.startswith("qiskit>=") for dep in project["optional-dependencies"]["qiskit"])


def test_without_qiskit_the_subpackage_says_which_extra_to_install() -> None:
    completed = run_python(
        "import sys\n"
        "sys.modules['qiskit'] = None  # as if Qiskit were not installed\n"
        "import iqm_client_async.qiskit\n"
    )
    assert completed.returncode != 0
    assert "pip install 'iqm-client-async[qiskit]'" in completed.stderr


def test_the_qiskit_subpackage_exports_its_documented_names() -> None:
    pytest.importorskip("qiskit")
    import iqm_client_async.qiskit as adapter

    names = adapter.__all__
    assert names == sorted(names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))
    assert all(hasattr(adapter, name) for name in names)
    expected = {"IQMProvider", "IQMBackend", "IQMJob", "IQMTarget", "MoveGate", "transpile_to_IQM"}
    assert expected <= set(names)
