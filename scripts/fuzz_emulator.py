"""Fuzz the emulator with schemathesis, from its own OpenAPI document (``nox -s fuzz``).

Starts ``python -m iqm_client_async.emulator`` on a free loopback port, runs ``schemathesis run`` against
``/openapi.json`` for a bounded number of examples per operation, then checks that the emulator still
answers ``/about`` and stops it with SIGTERM. Fails (exit status 1) on any 5xx, any response slower than
5 s, any response that its documented status codes, content types or schemas do not describe, or an
emulator that died. Extra arguments go to ``schemathesis run``.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "unsupported_method",
    ]
)
MAX_RESPONSE_TIME_S = 5


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[str]) -> None:
    """Poll ``/about`` until the emulator answers (at most 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the emulator exited with status {process.returncode} while starting")
        try:
            httpx.get(f"{url}/about", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit("the emulator did not start within 30 s")


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz session; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=1, help="schemathesis seed (reproducible runs)")
    args, extra = parser.parse_known_args(argv)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen(  # noqa: S603 (a fixed command line)
        [
            sys.executable,
            "-m",
            "iqm_client_async.emulator",
            "--port",
            str(port),
            "--seed",
            "1",
            "--workers",
            "2",
        ],
        text=True,
    )
    try:
        wait_until_up(url, emulator)
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{url}/openapi.json",
            "--checks",
            CHECKS,
            "--max-response-time",
            str(MAX_RESPONSE_TIME_S),
            "--max-examples",
            str(args.max_examples),
            "--seed",
            str(args.seed),
            "--workers",  # one: schemathesis's coverage phase hits a CPython 3.11 ast.parse race with more
            "1",
            "--continue-on-failure",
            *extra,
        ]
        print("$", " ".join(command), flush=True)
        with (
            tempfile.TemporaryDirectory() as scratch
        ):  # schemathesis keeps its state in the working directory
            status = subprocess.run(command, check=False, cwd=scratch).returncode  # noqa: S603 (a fixed command line)
        try:
            about = httpx.get(f"{url}/about", timeout=MAX_RESPONSE_TIME_S)
            print(
                f"/about after fuzzing: {about.status_code}; counters: {about.json()['counters']}", flush=True
            )
            alive = about.status_code == 200
        except httpx.HTTPError as exc:
            print(f"the emulator no longer answers /about: {exc!r}", flush=True)
            alive = False
    finally:
        emulator.send_signal(signal.SIGTERM)
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()
            emulator.wait()
    return 0 if status == 0 and alive else 1


if __name__ == "__main__":
    sys.exit(main())
