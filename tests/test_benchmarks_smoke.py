"""Smoke test of the benchmarks: ``python -m benchmarks --quick`` runs every benchmark and prints its table.

The reference client is measured only when ``iqm.iqm_client`` is importable (the nox ``bench`` session,
or the reference venv); our side always runs, against emulator processes on loopback.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ("submit", "facade", "many-jobs", "latency", "polling", "memory", "emulator")


def _reference_installed() -> bool:
    try:
        return importlib.util.find_spec("iqm.iqm_client") is not None
    except ModuleNotFoundError:
        return False


@pytest.fixture(scope="module")
def quick_run() -> tuple[str, bool]:
    with_reference = _reference_installed()
    command = [sys.executable, "-m", "benchmarks", "--quick"]
    if not with_reference:
        command.append("--no-reference")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout, with_reference


def test_every_benchmark_prints_its_table(quick_run: tuple[str, bool]) -> None:
    output, _ = quick_run
    for name in BENCHMARKS:
        assert f"[{name}]" in output
    assert re.search(r"submit_circuits, 20 circuits x 50 instructions\s+ours\s+\d", output)
    assert re.search(r"facade overhead per call .* ours\s+\d", output)
    assert re.search(r"peak RSS growth per job, 300 jobs in flight\s+ours\s+\d", output)
    assert re.search(r"simulate\(\): 20 qubits, 200 gates .* ours\s+\d", output)
    assert re.search(r"status requests per emulator CPU-second, jobs running\s+ours\s+\d", output)
    assert re.search(r"\d+ targets met, \d+ missed", output)


def test_ratios_against_the_reference(quick_run: tuple[str, bool]) -> None:
    output, with_reference = quick_run
    if not with_reference:
        pytest.skip("iqm-client (the reference) is not installed: `nox -s bench` installs it")
    for metric in (
        "submit_circuits",
        "jobs, wall time",
        "ready -> result in hand",
        "status requests for one job",
    ):
        line = next(line for line in output.splitlines() if metric in line)
        assert re.search(r"ratio \d+(\.\d+)?x", line), line


def test_unknown_benchmark_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "no-such-benchmark"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "unknown benchmark" in result.stderr
