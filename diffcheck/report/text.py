"""Report stage: `CaseResult`s -> text for people, JSON (schema version 1) for machines.

Main functions: `render_text`, `render_json`, and `diagnostics` (the
`FILE:LINE:COLUMN: message` lines of invalid input, for standard error).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from ..compare import Comparison, Discrepancy, VariableResult
from ..compare.diagnosis import ORACLE_NAMES, claimed_values, format_point, format_values
from ..errors import counted
from ..run.check import CaseResult
from ..symbolic.derive import fold_intermediates, format_expression
from ..symbolic.trees import substitute, symbols_in
from .arrays import array_code_json, array_details, array_oracles_json, array_variables_json

__all__ = [
    "JSON_VERSION",
    "diagnostics",
    "render_case",
    "render_failure",
    "render_json",
    "render_text",
    "summary",
]

JSON_VERSION = 1
MAX_DERIVED_CHARS = 400  # a failure message's formula; longer ones bury the numbers


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
    return line + (f", {counted(errors, 'error')}" if errors else "")


def diagnostics(results: Sequence[CaseResult], errors: bool = True) -> list[str]:
    """`FILE:LINE:COLUMN: message` per error (if `errors`), then tracebacks of crashes."""
    lines = [str(e) for r in results if r.status == "error" for e in r.errors] if errors else []
    lines.extend(r.traceback.rstrip() for r in results if r.traceback)
    return lines


# ---- text -------------------------------------------------------------------------------


_ERROR_KINDS = {
    "invalid": "invalid",
    "timeout": "timed out",
    "implementation": "the implementation failed",
    "crash": "internal error",
}


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


def _claim_text(result: CaseResult, variable: VariableResult, pair: tuple | None = None) -> str:
    if variable.claim is None:
        return ""
    if result.case is None:
        return format_expression(variable.claim)
    written = result.case.hessian[pair] if pair else result.case.gradient[variable.name]
    return written.text


def _wrong_at(comparison: Comparison, variable: VariableResult, claim: Discrepancy,
              verb: str, inconclusive: bool = False) -> list[str]:  # fmt: skip
    """The worst point of a failing claim, both values labelled, and each oracle there.
    Under an inconclusive verdict the claim is not shown wrong: the line says only that
    it disagrees with the derivation, and the oracles' lines say which one they back."""
    index = claim.worst(claim.failing)
    if index is None:
        return []
    point = format_point(comparison.variables, comparison.points[:, index])
    expected, actual = claimed_values(variable, claim, index)
    errors = f"abs error {claim.abs_error[index]:.3g}, rel error {claim.rel_error[index]:.3g}"
    if inconclusive:
        head = (
            f"  {verb} {actual} disagrees with the derivation's {expected} at {point} "
            f"({errors}); the verdict is inconclusive, so either may be the wrong one"
        )
    else:
        head = f"  wrong at {point}: expected {expected}, {verb} {actual} ({errors})"
    return [head, *(f"  {_oracle_line(n, d, index)}" for n, d in variable.oracles.items())]


def in_names(expr: sp.Expr, substitutions: Mapping[sp.Symbol, sp.Expr]) -> sp.Expr:
    """`expr` written with the case's `where` names, a reciprocal of one included: the
    derivative of sqrt(1 + z**2) holds 1/sqrt(1 + z**2), which is 1/h for h = sqrt(...)."""
    inverses = {
        sp.Pow(resolved.base, -resolved.exp): 1 / name
        for name, resolved in substitutions.items()
        if resolved.is_Pow and not resolved.exp.is_Integer and symbols_in(resolved)
    }
    folded = substitute(expr, inverses) if inverses else expr
    return fold_intermediates(folded, substitutions)


def _derived_line(result: CaseResult, variable: VariableResult) -> str:
    """derived ∂/∂x = ... in the intermediates' names; a formula that stays longer than
    a message can carry is named by its length and where to read it, never inlined."""
    case = result.case
    derived = format_expression(in_names(variable.derived, case.substitutions if case else {}))
    if case is None or not case.where or len(derived) <= MAX_DERIVED_CHARS:
        return f"derived {variable.label} = {derived}"
    return (
        f"derived {variable.label}: {len(derived)} characters even with the names of "
        f"'where'; diffcheck derive {case.file} --case {case.name} writes it step by step"
    )


def _variable_details(result: CaseResult, comparison: Comparison, variable: VariableResult,
                      claim_text: str) -> list[str]:  # fmt: skip
    lines = [_derived_line(result, variable)]
    doubt = result.verdict is not None and result.verdict.verdict == "inconclusive"
    if variable.claimed is not None:
        lines.append(f"claimed {variable.label} = {claim_text}")
        lines.extend(_wrong_at(comparison, variable, variable.claimed, "claimed", doubt))
    if variable.implemented is not None and variable.implemented.failing.any():
        lines.append(f"the implementation's {variable.label}:")
        lines.extend(_wrong_at(comparison, variable, variable.implemented, "returned", doubt))
    return lines


