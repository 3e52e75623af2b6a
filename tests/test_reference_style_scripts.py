"""Scripts written for IQM's iqm-client 35 and 36 run on this library after changing only the import.

The scripts (``tests/data/scripts``) are run as subprocesses against the emulator over loopback HTTP.
The compat session also runs them unchanged on the matching iqm-client version, which shows that
they are genuine scripts of that version (``tests/compat/test_style_scripts_on_reference.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from iqm_client_async.emulator import BlockingEmulator

SCRIPTS = Path(__file__).parent / "data" / "scripts"
REFERENCE_IMPORT = "from iqm.iqm_client import "
OUR_IMPORT = "from iqm_client_async import "


def with_our_import(source: str) -> str:
    """The script with its one ``iqm.iqm_client`` import line pointed at this library; nothing else changes."""
    assert source.count(REFERENCE_IMPORT) == 1
    changed = source.replace(REFERENCE_IMPORT, OUR_IMPORT)
    assert sum(a != b for a, b in zip(source.splitlines(), changed.splitlines(), strict=True)) == 1
    return changed


def run_script(source: str, url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "script.py"
    path.write_text(source)
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("IQM_", "INSECURE_"))
    }
    environment["IQM_SERVER_URL"] = url
    return subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, env=environment, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def emulator() -> Iterator[BlockingEmulator]:
    with BlockingEmulator(qpu="garnet", seed=5) as running:
        yield running


@pytest.mark.parametrize("version", ["35", "36"])
def test_reference_style_script_runs_after_changing_only_the_import(
    version: str, emulator: BlockingEmulator, tmp_path: Path
) -> None:
    source = (SCRIPTS / f"iqm_client_{version}_style.py").read_text()

    done = run_script(with_our_import(source), emulator.url, tmp_path)

    assert done.returncode == 0, done.stderr
    assert f"{version}-style script OK" in done.stdout
