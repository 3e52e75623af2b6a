"""Benchmarks of iqm-client-async against the reference iqm-client 35.0.3, measured in the same run.

Run ``python -m benchmarks`` (``--help`` for the options, ``--quick`` for a fast smoke run); the nox
session ``bench`` installs both clients and does exactly that. See ``benchmarks/README.md``.
"""
