"""The Qiskit examples run end to end on embedded emulators: the script as a subprocess, the notebook in a kernel."""

from __future__ import annotations

import ast
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("qiskit")

import nbformat
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def histogram_after(output: str, heading: str) -> dict[str, int]:
    """The ``  <bits>  <count> ...`` lines that follow the line ``heading``."""
    lines = output.splitlines()
    start = lines.index(heading) + 1
    counts: dict[str, int] = {}
    for line in lines[start:]:
        match = re.fullmatch(r"  ([01]+)\s+(\d+)\b.*", line)
        if match is None:
            break
        counts[match[1]] = int(match[2])
    return counts


def assert_even_split(counts: dict[str, int], outcomes: set[str], shots: int = 1000) -> None:
    assert set(counts) == outcomes, counts
    assert sum(counts.values()) == shots
    assert all(abs(n - shots / len(outcomes)) < 0.1 * shots for n in counts.values()), counts


def test_quickstart_script() -> None:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("IQM_")}
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / "qiskit_quickstart.py")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = completed.stdout
    assert completed.returncode == 0, f"{output}\n{completed.stderr}"
    assert "No IQM_SERVER_URL set: using an embedded emulator at http://127.0.0.1:" in output
    assert (
        "Backend: garnet, 20 qubits, native gates ['cz', 'delay', 'if_else', 'measure', 'r', 'reset']"
        in output
    )
    assert "Job DONE" in output
    assert_even_split(histogram_after(output, "Bell state (ghz2):"), {"00", "11"})
    assert_even_split(histogram_after(output, "GHZ-5:"), {"00000", "11111"})
    assert_even_split(histogram_after(output, "Feedback (if_test):"), {"00", "11"})
    rotations = re.findall(r"^  ry\((\S+)\)  P\(1\) expected (\S+) observed (\S+)$", output, re.MULTILINE)
    assert len(rotations) == 9
    for theta, expected, observed in rotations:
        assert float(expected) == pytest.approx(
            math.sin(float(theta) / 2) ** 2, abs=1e-2
        )  # theta printed to 2 decimals
        assert abs(float(observed) - float(expected)) < 0.06
    moves = re.search(r"^GHZ-5 on deneb: 4 CZ, (\d+) MOVE, \d+ r gates$", output, re.MULTILINE)
    assert moves is not None and int(moves[1]) >= 2
    assert_even_split(histogram_after(output, "GHZ-5 on deneb:"), {"00000", "11111"})


def printed_dict(outputs: list[str], label: str) -> dict[str, int]:
    for text in outputs:
        match = re.search(rf"^{label} (\{{.*\}})$", text, re.MULTILINE)
        if match:
            value = ast.literal_eval(match[1])
            assert isinstance(value, dict)
            return value
    raise AssertionError(f"no {label!r} line in {outputs}")


def test_notebook_runs_in_a_jupyter_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("IQM_"):
            monkeypatch.delenv(name)
    notebook = nbformat.read(EXAMPLES / "qiskit_quickstart.ipynb", as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells)
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    ).execute()
    outputs = [output for cell in code_cells for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    stdout = [output.text for output in outputs if output.output_type == "stream" and output.name == "stdout"]
    assert any("Backend: garnet, 20 qubits" in text for text in stdout)
    assert_even_split(printed_dict(stdout, "blocking counts:"), {"00", "11"})
    assert_even_split(printed_dict(stdout, "async counts:"), {"00", "11"})
