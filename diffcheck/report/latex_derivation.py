"""Report stage, LaTeX derivations: a `Derivation` (and a `Relay`) -> `align*` chains.

`derivation_latex` writes the function and its intermediates, each local derivative
∂A/∂B once as a chain of equalities (`chain_rows.step_chain`, a reason at the right of
each "="), then per variable the chain rule through the intermediates' names, which
stay names. Long rows break at "=", "+" or "·" (`latex_layout`). With `markdown`, the
same chains as `aligned` blocks in $$...$$ for GitHub and Jupyter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy as sp

from ..explain.chain import Derivation, Factor
from ..explain.relay import Relay
from ..symbolic.printing import ordered_factors
from ..symbolic.rules import RULES, TableFunction, rule_for
from .chain_rows import Pending, Row, closed_form_row, shows, step_chain, tidy
from .latex import escape_text, latex_expression, latex_number, latex_terms
from .latex_layout import Chunk, align_rows, estimate_width, fits
from .latex_names import symbol_names
from .lines import (
    Derivative,
    Item,
    Partial,
    Product,
    Shown,
    Sum,
    adjoint_items,
    chain_items,
    chain_value,
    factor_partial,
)

__all__ = ["Notation", "case_notation", "derivation_latex", "derivation_markdown", "item_chunks"]

Names = Mapping[str, str]


class Notation:
    """How one case prints: its symbols' LaTeX (no two alike), and whether reasons are
    tags at the right margin (LaTeX) or a column (`aligned`, for Markdown)."""

    def __init__(self, names: Names, markdown: bool = False, as_written: bool = False):
        self.names = names
        self.markdown = markdown
        self.as_written = as_written

    def written(self) -> Notation:
        """This notation for expressions parsed as written: their order is kept."""
        return Notation(self.names, self.markdown, as_written=True)

    def expr(self, expr: sp.Expr, power_form: bool = False, as_written: bool = False) -> str:
        return latex_expression(expr, power_form, self.names, as_written or self.as_written)

    def symbol(self, name: str | sp.Symbol) -> str:
        return self.expr(sp.Symbol(name) if isinstance(name, str) else name)


def _heads(exprs: Sequence[sp.Expr]) -> set[str]:
    heads = set()
    for expr in exprs:
        for node in sp.preorder_traversal(expr):
            rule = rule_for(node) if isinstance(node, sp.Function) else None
            if isinstance(node, TableFunction):
                rule = RULES[node.rule_name]
            if rule is not None:
                heads.add(rule.latex)
    return heads


def case_notation(exprs: Sequence[sp.Expr], names: Sequence[str] = (), markdown: bool = False):
    """The `Notation` of the symbols in `exprs` (and `names`), clashes resolved."""
    symbols = [*names, *sorted({s.name for e in exprs for s in e.free_symbols})]
    return Notation(symbol_names(symbols, _heads(exprs)), markdown)


# ---- items -------------------------------------------------------------------------------


def _partial(
    of: sp.Symbol, by: sp.Symbol, n: Notation, total: bool = False, held: tuple = ()
) -> str:
    d = "d" if total else r"\partial"
    fraction = rf"\frac{{{d} {n.symbol(of)}}}{{{d} {n.symbol(by)}}}"
    if not held:
        return fraction
    return rf"\left.{fraction}\right|_{{{', '.join(n.symbol(name) for name in held)}}}"


def _bracketed(item: Item | Pending, first: bool) -> bool:
    if isinstance(item, Sum):
        return True
    if isinstance(item, Shown):
        expr = item.expr
        return expr.is_Add or not first and expr.could_extract_minus_sign()
    return False


def _item(item: Item | Pending, n: Notation, position: int | None = None) -> str:
    if isinstance(item, Pending):
        item = Derivative(item.step.expr, item.step.variable)
    if isinstance(item, Shown):
        text = n.expr(item.expr, item.power_form)
    elif isinstance(item, Derivative):
        d = "d" if item.expr.free_symbols <= {item.variable} else r"\partial"
        body = n.expr(item.expr, item.power_form)
        if not (item.expr.is_Atom or item.expr.is_Function or item.expr.is_Pow):
            body = rf"\left({body}\right)"
        return rf"\frac{{{d}}}{{{d} {n.symbol(item.variable)}}} {body}"
    elif isinstance(item, Partial):
        return _partial(item.of, item.by, n, held=item.held)
    elif isinstance(item, Product):
        return r" \cdot ".join(_item(factor, n, i) for i, factor in enumerate(item.factors))
    else:
        text = " ".join(chunk.text(i == 0) for i, chunk in enumerate(_sum_chunks(item, n)))
    if position is not None and _bracketed(item, position == 0):
        return rf"\left({text}\right)"
    return text


def item_chunks(item: Item | Pending, n: Notation) -> list[Chunk]:
    """The pieces a row of `item` may break between: terms of a sum, factors of a
    product (the printer's own order), each piece kept whole."""
    if isinstance(item, Product):
        return [Chunk(r"\cdot" if i else "", _item(f, n, i)) for i, f in enumerate(item.factors)]
    if isinstance(item, Sum):
        return _sum_chunks(item, n)
    if isinstance(item, Shown) and estimate_width(_item(item, n)) > 20:
        return _expr_chunks(item.expr, n, item.power_form)
    return [Chunk("", _item(item, n))]


def _negative(item: Item | Pending) -> bool:
    return isinstance(item, Shown) and item.expr.could_extract_minus_sign()


def _sum_chunks(item: Sum, n: Notation) -> list[Chunk]:
    """A sum's terms, those with a minus sign last and subtracted: x - 1, not -1 + x."""
    terms = sorted(item.terms, key=_negative)
    chunks = []
    for i, term in enumerate(terms):
        if i and _negative(term):
            chunks.append(Chunk("-", _item(Shown(-term.expr, term.power_form), n, 0)))
        else:
            chunks.append(Chunk("+" if i else "", _item(term, n)))
    return chunks


def _expr_chunks(expr: sp.Expr, n: Notation, power_form: bool) -> list[Chunk]:
    if expr.is_Add:
        terms = latex_terms(expr, n.names, n.as_written)
        return [Chunk(sign, text) for sign, text in terms]
    ordered = ordered_factors(expr) if expr.is_Mul and not n.as_written else None
    if n.as_written and expr.is_Mul and not any(f.is_Pow and f.exp == -1 for f in expr.args):
        ordered = (1, *expr.args) if expr.args[0] != -1 else (-1, *expr.args[1:])
    if ordered is None or len(ordered) < 3:
        return [Chunk("", n.expr(expr, power_form))]
    coefficient, *factors = ordered
    texts = [_item(Shown(f, power_form), n, 1 if f.is_Mul else 0) for f in factors]
    if coefficient != 1:
        texts[0] = f"{'-' if coefficient == -1 else n.expr(coefficient)} {texts[0]}"
    return [Chunk(r"\cdot" if i and f.is_Number else "", text)
            for i, (f, text) in enumerate(zip(factors, texts, strict=True))]  # fmt: skip


def _reason(row: Row, n: Notation) -> str:
    """A row's reason as math: words in \\text, equalities in math."""
    parts = [rf"\text{{{escape_text(row.reason)}}}"] if row.reason else []
    parts += [f"{n.expr(call)} = {n.expr(written)}" for written, call in row.because]
    return r",\ ".join(parts)


def _align(lhs: str, rows: Sequence[Row], n: Notation) -> list[str]:
    laid = [(item_chunks(row.item, n), _reason(row, n)) for row in rows]
    if len(rows) == 2 and rows[1].reason == "with the names":  # σ(z)(1 - σ(z)) = y(1 - y)
        joined = [*laid[0][0], Chunk("=", _item(rows[1].item, n))]
        if fits(" ".join(chunk.text(i == 0) for i, chunk in enumerate(joined)), 24):
            laid = [(joined, laid[0][1])]
    return align_rows(lhs, laid, tags=not n.markdown)


def _block(groups: Sequence[Sequence[str]], n: Notation) -> str:
    """One `align*` (`aligned` in $$ for Markdown) of the groups of rows, a little
    space between groups."""
    body = " \\\\[1ex]\n".join(" \\\\\n".join(group) for group in groups if group)
    if not body:
        return ""
    if n.markdown:
        return "$$\n\\begin{aligned}\n" + body + "\n\\end{aligned}\n$$"
    return "\\begin{align*}\n" + body + "\n\\end{align*}"


# ---- derivations -------------------------------------------------------------------------


def _factor_rows(factor: Factor, steps: bool, start: bool = False) -> list[Row]:
    chain = step_chain(factor.steps, start and bool(factor.steps.terms)) if steps else []
    named = tidy(factor.expr)
    if not (chain and shows(chain[-1].item, named)):
        reason = "" if not chain else "simplified" if start else "with the names"
        chain.append(Row(Shown(named), reason))
    if factor.closed_form is not None:
        chain.append(closed_form_row(factor.closed_form))
    return chain


def _value(relay: Relay | None, factor: Factor) -> str:
    if relay is None or factor.expr.is_number:
        return ""
    return latex_number(relay.factors[(factor.of, factor.by)])


def _with_value(line: str, value: str) -> str:
    """`line` with the factor's value at the point after its formula, before its reason."""
    head, tag, rest = line.partition(r" \tag*{")
    if not tag:
        head, tag, rest = line.partition(" && ")
    return rf"{head} \quad (= {value})" + (f"{tag}{rest}" if tag else "")


def _local_derivatives(
    derivations: Mapping[str, Derivation], steps: bool, relay: Relay | None, n: Notation
) -> list[str]:
    """Each factor ∂A/∂B of the chains once, as its own chain of equalities."""
    lines: list[str] = []
    seen: set[tuple[sp.Symbol, sp.Symbol]] = set()
    for derivation in derivations.values():
        for factor in derivation.factors:
            if (factor.of, factor.by) in seen:
                continue
            seen.add((factor.of, factor.by))
            name = _item(factor_partial(derivation, factor), n)
            block = _align(name, _factor_rows(factor, steps), n)
            value = _value(relay, factor)
            if value:
                block[-1] = _with_value(block[-1], value)
            lines.extend(block)
    return lines


def _variable_rows(derivation: Derivation) -> list[Row]:
    chain = chain_items(derivation)
    factors = derivation.factors
    rows: list[Row] = []
    if chain is None:
        return [Row(Shown(derivation.result), "by the adjoints below")]
    rows.append(Row(chain, "chain rule"))
    products = [Product(tuple(Shown(factors[i].expr) for i in path
                              if factors[i].expr != 1) or (Shown(sp.Integer(1)),))
                for path in derivation.paths]  # fmt: skip
    product = products[0] if len(products) == 1 else Sum(tuple(products))
    if len(products) == 1 and len(products[0].factors) == 1:
        product = products[0].factors[0]
    rows.append(Row(product, ""))
    result = tidy(derivation.result)
    if not shows(product, result):
        rows.append(Row(Shown(result), "collected"))
    return rows


def _at_point(derivation: Derivation, relay: Relay, n: Notation) -> str:
    """The chain's value at the point, beside reverse mode's."""
    adjoint = latex_number(relay.node(derivation.variable).adjoint)
    value = chain_value(derivation, relay)
    reason = rf"\text{{at the point; reverse mode: }} {adjoint}"
    shown = adjoint if value is None else latex_number(value)
    return align_rows("", [([Chunk("", shown)], reason)], tags=not n.markdown)[0]


def _variable_lines(
    derivation: Derivation, steps: bool, relay: Relay | None, n: Notation, total: bool
) -> list[str]:
    whole = _partial(derivation.output, derivation.variable, n, total)
    if not derivation.names:
        rows = _factor_rows(derivation.factors[0], steps, start=True)
    else:
        rows = _variable_rows(derivation)
    lines = _align(whole, rows, n)
    if derivation.names and derivation.paths is None:
        adjoints = [(_item(lhs, n), [Row(rhs)]) for lhs, rhs in adjoint_items(derivation)]
        for lhs, adjoint_rows in adjoints:
            lines.extend(_align(lhs, adjoint_rows, n))
    if relay is not None:
        lines.append(_at_point(derivation, relay, n))
    return lines


def _relay_latex(relay: Relay, n: Notation) -> str:
    point = ", ".join(f"{n.symbol(name)} = {latex_number(v)}" for name, v in relay.point)
    rows = [rf"${n.symbol(node.name)}$ & ${latex_number(node.value)}$ & "
            rf"${latex_number(node.adjoint)}$ \\" for node in relay.nodes]  # fmt: skip
    if n.markdown:
        table = ["| node | value | adjoint |", "| --- | ---: | ---: |"]
        table += ["| " + row.rstrip(" \\").replace(" & ", " | ") + " |" for row in rows]
        return f"At ${point}$: forward values, and adjoints passed back from the output.\n\n" + (
            "\n".join(table))  # fmt: skip
    return "\n".join([
        rf"\par At ${point}$: forward values, and adjoints passed back from the output.",
        r"\begin{center}\small\begin{tabular}{lrr}",
        r"node & value & adjoint \\ \hline", *rows, r"\end{tabular}\end{center}",
    ])  # fmt: skip


def _definitions(first: Derivation, n: Notation, written: Mapping[sp.Symbol, sp.Expr]) -> list:
    rows = [(first.output, first.function), *reversed(first.names)]
    return [f"{n.symbol(name)} &= " + n.expr(written.get(name, expr), as_written=name in written)
            for name, expr in rows]  # fmt: skip


def derivation_latex(
    derivations: Mapping[str, Derivation],
    steps: bool = True,
    relay: Relay | None = None,
    notation: Notation | None = None,
    written: Mapping[sp.Symbol, sp.Expr] | None = None,
) -> str:
    """LaTeX (for a document body) of the function and its intermediates, the relay at
    a point, each local derivative once as a chain (with its steps if `steps`), and per
    variable the chain rule to the derivative.

    Args:
        derivations: variable -> `Derivation`, from `explain_case`/`explain_expression`.
        steps: show how each local derivative is taken, rule by rule.
        relay: forward values and adjoints at a point, for `derive --at`.
        notation: the symbols' LaTeX and the output format; by default worked out from
            the derivations (LaTeX).
        written: the output and intermediates as the user wrote them (parsed without
            evaluation), shown in their order.
    """
    first = next(iter(derivations.values()))
    n = notation or _notation(derivations)
    definitions = _definitions(first, n, written or {})
    groups = [_local_derivatives(derivations, steps, relay, n)] if first.names else []
    total = len(first.function.free_symbols) == 1 and not first.names
    groups.append([line for d in derivations.values()
                   for line in _variable_lines(d, steps, relay, n, total)])  # fmt: skip
    if relay is None:
        parts = [_block([definitions, *groups], n)]
    else:
        parts = [_block([definitions], n), _relay_latex(relay, n), _block(groups, n)]
    return ("\n\n" if n.markdown else "\n").join(part for part in parts if part) + "\n"


def derivation_markdown(
    derivations: Mapping[str, Derivation], steps: bool = True, relay: Relay | None = None
) -> str:
    """The derivation as Markdown: `aligned` blocks in $$...$$ (GitHub, Jupyter)."""
    base = _notation(derivations)
    return derivation_latex(derivations, steps, relay, Notation(base.names, markdown=True))


def _notation(derivations: Mapping[str, Derivation]) -> Notation:
    """The symbols' LaTeX, clear of every function printed: the derivatives' too (relu's
    heaviside prints as θ, which a variable theta must not)."""
    first = next(iter(derivations.values()))
    exprs = [first.function, *(expr for _, expr in first.names)]
    exprs += [d.result for d in derivations.values()]
    return case_notation(exprs, [first.output.name])
