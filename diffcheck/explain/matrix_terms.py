"""Explain stage, matrix notation: the terms a derivative is written in.

A `Term` is a small expression of the case language with its shape: names, numbers,
entry-by-entry sums and products (with exponents and one exact coefficient), `@`, `.T`
and calls. Terms are frozen and compare by structure, so equal factors merge and like
terms combine. The constructors that simplify as they build are in `matrix_algebra`
(sums and products) and `matrix_linear` (matmul, transposes, calls).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

__all__ = [
    "Apply",
    "Compare",
    "Contraction",
    "Filled",
    "Identity",
    "Index",
    "ListOf",
    "MatMul",
    "MatrixFormError",
    "Name",
    "Power",
    "Product",
    "Reshape",
    "Sum",
    "Term",
    "Transpose",
    "broadcast",
    "filled",
    "is_negative",
    "is_scalar",
    "is_value",
    "negated",
]


class MatrixFormError(ValueError):
    """A derivative that this module cannot write in the case language."""


@dataclass(frozen=True)
class Term:
    """A value of `shape` (whole numbers; SymPy sizes once dimension names are back)."""

    shape: tuple[Any, ...]


@dataclass(frozen=True)
class Name(Term):
    name: str


@dataclass(frozen=True)
class Filled(Term):
    """Every entry `value`, an exact SymPy number; of shape () it is a plain number."""

    value: Any


@dataclass(frozen=True)
class Identity(Term):
    """eye(n)."""


@dataclass(frozen=True)
class Sum(Term):
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Product(Term):
    """coefficient * f1**e1 * f2**e2 ..., entry by entry (broadcast)."""

    coefficient: Any
    factors: tuple[tuple[Term, Any], ...]


@dataclass(frozen=True)
class Power(Term):
    """base ** exponent with an exponent that is not a number."""

    base: Term
    exponent: Term


@dataclass(frozen=True)
class MatMul(Term):
    left: Term
    right: Term


@dataclass(frozen=True)
class Transpose(Term):
    """A.T of a matrix."""

    operand: Term


@dataclass(frozen=True)
class Apply(Term):
    """function(args, keyword=value, ...); `elementwise` for the rule table's functions."""

    function: str
    args: tuple[Term, ...]
    keywords: tuple[tuple[str, Any], ...] = ()
    elementwise: bool = False


@dataclass(frozen=True)
class Compare(Term):
    op: str
    left: Term
    right: Term


@dataclass(frozen=True)
class Index(Term):
    """operand[items]: an int, None (newaxis) or (start, stop, step) per item."""

    operand: Term
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Reshape(Term):
    operand: Term


@dataclass(frozen=True)
class Contraction(Term):
    """einsum, for contractions that no matmul, outer, trace or sum writes."""

    operands: tuple[Term, ...]
    subscripts: tuple[tuple[int, ...], ...]
    output: tuple[int, ...]


@dataclass(frozen=True)
class ListOf(Term):
    """[a, b, ...], the argument of concatenate."""

    items: tuple[Term, ...]


def is_scalar(term: Term) -> bool:
    return len(term.shape) == 0


def broadcast(*shapes: tuple[Any, ...]) -> tuple[Any, ...]:
    """NumPy's broadcast of `shapes`, also for sizes that are dimension names (SymPy).

    Raises:
        ValueError: two sizes of one axis differ and neither is 1.
    """
    rank = max((len(shape) for shape in shapes), default=0)
    found: list[Any] = []
    for axis in range(rank):
        size: Any = 1
        for shape in shapes:
            other = shape[axis - rank + len(shape)] if axis - rank + len(shape) >= 0 else 1
            if other != 1 and size != 1 and other != size:
                raise ValueError(f"shapes {[list(s) for s in shapes]} do not broadcast")
            size = other if size == 1 else size
        found.append(size)
    return tuple(found)


def filled(value: Any, shape: tuple[int, ...] = ()) -> Filled:
    return Filled(tuple(shape), sp.sympify(value))


def is_value(term: Term, value: Any) -> bool:
    """Whether the term is `value` in every entry."""
    return isinstance(term, Filled) and term.value == value


def is_negative(term: Term) -> bool:
    """Whether the term's number in front is negative (printed after a minus sign)."""
    number = term.coefficient if isinstance(term, Product) else getattr(term, "value", 1)
    return bool(sp.sympify(number).could_extract_minus_sign())


def negated(term: Term) -> Term:
    """-term, its number in front negated."""
    if isinstance(term, Product):
        return Product(term.shape, -term.coefficient, term.factors)
    if isinstance(term, Filled):
        return Filled(term.shape, -term.value)
    return Product(term.shape, sp.Integer(-1), ((term, sp.Integer(1)),))
