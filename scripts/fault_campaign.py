"""The fault campaign: many jobs against an emulator that injects faults, restarted once mid-run.

Every job is a one-circuit job whose result is known in advance: job ``i`` flips the qubits set in the
binary pattern of ``i`` (a PRX(pi) each), measures them under the key ``job<i>``, and must read exactly
that pattern in every shot. The emulator answers a fraction of all requests with 503, 429 (with
``Retry-After``), a dropped connection, a response held back past the client's timeout, or (for
submissions) a dropped connection after the job was stored. Halfway through, while jobs are queued,
running and being submitted, the emulator is stopped and started again on the same port and database,
and the bearer token is rotated at the same moment: the tokens file gets the new token and the restarted
emulator accepts only that one.

The run passes when every job's results are exactly right, the server created exactly one job per
logical submission (emulator counters and the job database agree), no job ran to completion twice, and
nothing raised. The summary lists the total time, faults injected by kind and the client's retries.

    python scripts/fault_campaign.py --jobs 1000 --seed 7

Exit status: 0 when the run passed, 1 when any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import pi
from pathlib import Path
from typing import Any, Literal

import anyio

from iqm_client_async import (
    APIStatusError,
    AsyncIQMClient,
    Circuit,
    CircuitOperation,
    JobBatch,
    JobOutcome,
    JobStatus,
)
from iqm_client_async.emulator import Emulator, EmulatorCore
from iqm_client_async.emulator.store import JobStore

DEFAULT_FAULTS = "503:0.1,429:0.05,reset:0.03,slow:0.02,lost:0.01"
QPU = "garnet"
QPU_QUBITS = 20
SHOTS = 2
_RETRY_LOG_PREFIX = "Retrying after"


@dataclass(frozen=True, slots=True)
class CampaignConfig:
    """How the campaign runs.

    Attributes:
        jobs: logical job submissions.
        seed: seeds the emulator's sampling and fault injection.
        faults: the emulator's fault spec.
        timeout: the client's per-request timeout (seconds).
        slow_delay_s: how long the emulator holds back ``slow`` responses; above ``timeout`` so they time out.
        retry_after_s: ``Retry-After`` of injected 429s.
        max_retries: the client's retry budget per request.
        workers: the emulator's execution slots.
        restart_after: fraction of the jobs submitted when the emulator restarts.
        deadline_s: the batch deadline; a run that takes longer counts as a hang.
        idempotent_submissions: the client's setting (``None``: ask the server's ``/about``).
        max_concurrent_submissions: submissions in flight at once.
    """

    jobs: int = 1000
    seed: int = 1
    faults: str = DEFAULT_FAULTS
    timeout: float = 2.0
    slow_delay_s: float = 2.5
    retry_after_s: int = 1
    max_retries: int = 10
    workers: int = 2
    restart_after: float = 0.5
    deadline_s: float = 900.0
    idempotent_submissions: bool | None = None
    max_concurrent_submissions: int = 16


@dataclass(slots=True)
class CampaignReport:
    """What a campaign measured, and every check that failed (``violations``)."""

    config: CampaignConfig
    seconds: float = 0.0
    jobs_correct: int = 0
    stats: list[dict[str, Any]] = field(default_factory=list)
    retries: Counter[str] = field(default_factory=Counter)
    restart_seconds: float | None = None
    in_flight_at_restart: int = 0
    stored_jobs: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every check held."""
        return not self.violations

    def total(self, counter: str) -> int:
        """A counter summed over the emulator's runs (before and after the restart)."""
        return sum(int(stats[counter]) for stats in self.stats)

    def faults(self) -> Counter[str]:
        """Faults injected, by kind, summed over the emulator's runs."""
        return sum((Counter(stats["faults_injected"]) for stats in self.stats), Counter())

    def summary(self) -> str:
        """A human-readable multi-line summary."""
        config = self.config
        faults = self.faults()
        retries = ", ".join(f"{cause} {count}" for cause, count in self.retries.most_common()) or "none"
        restart = (
            "did not happen"
            if self.restart_seconds is None
            else f"took {self.restart_seconds:.2f} s, {self.in_flight_at_restart} jobs unfinished at that moment"
        )
        lines = [
            f"Fault campaign: {config.jobs} jobs, seed {config.seed}, faults {config.faults}",
            f"  client: timeout {config.timeout} s, max_retries {config.max_retries}, "
            f"idempotent_submissions {config.idempotent_submissions}",
            f"  total time            {self.seconds:.1f} s ({config.jobs / max(self.seconds, 1e-9):.1f} jobs/s)",
            f"  jobs correct          {self.jobs_correct}/{config.jobs}",
            f"  jobs created          {self.total('jobs_created')} (stored: {self.stored_jobs})",
            f"  jobs completed        {self.total('jobs_completed')}",
            f"  submissions received  {self.total('submissions')} "
            f"(idempotent replays {self.total('idempotent_replays')})",
            f"  requests served       {self.total('requests_served')}",
            f"  faults injected       {sum(faults.values())}: "
            + ", ".join(f"{kind} {count}" for kind, count in sorted(faults.items())),
            f"  client retries        {sum(self.retries.values())}: {retries}",
            f"  401s (token rotation) {self.total('unauthorized_requests')}",
            f"  restart               {restart}",
        ]
        if self.violations:
            lines.append(f"FAILED: {len(self.violations)} violation(s)")
            lines.extend(f"  - {violation}" for violation in self.violations)
        else:
            lines.append("PASSED")
        return "\n".join(lines)


