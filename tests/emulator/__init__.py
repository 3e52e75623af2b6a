"""Tests of the emulator (a package, so its conftest does not shadow tests/conftest.py on sys.path)."""
