"""Report stage, LaTeX derivations: a `Derivation` (and a `Relay`) -> LaTeX lines.

`derivation_latex` writes the chain, the factors, the steps, the closed forms and the
relay from the same lines as the text report (`lines`), with expressions printed by
`latex.latex_expression`. The document around it is assembled in `document`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy as sp

from ..explain.chain import Derivation, Factor
from ..explain.relay import Relay
from ..symbolic.printing import ordered_factors
from .latex import escape_text, latex_expression, latex_number
from .lines import (
    Derivative,
    Item,
    Line,
    Partial,
    Product,
    Shown,
    adjoint_items,
    chain_items,
    chain_value,
    closed_form_line,
    needs_brackets,
    rule_label,
    step_lines,
)

__all__ = ["derivation_latex"]

PER_ROW = 4  # factors of a long product per displayed row


def _item(item: Item, position: int | None = None) -> str:
    if isinstance(item, Shown):
        text = latex_expression(item.expr, item.power_form)
        inside = position is not None and needs_brackets(item.expr, position == 0)
        return rf"\left({text}\right)" if inside else text
    if isinstance(item, Derivative):
        d = "d" if item.expr.free_symbols <= {item.variable} else r"\partial"
        body = latex_expression(item.expr, item.power_form)
        if not (item.expr.is_Atom or item.expr.is_Function or item.expr.is_Pow):
            body = rf"\left({body}\right)"
        return rf"\frac{{{d}}}{{{d} {latex_expression(item.variable)}}} {body}"
    if isinstance(item, Partial):
        of, by = latex_expression(item.of), latex_expression(item.by)
        return rf"\frac{{\partial {of}}}{{\partial {by}}}"
    if isinstance(item, Product):
        return r" \cdot ".join(_item(factor, i) for i, factor in enumerate(item.factors))
    return " + ".join(_item(term) for term in item.terms)


def _line(line: Line, remark: str | None = None) -> str:
    label = escape_text(line.label)
    if line.where:
        places = ", ".join(
            f"${latex_expression(u)} = {latex_expression(e)}$" for u, e in line.where
        )
        label = f"{label}, {places}"
    math = " = ".join(_item(item) for item in line.items)
    if not line.label and len(line.items) == 1 and isinstance(line.items[0], Shown):
        math = f"= {math}"
    remarks = [escape_text(rule_label(line.rule))] if line.rule else []
    remarks += [remark] if remark else []
    tail = rf"\quad{{\small ({'; '.join(remarks)})}}" if remarks else ""
    head = f"{label}: " if label else ""
    return rf"\par\noindent\hspace*{{{1.5 * line.depth:g}em}}{head}${math}${tail}"


def _closed(factor: Factor, depth: int) -> str:
    found = factor.closed_form
    line = closed_form_line(found, factor.steps.result, depth)
    recognised = ", ".join(f"${latex_expression(written)} = {latex_expression(call)}$"
                           for written, call in found.recognised)  # fmt: skip
    verdict = "verified" if found.verified else "not proved symbolically"
    return _line(line, f"{verdict}; {recognised}")


def _rows(lhs: str, factors: Sequence[str], joiner: str = r" \cdot ") -> str:
    """`lhs` = the factors, in rows of PER_ROW, so a long chain fits the page."""
    rows = [joiner.join(factors[i : i + PER_ROW]) for i in range(0, len(factors), PER_ROW)]
    body = rf" \\ &\quad{joiner.strip()} ".join(rows) if rows else "1"
    return rf"\begin{{align*}} {lhs} &= {body} \end{{align*}}"


def _result(derivation: Derivation) -> str:
    lhs = _item(Partial(derivation.output, derivation.variable))
    result = derivation.result
    ordered = ordered_factors(result) if result.is_Mul else None
    if ordered is None or len(ordered) <= PER_ROW + 1:
        return rf"\[ {lhs} = {latex_expression(result)} \]"
    coefficient, *factors = ordered
    texts = [_item(Shown(factor), 1) for factor in factors]
    if coefficient != 1:
        texts[0] = f"{latex_expression(coefficient)} {texts[0]}"
    return _rows(lhs, texts, " ")


def _factor_latex(factor: Factor, steps: bool, relay: Relay | None, seen: set) -> list[str]:
    value = ""
    if relay is not None and not factor.expr.is_number:
        value = f" = {latex_number(relay.factors[(factor.of, factor.by)])}"
    reused = (factor.of, factor.by) in seen  # backpropagation reuses it: derived once
    note = r"\quad\text{(as above)}" if reused and steps else ""
    lhs = _item(Partial(factor.of, factor.by))
    parts = [rf"\[ {lhs} = {_item(Shown(factor.expr))}{value}{note} \]"]
    if reused:
        return parts
    seen.add((factor.of, factor.by))
    if steps:
        parts.extend(_line(line) for line in step_lines(factor.steps, 1))
    if factor.closed_form is not None:
        parts.append(_closed(factor, 1))
    return parts


def _variable_latex(
    derivation: Derivation, steps: bool, relay: Relay | None, seen: set
) -> list[str]:
    whole = _item(Partial(derivation.output, derivation.variable))
    parts = [rf"\par\medskip\noindent\textbf{{${whole}$}}\par"]
    if not derivation.names:
        factor = derivation.factors[0]
        if steps:
            parts.extend(_line(line) for line in step_lines(factor.steps))
        if factor.closed_form is not None:
            parts.append(_closed(factor, 0))
        return [*parts, r"\par", _result(derivation)]
    chain = chain_items(derivation)
    if chain is None:
        rows = [f"{_item(lhs)} &= {_item(rhs)}" for lhs, rhs in adjoint_items(derivation)]
        parts.append("Through too many paths to list, by the adjoints:")
        parts.append(r"\begin{align*}" + " \\\\\n".join(rows) + r"\end{align*}")
    else:
        terms = chain.terms if not isinstance(chain, Product) else (chain,)
        paths = [r" \cdot ".join(_item(f) for f in term.factors) for term in terms]
        parts.append(_rows(whole, paths, " + ") if len(paths) > 1 else
                     _rows(whole, [_item(f) for f in chain.factors]))  # fmt: skip
    for factor in derivation.factors:
        parts.extend(_factor_latex(factor, steps, relay, seen))
    if relay is not None:
        adjoint = latex_number(relay.node(derivation.variable).adjoint)
        value = chain_value(derivation, relay)
        product = "" if value is None else f"the chain is ${latex_number(value)}$; "
        parts.append(rf"\par At the point, {product}reverse mode gives ${adjoint}$.")
    return [*parts, r"\par", _result(derivation)]


def _relay_latex(relay: Relay) -> str:
    point = ", ".join(
        f"{latex_expression(sp.Symbol(n))} = {latex_number(v)}" for n, v in relay.point
    )
    rows = [rf"${latex_expression(n.name)}$ & ${latex_number(n.value)}$ & "
            rf"${latex_number(n.adjoint)}$ \\" for n in relay.nodes]  # fmt: skip
    return "\n".join([
        rf"\par At ${point}$: forward values, and adjoints passed back from the output.",
        r"\begin{center}\begin{tabular}{lrr}",
        r"node & value & adjoint \\ \hline",
        *rows,
        r"\end{tabular}\end{center}",
    ])  # fmt: skip


def derivation_latex(
    derivations: Mapping[str, Derivation], steps: bool = True, relay: Relay | None = None
) -> str:
    """LaTeX (for a document body) of the function, its intermediates, the relay at a
    point, and per variable the chain, its factors with their steps and closed forms,
    and the derivative."""
    first = next(iter(derivations.values()))
    output = latex_expression(first.output)
    parts = [rf"\[ {output} = {latex_expression(first.function)} \]"]
    if first.names:
        rows = [
            f"{latex_expression(name)} &= {latex_expression(expr)}" for name, expr in first.names
        ]
        parts.append(r"where" + "\n" + r"\begin{align*}" + " \\\\\n".join(rows) + r"\end{align*}")
    if relay is not None:
        parts.append(_relay_latex(relay))
    seen: set[tuple[sp.Symbol, sp.Symbol]] = set()
    for derivation in derivations.values():
        parts.extend(_variable_latex(derivation, steps, relay, seen))
    return "\n".join(parts) + "\n"