def qubits_for(jobs: int) -> int:
    """Qubits needed to give each of ``jobs`` jobs its own flip pattern.

    Raises:
        ValueError: more jobs than the QPU has distinct patterns.
    """
    needed = max(1, (jobs - 1).bit_length())
    if needed > QPU_QUBITS:
        raise ValueError(f"At most {2**QPU_QUBITS} jobs are supported")
    return needed


def expected_bits(index: int, width: int) -> list[int]:
    """The pattern job ``index`` must measure: bit ``q`` of the index on qubit ``QB<q+1>``."""
    return [(index >> bit) & 1 for bit in range(width)]


def job_circuit(index: int, width: int) -> Circuit:
    """Job ``index``'s circuit: PRX(pi) on the qubits of its pattern, then measure all ``width`` qubits."""
    qubits = tuple(f"QB{bit + 1}" for bit in range(width))
    flips = tuple(
        CircuitOperation("prx", (qubit,), {"angle": pi, "phase": 0.0})
        for qubit, bit in zip(qubits, expected_bits(index, width), strict=True)
        if bit
    )
    return Circuit(f"job{index}", (*flips, CircuitOperation("measure", qubits, {"key": f"job{index}"})))


def make_token(label: str, *, lifetime_s: float = 3600.0) -> str:
    """An unsigned JWT-shaped bearer token with an ``exp`` claim (the client reads ``exp`` only)."""

    def encode(document: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    claims = {"sub": label, "exp": int(time.time() + lifetime_s)}
    return f"{encode({'alg': 'none', 'typ': 'JWT'})}.{encode(claims)}.{label}"


def write_tokens_file(path: Path, token: str) -> None:
    """Replace the tokens file atomically (as a token manager would)."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"access_token": token}), encoding="utf-8")
    partial.replace(path)


class RetryCounter(logging.Handler):
    """Counts the client's retries by cause, from its ``Retrying after ...`` log records."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.by_cause: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if not isinstance(record.msg, str) or not record.msg.startswith(_RETRY_LOG_PREFIX):
            return
        cause = record.args[0] if isinstance(record.args, tuple) and record.args else None
        self.by_cause[_cause_name(cause)] += 1


def _cause_name(error: object) -> str:
    if isinstance(error, APIStatusError):
        return f"HTTP {error.status_code}"
    inner = getattr(error, "cause", None) or getattr(error, "error", None)  # the client's private wrappers
    if inner is not None and not isinstance(inner, str):
        return f"{type(error).__name__.lstrip('_')}({type(inner).__name__})"
    return type(error).__name__


async def run_campaign(config: CampaignConfig, workdir: Path) -> CampaignReport:
    """Run the campaign with its database and tokens file in ``workdir``; never raises for a failed check.

    Returns:
        The measurements and the list of violated checks.
    """
    run = _CampaignRun(config, workdir)
    retry_counter = RetryCounter()
    client_logger = logging.getLogger("iqm_client_async")
    saved_level = client_logger.level
    client_logger.addHandler(retry_counter)
    client_logger.setLevel(logging.INFO)
    started = time.perf_counter()
    try:
        await run.run()
    except Exception as exc:
        for error in _leaf_exceptions(exc):
            run.report.violations.append(f"unhandled exception: {type(error).__name__}: {error}")
        logging.getLogger(__name__).debug("Campaign failed", exc_info=True)
    finally:
        run.report.seconds = time.perf_counter() - started
        await run.emulator.stop()
        client_logger.removeHandler(retry_counter)
        client_logger.setLevel(saved_level)
    run.report.stats = [core.stats() for core in run.cores]
    run.report.retries = retry_counter.by_cause
    await _check_server_side(config, run.db, run.job_ids, run.report)
    return run.report


def _leaf_exceptions(error: BaseException) -> list[BaseException]:
    """The exceptions inside (possibly nested) exception groups."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaf_exceptions(inner)]
    return [error]


class _CampaignRun:
    """One campaign's emulator, tokens and bookkeeping."""

    def __init__(self, config: CampaignConfig, workdir: Path) -> None:
        self.config = config
        self.report = CampaignReport(config)
        self.width = qubits_for(config.jobs)
        self.db = workdir / "jobs.db"
        self.tokens_file = workdir / "tokens.json"
        self.next_token = make_token("campaign-2")
        first_token = make_token("campaign-1")
        write_tokens_file(self.tokens_file, first_token)
        self.emulator = Emulator(
            qpu=QPU,
            seed=config.seed,
            faults=config.faults,
            db=self.db,
            token=first_token,
            workers=config.workers,
            slow_delay_s=config.slow_delay_s,
            retry_after_s=config.retry_after_s,
        )
        self.cores: list[EmulatorCore] = []  # one per emulator run: their counters add up
        self.job_ids: dict[int, str] = {}

    async def run(self) -> None:
        """Start the emulator, submit every job through one batch, restart mid-run, check each outcome."""
        config = self.config
        await self.emulator.start()
        self.cores.append(self.emulator.core)
        client = AsyncIQMClient(
            self.emulator.url,
            tokens_file=str(self.tokens_file),
            timeout=config.timeout,
            max_retries=config.max_retries,
            idempotent_submissions=config.idempotent_submissions,
        )
        seen: Counter[int] = Counter()
        async with (
            client,
            anyio.create_task_group() as restarts,
            client.batch(
                timeout=config.deadline_s,
                progress=False,
                max_concurrent_submissions=config.max_concurrent_submissions,
            ) as batch,
        ):
            restarts.start_soon(self._restart_mid_run, batch)
            for index in range(config.jobs):
                batch.submit_soon([job_circuit(index, self.width)], shots=SHOTS)
            async for outcome in batch.as_completed():
                reported = self._check_outcome(outcome)
                if reported is not None:
                    seen[reported] += 1
        missing = [index for index in range(config.jobs) if not seen[index]]
        repeated = [index for index, count in seen.items() if count > 1]
        if missing:
            self.report.violations.append(f"{len(missing)} jobs never reported: {missing[:10]}")
        if repeated:
            self.report.violations.append(f"{len(repeated)} jobs reported more than once: {repeated[:10]}")
        if len(set(self.job_ids.values())) != len(self.job_ids):
            self.report.violations.append("two logical jobs got the same server job id")

    def _check_outcome(self, outcome: JobOutcome) -> int | None:
        """Compare one outcome with its job's known result; return the job's index (None if unknown)."""
        results = outcome.result
        key = next(iter(results[0]), "") if results else ""
        if not key.startswith("job") or not key[3:].isdigit():
            self.report.violations.append(
                f"job {outcome.job.job_id} ended {outcome.status.value} without recognizable results"
            )
            return None
        index = int(key[3:])
        self.job_ids[index] = str(outcome.job.job_id)
        expected = [{key: [expected_bits(index, self.width)] * SHOTS}]
        if results != expected:
            self.report.violations.append(f"job {index}: expected {expected}, got {results}")
        else:
            self.report.jobs_correct += 1
        return index

    async def _restart_mid_run(self, batch: JobBatch) -> None:
        """Once enough jobs are submitted: rotate the token and restart the emulator (same port and db)."""
        threshold = max(1, int(self.config.jobs * self.config.restart_after))
        async for snapshot in batch.progress_events():
            if snapshot.submitted >= threshold:
                self.report.in_flight_at_restart = self.config.jobs - snapshot.finished
                break
        write_tokens_file(self.tokens_file, self.next_token)
        self.emulator.settings = self.emulator.settings.replace(token=self.next_token)
        began = time.perf_counter()
        await self.emulator.restart()
        self.report.restart_seconds = time.perf_counter() - began
        self.cores.append(self.emulator.core)


async def _check_server_side(
    config: CampaignConfig, db: Path, job_ids: dict[int, str], report: CampaignReport
) -> None:
    """Compare what the server created and stored with what the client submitted."""
    created = report.total("jobs_created")
    completed = report.total("jobs_completed")
    if created != config.jobs:
        report.violations.append(f"the emulator created {created} jobs for {config.jobs} submissions")
    if completed != config.jobs:
        report.violations.append(f"the emulator completed {completed} jobs for {config.jobs} submissions")
    if report.restart_seconds is None:
        report.violations.append("the emulator was not restarted")
    elif report.in_flight_at_restart == 0:
        report.violations.append("no job was in flight when the emulator restarted")
    store = JobStore(db, qpu=QPU)
    await store.open()
    try:
        stored = list(store.jobs.values())
    finally:
        await store.close()
    report.stored_jobs = len(stored)
    keys = [record.idempotency_key for record in stored]
    if None in keys or len(set(keys)) != len(keys):
        report.violations.append("stored jobs without an idempotency key, or two with the same key")
    if len(stored) != config.jobs:
        report.violations.append(f"the job database holds {len(stored)} jobs for {config.jobs} submissions")
    unaccounted = {record.id for record in stored} - set(job_ids.values())
    if unaccounted:
        report.violations.append(
            f"{len(unaccounted)} stored jobs no logical job got back: {sorted(unaccounted)[:5]}"
        )
    unfinished = [record.id for record in stored if record.status.value != JobStatus.COMPLETED.value]
    if unfinished:
        report.violations.append(f"{len(unfinished)} stored jobs are not completed: {unfinished[:5]}")


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    defaults = CampaignConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--jobs", type=int, default=defaults.jobs, help="jobs to submit (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="emulator seed (default: %(default)s)"
    )
    parser.add_argument("--faults", default=defaults.faults, help="fault spec (default: %(default)s)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=defaults.timeout,
        help="client request timeout, s (default: %(default)s)",
    )
    parser.add_argument(
        "--slow-delay-s",
        type=float,
        default=defaults.slow_delay_s,
        help="hold-back of 'slow' faults, s (default: %(default)s)",
    )
    parser.add_argument(
        "--retry-after-s",
        type=int,
        default=defaults.retry_after_s,
        help="Retry-After of 429s (default: %(default)s)",
    )
    parser.add_argument(
        "--max-retries", type=int, default=defaults.max_retries, help="client retries (default: %(default)s)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help="emulator execution slots (default: %(default)s)",
    )
    parser.add_argument(
        "--deadline-s",
        type=float,
        default=defaults.deadline_s,
        help="batch deadline, s (default: %(default)s)",
    )
    parser.add_argument(
        "--idempotent-submissions",
        choices=("auto", "true"),
        default="auto",
        help="client setting: 'auto' asks the server's /about after an ambiguous failure (default: %(default)s)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> CampaignConfig:
    """The campaign configuration from parsed arguments."""
    idempotency: Literal["auto", "true"] = args.idempotent_submissions
    return CampaignConfig(
        jobs=args.jobs,
        seed=args.seed,
        faults=args.faults,
        timeout=args.timeout,
        slow_delay_s=args.slow_delay_s,
        retry_after_s=args.retry_after_s,
        max_retries=args.max_retries,
        workers=args.workers,
        deadline_s=args.deadline_s,
        idempotent_submissions=None if idempotency == "auto" else True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the campaign from the command line; returns the exit status (1 on any violation)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        qubits_for(config.jobs)
    except ValueError as exc:
        parser.error(str(exc))
    with tempfile.TemporaryDirectory(prefix="fault-campaign-") as workdir:
        report = asyncio.run(run_campaign(config, Path(workdir)))
    print(report.summary(), flush=True)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
