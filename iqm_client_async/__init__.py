"""Async-first client for the IQM Server REST API."""
