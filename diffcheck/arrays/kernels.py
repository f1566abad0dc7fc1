"""Numeric kernels behind evaluation: NumPy (float64, complex128) and mpmath (object arrays).

Both offer the same small interface (constants, table calls, einsum, linear algebra,
exp/log/sqrt), so `evaluate` runs one code path for either. Undefined results are NaN,
never exceptions: the caller reports such points instead of comparing them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import numpy as np
import sympy as sp

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
        # a contraction path matters from three operands on (A⁻ᵀ G A⁻ᵀ); for two,
        # NumPy's own loop measured faster than its optimised path
        optimize = self.dtype is not object and len(operands) > 2
        return np.asarray(np.einsum(*interleaved, [dense[x] for x in output], optimize=optimize))

    def from_mask(self, mask: np.ndarray) -> np.ndarray:
        return np.where(mask, self.constant(sp.Integer(1), ()), self.constant(sp.Integer(0), ()))

    def constant(self, value: sp.Expr, shape: Sequence[int]) -> np.ndarray:
        raise NotImplementedError


class FloatKernels(Kernels):
    def __init__(self, dtype: Any = np.float64):
        self.dtype = np.dtype(dtype)
        self.complex = self.dtype.kind == "c"

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
    """Real mpmath arithmetic in a private context: a complex result is NaN."""

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
        return self._map(lambda *xs: rule.mpmath(self.ctx, *xs), *args)

    def exp(self, x: np.ndarray) -> np.ndarray:
        return self._map(self.ctx.exp, x)

    def log(self, x: np.ndarray) -> np.ndarray:
        return self._map(self.ctx.log, x)

    def sqrt(self, x: np.ndarray) -> np.ndarray:
        return self._map(self.ctx.sqrt, x)

    def real(self, x: np.ndarray) -> np.ndarray:
        return x

    def _matrices(self, a: np.ndarray):  # type: ignore[no-untyped-def]
        for index in np.ndindex(a.shape[:-2]):
            yield index, self.ctx.matrix(a[index].tolist())

    def inv(self, a: np.ndarray) -> np.ndarray:
        result = self.constant(sp.nan, a.shape)
        for index, matrix in self._matrices(a):
            try:
                result[index] = np.array(self.ctx.inverse(matrix).tolist(), dtype=object)
            except ZeroDivisionError:
                pass  # singular: stays NaN
        return result

    def det(self, a: np.ndarray) -> np.ndarray:
        result = self.constant(sp.nan, a.shape[:-2])
        for index, matrix in self._matrices(a):
            result[index] = self.ctx.det(matrix)
        return result

    def logdet(self, a: np.ndarray) -> np.ndarray:
        return self.log(self.det(a))

    def solve(self, a: np.ndarray, b: np.ndarray, vector: bool) -> np.ndarray:
        if vector:
            return self.solve(a, b[..., None], False)[..., 0]
        result = self.constant(sp.nan, b.shape)
        for index, matrix in self._matrices(a):
            try:
                solution = self.ctx.inverse(matrix) * self.ctx.matrix(b[index].tolist())
            except ZeroDivisionError:
                continue  # singular: stays NaN
            result[index] = np.array(solution.tolist(), dtype=object)
        return result