def _details(result: CaseResult) -> list[str]:
    lines = [
        f"FAIL {result.name} ({result.location}): {result.verdict.verdict}, expected "
        f"{result.expect}"
    ]
    lines.extend(f"  {reason}" for reason in result.verdict.reasons)
    if result.arrays is not None:
        return lines + [f"  {line}" for line in array_details(result.arrays)]
    if result.comparison.function_check is not None:
        check = result.comparison.function_check
        if check.failing.any():
            index = check.worst(check.failing)
            point = format_point(result.comparison.variables, result.comparison.points[:, index])
            expected, actual = format_values(check.reference[index], check.values[index])
            lines.append(f"  the implementation's function is wrong at {point}: expected "
                         f"{expected}, returned {actual}")  # fmt: skip
    parts = [(result.comparison, None)] + [(e.comparison, e.pair) for e in result.second_order]
    for comparison, pair in parts:
        for variable in comparison.results:
            text = _claim_text(result, variable, pair)
            lines.extend(f"  {line}" for line in _variable_details(result, comparison, variable,
                                                                    text))  # fmt: skip
    return lines


def render_case(result: CaseResult) -> str:
    """One case as the text report shows it: its line, warnings or errors, and, for a
    failure, the details."""
    lines = [_headline(result)]
    lines.extend(
        f"  warning: {note}" for note in (result.verdict.warnings if result.verdict else ())
    )
    lines.extend(f"  {error}" for error in result.errors)
    if result.status == "fail":
        lines.extend(_details(result))
    return "\n".join(lines)


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


def _point(comparison: Comparison, index: int | None) -> dict[str, float] | None:
    if index is None:
        return None
    return {
        name: _number(v)
        for name, v in zip(comparison.variables, comparison.points[:, index], strict=True)
    }


def _errors(comparison: Comparison, discrepancy: Discrepancy, among: np.ndarray
            ) -> dict[str, Any]:  # fmt: skip
    usable = among & ~discrepancy.unreliable
    index = discrepancy.worst(usable)
    return {
        "max_abs_error": _number(discrepancy.abs_error[usable].max()) if usable.any() else None,
        "max_rel_error": _number(discrepancy.rel_error[usable].max()) if usable.any() else None,
        "worst_point": _point(comparison, index),
    }


def _variable_json(result: CaseResult, comparison: Comparison, variable: VariableResult,
                   claim_text: str) -> dict[str, Any]:  # fmt: skip
    substitutions = result.case.substitutions if result.case else {}
    main = variable.claimed or next(iter(variable.oracles.values()), None)
    entry = {"max_abs_error": None, "max_rel_error": None, "worst_point": None}
    index = None
    if main is not None:
        entry = _errors(comparison, main, variable.checked)
        index = main.worst(variable.checked & ~main.unreliable)
    entry.update({
        "claimed": variable.claimed is not None,
        "proved": variable.proved,
        "derived": format_expression(fold_intermediates(variable.derived, substitutions)),
        "claim": claim_text or None,
        "expected": _number(variable.reference[index]) if index is not None else None,
        "actual": _number(main.values[index]) if index is not None else None,
        "checked_points": int(variable.checked.sum()),
        "oracles": _oracles_json(comparison, variable),
    })  # fmt: skip
    if variable.implemented is not None:
        entry["implementation"] = _errors(comparison, variable.implemented, variable.checked)
    return entry


def _oracles_json(comparison: Comparison, variable: VariableResult) -> dict[str, Any]:
    """Each oracle's errors against the reference; "exact" is the derived partial as
    float64 gives it, before mpmath refined the doubtful points."""
    oracles = {"exact": variable.exact} if variable.exact is not None else {}
    oracles.update(variable.oracles)
    return {
        name: {
            "method": d.method,
            **_errors(comparison, d, variable.checked),
            "unreliable_points": int((variable.checked & d.unreliable).sum()),
        }
        for name, d in oracles.items()
    }


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
    comparison = result.comparison
    entry["evidence"] = result.verdict.evidence
    entry["reasons"] = list(result.verdict.reasons)
    if result.arrays is not None:
        entry["points"], entry["variables"] = array_variables_json(result.arrays)
        entry.update(array_code_json(result.arrays))
        entry.update(array_oracles_json(result.arrays))
        return entry
    entry["points"] = int(comparison.points.shape[1])
    entry["variables"] = {
        v.name: _variable_json(result, comparison, v, _claim_text(result, v))
        for v in comparison.results
    }
    if comparison.function_check is not None:
        check = comparison.function_check
        entry["implementation_function"] = _errors(comparison, check, ~check.unreliable)
    if result.second_order:
        entry["hessian"] = {
            ",".join(e.pair): _variable_json(
                result, e.comparison, v, _claim_text(result, v, e.pair)
            )
            for e in result.second_order
            for v in e.comparison.results
        }
    return entry


def render_json(results: Sequence[CaseResult]) -> str:
    """The CASES.md document: version, summary and one entry per case, in order."""
    document = {
        "version": JSON_VERSION,
        "summary": summary(results),
        "cases": [_case_json(result) for result in results],
    }
    # a file name that is not UTF-8 reaches Python as lone surrogates (os.fsdecode):
    # JSON holds Unicode text, so each undecodable byte is the replacement character
    return _LONE_SURROGATE.sub("\ufffd", json.dumps(document, indent=2, ensure_ascii=False))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
