"""Report formats by name: the one place that maps `--format` to a renderer.

Main function: `render_report(results, output_format, timings)`; `FORMATS` lists the
names in the order `--help` shows them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..run.check import CaseResult
from .ci import Timings, render_github, render_junit
from .text import render_json, render_text

__all__ = ["FORMATS", "render_report"]

FORMATS = ("text", "json", "junit", "github")


def render_report(
    results: Sequence[CaseResult], output_format: str, timings: Timings | None = None
) -> str:
    """The report in `output_format`, without a final newline.

    Args:
        results: the results, in report order.
        output_format: one of FORMATS.
        timings: durations for the JUnit report; None keeps it the same on every run.

    Raises:
        ValueError: an unknown format.
    """
    if output_format == "text":
        return render_text(results)
    if output_format == "json":
        return render_json(results)
    if output_format == "junit":
        return render_junit(results, timings)
    if output_format == "github":
        return render_github(results)
    raise ValueError(f"unknown report format {output_format!r} (one of {', '.join(FORMATS)})")
