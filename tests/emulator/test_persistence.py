"""Jobs kept in SQLite survive a restart; unfinished ones run again; memory-only emulators forget."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from iqm_client_async.emulator import Emulator, StoreError

from .server_helpers import flip, run_request, submit, wait_for


@pytest.mark.asyncio
async def test_jobs_survive_a_restart_on_the_same_port(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite"
    async with Emulator(db=db, job_duration_ms=300, workers=1, seed=1) as emulator:
        url = emulator.url
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            done_id = (
                await submit(client, run_request(flip(), shots=4), **{"Idempotency-Key": "done"})
            ).json()["id"]
            done = await wait_for(client, done_id)
            running_id = (await submit(client, **{"Idempotency-Key": "running"})).json()["id"]
            waiting_id = (await submit(client)).json()["id"]
            deleted_id = (await submit(client)).json()["id"]
            await client.delete(f"/api/v1/jobs/{deleted_id}")
            await wait_for(client, running_id, {"processing"})

        await emulator.restart()

        assert emulator.url == url
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            assert (await client.get(f"/api/v1/jobs/{done_id}")).json() == done
            measurements = await client.get(f"/api/v1/jobs/{done_id}/artifacts/measurements")
            assert measurements.json() == [{"m": [[1]] * 4}]
            assert (await client.get(f"/api/v1/jobs/{deleted_id}")).status_code == 404
            requeued = (await client.get(f"/api/v1/jobs/{waiting_id}")).json()
            assert requeued["status"] in ("waiting", "processing")
            assert ("iqm-server", "requeued") in [(e["source"], e["status"]) for e in requeued["timeline"]]
            replay = await submit(client, **{"Idempotency-Key": "running"})
            assert replay.json()["id"] == running_id
            for job_id in (running_id, waiting_id):
                assert (await wait_for(client, job_id))["status"] == "completed"
            payload = (await client.get(f"/api/v1/jobs/{waiting_id}/payload")).json()
            assert payload["shots"] == 20
            new_id = (await submit(client)).json()["id"]
            assert new_id not in (done_id, running_id, waiting_id, deleted_id)


@pytest.mark.asyncio
async def test_memory_only_restart_forgets_jobs() -> None:
    async with Emulator(serve_http=False) as emulator:
        async with httpx.AsyncClient(transport=emulator.transport(), base_url="http://e") as client:
            job_id = (await submit(client)).json()["id"]
        await emulator.restart()
        async with httpx.AsyncClient(transport=emulator.transport(), base_url="http://e") as client:
            assert (await client.get(f"/api/v1/jobs/{job_id}")).status_code == 404


@pytest.mark.asyncio
async def test_a_database_of_another_qpu_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite"
    async with Emulator(db=db, qpu="adonis", serve_http=False):
        pass

    with pytest.raises(StoreError, match="adonis"):
        async with Emulator(db=db, qpu="garnet", serve_http=False):
            pass
