"""Explain stage, matrix notation: sums and products entry by entry, simplified as built.

`product` keeps coefficient * f1**e1 * f2**e2 ...: nested products flattened, numbers in
front, equal factors merged, a factor that cancels inside a sum multiplied into it, and
a factor of ones only where it gives the shape. `add` combines like terms, drops zeros,
factors a common number out and puts a positive term first. `split_scalars` gives what a
linear operation may move out in front.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sympy as sp

from .matrix_terms import (
    Apply,
    Filled,
    Index,
    Product,
    Sum,
    Term,
    broadcast,
    filled,
    is_negative,
    is_scalar,
    is_value,
)

__all__ = ["add", "lean_arguments", "product", "split_scalars"]


# ---- products ---------------------------------------------------------------------------


def _power_of(term: Term, exponent: Any) -> tuple[Any, list[tuple[Term, Any]]]:
    """(coefficient, factors) of term**exponent, nested products flattened."""
    if isinstance(term, Filled):
        return term.value**exponent, ([(filled(1, term.shape), 1)] if term.shape else [])
    if isinstance(term, Product) and (exponent == 1 or sp.sympify(exponent).is_integer):
        factors = [(factor, power * exponent) for factor, power in term.factors]
        return term.coefficient**exponent, factors
    return sp.Integer(1), [(term, exponent)]


def product(coefficient: Any, factors: Iterable[tuple[Term, Any]], shape: tuple) -> Term:
    """coefficient * Π factor**exponent of `shape`: flattened, numbers gathered in front,
    equal factors merged, a factor that cancels inside a sum multiplied into it
    (s * (1 - y / s) is s - y), and a factor of ones kept only where it gives the shape."""
    coefficient = sp.sympify(coefficient)
    merged: dict[Term, Any] = {}
    for factor, exponent in factors:
        number, parts = _power_of(factor, sp.sympify(exponent))
        coefficient *= number
        for part, power in parts:
            merged[part] = merged.get(part, 0) + power
    if coefficient == 0:
        return filled(0, shape)
    kept = [(f, e) for f, e in merged.items() if e != 0 and not is_value(f, 1)]
    distributed = _distribute(kept)
    if distributed is not None:
        return product(coefficient, distributed, shape)
    leaner: dict[Term, Any] = {}
    for f, e in kept:
        lean = _lean(f)
        chosen = lean if _fits(lean, kept, f, shape) else f
        leaner[chosen] = leaner.get(chosen, 0) + e
    kept = [(f, e) for f, e in leaner.items() if e != 0]
    if not kept:
        return filled(coefficient, shape)
    if broadcast(*(f.shape for f, _ in kept)) != tuple(shape):
        kept.append((filled(1, shape), sp.Integer(1)))
    if coefficient == 1 and len(kept) == 1 and kept[0][1] == 1:
        return kept[0][0]
    return Product(tuple(shape), coefficient, tuple(kept))


def _leading_axes(term: Index) -> bool:
    """An index that only adds axes in front (x[newaxis, newaxis]), which broadcasting
    adds anyway."""
    count = 0
    while count < len(term.items) and term.items[count] is None:
        count += 1
    rest = term.items[count:]
    whole = [(0, size, 1) for size in term.operand.shape[: len(rest)]]
    return count > 0 and list(rest) == whole


def _fits(lean: Term, kept: list[tuple[Term, Any]], factor: Term, shape: tuple) -> bool:
    others = [f.shape for f, _ in kept if f is not factor]
    return broadcast(lean.shape, *others) == broadcast(factor.shape, *others)


def _distribute(kept: list[tuple[Term, Any]]) -> list[tuple[Term, Any]] | None:
    """The factors with one multiplied into a sum where a term of the sum divides by it,
    or None when no factor cancels that way."""
    for total, power in kept:
        if not isinstance(total, Sum) or power != 1:
            continue
        for factor, exponent in kept:
            if factor is total or is_scalar(factor) or not sp.sympify(exponent).is_positive:
                continue
            if any(_divides(term, factor) for term in total.terms):
                shape = broadcast(total.shape, factor.shape)
                terms = [product(1, [(t, 1), (factor, exponent)], broadcast(t.shape, factor.shape))
                         for t in total.terms]  # fmt: skip
                rest = [(f, e) for f, e in kept if f is not total and f is not factor]
                return [*rest, (add(terms, shape), 1)]
    return None


def _divides(term: Term, factor: Term) -> bool:
    return isinstance(term, Product) and any(
        f == factor and sp.sympify(e).is_negative for f, e in term.factors
    )


def split_scalars(term: Term) -> tuple[Any, list[tuple[Term, Any]], Term]:
    """(coefficient, scalar factors, the rest) of a term: what moves out of a linear
    operation. The rest has the term's shape."""
    if isinstance(term, Filled) and term.shape:
        return term.value, [], filled(1, term.shape)
    if not isinstance(term, Product):
        return sp.Integer(1), [], term
    scalars = [(f, e) for f, e in term.factors if is_scalar(f)]
    arrays = [(f, e) for f, e in term.factors if not is_scalar(f)]
    return term.coefficient, scalars, product(1, arrays, term.shape)


