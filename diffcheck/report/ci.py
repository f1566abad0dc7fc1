"""Report stage for CI systems: `CaseResult`s -> JUnit XML and GitHub workflow annotations.

Main functions: `render_junit` (one <testsuite> per case file, one <testcase> per case)
and `render_github` (one `::error` command per case that did not pass). Both are
deterministic: the same results give the same bytes, with no time, date or host name
unless the caller passes timings in.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from ..run.check import CaseResult
from .text import render_failure, summary

__all__ = ["JUNIT_SUITES_NAME", "Timings", "render_github", "render_junit"]

JUNIT_SUITES_NAME = "diffcheck"
_FILE_ENTRY = "(file)"  # the name of a result that stands for a whole file, as in the text

# XML 1.0 forbids most control characters, even escaped; a message may quote them
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Timings:
    """When a run started (ISO 8601) and how long it and each result took, in seconds."""

    started: str
    seconds: float
    case_seconds: tuple[float, ...]


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _counts(results: Sequence[CaseResult]) -> dict[str, str]:
    counts = summary(results)
    return {
        "tests": str(counts["cases"]),
        "failures": str(counts["failed"]),
        "errors": str(counts["errors"]),
        "skipped": "0",
    }


def _outcome(result: CaseResult) -> tuple[str, str, str] | None:
    """(element, type, message) for a case that did not pass."""
    if result.status == "fail":
        verdict = result.verdict
        detail = verdict.evidence or "; ".join(verdict.reasons)
        message = f"{verdict.verdict}, expected {result.expect}"
        return "failure", verdict.verdict, message + (f" ({detail})" if detail else "")
    if result.status == "error":
        return "error", result.error_kind or "error", result.message or "error"
    return None


def _testcase(parent: ET.Element, result: CaseResult, seconds: float | None) -> None:
    file = _xml_text(result.file)
    element = ET.SubElement(parent, "testcase", {
        "classname": file,
        "name": _xml_text(result.name or _FILE_ENTRY),
        "file": file,
        "line": str(result.location.line),
    })  # fmt: skip
    if seconds is not None:
        element.set("time", f"{seconds:.3f}")
    outcome = _outcome(result)
    if outcome is not None:
        tag, kind, message = outcome
        body = render_failure(result)
        if result.traceback:
            body += "\n" + result.traceback.rstrip()
        child = ET.SubElement(element, tag, {"type": kind, "message": _xml_text(message)})
        child.text = _xml_text(body)
    warnings = result.verdict.warnings if result.verdict else ()
    if warnings:
        ET.SubElement(element, "system-out").text = _xml_text(
            "\n".join(f"warning: {note}" for note in warnings)
        )


def render_junit(results: Sequence[CaseResult], timings: Timings | None = None) -> str:
    """JUnit XML as CI systems read it: <testsuites>, a <testsuite> per case file in run
    order, and a <testcase classname=FILE name=CASE> per case.

    A case whose verdict is not the expected one holds a <failure> (type: the verdict;
    message: the headline; text: the failure details of the text report); an invalid
    file, a timeout or a crash holds an <error> (type: invalid, timeout or crash).

    Args:
        results: the results, in report order.
        timings: if given, the run's start time and durations are added (the report is
            then no longer the same from run to run).

    Returns:
        The document, with an XML declaration, as text (write it as UTF-8).
    """
    root = ET.Element("testsuites", {"name": JUNIT_SUITES_NAME, **_counts(results)})
    if timings is not None:
        root.set("time", f"{timings.seconds:.3f}")
    files = list(dict.fromkeys(result.file for result in results))
    for file in files:
        members = [(i, r) for i, r in enumerate(results) if r.file == file]
        suite = ET.SubElement(root, "testsuite", {
            "name": _xml_text(file), **_counts([r for _, r in members])
        })  # fmt: skip
        if timings is not None:
            suite.set("timestamp", timings.started)
            suite.set("time", f"{sum(timings.case_seconds[i] for i, _ in members):.3f}")
        for index, result in members:
            _testcase(suite, result, timings.case_seconds[index] if timings else None)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


# ---- GitHub workflow commands ------------------------------------------------------------


def _escape_data(text: str) -> str:
    """A workflow command's message: %, CR and LF are escaped (GitHub's rules)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """A workflow command's property value: as a message, and also : and ,."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(result: CaseResult) -> str:
    location = result.location
    if result.status == "error" and result.errors and result.errors[0].location:
        location = result.errors[0].location  # where the first problem is, not the case
    properties = {
        "file": location.file,
        "line": str(location.line),
        "col": str(location.column),
        "title": f"diffcheck: {result.name or _FILE_ENTRY}",
    }
    if result.status == "fail":
        message = render_failure(result)
    else:
        message = "\n".join(str(error) for error in result.errors) or "error"
    fields = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
    return f"::error {fields}::{_escape_data(message)}"


def render_github(results: Sequence[CaseResult]) -> str:
    """GitHub Actions annotations: one `::error file=F,line=L,col=C,title=T::message`
    line per case that failed or could not be checked, none for passing ones.

    Returns:
        The lines joined by newlines; empty when every case passed.
    """
    return "\n".join(_annotation(result) for result in results if result.status != "pass")
