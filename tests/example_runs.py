"""Running the examples as a user would: scripts as subprocesses, notebooks in a Jupyter kernel, and
reading what they print (shared by the core and the Qiskit example tests)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def without_server_settings() -> dict[str, str]:
    """The environment minus IQM_* variables, so that the examples start their embedded emulator."""
    return {name: value for name, value in os.environ.items() if not name.startswith("IQM_")}


def run_example(name: str, *args: str, timeout: float = 120) -> str:
    """Run ``examples/name`` on its embedded emulator and return what it printed."""
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=without_server_settings(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, f"{name} failed:\n{completed.stdout}\n{completed.stderr}"
    assert "No IQM_SERVER_URL set: using an embedded emulator at http://127.0.0.1:" in completed.stdout
    return completed.stdout


def histogram_after(output: str, heading: str) -> dict[str, int]:
    """The ``  <bits>  <count> ...`` lines after the line ``heading`` (or, if none, the first starting with it)."""
    lines = output.splitlines()
    exact = [i for i, line in enumerate(lines) if line == heading]
    start = (exact or [i for i, line in enumerate(lines) if line.startswith(heading)])[0] + 1
    counts: dict[str, int] = {}
    for line in lines[start:]:
        match = re.fullmatch(r"  ([01]+)\s+(\d+)\b.*", line)
        if match is None:
            break
        counts[match[1]] = int(match[2])
    return counts


def assert_even_split(counts: dict[str, int], outcomes: set[str], shots: int = 1000) -> None:
    """Only ``outcomes`` occur, each in roughly 1/len(outcomes) of the shots (> 6 sigma of slack)."""
    assert set(counts) == outcomes
    assert sum(counts.values()) == shots
    share = shots / len(outcomes)
    assert all(abs(count - share) < 0.1 * shots for count in counts.values()), counts


def printed_dict(outputs: list[str], label: str) -> dict[str, int]:
    """The dict printed after ``label`` in a cell's output."""
    for text in outputs:
        match = re.search(rf"^{label} (\{{.*\}})$", text, re.MULTILINE)
        if match:
            value = ast.literal_eval(match[1])
            assert isinstance(value, dict)
            return value
    raise AssertionError(f"no {label!r} line in {outputs}")


def notebook_stdout(name: str, *, timeout: float = 120) -> list[str]:
    """Execute ``examples/name`` (stored without outputs) in a fresh kernel; its cells' stdout, no errors.

    The kernel inherits the environment: callers remove IQM_* variables so the notebook uses its emulator.
    """
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells)
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    ).execute()
    outputs = [output for cell in code_cells for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    return [output.text for output in outputs if output.output_type == "stream" and output.name == "stdout"]
