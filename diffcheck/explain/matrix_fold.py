"""Explain stage, matrix notation: a derivative rewritten the way a textbook writes it.

`Folding(definitions).simplify(term)` tries the term as built, the term compacted, and
the term expanded then compacted, and keeps the shortest printed form (so no form gets
longer). Expanding distributes products over sums, splits a sum over an axis (keepdims)
into the sums of its terms with the factors constant along that axis moved out, and drops
the sum of a name whose definition sums to 0 there (x - mean(x) along the same axis).
Compacting folds a product back into a `where` name (xc / sigma is xhat), moves a
factor constant along a summed axis into the sum where that shortens it, writes
sum(E, axis=a) / n as mean(E, axis=a) when n is the size of axis a, and factors a common
factor or number out of a sum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import Any

import sympy as sp

from .matrix_algebra import add, product
from .matrix_print import print_term
from .matrix_terms import Apply, Filled, Name, Product, Sum, Term, broadcast, filled, is_scalar

__all__ = ["Folding", "mean_of_sum", "rebuild"]

Factors = list[tuple[Term, Any]]
_LINEAR = ("sum", "mean")  # reductions that a factor constant along their axes passes


def rebuild(term: Term, change: Callable[[Term], Term]) -> Term:
    """`term` with `change` applied to each child; sums and products simplified again."""
    if isinstance(term, Sum):
        return add([change(t) for t in term.terms], term.shape)
    if isinstance(term, Product):
        return product(term.coefficient, [(change(f), e) for f, e in term.factors], term.shape)
    changes = {}
    for field in fields(term):
        value = getattr(term, field.name)
        if isinstance(value, Term):
            changes[field.name] = change(value)
        elif isinstance(value, tuple) and value and all(isinstance(v, Term) for v in value):
            changes[field.name] = tuple(change(v) for v in value)
    return replace(term, **changes) if changes else term


def _summed_axes(term: Apply) -> tuple[int, ...]:
    """The axes a sum (or mean) reduces, counted in its operand."""
    axis = dict(term.keywords).get("axis")
    if axis is None:
        return tuple(range(len(term.args[0].shape)))
    return tuple(axis) if isinstance(axis, tuple) else (axis,)


def _is_sum(term: Term, functions: tuple[str, ...] = ("sum",)) -> bool:
    return isinstance(term, Apply) and term.function in functions and len(term.args) == 1


def _keeps_dims(term: Apply) -> bool:
    return bool(dict(term.keywords).get("keepdims"))


def _constant_along(factor: Term, rank: int, axes: tuple[int, ...]) -> bool:
    """Whether the factor, broadcast to `rank` axes, has size 1 along `axes`."""
    shape = factor.shape
    if len(shape) > rank:
        return False
    padded = (1,) * (rank - len(shape)) + tuple(shape)
    return all(padded[axis] == 1 for axis in axes)


def _parts(term: Term) -> tuple[Any, Factors]:
    """(coefficient, factors) of a summand."""
    if isinstance(term, Product):
        return term.coefficient, list(term.factors)
    if isinstance(term, Filled) and not term.shape:
        return term.value, []
    return sp.Integer(1), [(term, sp.Integer(1))]


def _shape_of(factors: Factors) -> tuple:
    return broadcast(*(f.shape for f, _ in factors)) if factors else ()


def mean_of_sum(term: Product) -> Product:
    """c * sum(E, axis=a) with c = k / n, n the size of axis a: k * mean(E, axis=a)."""
    for position, (factor, exponent) in enumerate(term.factors):
        if not _is_sum(factor) or exponent != 1:
            continue
        operand = factor.args[0]
        count = sp.Mul(*(sp.sympify(operand.shape[axis]) for axis in _summed_axes(factor)))
        rest = sp.cancel(sp.fraction(sp.sympify(term.coefficient))[1] / count)
        if count == 1 or sp.fraction(rest)[1] != 1:
            continue
        mean = replace(factor, function="mean")
        factors = (*term.factors[:position], (mean, exponent), *term.factors[position + 1 :])
        return Product(term.shape, sp.cancel(term.coefficient * count), factors)
    return term


class Folding:
    """The rewrites of one case: `definitions` maps each `where` name to its term."""

    def __init__(self, definitions: Mapping[str, Term]):
        self.definitions = {name: t for name, t in definitions.items()
                            if not isinstance(t, (Name, Filled))}  # fmt: skip
        self._zero: dict[tuple, bool] = {}

    def simplify(self, term: Term) -> Term:
        """The shortest printed of: the term, compacted, expanded then compacted."""
        found = [term, self.compact(term)]
        try:
            found.append(self.compact(self.expand(term)))
        except ValueError:  # a sum whose parts no longer broadcast: not rewritten
            pass
        return min(found, key=lambda t: len(print_term(t)))

    # ---- expanding ----------------------------------------------------------------------

    def expand(self, term: Term) -> Term:
        """Products distributed over sums, sums over an axis split into their terms."""
        term = rebuild(term, self.expand)
        if isinstance(term, Product):
            return self._distribute(term)
        if _is_sum(term):
            return self._split_sum(term)
        return term

    @staticmethod
    def _distribute(term: Product) -> Term:
        """A number times a sum multiplied into each of its terms (d**2 / d**2 cancels);
        arrays stay outside: s * (1 - s) is not s - s**2."""
        if len(term.factors) != 1 or term.factors[0][1] != 1 or term.coefficient == 1:
            return term
        total = term.factors[0][0]
        if not isinstance(total, Sum):
            return term
        parts = [
            product(term.coefficient, [(summand, 1)], summand.shape) for summand in total.terms
        ]
        return add(parts, term.shape)

    def _split_sum(self, term: Apply) -> Term:
        """sum(a + b) = sum(a) + sum(b); factors constant along the axes move out; a
        term constant along them counts n times; a name that sums to 0 there goes."""
        operand, axes = term.args[0], _summed_axes(term)
        every = len(axes) == len(operand.shape) and not _keeps_dims(term)
        if not (_keeps_dims(term) or every):
            return term
        rank = len(operand.shape)
        summands = operand.terms if isinstance(operand, Sum) else (operand,)
        parts = []
        for summand in summands:
            coefficient, factors = _parts(summand)
            pulled = [(f, e) for f, e in factors if is_scalar(f) or (
                not every and _constant_along(f, rank, axes))]  # fmt: skip
            inside = [(f, e) for f, e in factors if not any(f is p for p, _ in pulled)]
            if not inside:
                count = sp.Mul(*(sp.sympify(operand.shape[axis]) for axis in axes))
                parts.append(product(coefficient * count, pulled, _shape_of(pulled)))
                continue
            inner = product(1, inside, _shape_of(inside))
            if len(inner.shape) != rank:  # a term broadcast along other axes: kept whole
                return term
            if self._sums_to_zero(inner, axes):
                continue
            reduced = tuple(1 if i in axes else n for i, n in enumerate(inner.shape))
            summed = Apply(reduced if _keeps_dims(term) else (), "sum", (inner,), term.keywords)
            factors = [*pulled, (summed, sp.Integer(1))]
            parts.append(product(coefficient, factors, _shape_of(factors)))
        return add(parts, term.shape)

    def _sums_to_zero(self, term: Term, axes: tuple[int, ...]) -> bool:
        """Whether a `where` name sums to 0 along `axes`, from its definition."""
        if not isinstance(term, Name) or term.name not in self.definitions:
            return False
        key = (term.name, axes)
        if key not in self._zero:
            self._zero[key] = False  # a definition that refers back to itself: not 0
            inlined = self._inline(self.definitions[term.name])
            reduced = tuple(1 if i in axes else n for i, n in enumerate(inlined.shape))
            whole = Apply(reduced, "sum", (inlined,), self._keywords(axes))
            expanded = self.expand(whole)
            self._zero[key] = isinstance(expanded, Filled) and expanded.value == 0
        return self._zero[key]

    @staticmethod
    def _keywords(axes: tuple[int, ...]) -> tuple:
        return (("axis", axes[0] if len(axes) == 1 else axes), ("keepdims", True))

    def _inline(self, term: Term) -> Term:
        if isinstance(term, Name) and term.name in self.definitions:
            return self._inline(self.definitions[term.name])
        return rebuild(term, self._inline)

    # ---- compacting ---------------------------------------------------------------------

    def compact(self, term: Term) -> Term:
        """Names folded back, factors moved into sums, means, common factors out."""
        term = self._fold(rebuild(term, self.compact))
        if isinstance(term, Product):
            term = self._fold(self._into_sums(mean_of_sum(term)))
            term = _sums_last(term)
        if isinstance(term, Sum):
            term = self._common_factor(term)
        return term

    def _fold(self, term: Term) -> Term:
        """A term equal to a `where` name's definition, or a product holding all of its
        factors, written with the name."""
        for name, definition in self.definitions.items():
            if term == definition:
                return Name(definition.shape, name)
        if not isinstance(term, Product):
            return term
        for name, definition in self.definitions.items():
            if isinstance(definition, Product) and len(definition.factors) > 1:
                folded = _fold_product(term, Name(definition.shape, name), definition)
                if folded is not None:
                    return self._fold(folded)
        return term

    def _into_sums(self, term: Product) -> Term:
        """A factor constant along a sum's axes moved into the sum, one power at a
        time, while the product gets shorter (sum(g * xc) / sigma is sum(g * xhat))."""
        best, length = term, len(print_term(term))
        improved = True
        while improved and isinstance(best, Product):
            improved = False
            for moved in _moves(best, self._fold):
                candidate = self._fold(product(*moved))
                candidate = mean_of_sum(candidate) if isinstance(candidate, Product) else candidate
                if len(print_term(candidate)) < length:
                    best, length, improved = candidate, len(print_term(candidate)), True
                    break
        return best

    def _common_factor(self, term: Sum) -> Term:
        """A factor (or number) every term shares, taken out in front where that is
        shorter: (g / s - m / s) is (g - m) / s."""
        best, length = term, len(print_term(term))
        for candidate in _factored(term):
            if len(print_term(candidate)) < length:
                best, length = candidate, len(print_term(candidate))
        return best


def _fold_product(term: Product, name: Name, definition: Product) -> Term | None:
    """term with definition's factors replaced by `name`, or None where one is missing."""
    have = dict(term.factors)
    for factor, exponent in definition.factors:
        power = have.get(factor)
        if power is None or sp.sympify(power / exponent) < 1:
            return None
    needed = dict(definition.factors)
    factors: Factors = []
    placed = False
    for factor, exponent in term.factors:
        if factor in needed and not placed:
            factors.append((name, sp.Integer(1)))
            placed = True
        factors.append((factor, exponent - needed.get(factor, 0)))
    coefficient = sp.sympify(term.coefficient) / sp.sympify(definition.coefficient)
    return product(coefficient, [(f, e) for f, e in factors if e != 0], term.shape)