# ---- sums -------------------------------------------------------------------------------


def _body(term: Term) -> tuple[Any, Term | None]:
    """(coefficient, the rest) of a summand; the rest is None for a plain number."""
    if isinstance(term, Filled):
        return term.value, None
    if isinstance(term, Product):
        return term.coefficient, product(1, term.factors, term.shape)
    return sp.Integer(1), term


def lean_arguments(args: Sequence[Term], shape: tuple) -> list[Term]:
    """Arguments of an entry-by-entry operation without what broadcasting gives anyway,
    where the others still give `shape`."""
    found = list(args)
    for position, arg in enumerate(args):
        lean = _lean(arg)
        others = [a.shape for i, a in enumerate(found) if i != position]
        if broadcast(lean.shape, *others) == tuple(shape):
            found[position] = lean
    return found


def _lean(term: Term) -> Term:
    """The term without what broadcasting gives anyway: a factor of ones, an array of
    one number, the size-1 axes of a sum over every axis (keepdims)."""
    if isinstance(term, Filled):
        return filled(term.value)
    if isinstance(term, Product):
        factors = [(_lean(f), e) for f, e in term.factors if not is_value(f, 1)]
        return product(term.coefficient, factors, broadcast(*(f.shape for f, _ in factors)))
    if isinstance(term, Index) and _leading_axes(term):
        return _lean(term.operand)
    if isinstance(term, Apply) and dict(term.keywords).get("keepdims"):
        if all(size == 1 for size in term.shape):  # a reduction over every axis
            return Apply((), term.function, term.args)
    return term


def add(terms: Iterable[Term], shape: tuple) -> Term:
    """The sum of `terms` with `shape`: flattened, like terms combined, zeros dropped, a
    common number factored out, and a positive term first."""
    combined: dict[Any, Any] = {}
    for term in terms:
        for part in _summands(term):
            number, rest = _body(_lean(part))  # the shape comes back below if none gives it
            key = rest if rest is not None else ("number",)
            combined[key] = combined.get(key, 0) + number
    summands = [(c, rest) for rest, c in combined.items() if c != 0]
    summands = [(c, None if rest == ("number",) else rest) for c, rest in summands]
    if not summands:
        return filled(0, shape)
    common = _common_factor([c for c, _ in summands]) if len(summands) > 1 else sp.Integer(1)
    parts = [_summand(c / common, rest) for c, rest in summands]
    negative = [is_negative(part) for part in parts]
    if negative[0] and not all(negative):
        first = negative.index(False)
        parts.insert(0, parts.pop(first))
    if broadcast(*(part.shape for part in parts)) != tuple(shape):  # ones give the shape
        parts[0] = product(1, [(parts[0], 1)], broadcast(parts[0].shape, shape))
    total = parts[0] if len(parts) == 1 else Sum(tuple(shape), tuple(parts))
    return product(common, [(total, 1)], shape)


def _summands(term: Term) -> tuple[Term, ...]:
    """The terms of a sum, also of a number times a sum (its factor goes into each)."""
    if isinstance(term, Sum):
        return term.terms
    if isinstance(term, Product) and len(term.factors) == 1:
        ((inner, exponent),) = term.factors
        if isinstance(inner, Sum) and exponent == 1 and inner.shape == term.shape:
            return tuple(product(term.coefficient, [(t, 1)], t.shape) for t in inner.terms)
    return (term,)


def _summand(coefficient: Any, rest: Term | None) -> Term:
    if rest is None:
        return filled(coefficient)
    return product(coefficient, [(rest, 1)], rest.shape)


def _common_factor(coefficients: Sequence[Any]) -> Any:
    """The number every coefficient shares: their gcd if all are rational, with the sign
    when all are negative; 1 otherwise."""
    if not all(sp.sympify(c).is_Rational for c in coefficients):
        return coefficients[0] if len(set(coefficients)) == 1 else sp.Integer(1)
    common = sp.Integer(0)
    for c in coefficients:
        common = sp.gcd(common, c)
    return -common if all(c < 0 for c in coefficients) else common
