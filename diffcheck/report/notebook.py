"""Report stage, for notebooks: a `CaseResult` -> LaTeX and Markdown that Jupyter shows.

`result_latex` is one `aligned` block in $$...$$: per variable the claim as written and
the derived derivative (intermediates kept as names), then the verdict; `result_markdown`
puts the verdict and its evidence in words above it. The Python API's results return
them from `_repr_latex_` and `_repr_markdown_`.
"""

from __future__ import annotations

import sympy as sp

from ..cases.model import Case
from ..errors import DiffcheckError
from ..explain.chain import explain_case
from ..run.check import CaseResult
from .latex_derivation import case_notation
from .latex_tables import written

__all__ = ["result_latex", "result_markdown"]


def _text(words: str) -> str:
    """Words for \\text{} in MathJax and LaTeX alike: braces and backslashes dropped."""
    kept = "".join(char for char in words if char not in "\\{}$%&#^_~")
    return rf"\text{{{kept}}}"


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


def result_latex(result: CaseResult) -> str:
    """The case's function, claims, derived derivatives and verdict, in $$...$$."""
    rows = _rows(result.case) if isinstance(result.case, Case) else []
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
