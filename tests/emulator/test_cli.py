"""The command line: options map onto the settings; the server prints its URL and stops cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from iqm_client_async.emulator import EmulatorSettings, FaultKind
from iqm_client_async.emulator.__main__ import build_parser, main, settings_from_args


def test_options_map_onto_settings(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        [
            "--host=127.0.0.1",
            "--port=0",
            "--qpu=deneb",
            "--seed=5",
            "--latency-ms=2",
            "--job-duration-ms=30",
            "--workers=3",
            "--token=t",
            "--noise=calibrated",
            "--faults=503:0.1,lost:0.01",
            "--slow-delay-s=4",
            "--retry-after-s=0",
            f"--db={tmp_path / 'jobs.sqlite'}",
        ]
    )

    settings = settings_from_args(args)

    assert settings.qpu == "deneb"
    assert (settings.seed, settings.latency_ms, settings.job_duration_ms, settings.workers) == (
        5,
        2.0,
        30.0,
        3,
    )
    assert (settings.token, settings.noise, settings.slow_delay_s, settings.retry_after_s) == (
        "t",
        "calibrated",
        4,
        0,
    )
    assert settings.faults.rate(FaultKind.UNAVAILABLE) == 0.1
    assert settings.db == tmp_path / "jobs.sqlite"


def test_defaults_match_the_settings_defaults() -> None:
    settings = settings_from_args(build_parser().parse_args([]))

    assert settings.replace(port=0) == EmulatorSettings()
    assert settings.port == 8000


@pytest.mark.parametrize("argv", [["--faults=teapot:0.1"], ["--workers=0"], ["--qpu=sirius"]])
def test_invalid_options_exit_with_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)

    assert caught.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_serves_until_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "iqm_client_async.emulator", "--port=0", "--qpu=adonis", "--seed=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = banner.split(" at ")[1].split()[0]
        response = httpx.get(f"{url}/api/v1/quantum-computers", timeout=5)
        assert response.json()["quantum_computers"][0]["alias"] == "adonis"

        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
        process.wait()

    assert "Adonis" in banner
    assert process.returncode == 0, err
    assert "Emulator stopped." in out
    assert "Traceback" not in err
