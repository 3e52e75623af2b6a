"""``python -m benchmarks``: run the benchmarks and print our numbers next to the reference's.

Examples::

    python -m benchmarks                       # everything, full sizes (a few minutes)
    python -m benchmarks --quick               # everything, tiny sizes (smoke test)
    python -m benchmarks submit facade         # only these
    python -m benchmarks many-jobs --jobs 500 --no-reference
    python -m benchmarks matrix --cells 4x50,unboundedx300 --matrix-repeats 3
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import (
    emulator,
    error_bodies,
    facade,
    latency,
    many_jobs,
    matrix,
    memory,
    polling,
    qiskit_bench,
    submit_path,
    transport,
)
from ._common import FULL, QUICK, Measurement, Sizes, load_reference

BENCHMARKS: dict[str, Callable[..., list[Measurement]]] = {
    "submit": submit_path.run,
    "facade": facade.run,
    "many-jobs": many_jobs.run,
    "latency": latency.run,
    "polling": polling.run,
    "matrix": matrix.run,
    "memory": memory.run,
    "emulator": emulator.run,
    "transport": transport.run,
    "error-bodies": error_bodies.run,
    "qiskit": qiskit_bench.run,
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "benchmarks",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of a few seconds")
    parser.add_argument("--no-reference", action="store_true", help="measure only our client")
    parser.add_argument("--repeats", type=int, help="rounds per timing (median reported)")
    parser.add_argument("--circuits", type=int, help="submit: circuits per batch")
    parser.add_argument("--instructions", type=int, help="submit: instructions per circuit")
    parser.add_argument("--jobs", type=int, help="many-jobs: number of jobs")
    parser.add_argument("--matrix-repeats", type=int, help="matrix: runs per cell and client")
    parser.add_argument(
        "--cells", help="matrix: comma-separated cells, e.g. 4x50,unboundedx300,unboundedx50-mixed"
    )
    parser.add_argument("--memory-jobs", type=int, help="memory: jobs in flight")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return parser


def sizes_from_args(args: argparse.Namespace) -> Sizes:
    """The preset sizes (``--quick`` or full) with the individual overrides applied."""
    sizes = QUICK if args.quick else FULL
    overrides = {
        "repeats": args.repeats,
        "submit_circuits": args.circuits,
        "submit_instructions": args.instructions,
        "many_jobs": args.jobs,
        "memory_jobs": args.memory_jobs,
        "matrix_repeats": args.matrix_repeats,
        "matrix_cells": tuple(args.cells.split(",")) if args.cells else None,
    }
    return dataclasses.replace(
        sizes, **{name: value for name, value in overrides.items() if value is not None}
    )


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def format_row(result: Measurement) -> str:
    """One table line (metric, ours, reference, ratio, target, verdict), and the note on a second line."""
    ratio = "" if result.ratio is None else f"ratio {result.ratio:.1f}x"
    verdict = {True: "MET", False: "MISSED", None: ""}[result.met]
    unit = f" {result.unit}" if result.unit else ""
    line = (
        f"  {result.metric:<66} ours {_number(result.ours):>8}{unit:<16} "
        f"ref {_number(result.reference):>8}  {ratio:<13} {result.target:<34} {verdict}"
    )
    note = f"\n      ({result.note})" if result.note else ""
    return line.rstrip() + note


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected benchmarks; print each one's table as soon as it is done."""
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [name for name in args.benchmarks if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    sizes = sizes_from_args(args)
    with_reference = not args.no_reference and load_reference() is not None
    names = args.benchmarks or list(BENCHMARKS)
    print(
        f"iqm-client-async benchmarks, {datetime.datetime.now():%Y-%m-%d %H:%M}, "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"reference {'iqm-client 35.0.3' if with_reference else 'not measured'}, "
        f"{'quick' if args.quick else 'full'} sizes",
        flush=True,
    )
    print("  ratio = reference value / our value, both measured in this run", flush=True)
    everything: list[Measurement] = []
    for name in names:
        print(f"\n[{name}]", flush=True)
        started = time.perf_counter()
        results = BENCHMARKS[name](sizes, with_reference=with_reference)
        for result in results:
            print(format_row(result), flush=True)
        print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
        everything += results
    missed = [r for r in everything if r.met is False]
    print(f"\n{sum(r.met is True for r in everything)} targets met, {len(missed)} missed", flush=True)
    for result in missed:
        print(f"  missed: {result.benchmark}: {result.metric} ({result.target})")
    if args.json is not None:
        args.json.write_text(
            json.dumps([dataclasses.asdict(r) | {"ratio": r.ratio} for r in everything], indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
