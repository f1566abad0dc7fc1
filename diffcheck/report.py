"""Report stage: `CaseResult`s -> text for people, JSON (schema version 1) for machines.

Main functions: `render_text`, `render_json`, and `diagnostics` (the
`FILE:LINE:COLUMN: message` lines of invalid input, for standard error).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .check import CaseResult
from .compare import Discrepancy, VariableResult
from .symbolic import fold_intermediates, format_expression
from .verdict import ORACLE_NAMES, format_point, format_values

__all__ = [
    "JSON_VERSION",
    "diagnostics",
    "render_failure",
    "render_json",
    "render_text",
    "summary",
]

JSON_VERSION = 1


def summary(results: Sequence[CaseResult]) -> dict[str, int]:
    return {
        "cases": len(results),
        "passed": sum(r.status == "pass" for r in results),
        "failed": sum(r.status == "fail" for r in results),
        "errors": sum(r.status == "error" for r in results),
    }


def summary_line(results: Sequence[CaseResult]) -> str:
    """
    >>> summary_line([])
    '0 passed, 0 failed'
    """
    counts = summary(results)
    line = f"{counts['passed']} passed, {counts['failed']} failed"
    errors = counts["errors"]
    return line + (f", {errors} error{'s' if errors != 1 else ''}" if errors else "")


def diagnostics(results: Sequence[CaseResult], errors: bool = True) -> list[str]:
    """`FILE:LINE:COLUMN: message` per error (if `errors`), then tracebacks of crashes."""
    lines = [str(e) for r in results if r.status == "error" for e in r.errors] if errors else []
    lines.extend(r.traceback.rstrip() for r in results if r.traceback)
    return lines


# ---- text -------------------------------------------------------------------------------


_ERROR_KINDS = {"invalid": "invalid", "timeout": "timed out", "crash": "internal error"}


def _headline(result: CaseResult) -> str:
    if result.status == "error":
        return f"ERROR {result.name or '(file)'}: {_ERROR_KINDS[result.error_kind]}"
    verdict = result.verdict
    expectation = "" if result.status == "pass" else f", expected {result.expect}"
    detail = verdict.evidence or "; ".join(verdict.reasons)
    label = "PASS " if result.status == "pass" else "FAIL "
    return f"{label} {result.name}: {verdict.verdict}{expectation} ({detail})"


def _oracle_line(name: str, discrepancy: Discrepancy, index: int) -> str:
    value, error = discrepancy.values[index], discrepancy.error_bar[index]
    label = f"{ORACLE_NAMES.get(name, name)} ({discrepancy.method})"
    if discrepancy.unreliable[index]:
        return f"{label}: unreliable here ({value:.6g} ± {error:.2g})"
    return f"{label}: {value:.10g} ± {error:.2g}"


def _variable_details(result: CaseResult, variable: VariableResult) -> list[str]:
    substitutions = result.case.substitutions if result.case else {}
    lines = [
        f"derived {_partial(variable.name)} = "
        f"{format_expression(fold_intermediates(variable.derived, substitutions))}"
    ]
    if variable.claim is not None:
        claim_text = result.case.gradient[variable.name].text if result.case else variable.claim
        lines.append(f"claimed {_partial(variable.name)} = {claim_text}")
        claimed = variable.claimed
        index = claimed.worst(claimed.failing)
        if index is not None:
            comparison = result.comparison
            point = format_point(comparison.variables, comparison.points[:, index])
            expected, actual = format_values(variable.reference[index], claimed.values[index])
            lines.append(
                f"  wrong at {point}: expected {expected}, claimed {actual} "
                f"(abs error {claimed.abs_error[index]:.3g}, rel error "
                f"{claimed.rel_error[index]:.3g})"
            )
            lines.extend(f"  {_oracle_line(n, d, index)}" for n, d in variable.oracles.items())
    return lines


def _partial(name: str) -> str:
    return f"∂/∂{name}"


def _details(result: CaseResult) -> list[str]:
    lines = [
        f"FAIL {result.name} ({result.location}): {result.verdict.verdict}, expected "
        f"{result.expect}"
    ]
    lines.extend(f"  {reason}" for reason in result.verdict.reasons)
    for variable in result.comparison.results:
        lines.extend(f"  {line}" for line in _variable_details(result, variable))
    return lines


def render_failure(result: CaseResult) -> str:
    """The text report's account of one case that did not pass, for the pytest plugin and
    the CI formats: the failure details, or the error headline and its errors."""
    if result.status == "fail":
        return "\n".join(_details(result))
    lines = [_headline(result), *(f"  {error}" for error in result.errors)]
    return "\n".join(lines)


def render_text(results: Sequence[CaseResult]) -> str:
    """One line per case grouped by file, its warnings or errors under it, then the
    details of each failure and a summary line."""
    lines: list[str] = []
    current = None
    for result in results:
        if result.file != current:
            current = result.file
            lines.append(current)
        lines.append(f"  {_headline(result)}")
        notes = result.verdict.warnings if result.verdict else ()
        lines.extend(f"        warning: {note}" for note in notes)
        lines.extend(f"        {error}" for error in result.errors)
    failures = [r for r in results if r.status == "fail"]
    if failures:
        lines.extend(["", "Failures:"])
        for result in failures:
            lines.extend(_details(result))
    lines.extend(["", summary_line(results)])
    return "\n".join(lines)


# ---- JSON -------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None  # JSON has no inf or NaN


def _point(result: CaseResult, index: int | None) -> dict[str, float] | None:
    if index is None:
        return None
    comparison = result.comparison
    return {
        name: _number(v)
        for name, v in zip(comparison.variables, comparison.points[:, index], strict=True)
    }


def _errors(result: CaseResult, discrepancy: Discrepancy, among: np.ndarray) -> dict[str, Any]:
    usable = among & ~discrepancy.unreliable
    index = discrepancy.worst(usable)
    return {
        "max_abs_error": _number(discrepancy.abs_error[usable].max()) if usable.any() else None,
        "max_rel_error": _number(discrepancy.rel_error[usable].max()) if usable.any() else None,
        "worst_point": _point(result, index),
    }


def _variable_json(result: CaseResult, variable: VariableResult) -> dict[str, Any]:
    substitutions = result.case.substitutions if result.case else {}
    main = variable.claimed or next(iter(variable.oracles.values()), None)
    entry = {"max_abs_error": None, "max_rel_error": None, "worst_point": None}
    index = None
    if main is not None:
        entry = _errors(result, main, variable.checked)
        index = main.worst(variable.checked & ~main.unreliable)
    entry.update({
        "claimed": variable.claimed is not None,
        "proved": variable.proved,
        "derived": format_expression(fold_intermediates(variable.derived, substitutions)),
        "claim": result.case.gradient[variable.name].text if variable.claim is not None else None,
        "expected": _number(variable.reference[index]) if index is not None else None,
        "actual": _number(main.values[index]) if index is not None else None,
        "checked_points": int(variable.checked.sum()),
        "oracles": {name: {"method": d.method, **_errors(result, d, variable.checked),
                           "unreliable_points": int((variable.checked & d.unreliable).sum())}
                    for name, d in variable.oracles.items()},
    })  # fmt: skip
    return entry


def _case_json(result: CaseResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "file": result.file,
        "line": result.location.line,
        "name": result.name,
        "verdict": result.verdict.verdict if result.verdict else None,
        "expect": result.expect,
        "status": result.status,
        "warnings": list(result.verdict.warnings) if result.verdict else [],
    }
    if result.status == "error":
        entry["message"] = result.message
        entry["errors"] = [{"line": e.location.line if e.location else None,
                            "column": e.location.column if e.location else None,
                            "message": e.message} for e in result.errors]  # fmt: skip
        entry["variables"] = {}
        return entry
    entry["evidence"] = result.verdict.evidence
    entry["reasons"] = list(result.verdict.reasons)
    entry["points"] = int(result.comparison.points.shape[1])
    entry["variables"] = {v.name: _variable_json(result, v) for v in result.comparison.results}
    return entry


def render_json(results: Sequence[CaseResult]) -> str:
    """The CASES.md document: version, summary and one entry per case, in order."""
    document = {
        "version": JSON_VERSION,
        "summary": summary(results),
        "cases": [_case_json(result) for result in results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
