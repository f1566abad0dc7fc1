"""Report stage, LaTeX documents: case files -> a document that pdflatex compiles.

For each case: its name and description, the function and its chain of factors, the
steps, the closed forms, and the verification table (points, the reference, the claim,
finite differences, errors) with the verdict, from the same `check_case` as
`diffcheck check`. Needs only amsmath (and geometry for a standalone document).
Main functions: `explain_paths`, `latex_document`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..cases.loader import InvalidCase, load_case_file
from ..compare import Comparison, Discrepancy, VariableResult
from ..errors import DiffcheckError
from ..explain.chain import Derivation, explain_case
from ..limits import BudgetExceeded, time_limit
from ..run.check import CaseResult, Settings, check_case, find_case_files
from .latex import escape_text, latex_expression, latex_number
from .latex_derivation import derivation_latex

__all__ = ["SHOWN_POINTS", "Entry", "explain_paths", "latex_document"]

SHOWN_POINTS = 3  # rows of the verification table per variable, besides the worst point
PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage{amsmath}
\usepackage{amssymb}
\usepackage[margin=2cm]{geometry}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.4em}
\sloppy
\begin{document}
"""
FRAGMENT_HEAD = "% diffcheck derivations: \\input this file in a document that loads amsmath\n"


@dataclass(frozen=True)
class Entry:
    """One case of the document: its check result and derivations, or why not."""

    file: str
    name: str | None
    description: str
    result: CaseResult | None
    derivations: Mapping[str, Derivation] | None
    error: str | None = None


def _explain(result: CaseResult, settings: Settings) -> Entry:
    case = result.case
    derivations, error = None, None
    try:
        with time_limit(settings.timeout, f"explaining timed out after {settings.timeout:g} s"):
            derivations = explain_case(case)
    except (DiffcheckError, BudgetExceeded) as problem:
        error = problem.message
    return Entry(case.file, case.name, case.description, result, derivations, error)


def explain_paths(
    paths: Sequence[str], settings: Settings | None = None
) -> tuple[list[Entry], list[CaseResult]]:
    """Check and explain every case below `paths`; invalid files become error entries.

    Returns:
        The entries, in file order, and every `CaseResult` (for the exit status).
    """
    settings = settings or Settings()
    files, results = find_case_files(paths)
    entries = [Entry(r.file, None, "", r, None, r.message) for r in results]
    for path in files:
        for item in load_case_file(path).entries:
            if isinstance(item, InvalidCase):
                message = "; ".join(str(error) for error in item.errors)
                entries.append(Entry(item.file, item.name, "", None, None, message))
                results.append(CaseResult(item.file, item.name, item.location, "error",
                                          errors=item.errors, error_kind="invalid"))  # fmt: skip
                continue
            result = check_case(item, settings)
            results.append(result)
            if result.status == "error":
                entries.append(Entry(item.file, item.name, item.description, result, None,
                                     result.message))  # fmt: skip
            else:
                entries.append(_explain(result, settings))
    return entries, results


# ---- verification ------------------------------------------------------------------------


def _varying(comparison: Comparison) -> list[int]:
    points = comparison.points
    return [row for row in range(points.shape[0]) if np.unique(points[row]).size > 1]


def _point(comparison: Comparison, rows: list[int], index: int) -> str:
    values = ", ".join(f"{latex_expression(sp.Symbol(comparison.variables[row]))} = "
                       f"{latex_number(float(comparison.points[row, index]))}"
                       for row in rows)  # fmt: skip
    return f"${values}$" if values else "(fixed)"


def _shown(variable: VariableResult) -> list[int]:
    checked = np.flatnonzero(variable.checked)
    shown = [int(i) for i in checked[:SHOWN_POINTS]]
    main = _claimed(variable) or next(iter(variable.oracles.values()), None)
    worst = None if main is None else main.worst(variable.checked)
    return shown + ([worst] if worst is not None and worst not in shown else [])


def _row(comparison: Comparison, variable: VariableResult, index: int, rows: list[int]) -> str:
    finite = variable.oracles.get("finite")
    fd = r"\text{---}"
    if finite is not None:
        fd = (r"\text{unreliable}" if finite.unreliable[index] else
              rf"{latex_number(float(finite.values[index]))} \pm "
              rf"{latex_number(float(finite.error_bar[index]))}")  # fmt: skip
    claimed = _claimed(variable)
    claim = r"\text{---}" if claimed is None else latex_number(float(claimed.values[index]))
    error_of = claimed or finite
    error = r"\text{---}" if error_of is None else latex_number(float(error_of.abs_error[index]))
    reference = latex_number(float(variable.reference[index]))
    cells = [_point(comparison, rows, index), f"${reference}$", f"${claim}$", f"${fd}$",
             f"${error}$"]  # fmt: skip
    return " & ".join(cells) + r" \\"


