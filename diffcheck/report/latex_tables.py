"""Report stage, LaTeX verification: a `CaseResult` -> the claims, a table and the verdict.

The claims are printed as the user wrote them (factor order kept), in an `align*` that
breaks long ones; the table (booktabs rules, footnotesize, fitted to the text width: the
point column wraps) has a block per partial whose heading is its first row, so a
heading is never parted from its table; then the verdict, from the same `check_case` as
`diffcheck check`. An array case is written in matrix notation (`latex_arrays`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from ..cases.nodes import Expression
from ..compare import Comparison, Discrepancy, VariableResult
from ..run.check import CaseResult
from ..symbolic.written import parse_as_written
from .latex import escape_text, latex_number
from .latex_arrays import array_case_latex
from .latex_derivation import Notation, item_chunks
from .latex_layout import align_rows
from .lines import Shown

__all__ = ["SHOWN_POINTS", "array_verification", "verification", "written"]

SHOWN_POINTS = 3  # rows of the verification table per partial, besides the worst point
# fixed widths, so that the tables of a case line up; with the array package the
# numbers are set flush right (a fragment goes without it)
_WIDTHS = (0.25, 0.15, 0.15, 0.1, 0.25)  # point, derived, claimed, error, finite differences


def _columns(fragment: bool) -> str:
    right = "" if fragment else r">{\raggedleft\arraybackslash}"
    first = "" if fragment else r">{\raggedright\arraybackslash}"
    cells = [f"{first}p{{{_WIDTHS[0]}\\linewidth}}"]
    cells += [f"{right}p{{{width}\\linewidth}}" for width in _WIDTHS[1:]]
    return "@{}" + "".join(cells) + "@{}"


def written(expression: Expression) -> sp.Expr:
    """An expression as the user wrote it (`symbolic.written`): SymPy keeps the order
    of its terms and factors."""
    as_written = parse_as_written(expression.text)
    return expression.expr if as_written is None else as_written


def _varying(comparison: Comparison) -> list[int]:
    points = comparison.points
    return [row for row in range(points.shape[0]) if np.unique(points[row]).size > 1]


def _point(comparison: Comparison, rows: list[int], index: int, n: Notation) -> str:
    values = [f"${n.symbol(comparison.variables[row])} = "
              f"{latex_number(float(comparison.points[row, index]), 4)}$"
              for row in rows]  # fmt: skip
    return ", ".join(values) if values else "(fixed)"


def _claimed(variable: VariableResult) -> Discrepancy | None:
    """What the case claims for a partial: its formula, or its implementation's values."""
    return variable.claimed if variable.claimed is not None else variable.implemented


def _shown(variable: VariableResult) -> list[int]:
    checked = np.flatnonzero(variable.checked)
    shown = [int(i) for i in checked[:SHOWN_POINTS]]
    main = _claimed(variable) or next(iter(variable.oracles.values()), None)
    worst = None if main is None else main.worst(variable.checked)
    return shown + ([worst] if worst is not None and worst not in shown else [])


def _row(comparison: Comparison, variable: VariableResult, index: int, n: Notation) -> str:
    finite = variable.oracles.get("finite")
    fd = r"\text{---}"
    if finite is not None:
        fd = (r"\text{unreliable}" if finite.unreliable[index] else
              rf"{latex_number(float(finite.values[index]), 5)} \pm "
              rf"{latex_number(float(finite.error_bar[index]), 2)}")  # fmt: skip
    claimed = _claimed(variable)
    claim = r"\text{---}" if claimed is None else latex_number(float(claimed.values[index]), 6)
    error_of = claimed or finite
    error = r"\text{---}"
    if error_of is not None:
        error = latex_number(float(error_of.abs_error[index]), 2)
    reference = latex_number(float(variable.reference[index]), 6)
    point = _point(comparison, _varying(comparison), index, n)
    return " & ".join([point, f"${reference}$", f"${claim}$", f"${error}$", f"${fd}$"]) + r" \\"


