"""Numeric kernels behind evaluation: NumPy (float64, complex128) and mpmath (object arrays).

Both offer the same small interface (constants, table calls, einsum, linear algebra,
exp/log/sqrt), so `evaluate` runs one code path for either. Undefined results are NaN,
never exceptions: the caller reports such points instead of comparing them.

NumPy's einsum loop multiplies without BLAS: a 64×512 by 512×512 product takes tens of
milliseconds where a matrix product takes one. In float64 and complex128 each contraction
is planned once per subscripts and shapes (`_plan`) into what NumPy does fastest: a sum
over axes for one operand; for two, a broadcast product when nothing is summed, else a
matrix product over the shared axes (batch axes kept, the others flattened into rows and
columns); from three operands on, einsum along a path searched once. A label repeated
within one operand (a trace, a diagonal) keeps einsum's loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from ..symbolic.reach import check_arguments, check_reach
from ..symbolic.rules import Rule

__all__ = ["FloatKernels", "Kernels", "MpKernels"]


class Kernels:
    """The interface; `FloatKernels` and `MpKernels` implement it."""

    dtype: Any

    def einsum(
        self,
        operands: Sequence[np.ndarray],
        subscripts: Sequence[Sequence[int]],
        output: Sequence[int],
    ) -> np.ndarray:
        # np.einsum's sublist form takes labels below 52: renumber them densely
        labels = sorted(set().union(*map(set, subscripts), output))
        dense = {label: number for number, label in enumerate(labels)}
        interleaved: list[Any] = []
        for operand, subs in zip(operands, subscripts, strict=True):
            interleaved += [operand, [dense[label] for label in subs]]
        # object arrays (mpmath): NumPy's own loop, in the order the subscripts give
        return np.asarray(np.einsum(*interleaved, [dense[x] for x in output]))

    def from_mask(self, mask: np.ndarray) -> np.ndarray:
        return np.where(mask, self.constant(sp.Integer(1), ()), self.constant(sp.Integer(0), ()))

    def constant(self, value: sp.Expr, shape: Sequence[int]) -> np.ndarray:
        raise NotImplementedError


class FloatKernels(Kernels):
    def __init__(self, dtype: Any = np.float64):
        self.dtype = np.dtype(dtype)
        self.complex = self.dtype.kind == "c"

    def einsum(
        self,
        operands: Sequence[np.ndarray],
        subscripts: Sequence[Sequence[int]],
        output: Sequence[int],
    ) -> np.ndarray:
        # planned once per subscripts and shapes: matrix products go to BLAS
        key = (tuple(map(tuple, subscripts)), tuple(output))
        plan = _plan(*key, tuple(np.shape(operand) for operand in operands))
        return np.asarray(plan(operands))

    def constant(self, value: sp.Expr, shape: Sequence[int]) -> np.ndarray:
        number = complex(value) if self.complex else float(value)
        return np.full(tuple(shape), number, dtype=self.dtype)

    def variable(self, value: Any) -> np.ndarray:
        return np.asarray(value, dtype=self.dtype)

    def eye(self, n: int) -> np.ndarray:
        return np.eye(n, dtype=self.dtype)

    def call(self, rule: Rule, args: Sequence[np.ndarray]) -> np.ndarray:
        return np.asarray(rule.numpy(*args), dtype=self.dtype)

    def exp(self, x: np.ndarray) -> np.ndarray:
        return np.exp(x)

    def log(self, x: np.ndarray) -> np.ndarray:
        return np.log(x)

    def sqrt(self, x: np.ndarray) -> np.ndarray:
        return np.sqrt(x)

    def real(self, x: np.ndarray) -> np.ndarray:
        return np.real(x)

    def inv(self, a: np.ndarray) -> np.ndarray:
        return _per_matrix(np.linalg.inv, a, a.shape)

    def det(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(np.linalg.det(a), dtype=self.dtype)

    def cofactor(self, a: np.ndarray) -> np.ndarray:
        """∂ det A / ∂A = det(U) det(V) U diag(∏_{j≠i} s_j) Vᵀ for A = U S Vᵀ: defined at a
        singular matrix too, where det(A) A⁻ᵀ is not. The complex step needs an analytic
        form: there det(A) A⁻ᵀ (its matrices are invertible)."""
        if self.complex:
            inverse = self.inv(a)
            return self.det(a)[..., None, None] * np.swapaxes(inverse, -1, -2)
        with np.errstate(all="ignore"):
            if not np.isfinite(a).all():
                return np.full(a.shape, np.nan)
            u, s, vt = np.linalg.svd(a)
            sign = np.sign(np.linalg.det(u) * np.linalg.det(vt))
            return sign[..., None, None] * (u * _others(s)[..., None, :]) @ vt

    def logdet(self, a: np.ndarray) -> np.ndarray:
        sign, logabs = np.linalg.slogdet(a)
        if self.complex:  # log det = log(sign) + log|det|: no overflow, accurate phase
            return np.log(sign) + logabs
        # a determinant that is not positive has no real logarithm
        return np.where(sign > 0, logabs, np.where(sign == 0, -np.inf, np.nan))

    def solve(self, a: np.ndarray, b: np.ndarray, vector: bool) -> np.ndarray:
        if vector:
            return self.solve(a, b[..., None], False)[..., 0]
        return _per_matrix(lambda m, r: np.linalg.solve(m, r), a, b.shape, b)


def _others(s: np.ndarray) -> np.ndarray:
    """Along the last axis, the product of the other entries: no division, so a zero
    singular value is no trouble."""
    one = np.ones_like(s[..., :1])
    left = np.concatenate([one, np.cumprod(s[..., :-1], axis=-1)], axis=-1)
    right = np.concatenate([np.cumprod(s[..., :0:-1], axis=-1)[..., ::-1], one], axis=-1)
    return left * right


def _per_matrix(function: Callable[..., np.ndarray], a: np.ndarray, shape: Any, *more: Any):
    """`function` on a stack; a singular matrix gives NaN for its own result only."""
    try:
        return function(a, *more)
    except np.linalg.LinAlgError:
        result = np.full(shape, np.nan, dtype=np.result_type(a, *more))
        for index in np.ndindex(a.shape[:-2]):
            try:
                result[index] = function(a[index], *(m[index] for m in more))
            except np.linalg.LinAlgError:
                pass  # stays NaN
        return result


class MpKernels(Kernels):
    """Real mpmath arithmetic in a private context: a complex result is NaN.

    No kernel is asked for a value beyond mpmath's reach (`symbolic.reach`): it raises
    `OutOfReach` instead of running for minutes or out of memory (e^e^e^e^e^e).
    """

    dtype = object

    def __init__(self, dps: int):
        self.ctx = mpmath.MPContext()
        self.ctx.dps = dps

    def _real(self, value: Any) -> Any:
        if isinstance(value, self.ctx.mpc):
            return value.real if value.imag == 0 else self.ctx.nan
        return self.ctx.convert(value)

    def _map(self, function: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
        def safe(*args: Any) -> Any:
            try:
                return self._real(function(*args))
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                return self.ctx.nan

        ufunc = np.frompyfunc(safe, len(arrays), 1)
        return np.asarray(ufunc(*arrays), dtype=object)

    def constant(self, value: sp.Expr, shape: Sequence[int]) -> np.ndarray:
        ctx = self.ctx
        value = sp.sympify(value)
        if value.is_Rational:
            number = ctx.mpf(int(value.p)) / int(value.q)
        else:
            number = ctx.mpf(str(sp.N(value, ctx.dps + 10)))
        result = np.empty(tuple(shape), dtype=object)
        result[...] = number
        return result

    def variable(self, value: Any) -> np.ndarray:
        array = np.asarray(value)
        if array.dtype == object:
            return self._map(self.ctx.convert, array)
        return self._map(lambda x: self.ctx.mpf(float(x)), array.astype(float))

    def eye(self, n: int) -> np.ndarray:
        return self.from_mask(np.eye(n, dtype=bool))

    def call(self, rule: Rule, args: Sequence[np.ndarray]) -> np.ndarray:
        def kernel(*xs: Any) -> Any:
            check_reach(rule, xs, self.ctx)
            return rule.mpmath(self.ctx, *xs)

        return self._map(kernel, *args)

    def _reached(self, name: str, function: Callable[[Any], Any],
                 exponential: bool = False) -> Callable[[Any], Any]:  # fmt: skip
        """`function` of one argument, refused beyond mpmath's reach."""

        def kernel(x: Any) -> Any:
            check_arguments(name, (x,), self.ctx, exponential)
            return function(x)

        return kernel

    def exp(self, x: np.ndarray) -> np.ndarray:
        return self._map(self._reached("exp", self.ctx.exp, exponential=True), x)

    def log(self, x: np.ndarray) -> np.ndarray:
        return self._map(self._reached("log", self.ctx.log), x)

    def sqrt(self, x: np.ndarray) -> np.ndarray:
        return self._map(self._reached("sqrt", self.ctx.sqrt), x)

    def real(self, x: np.ndarray) -> np.ndarray:
        return x

    def _matrices(self, a: np.ndarray, name: str):  # type: ignore[no-untyped-def]
        """Each matrix of a stack; its entries within mpmath's reach (an inverse or a
        decomposition takes logarithms and roots of them)."""
        check_arguments(name, a.reshape(-1), self.ctx)
        for index in np.ndindex(a.shape[:-2]):
            yield index, self.ctx.matrix(a[index].tolist())

    def inv(self, a: np.ndarray) -> np.ndarray:
        result = self.constant(sp.nan, a.shape)
        for index, matrix in self._matrices(a, "inv"):
            try:
                result[index] = np.array(self.ctx.inverse(matrix).tolist(), dtype=object)
            except ZeroDivisionError:
                pass  # singular: stays NaN
        return result

    def det(self, a: np.ndarray) -> np.ndarray:
        result = self.constant(sp.nan, a.shape[:-2])
        for index, matrix in self._matrices(a, "det"):
            result[index] = self.ctx.det(matrix)
        return result

    def cofactor(self, a: np.ndarray) -> np.ndarray:
        """As `FloatKernels.cofactor`, from mpmath's singular value decomposition (its V
        is already transposed)."""
        ctx, result = self.ctx, self.constant(sp.nan, a.shape)
        for index, matrix in self._matrices(a, "the cofactors"):
            if not all(ctx.isfinite(entry) for entry in matrix):
                continue  # stays NaN
            u, s, vt = ctx.svd_r(matrix)
            sign = 1 if ctx.det(u) * ctx.det(vt) > 0 else -1
            others = _others(np.array(s.tolist(), dtype=object)[:, 0])
            scaled = u * ctx.diag([sign * factor for factor in others])
            result[index] = np.array((scaled * vt).tolist(), dtype=object)
        return result

    def logdet(self, a: np.ndarray) -> np.ndarray:
        return self.log(self.det(a))

    def solve(self, a: np.ndarray, b: np.ndarray, vector: bool) -> np.ndarray:
        if vector:
            return self.solve(a, b[..., None], False)[..., 0]
        result = self.constant(sp.nan, b.shape)
        for index, matrix in self._matrices(a, "solve"):
            try:
                solution = self.ctx.inverse(matrix) * self.ctx.matrix(b[index].tolist())
            except ZeroDivisionError:
                continue  # singular: stays NaN
            result[index] = np.array(solution.tolist(), dtype=object)
        return result