def _claimed(variable: VariableResult) -> Discrepancy | None:
    """What the case claims for a partial: its formula, or its implementation's values."""
    return variable.claimed if variable.claimed is not None else variable.implemented


def _table(comparison: Comparison, variable: VariableResult, partial: str | None = None) -> str:
    rows = _varying(comparison)
    partial = partial or rf"\partial f/\partial {latex_expression(sp.Symbol(variable.name))}"
    proof = {True: "; proved symbolically", False: "; not proved symbolically", None: ""}
    caption = f"${partial}$ at {int(variable.checked.sum())} points{proof[variable.proved]}"
    lines = [r"\begin{center}\small\begin{tabular}{p{0.3\textwidth}rrrr}",
             rf"\multicolumn{{5}}{{l}}{{{caption}}} \\",
             r"point & reference & claimed & finite differences & error \\ \hline"]  # fmt: skip
    lines.extend(_row(comparison, variable, index, rows) for index in _shown(variable))
    lines.append(r"\end{tabular}\end{center}")
    return "\n".join(lines)


def _second_partial(pair: tuple[str, str]) -> str:
    first, second = (latex_expression(sp.Symbol(name)) for name in pair)
    if first == second:
        return rf"\partial^{{2}} f/\partial {first}^{{2}}"
    return rf"\partial^{{2}} f/\partial {first}\,\partial {second}"


def _verification(result: CaseResult) -> list[str]:
    case, verdict = result.case, result.verdict
    parts = [r"\paragraph{Verification}"]
    for name, claim in case.gradient.items():
        partial = rf"\frac{{\partial f}}{{\partial {latex_expression(sp.Symbol(name))}}}"
        parts.append(rf"Claimed: $\displaystyle {partial} = {latex_expression(claim.expr)}$\par")
    comparison = result.comparison
    fixed = [row for row in range(len(comparison.variables)) if row not in _varying(comparison)]
    if fixed and comparison.points.shape[1]:
        parts.append(f"Fixed: {_point(comparison, fixed, 0)}.\\par")
    if case.implementation is not None and isinstance(case.implementation.gradient, str):
        code = escape_text(case.implementation.gradient)
        parts.append(rf"Claimed: the gradient computed by \texttt{{{code}}}\par")
    parts.extend(_table(comparison, variable) for variable in comparison.results)
    for entry in result.second_order:
        partial = _second_partial(entry.pair)
        claim = latex_expression(case.hessian[entry.pair].expr)
        parts.append(rf"Claimed: $\displaystyle {partial} = {claim}$\par")
        parts.extend(_table(entry.comparison, variable, partial)
                     for variable in entry.comparison.results)  # fmt: skip
    status = {"pass": "as expected", "fail": f"expected {result.expect}"}[result.status]
    evidence = escape_text(verdict.evidence or "; ".join(verdict.reasons))
    parts.append(rf"Verdict: \textbf{{{verdict.verdict}}} ({status}): {evidence}.\par")
    parts.extend(f"Warning: {escape_text(note)}\\par" for note in verdict.warnings)
    return parts


# ---- the document ------------------------------------------------------------------------


def _entry_latex(entry: Entry) -> list[str]:
    title = escape_text(entry.name or "(file)")
    parts = [rf"\subsection*{{{title}}}"]
    if entry.description:
        parts.append(escape_text(entry.description.strip()) + r"\par")
    if entry.derivations is not None:
        parts.append(derivation_latex(entry.derivations, steps=True))
    if entry.error is not None:
        parts.append(rf"\textit{{Not explained: {escape_text(entry.error)}}}\par")
    if entry.result is not None and entry.result.status != "error":
        parts.extend(_verification(entry.result))
    return parts


def latex_document(entries: Sequence[Entry], fragment: bool = False) -> str:
    """The LaTeX of every entry, a section per file; standalone unless `fragment`."""
    parts = [FRAGMENT_HEAD if fragment else PREAMBLE]
    current = None
    for entry in entries:
        if entry.file != current:
            current = entry.file
            parts.append(rf"\section*{{{escape_text(entry.file)}}}")
        parts.extend(_entry_latex(entry))
    if not fragment:
        parts.append(r"\end{document}")
    return "\n".join(parts) + "\n"
