"""Evaluation of IR nodes: float64, complex128 (for the complex step) or mpmath.

`evaluate(node, values)` and `evaluate_mp(node, values, dps)` walk the graph once in
topological order, each shared node computed once. The reductions below are written
once for every backend: the kernels supply exp, log, einsum and linear algebra.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .ir import (
    BroadcastTo,
    Call,
    Compare,
    Concatenate,
    Constant,
    Det,
    Einsum,
    Eye,
    Index,
    Inv,
    Node,
    OthersProduct,
    Reduce,
    Reshape,
    Scatter,
    Softmax,
    Solve,
    Variable,
    Where,
    nodes_in_order,
)
from .kernels import FloatKernels, Kernels, MpKernels

__all__ = ["evaluate", "evaluate_mp", "evaluate_nodes"]

Memo = dict[int, np.ndarray]
_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
                "==": operator.eq, "!=": operator.ne}  # fmt: skip


def evaluate(node: Node, values: Mapping[str, Any], dtype: Any = np.float64) -> np.ndarray:
    """The value of `node` with each variable set from `values` (arrays of its shape).

    Args:
        node: the expression.
        values: variable name -> array (or number for a scalar).
        dtype: float64, or complex128 for the complex step.

    Returns:
        A new array of `node.shape`; NaN where the expression is undefined.
    """
    return np.array(evaluate_nodes([node], values, FloatKernels(dtype))[0])


def evaluate_mp(node: Node, values: Mapping[str, Any], dps: int) -> np.ndarray:
    """The value of `node` in mpmath at `dps` digits: an object array of mpf."""
    return np.array(evaluate_nodes([node], values, MpKernels(dps))[0], dtype=object)


def evaluate_nodes(
    nodes: Sequence[Node], values: Mapping[str, Any], kernels: Kernels, memo: Memo | None = None
) -> list[np.ndarray]:
    """The values of several nodes, sharing work; `memo` (node id -> value) is read and
    filled, so a caller can keep values that do not change between calls."""
    memo = {} if memo is None else memo
    with np.errstate(all="ignore"):
        for node in nodes_in_order(nodes):
            if id(node) in memo:
                continue
            if isinstance(node, Variable):
                memo[id(node)] = _variable(node, values, kernels)
            else:
                args = [memo[id(child)] for child in node.children()]
                memo[id(node)] = _EVALUATORS[type(node)](node, args, kernels)
    return [memo[id(node)] for node in nodes]


def _variable(node: Variable, values: Mapping[str, Any], kernels: Kernels) -> np.ndarray:
    if node.name not in values:
        raise ValueError(f"no value for variable {node.name}")
    value = kernels.variable(values[node.name])  # type: ignore[attr-defined]
    if value.shape != node.shape:
        raise ValueError(f"{node.name} has shape {list(node.shape)}, its value {list(value.shape)}")
    return value


def _compare(node: Compare, args: list[np.ndarray], k: Kernels) -> np.ndarray:
    left, right = k.real(args[0]), k.real(args[1])  # type: ignore[attr-defined]
    return k.from_mask(np.asarray(_COMPARISONS[node.op](left, right), dtype=bool))


def _where(node: Where, args: list[np.ndarray], k: Kernels) -> np.ndarray:
    cond, a, b = args
    return np.asarray(np.broadcast_to(np.where(cond != 0, a, b), node.shape))


def _shift(x: np.ndarray, axes: tuple[int, ...], k: Any) -> np.ndarray:
    """The largest real part along `axes` (kept), 0 where infinite: exp(x - shift) <= 1."""
    if x.size == 0:
        return np.zeros((1,) * x.ndim)
    shift = np.max(k.real(x), axis=axes, keepdims=True)
    finite = np.isfinite(shift.astype(float)) if x.dtype == object else np.isfinite(shift)
    return np.where(finite, shift, 0 * shift if x.dtype == object else 0)


def _reduce(node: Reduce, args: list[np.ndarray], k: Any) -> np.ndarray:
    x, axes = args[0], node.axes
    if node.kind in ("max", "min"):
        return np.asarray((np.max if node.kind == "max" else np.min)(x, axis=axes))
    if node.kind == "prod":
        return np.asarray(np.prod(x, axis=axes))
    if node.kind == "logsumexp":
        shift = _shift(x, axes, k)
        total = np.sum(k.exp(x - shift), axis=axes)
        return np.asarray(np.squeeze(shift, axis=axes) + k.log(total))
    return _norm(x, axes, k)


def _norm(x: np.ndarray, axes: tuple[int, ...], k: Any) -> np.ndarray:
    """sqrt(sum(x * x)), scaled by the largest entry against overflow; x * x rather
    than |x|² keeps it analytic for the complex step."""
    if x.dtype == object:
        return np.asarray(k.sqrt(np.asarray(np.sum(x * x, axis=axes))))
    scale = np.max(np.abs(np.real(x)), axis=axes, keepdims=True)
    scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
    scaled = x / scale
    return np.asarray(np.squeeze(scale, axis=axes) * np.sqrt(np.sum(scaled * scaled, axis=axes)))


def _softmax(node: Softmax, args: list[np.ndarray], k: Any) -> np.ndarray:
    x, axes = args[0], (node.axis,)
    shifted = x - _shift(x, axes, k)
    exps = k.exp(shifted)
    total = np.sum(exps, axis=axes, keepdims=True)
    return shifted - k.log(total) if node.log else exps / total


def _others_product(node: OthersProduct, args: list[np.ndarray], k: Any) -> np.ndarray:
    """Exclusive products from the left times those from the right: no division."""
    x = args[0]
    moved = np.moveaxis(x, node.axes, range(-len(node.axes), 0))
    rows = moved.reshape(*moved.shape[: moved.ndim - len(node.axes)], -1)
    one = k.constant(1, (*rows.shape[:-1], 1))
    left = np.concatenate([one, np.multiply.accumulate(rows[..., :-1], axis=-1)], axis=-1)
    right = np.multiply.accumulate(rows[..., :0:-1], axis=-1)[..., ::-1]
    right = np.concatenate([right, one], axis=-1)
    product = (left * right).reshape(moved.shape)
    return np.moveaxis(product, range(-len(node.axes), 0), node.axes)


def _scatter(node: Scatter, args: list[np.ndarray], k: Kernels) -> np.ndarray:
    result = k.constant(0, node.shape)
    result[node.items] = args[0]
    return result


def _einsum(node: Einsum, args: list[np.ndarray], k: Kernels) -> np.ndarray:
    return k.einsum(args, node.subscripts, node.output)


def _det(node: Det, args: list[np.ndarray], k: Any) -> np.ndarray:
    return k.logdet(args[0]) if node.log else k.det(args[0])


_EVALUATORS: dict[type, Callable[[Any, list[np.ndarray], Any], np.ndarray]] = {
    Constant: lambda node, args, k: k.constant(node.value, node.shape),
    Eye: lambda node, args, k: k.eye(node.shape[0]),
    Call: lambda node, args, k: np.asarray(np.broadcast_to(k.call(node.rule, args), node.shape)),
    Compare: _compare,
    Where: _where,
    Einsum: _einsum,
    Reduce: _reduce,
    OthersProduct: _others_product,
    Softmax: _softmax,
    Reshape: lambda node, args, k: np.reshape(args[0], node.shape),
    BroadcastTo: lambda node, args, k: np.broadcast_to(args[0], node.shape),
    Index: lambda node, args, k: np.asarray(args[0][node.items]),
    Scatter: _scatter,
    Concatenate: lambda node, args, k: np.concatenate(args, axis=node.axis),
    Inv: lambda node, args, k: k.inv(args[0]),
    Det: _det,
    Solve: lambda node, args, k: k.solve(args[0], args[1], node.vector),
}
