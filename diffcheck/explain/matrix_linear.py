"""Explain stage, matrix notation: matmul, transposes and calls, simplified as built.

`matmul` moves numbers and scalar factors in front (A @ (c B) is c (A @ B)) and drops
identity matrices; `transpose` pushes `.T` to the leaves ((A @ B).T = B.T @ A.T,
(A.T).T = A, outer(a, b).T = outer(b, a), through sums and entry-by-entry operations)
unless it would stay on a compound term; `call` takes numbers out of linear functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import sympy as sp

from .matrix_algebra import add, product, split_scalars
from .matrix_terms import (
    Apply,
    Compare,
    Filled,
    Identity,
    Index,
    MatMul,
    MatrixFormError,
    Power,
    Product,
    Sum,
    Term,
    Transpose,
    filled,
    is_scalar,
    is_value,
)

__all__ = ["LINEAR", "call", "matmul", "transpose"]

# linear in every array argument: numbers and scalar factors move out in front
LINEAR = frozenset({"sum", "outer", "trace", "diag", "transpose", "concatenate"})
# entry by entry, so a transpose passes through to the arguments
ELEMENTWISE_CALLS = frozenset({"where"})


# ---- matrix products and transposes ---------------------------------------------------


def matmul(left: Term, right: Term, shape: tuple) -> Term:
    """left @ right, numbers and scalar factors of either side moved in front."""
    if is_value(left, 0) or is_value(right, 0):
        return filled(0, shape)
    c1, s1, left = split_scalars(left)
    c2, s2, right = split_scalars(right)
    if isinstance(left, Identity) and right.shape == tuple(shape):
        inner = right
    elif isinstance(right, Identity) and left.shape == tuple(shape):
        inner = left
    else:
        inner = MatMul(tuple(shape), left, right)
    return product(c1 * c2, [*s1, *s2, (inner, 1)], shape)


def _matrix(term: Term) -> bool:
    return len(term.shape) == 2


def _full(term: Term, shape: tuple) -> bool:
    """A scalar or a matrix (broadcast or not): a transpose passes through to it."""
    return len(term.shape) in (0, 2) or (len(term.shape) == 1 and len(shape) == 2)


def _column(term: Term) -> Term:
    """A vector broadcast along rows, transposed: the column v[:, newaxis]."""
    if isinstance(term, Index) and term.items == (None,):  # v[newaxis] back to v
        return product(1, [(term.operand, 1)], term.operand.shape)
    return Index((term.shape[0], 1), term, ((0, term.shape[0], 1), None))


def _pushed(children: Sequence[Term]) -> list[Term] | None:
    """The children transposed, or None when a transpose would stay on a compound one:
    then it stays outside, (P * (G - S)).T rather than P.T * (G - S).T."""
    found = [child if is_scalar(child) else _column(child) if len(child.shape) == 1
             else transpose(child) for child in children]  # fmt: skip
    compound = (Sum, Product, MatMul, Compare, Power)
    for child in found:
        inner = child.operand if isinstance(child, Transpose) else None
        if isinstance(inner, compound) or (isinstance(inner, Apply) and inner.elementwise):
            return None
    return found


def transpose(term: Term) -> Term:
    """term.T of a matrix, pushed to the leaves: (A @ B).T = B.T @ A.T, (A.T).T = A,
    outer(a, b).T = outer(b, a), and through sums and entry-by-entry operations."""
    if not _matrix(term):
        raise MatrixFormError(f"a transpose of shape {list(term.shape)}")
    shape = (term.shape[1], term.shape[0])
    if isinstance(term, Transpose):
        return term.operand
    if isinstance(term, (Identity, Filled)):
        return type(term)(shape, *([term.value] if isinstance(term, Filled) else []))
    if isinstance(term, Index) and len(term.operand.shape) == 1 and term.items[1:] == (None,):
        return Index(shape, term.operand, (None,))  # v[:, newaxis].T is v[newaxis]
    if isinstance(term, MatMul) and _matrix(term.left) and _matrix(term.right):
        return matmul(transpose(term.right), transpose(term.left), shape)
    if isinstance(term, Sum) and all(_full(t, term.shape) for t in term.terms):
        terms = _pushed(term.terms)
        if terms is not None:
            return add(terms, shape)
    if isinstance(term, Product) and all(_full(f, term.shape) for f, _ in term.factors):
        factors = _pushed([f for f, _ in term.factors])
        if factors is not None:
            exponents = [e for _, e in term.factors]
            return product(term.coefficient, list(zip(factors, exponents, strict=True)), shape)
    if isinstance(term, Apply) and term.function == "outer":
        return call("outer", (term.args[1], term.args[0]), shape)
    if isinstance(term, Apply) and term.function == "diag":
        return term
    passes = isinstance(term, Apply) and (term.elementwise or term.function in ELEMENTWISE_CALLS)
    if passes and all(_full(a, term.shape) for a in term.args):
        args = _pushed(term.args)
        if args is not None:
            return Apply(shape, term.function, tuple(args), term.keywords, term.elementwise)
    if isinstance(term, Compare) and all(_full(s, term.shape) for s in (term.left, term.right)):
        sides = _pushed([term.left, term.right])
        if sides is not None:
            return Compare(shape, term.op, *sides)
    return Transpose(shape, term)


# ---- calls ------------------------------------------------------------------------------


def call(
    function: str,
    args: Sequence[Term],
    shape: tuple,
    keywords: Sequence[tuple[str, Any]] = (),
    elementwise: bool = False,
) -> Term:
    """function(args): numbers and scalar factors move out of linear functions; a
    transpose's axes in transpose(A, axes=...) of a matrix become `.T`."""
    if function == "transpose" and len(args[0].shape) == 2:
        return transpose(args[0])
    if function not in LINEAR:
        return Apply(tuple(shape), function, tuple(args), tuple(keywords), elementwise)
    coefficient, scalars, kept = sp.Integer(1), [], []
    for arg in args:
        if function == "concatenate":  # a list: each item keeps its own numbers
            kept.append(arg)
            continue
        c, s, rest = split_scalars(arg)
        coefficient, scalars = coefficient * c, scalars + s
        kept.append(rest)
    axis = dict(keywords).get("axis")
    keepdims = dict(keywords).get("keepdims")
    if (
        function == "sum"
        and isinstance(kept[0], Transpose)
        and isinstance(axis, int)
        and not keepdims
    ):
        rest = tuple(k for k in keywords if k[0] != "axis")
        return product(
            coefficient,
            [*scalars, (call("sum", [kept[0].operand], shape, (("axis", 1 - axis), *rest)), 1)],
            shape,
        )
    if function == "sum" and isinstance(kept[0], Filled):  # a sum of equal entries
        count = math.prod(kept[0].shape) // max(1, math.prod(shape))
        return product(coefficient * kept[0].value * count, scalars, shape)
    inner = Apply(tuple(shape), function, tuple(kept), tuple(keywords))
    return product(coefficient, [*scalars, (inner, 1)], shape)