def _moves(term: Product, fold: Callable[[Term], Term]) -> list[tuple[Any, Factors, tuple]]:
    """product() arguments with one power of a factor moved into a sum with keepdims."""
    found = []
    for total, exponent in term.factors:
        if not _is_sum(total, _LINEAR) or exponent != 1 or not _keeps_dims(total):
            continue
        operand, axes = total.args[0], _summed_axes(total)
        for factor, power in term.factors:
            if factor is total or not _constant_along(factor, len(operand.shape), axes):
                continue
            step = 1 if sp.sympify(power) > 0 else -1
            inner = fold(product(1, [(operand, 1), (factor, step)], operand.shape))
            moved = replace(total, args=(inner,))
            factors = [(moved if f is total else f, e - step if f is factor else e)
                       for f, e in term.factors]  # fmt: skip
            found.append((term.coefficient, [(f, e) for f, e in factors if e != 0], term.shape))
    return found


def _sums_last(term: Term) -> Term:
    """Sums and means after the other factors of a product: xhat * mean(g * xhat), as
    textbooks write it."""
    if not isinstance(term, Product):
        return term
    ordered = sorted(term.factors, key=lambda item: _is_sum(item[0], _LINEAR))
    return Product(term.shape, term.coefficient, tuple(ordered))


def _factored(term: Sum) -> list[Term]:
    """The sum with a common factor taken out, and with a common number taken out."""
    parts = [_parts(t) for t in term.terms]
    found = []
    common = dict(parts[0][1])
    for _, factors in parts[1:]:
        have = dict(factors)
        common = {f: _smaller(e, have[f]) for f, e in common.items() if f in have}
        common = {f: e for f, e in common.items() if e is not None}
    for factor, exponent in common.items():
        inner = [product(c, [(f, e - exponent if f == factor else e) for f, e in fs],
                         _shape_of([(f, e) for f, e in fs if f != factor or e != exponent]))
                 for c, fs in parts]  # fmt: skip
        total = add(inner, broadcast(*(t.shape for t in inner)))
        found.append(product(1, [(total, 1), (factor, exponent)], term.shape))
    number = sp.Integer(0)
    for coefficient, _ in parts:
        number = sp.gcd(number, sp.sympify(coefficient))
    if all(sp.sympify(c).could_extract_minus_sign() for c, _ in parts):
        number = -number
    if number not in (0, 1):
        inner = [product(sp.cancel(c / number), fs, _shape_of(fs)) if fs else filled(c / number)
                 for c, fs in parts]  # fmt: skip
        found.append(product(number, [(add(inner, term.shape), 1)], term.shape))
    return found


def _smaller(a: Any, b: Any) -> Any:
    """The common power of two exponents of one sign (the smaller), else None."""
    a, b = sp.sympify(a), sp.sympify(b)
    if not (a.is_number and b.is_number) or (a > 0) != (b > 0):
        return None
    return min(a, b) if a > 0 else max(a, b)
