"""Report stage, for notebooks: a `CaseResult` -> LaTeX and Markdown that Jupyter shows.

`result_latex` is one `aligned` block in $$...$$: per variable the claim as written and
the derived derivative (intermediates kept as names; an array case in matrix notation),
then the verdict; `result_markdown` puts the verdict and its evidence in words above it.
The Python API's results return them from `_repr_latex_` and `_repr_markdown_`.
"""

from __future__ import annotations

import sympy as sp

from ..cases.array_model import ArrayCase
from ..cases.model import Case
from ..errors import DiffcheckError
from ..explain.chain import explain_case
from ..explain.matrix import matrix_derivatives
from ..run.check import CaseResult
from .latex_arrays import ArrayNotation, whole_derivative
from .latex_derivation import case_notation
from .latex_tables import written
from .matrix_markdown import markdown_text as _text

__all__ = ["result_latex", "result_markdown"]


def _rows(case: Case) -> list[str]:
    try:
        derived = {name: d.result for name, d in explain_case(case).items()}
    except DiffcheckError:
        derived = {}
    exprs = [case.function.expr, *(claim.expr for claim in case.gradient.values())]
    n = case_notation([*exprs, *derived.values()], case.variables)
    d = "d" if len(case.variables) == 1 else r"\partial"
    rows = [rf"f &= {n.expr(written(case.function), as_written=True)}"]
    rows += [rf"{n.symbol(name)} &= {n.expr(written(text), as_written=True)}"
             for name, text in case.where]  # fmt: skip
    for name in case.wrt:
        lhs = rf"\frac{{{d} f}}{{{d} {n.symbol(sp.Symbol(name))}}}"
        if name in case.gradient:
            claim = n.expr(written(case.gradient[name]), as_written=True)
            rows.append(rf"{lhs} &= {claim} && {_text('claimed')}")
            lhs = ""
        if name in derived:
            rows.append(rf"{lhs} &= {n.expr(derived[name])} && {_text('derived')}")
    return rows


def _array_rows(case: ArrayCase) -> list[str]:
    """An array case in matrix notation (`ArrayNotation`, as `derive --format markdown`
    and `latex` print it): its function, intermediates, claims and derived derivatives."""
    derived = matrix_derivatives(case, case.wrt)
    n = ArrayNotation(case, [d.text for d in derived.values() if d.text is not None])
    rows = [rf"{n.output_symbol()} &= {n.tex(case.function.text)}"]
    rows += [rf"{n.symbol(name)} &= {n.tex(text.text)} && {_text('where')}"
             for name, text in case.where]  # fmt: skip
    claimed = dict((name, kind) for kind, name in case.claimed)
    for name in case.wrt:
        derivative = derived[name]
        kind = claimed.get(name, derivative.kind)
        lhs = whole_derivative(n, name, "vjp" if kind == "vjp" else "gradient")
        if name in claimed:
            rows.append(rf"{lhs} &= {n.tex(case.claims[kind][name].text)} && {_text('claimed')}")
            lhs = ""
        if derivative.text is not None:
            rows.append(rf"{lhs} &= {n.tex(derivative.text)} && {_text('derived')}")
    return rows


def result_latex(result: CaseResult) -> str:
    """The case's function, claims, derived derivatives and verdict, in $$...$$."""
    rows = _rows(result.case) if isinstance(result.case, Case) else []
    if isinstance(result.case, ArrayCase):
        rows = _array_rows(result.case)
    verdict = result.verdict.verdict if result.verdict is not None else "not run"
    rows.append(rf"&& {_text(f'verdict: {verdict}')}")
    return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"


def result_markdown(result: CaseResult) -> str:
    """The verdict and its evidence in words, then `result_latex`."""
    name = result.name or "check"
    if result.verdict is None:
        return f"**{name}**: not run: {result.message or result.status}"
    evidence = result.verdict.evidence or "; ".join(result.verdict.reasons)
    head = f"**{name}**: {result.verdict.verdict} ({evidence})"
    return f"{head}\n\n{result_latex(result)}"
