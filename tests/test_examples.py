"""The examples run end to end on their embedded emulator: scripts as subprocesses, the notebook in a Jupyter kernel."""

from __future__ import annotations

import os
import re

import pytest
from example_runs import assert_even_split, histogram_after, notebook_stdout, printed_dict, run_example


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


def test_notebook_runs_in_a_jupyter_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("IQM_"):
            monkeypatch.delenv(name)
    stdout = notebook_stdout("quickstart.ipynb")
    assert any("Quantum computer: garnet" in text for text in stdout)
    assert_even_split(printed_dict(stdout, "async counts:"), {"00", "11"}, 1000)
    assert_even_split(printed_dict(stdout, "blocking counts:"), {"00", "11"}, 1000)
    flips = re.findall(r"^(QB\d) \{'1': 100\}$", "".join(stdout), re.MULTILINE)
    assert flips == ["QB3", "QB4", "QB5"]
