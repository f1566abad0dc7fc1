"""Report stage for derivations, layout: `Step` trees and chains -> lines of equations.

`step_lines` lays a `Step` tree out in the textbook order (the rule, rewrites, outer and
inner derivatives, their product); the text, JSON and LaTeX writers all read these lines,
so the three formats cannot tell different derivations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import sympy as sp

from ..explain.chain import Derivation, Factor
from ..explain.steps import PRIMITIVE_RULES, ClosedForm, Step, Term
from ..symbolic.printing import print_expression
from ..symbolic.written import as_written_with

if TYPE_CHECKING:  # annotations only: imported lazily, plain derive never needs it
    from ..explain.relay import Relay

__all__ = [
    "Derivative",
    "Forms",
    "Item",
    "Line",
    "Partial",
    "Product",
    "Shown",
    "Sum",
    "adjoint_items",
    "chain_items",
    "chain_value",
    "closed_form_line",
    "factor_partial",
    "format_number",
    "needs_brackets",
    "rule_label",
    "step_lines",
]


@dataclass(frozen=True)
class Shown:
    """An expression; `power_form` keeps powers as powers (for the power rule);
    `as_written`: built without evaluation, in the user's order (`symbolic.written`)."""

    expr: sp.Expr
    power_form: bool = False
    as_written: bool = False


@dataclass(frozen=True)
class Derivative:
    """d/d(variable) of `expr` (∂ when `expr` has other variables)."""

    expr: sp.Expr
    variable: sp.Symbol
    power_form: bool = False
    as_written: bool = False


@dataclass(frozen=True)
class Partial:
    """∂of/∂by, the name of a factor of the chain rule; `held` are the arguments held
    fixed when that needs saying: f(u, x) with u = u(x) has the direct partial ∂f/∂x|u,
    which plain ∂f/∂x would confuse with the whole derivative."""

    of: sp.Symbol
    by: sp.Symbol
    held: tuple[sp.Symbol, ...] = ()


@dataclass(frozen=True)
class Product:
    factors: tuple[Item, ...]


@dataclass(frozen=True)
class Sum:
    terms: tuple[Item, ...]


Item = Union[Shown, Derivative, Partial, Product, Sum]  # noqa: UP007 - a runtime alias
Forms = Mapping[sp.Basic, sp.Basic]  # an expression -> as the user wrote it


@dataclass(frozen=True)
class Line:
    """One line of a derivation: `items` joined by "=", under `label` at `depth`.

    `where` holds the placeholders of a chain (u = 1 + exp(-x)); `rule` names the
    rule applied; `note` is a remark in words."""

    depth: int
    items: tuple[Item, ...]
    label: str = ""
    where: tuple[tuple[sp.Symbol, Shown], ...] = ()
    rule: str | None = None
    note: str = ""


def rule_label(rule: str) -> str:
    """
    >>> rule_label("chain"), rule_label("constant"), rule_label("sigmoid")
    ('chain rule', 'constant', 'sigmoid')
    """
    return f"{rule} rule" if rule in PRIMITIVE_RULES[2:] else rule


def format_number(value: float | None) -> str:
    """
    >>> format_number(-0.0), format_number(1.4736394889812655e-52), format_number(None)
    ('0', '1.47364e-52', '—')
    """
    return "—" if value is None else f"{value + 0.0:.6g}"  # + 0.0: no "-0"


# ---- layout ---------------------------------------------------------------------------


def _is_leaf(step: Step) -> bool:
    return step.outer is None and all(t.step.rule in ("constant", "variable") for t in step.terms)


def _shown(expr: sp.Expr, forms: Forms, power_form: bool = False) -> Shown:
    """`expr` as the user wrote it, when `forms` knows it."""
    written = forms.get(expr)
    return Shown(expr, power_form) if written is None else Shown(written, power_form, True)


def _derivative(step: Step, forms: Forms, power_form: bool) -> Derivative:
    written = forms.get(step.expr)
    if written is None:
        return Derivative(step.expr, step.variable, power_form)
    return Derivative(written, step.variable, power_form, True)


def step_lines(
    step: Step, depth: int = 0, label: str = "", forms: Forms | None = None
) -> list[Line]:
    """`step` and the steps below it as lines, in the order a textbook writes them.

    `forms` maps expressions to the user's way of writing them (`symbolic.written`):
    what is differentiated is shown so, and an outer derivative at its argument keeps
    the argument whole (2*(y - t), not -2*t + 2*y). Results are SymPy's."""
    forms = forms or {}
    power = step.rule == "power"
    head = _derivative(step, forms, power)
    if _is_leaf(step):
        return [Line(depth, (head, Shown(step.result, power)), label, rule=step.rule)]
    lines = [Line(depth, (head,), label, rule=step.rule)]
    if step.rewrite is not None:
        rewrite = (_shown(step.expr, forms), Shown(step.rewrite, True))
        lines.append(Line(depth + 1, rewrite, "rewrite"))
    if step.outer is None:
        for term in step.terms:
            if term.step.rule != "variable":
                lines.extend(step_lines(term.step, depth + 1, forms=forms))
        lines.append(Line(depth + 1, (Shown(step.result),)))
        return lines
    return lines + _chain_lines(step, depth + 1, forms)


