"""The Qiskit examples run end to end on embedded emulators: the script as a subprocess, the notebook in a kernel."""

from __future__ import annotations

import math
import os
import re

import pytest

pytest.importorskip("qiskit")

from example_runs import assert_even_split, histogram_after, notebook_stdout, printed_dict, run_example


def test_quickstart_script() -> None:
    output = run_example("qiskit_quickstart.py", timeout=180)
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


def test_notebook_runs_in_a_jupyter_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("IQM_"):
            monkeypatch.delenv(name)
    stdout = notebook_stdout("qiskit_quickstart.ipynb", timeout=180)
    assert any("Backend: garnet, 20 qubits" in text for text in stdout)
    assert_even_split(printed_dict(stdout, "blocking counts:"), {"00", "11"})
    assert_even_split(printed_dict(stdout, "async counts:"), {"00", "11"})
