"""Report stage for derivations, the chain: a `Step` tree -> one chain of equalities.

`step_chain` writes a derivative as a handout does, one "=" after another, each row
with its reason: the rule at the top is applied first and the derivatives of its
arguments stay pending (d/dx (1 + e^-x)) unless they are small enough to take at once;
each next row takes the pending ones; the last rows multiply out and tidy up. Every row
is read off the `Step` tree, so the chain cannot say anything the steps did not.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..explain.steps import PRIMITIVE_RULES, ClosedForm, Step
from ..symbolic.trees import tree_size
from .lines import Derivative, Item, Product, Shown, Sum

__all__ = [
    "SMALL_STEP",
    "Pending",
    "Row",
    "closed_form_row",
    "rule_words",
    "shows",
    "step_chain",
    "tidy",
]

SMALL_STEP = 3  # a pending derivative of at most this many rule applications: one row
TIDY_OPS = 24  # operations of the largest expression `tidy` tries to cancel
TIDY_NODES = 8 * TIDY_OPS  # nodes written out: more than any expression of TIDY_OPS has


@dataclass(frozen=True)
class Pending:
    """A derivative not taken yet: d/dx of `step.expr`."""

    step: Step


@dataclass(frozen=True)
class Row:
    """One "= ..." of a chain: `item`, and why it equals the row before: `reason` in
    words and `because`, equalities shown in mathematics (σ(x) = 1/(1 + e^-x))."""

    item: Item | Pending
    reason: str = ""
    because: tuple[tuple[sp.Expr, sp.Expr], ...] = ()


def rule_words(rule: str) -> str:
    """
    >>> rule_words("chain"), rule_words("constant multiple"), rule_words("tanh")
    ('chain rule', 'constant multiple rule', 'tanh rule')
    """
    return "constant" if rule == "constant" else f"{rule} rule"


def _reason(step: Step) -> str:
    if step.outer is not None:
        return f"chain rule, {rule_words(step.outer.rule)}"
    return rule_words(step.rule)


def _applications(step: Step) -> int:
    return sum(1 for s in step.walk() if s.rule not in PRIMITIVE_RULES[:2])


def _power(step: Step) -> bool:
    return step.rule == "power" or (step.outer is not None and step.outer.rule == "power")


def _times(local: sp.Expr, inner: Item | Pending, power: bool) -> Item | Pending:
    if isinstance(inner, Shown) and inner.expr == 1:
        return Shown(local, power)
    if local == 1:
        return inner
    factors = inner.factors if isinstance(inner, Product) else (inner,)
    return Product((Shown(local, power), *factors))


def _take(step: Step) -> Item | Pending:
    """A derivative as the row shows it: a variable's 1, a small one taken, else pending."""
    if step.rule == "variable" or _applications(step) <= SMALL_STEP:
        return Shown(step.result, _power(step))
    return Pending(step)


def _expand(step: Step) -> Item | Pending:
    """One rule applied: the derivatives of the arguments taken if small, else pending."""
    if all(term.step.rule in PRIMITIVE_RULES[:2] for term in step.terms) and not step.outer:
        return Shown(step.result, _power(step))
    parts = [
        _times(term.local, _take(term.step), _power(step))
        for term in step.terms
        if term.step.rule != "constant"
    ]
    if not parts:
        return Shown(sp.Integer(0))
    return parts[0] if len(parts) == 1 else Sum(tuple(parts))


def _advance(item: Item | Pending, reasons: list[str]) -> Item | Pending:
    """Every pending derivative of `item` taken one rule further."""
    if isinstance(item, Pending):
        reasons.append(_reason(item.step))
        return _expand(item.step)
    if isinstance(item, Product):
        factors: list[Item | Pending] = []
        for factor in item.factors:
            taken = _advance(factor, reasons)
            factors.extend(taken.factors if isinstance(taken, Product) else (taken,))
        return Product(tuple(factors))
    if isinstance(item, Sum):
        return Sum(tuple(_advance(term, reasons) for term in item.terms))
    return item


def _pending(item: Item | Pending) -> bool:
    if isinstance(item, Pending):
        return True
    parts = item.factors if isinstance(item, Product) else getattr(item, "terms", ())
    return any(_pending(part) for part in parts)


def tidy(expr: sp.Expr) -> sp.Expr:
    """`expr` with what cancels cancelled (x/x is 1), when that makes it much smaller,
    as a whole or term by term; otherwise `expr` as derived, whose form the closed form
    and the claims follow. Only small expressions are tried: cancel multiplies products
    of sums out. The size is checked first by `tree_size`, which visits each shared
    sub-expression once: `count_ops` walks every occurrence, exponentially many in a
    chain of intermediates that each use the one before twice."""
    if tree_size(expr) > TIDY_NODES or sp.count_ops(expr) > TIDY_OPS:
        return expr
    whole = _cancelled(expr)
    if whole is not None:
        return whole
    if expr.is_Add:  # exp(log(x)) + sigmoid(x) differentiates to x/x + ...: cancel x/x
        terms = [_cancelled(term) for term in expr.args]
        if any(term is not None for term in terms):
            return sp.Add(*(new or old for new, old in zip(terms, expr.args, strict=True)))
    return expr


def _cancelled(expr: sp.Expr) -> sp.Expr | None:
    """`expr` cancelled, if that at least halves it."""
    try:
        cancelled = sp.cancel(expr)
    except (sp.PolynomialError, TypeError, ValueError):  # not a rational function
        return None
    if cancelled.is_number or sp.count_ops(cancelled) * 2 <= sp.count_ops(expr):
        return cancelled
    return None


def step_chain(step: Step, start: bool = True) -> list[Row]:
    """The rows of d expr/d variable to the result, tidied; first the derivative written
    out when the expression is rewritten (1/u is u^-1), or with `start` when the chain
    takes more than one row."""
    rows: list[Row] = []
    item: Item | Pending = Pending(step)
    while _pending(item):
        reasons: list[str] = []
        item = _advance(item, reasons)
        rows.append(Row(item, ", ".join(dict.fromkeys(reasons))))
    result = tidy(step.result)
    if not shows(item, result):
        rows.append(Row(Shown(result, step.rule == "power"), "simplified"))
    if step.rewrite is not None or start and len(rows) > 1:
        written = Derivative(step.expr, step.variable, step.rewrite is not None)
        rows.insert(0, Row(written, "as a power" if step.rewrite is not None else ""))
    return rows


def _value(item: Item | Pending) -> sp.Expr:
    if isinstance(item, Shown):
        return item.expr
    if isinstance(item, Product):
        return sp.Mul(*(_value(factor) for factor in item.factors))
    return sp.Add(*(_value(term) for term in getattr(item, "terms", ())))


def _reordered(item: Item | Pending) -> bool:
    """Whether multiplying out `item` only drops its dots and brackets."""
    if isinstance(item, Sum):
        return all(_reordered(term) for term in item.terms)
    if isinstance(item, Product):
        whole = set(sp.Mul.make_args(_value(item)))
        return all(set(sp.Mul.make_args(_value(f))) <= whole for f in item.factors)
    return isinstance(item, Shown)


def shows(item: Item | Pending, result: sp.Expr) -> bool:
    """Whether `item` already reads as `result` (at most reordered): no row needed."""
    if isinstance(item, Shown):
        return item.expr == result
    return not _pending(item) and _value(item) == result and _reordered(item)


def closed_form_row(found: ClosedForm) -> Row:
    """The compact form, because each written-out activation is the table's function."""
    reason = "" if found.verified else "not proved symbolically"
    return Row(Shown(found.expr), reason, tuple(found.recognised))
