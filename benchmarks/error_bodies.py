"""Benchmark — summarizing pathological error bodies: linear time, a size cap, milliseconds not seconds.

A proxy's error page is summarized into the message of an ``APIStatusError``. Until commit c425e4c the
summary used ``re.search(r"<title[^>]*>(.*?)</title>")`` and ``re.sub(r"<[^>]+>", ...)`` over the whole
body; both backtrack quadratically on bodies that open many tags and never close them: a 140 KB body of
repeated ``<title>`` took about 15 s, during which the event loop (every job of the client) stood still.

``error_from_response`` now looks at no more than 64 KiB, finds the title and strips tags in one pass
each. This benchmark times it on 1 MB pathological bodies, and times the previous regular expressions
(copied below as they were) on 140 KB — at 1 MB they would run for minutes. The "ref" column of the
140 KB line is that previous implementation, measured in the same run, not the reference client.
"""

from __future__ import annotations

import re
import time

import httpx

from iqm_client_async._error_bodies import error_from_response

from ._common import Measurement, Sizes, median

NAME = "error-bodies"
TARGET_MS = 50.0
_MB = 1_000_000


def _response(body: bytes) -> httpx.Response:
    request = httpx.Request(
        "GET", "https://iqm.example.com/api/v1/jobs/x", headers={"Authorization": "Bearer t0k"}
    )
    return httpx.Response(502, content=body, headers={"content-type": "text/html"}, request=request)


def _previous_summary(response: httpx.Response) -> str:
    """The summary as it was before c425e4c's successor (quadratic on unclosed tags)."""
    text = response.text
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    summary = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    return " ".join(summary.split())[:300] or "(empty body)"


def _median_ms(call: object, body: bytes, repeats: int) -> tuple[float, float, float]:
    response = _response(body)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call(response)  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1e3)
    return median(times), min(times), max(times)


def run(sizes: Sizes, *, with_reference: bool = True) -> list[Measurement]:
    """Time the summary of 1 MB pathological bodies (ours) and of 140 KB ones (ours and the previous code)."""
    del with_reference  # the comparison is with our previous implementation, always measured
    repeats = max(3, sizes.repeats)
    quick = sizes.repeats == 1
    bodies = {
        "1 MB of repeated <title>": b"<title>" * (_MB // 7),
        "1 MB of '<' (tags never closed)": b"<" * _MB,
        "1 MB of '<a' (tags never closed)": b"<a" * (_MB // 2),
        "1 MB JSON error message with control characters": b'{"message": "'
        + b"\\u001b[31m x" * (_MB // 12)
        + b'"}',
    }
    results = []
    for label, body in bodies.items():
        ours, low, high = _median_ms(error_from_response, body, repeats)
        results.append(
            Measurement(
                NAME,
                f"summary of {label}",
                ours,
                unit="ms",
                target=f"< {TARGET_MS:g} ms",
                met=ours < TARGET_MS,
                note=f"median of {repeats}, range {low:.2f}-{high:.2f} ms",
            )
        )
    small = b"<title>" * ((14_000 if quick else 140_000) // 7)
    ours, low, high = _median_ms(error_from_response, small, repeats)
    before, before_low, before_high = _median_ms(_previous_summary, small, 1 if not quick else repeats)
    results.append(
        Measurement(
            NAME,
            f"summary of {len(small) // 1000} KB of repeated <title>: ours vs previous regexes",
            ours,
            reference=before,
            unit="ms",
            note=(
                f"ours median of {repeats}, range {low:.2f}-{high:.2f} ms; previous implementation (c425e4c) "
                f"in the ref column, {before_low:.0f}-{before_high:.0f} ms"
            ),
        )
    )
    return results
