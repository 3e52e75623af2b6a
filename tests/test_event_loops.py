"""The client under the event loops services run: uvloop (as ``uvicorn[standard]`` installs it) and trio.

uvloop runs every async test through the conftest's loop factories; here the user-level flows run under
``uvloop.run`` in a fresh process, as a service would start them, and under trio through anyio (where the
default transport falls back to httpx's own).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, f"{completed.stdout}\n{completed.stderr}"
    return completed.stdout


def test_quickstart_under_uvloop_run() -> None:
    pytest.importorskip("uvloop")
    output = run_python(
        """
        import asyncio, sys, uvloop
        sys.path.insert(0, "examples")
        import quickstart
        async def main():
            assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
            await quickstart.main()
        uvloop.run(main())
        """
    )
    assert "Job completed" in output and "Bell-state histogram" in output


def test_a_200_job_batch_under_uvloop_run() -> None:
    pytest.importorskip("uvloop")
    output = run_python(
        """
        import asyncio, sys, uvloop
        sys.path.insert(0, "examples")
        from quickstart import bell_circuit
        from iqm_client_async import AsyncIQMClient
        from iqm_client_async.emulator import Emulator

        async def main():
            assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
            async with Emulator(qpu="garnet", seed=3, workers=8) as emulator:
                async with AsyncIQMClient(emulator.url) as client, client.batch(progress=False) as batch:
                    for _ in range(200):
                        batch.submit_soon([bell_circuit()], shots=20)
                    outcomes = [outcome async for outcome in batch.as_completed()]
            bad = [o for o in outcomes if not o.ok or not all(s in ([0, 0], [1, 1]) for s in o.result[0]["m"])]
            print(len(outcomes), "outcomes", len(bad), "bad")

        uvloop.run(main())
        """
    )
    assert "200 outcomes 0 bad" in output


def test_under_trio_the_client_falls_back_to_httpx_transport() -> None:
    pytest.importorskip("trio")
    output = run_python(
        """
        import sys, anyio, sniffio
        sys.path.insert(0, "examples")
        from quickstart import bell_circuit
        from iqm_client_async import AsyncIQMClient
        from iqm_client_async.emulator import BlockingEmulator

        async def main(url):
            assert sniffio.current_async_library() == "trio"
            async with AsyncIQMClient(url) as client:
                job = await client.submit_circuits([bell_circuit()], shots=50)
                await job.wait_for_completion()
                shots = (await job.result())[0]["m"]
            print("trio", len(shots), all(s in ([0, 0], [1, 1]) for s in shots))

        with BlockingEmulator(qpu="garnet", seed=4) as emulator:
            anyio.run(main, emulator.url, backend="trio")
        """
    )
    assert "trio 50 True" in output