def _outer_at(derivative: sp.Expr, arguments: dict[sp.Symbol, sp.Expr], term: Term,
              forms: Forms, power: bool) -> Shown:  # fmt: skip
    """The outer derivative at the arguments (every placeholder's: max(u1, u2)'s
    derivative in u1 holds u2 too): kept whole when the user wrote it."""
    whole = as_written_with(derivative, arguments, forms)
    return Shown(term.local, power) if whole is None else Shown(whole, power, True)


def _chain_lines(step: Step, depth: int, forms: Forms) -> list[Line]:
    outer = step.outer
    power = outer.rule == "power"
    lines: list[Line] = []
    arguments = {u: term.argument for u, term in zip(outer.placeholders, step.terms, strict=True)}
    for u, derivative, term in zip(outer.placeholders, outer.derivatives, step.terms, strict=True):
        at = _outer_at(derivative, arguments, term, forms, power)
        items = (Derivative(outer.expr, u, power), Shown(derivative, power), at)
        where = ((u, _shown(term.argument, forms)),)
        lines.append(Line(depth, items, "outer", where, outer.rule))
    for u, term in zip(outer.placeholders, step.terms, strict=True):
        if term.step.rule != "variable":
            label = "inner" if len(step.terms) == 1 else f"inner {u}"
            lines.extend(step_lines(term.step, depth, label, forms))
    products = tuple(Product((_outer_at(d, arguments, t, forms, power), Shown(t.step.result)))
                     for d, t in zip(outer.derivatives, step.terms, strict=True))  # fmt: skip
    combined = products[0] if len(products) == 1 else Sum(products)
    lines.append(Line(depth, (combined, Shown(step.result)), "product"))
    return lines


def closed_form_line(found: ClosedForm, result: sp.Expr, depth: int = 0) -> Line:
    """result = the compact form, with what was recognised and whether it is proved."""
    recognised = ", ".join(
        f"{print_expression(written)} is {print_expression(call)}"
        for written, call in found.recognised
    )
    verdict = "verified" if found.verified else "not proved symbolically"
    note = f"{verdict}; {recognised}"
    return Line(depth, (Shown(result), Shown(found.expr)), "closed form", note=note)


def factor_partial(derivation: Derivation, factor: Factor) -> Partial:
    """The factor's name: ∂of/∂by, with what is held fixed when `of` is the output and
    `by` the variable while other factors lead from the output too (the direct part)."""
    if factor.of != derivation.output or factor.by != derivation.variable:
        return Partial(factor.of, factor.by)
    others = tuple(f.by for f in derivation.factors if f.of == factor.of and f.by != factor.by)
    return Partial(factor.of, factor.by, others)


def chain_items(derivation: Derivation) -> Item | None:
    """∂f/∂y · ∂y/∂z · ... summed over the paths; None when they are too many."""
    if derivation.paths is None:
        return None
    factors = derivation.factors
    products = tuple(Product(tuple(factor_partial(derivation, factors[i]) for i in path))
                     for path in derivation.paths)  # fmt: skip
    return products[0] if len(products) == 1 else Sum(products)


def adjoint_items(derivation: Derivation) -> list[tuple[Partial, Item]]:
    """∂f/∂B = Σ ∂f/∂A · ∂A/∂B for each B below the output, users first: the chain
    rule as backpropagation computes it, for chains with too many paths to list."""
    output = derivation.output
    below = dict.fromkeys(factor.by for factor in derivation.factors)
    items = []
    for node in below:
        terms = tuple(factor_partial(derivation, f) if f.of == output else
                      Product((Partial(output, f.of), Partial(f.of, f.by)))
                      for f in derivation.factors if f.by == node)  # fmt: skip
        if terms != (Partial(output, node),):  # used by the output alone: nothing to say
            items.append((Partial(output, node), terms[0] if len(terms) == 1 else Sum(terms)))
    return items


def needs_brackets(expr: sp.Expr, first: bool) -> bool:
    """Whether a factor shown in a product (outer · inner) needs brackets: a sum does;
    after the first factor, so does a product or a negative term, as textbooks write
    -(1 + e^-x)^-2 · (-e^-x).

    >>> x = sp.Symbol("x")
    >>> needs_brackets(-x, True), needs_brackets(-x, False), needs_brackets(1 + x, True)
    (False, True, True)
    """
    if expr.is_Add:
        return True
    return not first and (expr.is_Mul or expr.could_extract_minus_sign())


def chain_value(derivation: Derivation, relay: Relay) -> float | None:
    """The chain's sum of products of factor values at the relay's point."""
    if derivation.paths is None:
        return None
    total = 0.0
    for path in derivation.paths:
        product = 1.0
        for index in path:
            factor = derivation.factors[index]
            product *= relay.factors[(factor.of, factor.by)]
        total += product
    return total