# ---- einsum plans (float64, complex128) -------------------------------------------------

Labels = tuple[int, ...]
Plan = Callable[[Sequence[np.ndarray]], np.ndarray]


@lru_cache(maxsize=4096)
def _plan(subscripts: tuple[Labels, ...], output: Labels, shapes: tuple[Labels, ...]) -> Plan:
    sizes: dict[int, int] = {}
    for subs, shape in zip(subscripts, shapes, strict=True):
        for label, size in zip(subs, shape, strict=True):
            if sizes.setdefault(label, size) != size:
                return _einsum_plan(subscripts, output, shapes)  # sizes broadcast: einsum's
    if len(subscripts) > 2 or any(len(set(subs)) != len(subs) for subs in subscripts):
        return _einsum_plan(subscripts, output, shapes)
    if len(subscripts) == 1:
        return _single(subscripts[0], output)
    return _pair(subscripts[0], subscripts[1], output, sizes)


def _einsum_plan(subscripts: tuple[Labels, ...], output: Labels, shapes: tuple[Labels, ...]
                 ) -> Plan:  # fmt: skip
    """np.einsum, labels renumbered below 52 (its sublist form); from three operands on
    along a path searched once (A⁻ᵀ G A⁻ᵀ)."""
    dense = {label: n for n, label in enumerate(sorted({*output, *sum(subscripts, ())}))}
    subs = [[dense[label] for label in term] for term in subscripts]
    out = [dense[label] for label in output]
    optimize: Any = False
    if len(subscripts) > 2:  # the path depends on the shapes alone
        dummies = [np.empty(shape) for shape in shapes]
        interleaved = [x for pair in zip(dummies, subs, strict=True) for x in pair]
        optimize = np.einsum_path(*interleaved, out, optimize="greedy")[0]

    def run(operands: Sequence[np.ndarray]) -> np.ndarray:
        interleaved = [x for pair in zip(operands, subs, strict=True) for x in pair]
        return np.einsum(*interleaved, out, optimize=optimize)

    return run


