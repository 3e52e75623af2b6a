"""Command line: ``python -m iqm_client_async.emulator [options]`` serves an emulated IQM Server until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from iqm_client_async.emulator.faults import FaultSpec, FaultSpecError
from iqm_client_async.emulator.presets import PRESET_NAMES
from iqm_client_async.emulator.server import Emulator
from iqm_client_async.emulator.settings import EmulatorConfigurationError, EmulatorSettings

_FAULTS_HELP = """\
fault kinds for --faults (the fraction of requests meeting each; one seeded draw per request):
  503    answered 503 Service Unavailable, the API is not reached
  429    answered 429 Too Many Requests with Retry-After (--retry-after-s), the API is not reached
  reset  the connection is dropped without a response, the API is not reached
  slow   processed normally, the response held back for --slow-delay-s (past a client's timeout)
  lost   submissions only: the job is created, then the connection is dropped

example: python -m iqm_client_async.emulator --port 8000 --qpu garnet --seed 1 --faults 503:0.1,lost:0.01
"""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option shows its default; the epilog keeps its line breaks."""


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (one option per ``EmulatorSettings`` field)."""
    parser = argparse.ArgumentParser(
        prog="python -m iqm_client_async.emulator",
        description="Serve an emulated IQM Server (REST API of a circuit-running QPU) until Ctrl-C.",
        formatter_class=_HelpFormatter,
        epilog=_FAULTS_HELP,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port, 0 for a free one")
    parser.add_argument("--qpu", default="garnet", choices=PRESET_NAMES, help="QPU preset")
    parser.add_argument("--seed", type=int, default=None, help="seed for sampling and faults (None: random)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every response")
    parser.add_argument("--job-duration-ms", type=float, default=0.0, help="minimum execution time of a job")
    parser.add_argument(
        "--circuit-duration-ms", type=float, default=0.0, help="minimum execution time added per circuit"
    )
    parser.add_argument(
        "--shot-duration-us",
        type=float,
        default=0.0,
        help="minimum execution time added per shot of each circuit, in microseconds",
    )
    parser.add_argument("--workers", type=int, default=1, help="execution slots")
    parser.add_argument(
        "--token", default=None, help="require 'Authorization: Bearer TOKEN' on every request"
    )
    parser.add_argument(
        "--noise",
        default="none",
        choices=("none", "calibrated"),
        help="simulated noise",
    )
    parser.add_argument(
        "--faults",
        default="",
        metavar="SPEC",
        help="injected faults as kind:rate pairs, e.g. 503:0.1,429:0.05,reset:0.03,slow:0.02,lost:0.01",
    )
    parser.add_argument("--slow-delay-s", type=float, default=30.0, help="delay of 'slow' faults")
    parser.add_argument("--retry-after-s", type=int, default=1, help="Retry-After of injected 429s")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file keeping jobs across restarts")
    parser.add_argument(
        "--log-level", default="warning", choices=("debug", "info", "warning", "error"), help="log level"
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> EmulatorSettings:
    """``EmulatorSettings`` from parsed command-line arguments.

    Raises:
        EmulatorConfigurationError: an option value is invalid.
    """
    try:
        faults = FaultSpec.parse(args.faults)
    except FaultSpecError as exc:
        raise EmulatorConfigurationError(str(exc)) from None
    return EmulatorSettings(
        host=args.host,
        port=args.port,
        qpu=args.qpu,
        seed=args.seed,
        latency_ms=args.latency_ms,
        job_duration_ms=args.job_duration_ms,
        circuit_duration_ms=args.circuit_duration_ms,
        shot_duration_us=args.shot_duration_us,
        workers=args.workers,
        token=args.token,
        noise=args.noise,
        faults=faults,
        slow_delay_s=args.slow_delay_s,
        retry_after_s=args.retry_after_s,
        db=args.db,
    )


async def serve(settings: EmulatorSettings) -> None:
    """Run the emulator until cancelled (Ctrl-C) or terminated (SIGTERM)."""
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()
    async with Emulator(settings) as emulator:
        loop.add_signal_handler(signal.SIGTERM, main_task.cancel)
        core = emulator.core
        print(
            f"IQM Server emulator: {core.preset.display_name} ({len(core.preset.qubits)} qubits, "
            f"noise {settings.noise}) at {emulator.url}  (Ctrl-C to stop)",
            flush=True,
        )
        try:
            await emulator.serve_forever()
        finally:
            loop.remove_signal_handler(signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and serve; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
    except EmulatorConfigurationError as exc:
        parser.error(exc.message)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(serve(settings))
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    except OSError as exc:
        print(f"Cannot start the emulator: {exc}", file=sys.stderr)
        return 1
    print("Emulator stopped.", flush=True)
    return 0


def exit_now(status: int) -> NoReturn:
    """End the process without the interpreter's teardown.

    Once ``main`` returns, the store is closed and no thread is working; tearing down the modules and
    the stored jobs' objects took another 0.5-1 s (more on a busy machine) of a stop that should take
    less than 2 s.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    exit_now(main())
