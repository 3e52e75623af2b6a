"""The examples run end to end on their embedded emulator: scripts as subprocesses, the notebook in a Jupyter kernel."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def without_server_settings() -> dict[str, str]:
    """The environment minus IQM_* variables, so that the examples start their embedded emulator."""
    return {name: value for name, value in os.environ.items() if not name.startswith("IQM_")}


def run_example(name: str, *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=without_server_settings(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, f"{name} failed:\n{completed.stdout}\n{completed.stderr}"
    assert "No IQM_SERVER_URL set: using an embedded emulator at http://127.0.0.1:" in completed.stdout
    return completed.stdout


def histogram_after(output: str, heading: str) -> dict[str, int]:
    """The ``  <bits>  <count> ...`` lines that follow the line starting with ``heading``."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading)) + 1
    counts: dict[str, int] = {}
    for line in lines[start:]:
        match = re.fullmatch(r"  ([01]+)\s+(\d+)\b.*", line)
        if match is None:
            break
        counts[match[1]] = int(match[2])
    return counts


def assert_even_split(counts: dict[str, int], outcomes: set[str], shots: int) -> None:
    """Only ``outcomes`` occur, each in roughly 1/len(outcomes) of the shots (> 6 sigma of slack)."""
    assert set(counts) == outcomes
    assert sum(counts.values()) == shots
    share = shots / len(outcomes)
    assert all(abs(count - share) < 0.1 * shots for count in counts.values()), counts


def test_quickstart_prints_a_bell_histogram() -> None:
    output = run_example("quickstart.py")
    assert "Quantum computer: garnet" in output
    assert "Job completed" in output
    assert_even_split(histogram_after(output, "Bell-state histogram"), {"00", "11"}, 1000)


def test_sync_facade_runs_ghz_on_three_connected_qubits() -> None:
    output = run_example("sync_facade.py")
    assert "Qubits (20): QB1 QB2 " in output
    assert re.search(r"^CZ loci \(30\), first few: QB\d+-QB\d+, ", output, re.MULTILINE)
    assert len(re.findall(r"^Feedback group \d: ", output, re.MULTILINE)) == 4
    assert "Job completed" in output
    counts_heading = re.search(r"^Counts of ghz over (QB\d+) (QB\d+) (QB\d+):", output, re.MULTILINE)
    assert counts_heading is not None
    submitted = re.search(r"\(GHZ on (QB\d+) (QB\d+) (QB\d+)\)", output)
    assert submitted is not None and submitted.groups() == counts_heading.groups()
    assert len(set(counts_heading.groups())) == 3
    assert_even_split(histogram_after(output, "Counts of ghz"), {"000", "111"}, 1000)
    assert "Shots returned: 1000" in output
    assert "Payload: circuit 'ghz3', 8 instructions, metadata={'example': 'sync_facade'}" in output
    assert "Payload parameters: shots=1000" in output


def test_many_jobs_reports_every_job_and_a_summary() -> None:
    output = run_example("many_jobs.py")
    lines = re.findall(
        r"^\[\s*(\d+)/200\] (rot\d{4})\s+QB\d+ angle=\S+\s+P\(1\) expected (\S+) observed (\S+)\s+(\w+)$",
        output,
        re.MULTILINE,
    )
    assert [int(line[0]) for line in lines] == list(range(1, 201))
    assert sorted(line[1] for line in lines) == [f"rot{i:04d}" for i in range(200)]
    expected = [float(line[2]) for line in lines]
    observed = [float(line[3]) for line in lines]
    assert min(expected) < 0.2 and max(expected) > 0.8  # the rotations really differ
    assert all(abs(e - o) < 0.2 for e, o in zip(expected, observed, strict=True))
    assert {line[4] for line in lines} == {"ok"}
    summary = re.search(r"^Completed 200/200 jobs in ([\d.]+) s \(([\d.]+) jobs/s\)$", output, re.MULTILINE)
    assert summary is not None and float(summary[1]) > 0 and float(summary[2]) > 0
    assert "of the expected P(1): 200/200" in output


def printed_dict(outputs: list[str], label: str) -> dict[str, int]:
    """The dict printed after ``label`` in a cell's output."""
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
    notebook = nbformat.read(EXAMPLES / "quickstart.ipynb", as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells)

    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    ).execute()

    outputs = [output for cell in code_cells for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    stdout = [output.text for output in outputs if output.output_type == "stream" and output.name == "stdout"]
    assert any("Quantum computer: garnet" in text for text in stdout)
    assert_even_split(printed_dict(stdout, "async counts:"), {"00", "11"}, 1000)
    assert_even_split(printed_dict(stdout, "blocking counts:"), {"00", "11"}, 1000)
    flips = re.findall(r"^(QB\d) \{'1': 100\}$", "".join(stdout), re.MULTILINE)
    assert flips == ["QB3", "QB4", "QB5"]