def _single(subs: Labels, output: Labels) -> Plan:
    """A sum over the labels that leave, then the kept axes in the output's order."""
    summed = tuple(axis for axis, label in enumerate(subs) if label not in output)
    kept = [label for label in subs if label in output]
    order = tuple(kept.index(label) for label in output)

    def run(operands: Sequence[np.ndarray]) -> np.ndarray:
        return np.transpose(np.sum(operands[0], axis=summed) if summed else operands[0], order)

    return run


def _pair(a: Labels, b: Labels, output: Labels, sizes: dict[int, int]) -> Plan:
    """Labels of one operand alone that leave are summed first; then a broadcast product,
    or a matrix product over the shared labels that leave."""
    drop_a = tuple(i for i, label in enumerate(a) if label not in output and label not in b)
    drop_b = tuple(i for i, label in enumerate(b) if label not in output and label not in a)
    a = tuple(label for i, label in enumerate(a) if i not in drop_a)
    b = tuple(label for i, label in enumerate(b) if i not in drop_b)
    shared = [label for label in a if label in b and label not in output]
    # the operand whose own labels come first in the output goes on the left: the
    # product then needs no transpose afterwards
    swap = bool(shared) and _first_own(b, a, output) < _first_own(a, b, output)
    if swap:
        a, b, drop_a, drop_b = b, a, drop_b, drop_a
    product = _matrix_product(a, b, output, shared, sizes) if shared else _broadcast(a, b, output)

    def run(operands: Sequence[np.ndarray]) -> np.ndarray:
        x, y = operands[::-1] if swap else operands
        return product(np.sum(x, axis=drop_a) if drop_a else x,
                       np.sum(y, axis=drop_b) if drop_b else y)  # fmt: skip

    return run