def _table(comparison: Comparison, variable: VariableResult, partial: str, n: Notation,
           fragment: bool, head: bool) -> str:  # fmt: skip
    """One partial's table: its heading is its first row, so they cannot part."""
    proof = {True: "; proved symbolically", False: "; not proved symbolically", None: ""}
    caption = f"${partial}$ at {int(variable.checked.sum())} points{proof[variable.proved]}"
    lines = [r"\begin{center}\footnotesize\setlength{\tabcolsep}{4pt}",
             rf"\begin{{tabular}}{{{_columns(fragment)}}}", r"\toprule",
             rf"\multicolumn{{5}}{{@{{}}l}}{{{caption}}} \\"]  # fmt: skip
    if head:
        lines.append(r"point & derived & claimed & error & finite differences \\")
    lines.append(r"\midrule")
    lines += [_row(comparison, variable, index, n) for index in _shown(variable)]
    return "\n".join([*lines, r"\bottomrule", r"\end{tabular}", r"\end{center}"])


def _partial(name: str, n: Notation, second: str | None = None) -> str:
    if second is None:
        return rf"\partial f/\partial {n.symbol(name)}"
    if second == name:
        return rf"\partial^{{2}} f/\partial {n.symbol(name)}^{{2}}"
    return rf"\partial^{{2}} f/\partial {n.symbol(name)}\,\partial {n.symbol(second)}"


def _claims(result: CaseResult, n: Notation) -> list[str]:
    case = result.case
    rows = []
    d = "d" if len(case.variables) == 1 else r"\partial"  # as the derivation writes it
    for name, claim in case.gradient.items():
        lhs = rf"\frac{{{d} f}}{{{d} {n.symbol(name)}}}"
        chunks = item_chunks(Shown(written(claim)), n.written())
        rows.extend(align_rows(lhs, [(chunks, r"\text{claimed}")], tags=True))
    for (first, second), claim in case.hessian.items():
        by = (rf"\partial {n.symbol(first)}^{{2}}" if first == second else
              rf"\partial {n.symbol(first)}\,\partial {n.symbol(second)}")  # fmt: skip
        lhs = rf"\frac{{\partial^{{2}} f}}{{{by}}}"
        chunks = item_chunks(Shown(written(claim)), n.written())
        rows.extend(align_rows(lhs, [(chunks, r"\text{claimed}")], tags=True))
    if not rows:
        return []
    return ["\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"]


def verification(result: CaseResult, n: Notation, fragment: bool = False) -> list[str]:
    """The claims, the table of points and the verdict of a scalar case."""
    case, comparison = result.case, result.comparison
    parts = [r"\par\smallskip\textbf{Verification.}"]
    if case.implementation is not None and isinstance(case.implementation.gradient, str):
        code = escape_text(case.implementation.gradient)
        parts.append(rf"Claimed: the gradient computed by \texttt{{{code}}}.")
    parts.extend(_claims(result, n))
    fixed = [row for row in range(len(comparison.variables)) if row not in _varying(comparison)]
    if fixed and comparison.points.shape[1]:
        parts.append(f"Fixed: {_point(comparison, fixed, 0, n)}.\\par")
    tables = [(comparison, v, _partial(v.name, n)) for v in comparison.results]
    for entry in result.second_order:
        partial = _partial(entry.pair[0], n, entry.pair[1])
        tables += [(entry.comparison, v, partial) for v in entry.comparison.results]
    parts += [_table(*table, n, fragment, head=i == 0) for i, table in enumerate(tables)]
    parts.append(_verdict(result))
    return parts


def _verdict(result: CaseResult) -> str:
    verdict = result.verdict
    status = {"pass": "as expected", "fail": f"expected {result.expect}"}[result.status]
    evidence = escape_text(verdict.evidence or "; ".join(verdict.reasons))
    lines = [rf"Verdict: \textbf{{{verdict.verdict}}} ({status}): {evidence}.\par"]
    lines += [f"Warning: {escape_text(note)}\\par" for note in verdict.warnings]
    return "\n".join(lines)


def array_verification(
    result: CaseResult, derivatives: Mapping[str, Any] | None = None, chain: Any = None
) -> list[str]:
    """An array case in matrix notation: its function, shapes, its δ recursion (`chain`, a
    `DeltaChain`), the derivatives (`derivatives`, variable -> `MatrixDerivative`), the
    claims as written, and its verdict."""
    parts = array_case_latex(result.case, derivatives, chain=chain)
    if result.verdict is not None and result.status != "error":
        parts.append(_verdict(result))
    return parts
