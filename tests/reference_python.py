"""Where the reference client (iqm-client 35.0.3) can be run, for tests that cross-check against it.

The nox ``compat`` session installs it next to this package, so there it is ``sys.executable``;
``IQM_REFERENCE_PYTHON`` points elsewhere; a developer may have it in ``/work/refvenv``.
Tests that need it are skipped when none of these exists.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path


def _find() -> Path:
    configured = os.environ.get("IQM_REFERENCE_PYTHON")
    if configured:
        return Path(configured)
    if importlib.util.find_spec("iqm") is not None and importlib.util.find_spec("iqm.iqm_client") is not None:
        return Path(sys.executable)
    return Path("/work/refvenv/bin/python")


REFERENCE_PYTHON = _find()


REFERENCE_MISSING = (
    "the reference iqm-client 35.0.3 is not installed: run `nox -s compat` (or set IQM_REFERENCE_PYTHON)"
)
"""Why a cross-check against the reference is skipped, and how to run it."""