def _first_own(subs: Labels, other: Labels, output: Labels) -> int:
    """Where the first output label of `subs` alone stands in the output."""
    return min((output.index(label) for label in subs if label not in other), default=-1)


def _broadcast(a: Labels, b: Labels, output: Labels) -> Callable[..., np.ndarray]:
    """Nothing summed: each operand in the output's order, multiplied entry by entry."""

    def aligned(subs: Labels) -> tuple[Labels, tuple[Any, ...]]:
        order = tuple(sorted(range(len(subs)), key=lambda axis: output.index(subs[axis])))
        return order, tuple(slice(None) if label in subs else None for label in output)

    (order_a, expand_a), (order_b, expand_b) = aligned(a), aligned(b)
    return lambda x, y: np.transpose(x, order_a)[expand_a] * np.transpose(y, order_b)[expand_b]


def _matrix_product(a: Labels, b: Labels, output: Labels, shared: list[int],
                    sizes: dict[int, int]) -> Callable[..., np.ndarray]:  # fmt: skip
    """(batch, rows, shared) @ (batch, shared, columns), then the output's order."""
    batch = [label for label in a if label in b and label in output]
    rows = [label for label in a if label not in b]
    columns = [label for label in b if label not in a]
    order_a = tuple(a.index(label) for label in [*batch, *rows, *shared])
    order_b = tuple(b.index(label) for label in [*batch, *shared, *columns])
    batch_shape = tuple(sizes[label] for label in batch)
    inner = math.prod(sizes[label] for label in shared)
    shape_a = (*batch_shape, math.prod(sizes[label] for label in rows), inner)
    shape_b = (*batch_shape, inner, math.prod(sizes[label] for label in columns))
    shape = (*batch_shape, *(sizes[label] for label in [*rows, *columns]))
    order = tuple([*batch, *rows, *columns].index(label) for label in output)

    def product(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        left = np.transpose(x, order_a).reshape(shape_a)
        right = np.transpose(y, order_b).reshape(shape_b)
        return np.transpose(np.matmul(left, right).reshape(shape), order)

    return product
