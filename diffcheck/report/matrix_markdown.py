"""Report stage for `derive --format markdown` on array cases: an `ArrayDerivation` -> LaTeX
in $$...$$ blocks (GitHub, Jupyter).

`render_array_markdown` writes what `render_array_text` writes, in matrix notation through
`ArrayNotation` (bold arrays, ^\\top, \\odot): the function and its intermediates, the δ
recursion when asked (one row a step: its expression, shape, rule and norm), then each
variable's derivative with whether `check` verified it. `markdown_text` makes words safe
inside \\text{} for MathJax and LaTeX alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..explain.backprop import DeltaStep
from ..run.array_derive import ArrayDerivation
from .latex_arrays import (
    ArrayNotation,
    chain_notation,
    recursion_head,
    shape_space,
    step_lhs,
    step_symbol,
    whole_derivative,
)
from .lines import format_number

__all__ = ["aligned_block", "markdown_text", "render_array_markdown"]


def markdown_text(words: str) -> str:
    """Words for \\text{} in MathJax and LaTeX alike: braces and backslashes dropped.

    >>> markdown_text("sum rule: δ passes through +")
    '\\\\text{sum rule: δ passes through +}'
    """
    kept = "".join(char for char in words if char not in "\\{}$%&#^_~")
    return rf"\text{{{kept}}}"


def aligned_block(rows: Iterable[str]) -> str:
    """Rows of an `aligned` environment in $$...$$, one a line."""
    return "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$"


def _notation(derivation: ArrayDerivation) -> ArrayNotation:
    """The case's names, and the δ names of the recursion with their intermediates' shapes."""
    texts = [d.text for d in derivation.derivatives.values() if d.text is not None]
    return chain_notation(derivation.case, texts, derivation.chain)


def _function_rows(derivation: ArrayDerivation, n: ArrayNotation) -> list[str]:
    case = derivation.case
    rows = [rf"{n.output_symbol()} &= {n.tex(case.function.text)}"]
    rows += [rf"{n.symbol(name)} &= {n.tex(text.text)} && {markdown_text('where')}"
             for name, text in case.where]  # fmt: skip
    return rows


def _step_row(derivation: ArrayDerivation, n: ArrayNotation, step: DeltaStep) -> str:
    output = derivation.output
    body = n.tex(step.text) if step.text is not None else markdown_text(f"? ({step.problem})")
    row = (f"{step_lhs(n, output, step)} &= {body} && {shape_space(n, step.shape)} && "
           f"{markdown_text('; '.join(step.rules))}")  # fmt: skip
    if derivation.norms is not None:
        norm = format_number(derivation.norms[step.label])
        row += rf" && \lVert {step_symbol(n, output, step)} \rVert = {norm}"
    return row


def _steps_head(derivation: ArrayDerivation) -> str:
    head = recursion_head(derivation.output, f"`{derivation.case.cotangent}`")
    if derivation.norms is not None:
        head += f"; norms at {derivation.point_source}"
    return head + ":"


def _derivative_rows(derivation: ArrayDerivation, n: ArrayNotation) -> tuple[list[str], list]:
    rows, notes = [], []
    for name, derivative in derivation.derivatives.items():
        check = derivation.verifications[name]
        status = "verified" if check.verified else f"not verified: {check.message}"
        body = n.tex(derivative.text) if derivative.text is not None else "?"
        lhs = whole_derivative(n, name, derivative.kind)
        rows.append(f"{lhs} &= {body} && {markdown_text(status)}")
        notes.extend(note for note in derivative.notes if note not in notes)
    return rows, notes


def render_array_markdown(derivation: ArrayDerivation) -> str:
    """The function, the δ recursion (if computed), then each derivative `(verified)`, as
    `aligned` blocks in $$...$$ with the steps' heading and the notes in words."""
    n = _notation(derivation)
    parts = [aligned_block(_function_rows(derivation, n))]
    if derivation.chain is not None:
        steps = [_step_row(derivation, n, step) for step in derivation.chain.steps]
        parts += [_steps_head(derivation), aligned_block(steps)]
    rows, notes = _derivative_rows(derivation, n)
    if rows:
        parts.append(aligned_block(rows))
    parts += [f"Note: `{note}`." for note in notes]
    return "\n\n".join(parts)
