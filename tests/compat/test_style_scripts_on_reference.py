"""The style scripts of ``tests/data/scripts`` run unchanged on the installed iqm-client of their version.

This keeps them honest: ``tests/test_reference_style_scripts.py`` runs the same files on this library
after changing only the import line.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

pytest.importorskip("iqm.iqm_client")

from test_reference_style_scripts import SCRIPTS, run_script

from iqm_client_async.emulator import BlockingEmulator

MAJOR = metadata.version("iqm-client").split(".")[0]


@pytest.fixture(scope="module")
def emulator() -> Iterator[BlockingEmulator]:
    with BlockingEmulator(qpu="garnet", seed=5) as running:
        yield running


def test_script_of_the_installed_version_runs_unchanged(emulator: BlockingEmulator, tmp_path: Path) -> None:
    script = SCRIPTS / f"iqm_client_{MAJOR}_style.py"
    if not script.exists():
        pytest.skip(f"no style script for iqm-client {MAJOR}")

    done = run_script(script.read_text(), emulator.url, tmp_path)

    assert done.returncode == 0, done.stderr
    assert f"{MAJOR}-style script OK" in done.stdout
