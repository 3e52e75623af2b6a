"""Developer sessions: ``nox -s tests lint typecheck`` is what CI runs (see README)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

# The reference client with IQM's Qiskit adapter: its qiskit<2.2 installs beside ours (qiskit>=2.1)
REFERENCE = "iqm-client[qiskit]==35.0.3"
REFERENCE_VERSIONS = ["35.0.3", "36.0.0"]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (unit tests, emulator over loopback HTTP, notebooks, the Qiskit adapter)."""
    session.install("-e", ".[emulator,test,qiskit]")
    session.run("pytest", "--ignore=tests/compat", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[emulator,test]", "mypy==2.4.1", "types-protobuf")
    session.run("mypy", "--strict", "iqm_client_async")


@nox.session
@nox.parametrize("reference", REFERENCE_VERSIONS)
def compat(session: nox.Session, reference: str) -> None:
    """IQM's own client (35.0.3 and 36.0.0, one venv each) drives our emulator end to end.

    Each venv also checks what we claim about that version against the installed package (the
    iqm-client 36 surface file; for 35, the model and calibration cross-checks other sessions skip,
    and IQM's Qiskit adapter beside ours on the same emulator).
    """
    if reference.startswith("35."):
        session.install("-e", ".[emulator,test,qiskit]", f"iqm-client[qiskit]=={reference}")
        cross_checks = [
            "tests/test_models.py",
            "tests/test_calibration.py",
            "tests/test_channel_properties.py",
            "tests/emulator/test_presets.py",
            "tests/qiskit/compat",
        ]
    else:
        session.install("-e", ".[emulator,test]", f"iqm-client=={reference}")
        cross_checks = ["tests/test_iqm36_surface.py"]
    session.run("pytest", "tests/compat", *cross_checks, *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the emulator and the reference, printing ratios measured in the same run."""
    session.install("-e", ".[emulator,test,qiskit]", REFERENCE)
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def faults(session: nox.Session) -> None:
    """The fault campaign: 1000 jobs against an emulator injecting faults, with a restart mid-run."""
    session.install("-e", ".[emulator,test]")
    session.run("python", "scripts/fault_campaign.py", "--jobs", "1000", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """schemathesis against the emulator's /openapi.json: fails on any 5xx or response slower than 5 s."""
    session.install("-e", ".[emulator]", "schemathesis==4.32.5")
    session.run("python", "scripts/fuzz_emulator.py", "--max-examples", "300", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site: ``mkdocs build --strict``, then a check that the API reference covers every public name."""
    session.install("-e", ".[docs]")
    site = "build/site"
    session.run("mkdocs", "build", "--strict", "--site-dir", site, env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("python", "docs/_check_reference.py", f"{site}/objects.inv")
