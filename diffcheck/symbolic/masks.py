"""Symbolic stage, masks: derived gradients with where's indicators pulled out of products.

Through where(d, a, b), the partial with respect to a is the indicator heaviside(d, 0)
of d > 0. Where it is 0, the rest of the product may be undefined: 1/(2 sqrt(x)) from
where(x > 0, sqrt(x), 0) at x < 0, so that the product is 0·NaN. But the term is 0 on a
neighbourhood of such a point (d < 0 is an open condition), so its derivative there is
0 whatever the other factors are. `mask_products` writes each product with such a factor
as where(d > 0, rest, 0), which NumPy and mpmath evaluate to exactly that. Main
function: `mask_products`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from .rules import RULES
from .trees import call, nodes_in_order

__all__ = ["mask_products"]

_WHERE = RULES["where"].function
_INDICATOR = RULES["heaviside.h0"].function
_ZERO = sp.Integer(0)


def _mask(factor: sp.Basic) -> tuple[sp.Expr, bool, sp.Expr] | None:
    """(d, above, g) for a factor that is g where d > 0 (above) or where d <= 0, and 0
    elsewhere: heaviside(e, 0), heaviside(e, 1), where(d, g, 0), where(d, 0, g)."""
    if isinstance(factor, _INDICATOR) and factor.args[1] in (0, 1):
        e, h0 = factor.args
        return (e, True, sp.Integer(1)) if h0 == 0 else (-e, False, sp.Integer(1))
    if isinstance(factor, _WHERE):
        d, a, b = factor.args
        if b == 0:
            return d, True, a
        if a == 0:
            return d, False, b
    return None


def _masked(d: sp.Expr, above: bool, inner: sp.Expr) -> sp.Expr:
    return call(_WHERE, (d, inner, _ZERO) if above else (d, _ZERO, inner))


def _product(factors: Sequence[sp.Expr]) -> sp.Expr:
    for index, factor in enumerate(factors):
        mask = _mask(factor)
        if mask is not None:  # the other factors, and the rest of masks, go inside
            d, above, inner = mask
            return _masked(d, above, _product([*factors[:index], *factors[index + 1 :], inner]))
    return sp.Mul(*factors)


def _sum(terms: Sequence[sp.Expr]) -> sp.Expr:
    masks = [_mask(term) for term in terms]
    first = masks[0]
    if first is not None and all(m is not None and m[:2] == first[:2] for m in masks):
        return _masked(first[0], first[1], sp.Add(*(m[2] for m in masks)))  # type: ignore[index]
    return sp.Add(*terms)


def mask_products(expr: sp.Expr) -> sp.Expr:
    """`expr` with every product that has a mask factor (heaviside(d, 0) or 1, or a
    where with a 0 branch) written as where(d > 0, rest, 0) or where(d > 0, 0, rest),
    and sums of terms under one mask as that mask of the sum.

    >>> from diffcheck.symbolic.parse import parse_expression as p
    >>> mask_products(p("heaviside(x, 0)/(2*sqrt(x)) + 1"))
    where(x > 0, 1/(2*sqrt(x)), 0) + 1
    """
    order = nodes_in_order([expr])
    if not any(isinstance(node, (_WHERE, _INDICATOR)) for node in order):
        return expr  # the usual case: one walk, nothing rebuilt
    rebuilt: dict[sp.Basic, sp.Basic] = {}
    for node in order:
        args = [rebuilt.get(arg, arg) for arg in node.args]
        changed = any(new is not old for new, old in zip(args, node.args, strict=True))
        masked = (node.is_Mul or node.is_Add) and any(_mask(arg) for arg in args)
        if node.is_Mul and masked:
            rebuilt[node] = _product(args)
        elif node.is_Add and masked:
            rebuilt[node] = _sum(args)
        elif changed:
            rebuilt[node] = call(node.func, args)
    return rebuilt.get(expr, expr)
