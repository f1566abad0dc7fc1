"""How far float64 rounding may have moved each entry of an array expression.

A running error bound over the IR, from the float64 values an evaluation left in its
memo: per node, an array of the node's shape bounding its absolute error in units of
eps. Sums add their terms' bounds (so a sum of terms of 1e6 that cancels to 1e-10 keeps
a bound of 1e6, where the scalar path's cancellation factor says the same), products
weigh each factor's bound by the others' magnitudes, an einsum does both in one product
of magnitudes per operand, and any other function passes its arguments' relative error
on (as the scalar path's conditioning does). A subnormal value, or a 0 that only
underflow made, has lost its digits below float64's smallest normal number: its bound is
at least that number. `rounding_bounds` gives the bounds as absolute values, 16 eps times
the units, as `oracles.exact.rounding_bound` does for scalars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .ir import (
    BroadcastTo,
    Call,
    Compare,
    Concatenate,
    Constant,
    Einsum,
    Eye,
    Index,
    Node,
    Reduce,
    Reshape,
    Scatter,
    Softmax,
    Variable,
    Where,
    nodes_in_order,
)
from .kernels import FloatKernels
from .ops import ADD, MUL, POW

__all__ = ["rounding_bounds"]

EPS = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).tiny)


def rounding_bounds(roots: Sequence[Node], memo: dict) -> list[np.ndarray] | None:
    """Per root, how far float64 rounding may have moved each entry (16 eps times the
    running bound): inf where a value is not finite. None when the memo does not hold
    every node below the roots (they were not all evaluated in float64 there)."""
    order = nodes_in_order(roots)
    if any(id(node) not in memo for node in order):
        return None
    units: dict[int, np.ndarray] = {}
    kernels = FloatKernels()
    with np.errstate(all="ignore"):
        for node in order:
            value = np.asarray(memo[id(node)], dtype=float)
            args = [np.asarray(memo[id(child)], dtype=float) for child in node.children()]
            bounds = [units[id(child)] for child in node.children()]
            own = _BOUNDS.get(type(node), _relative)(node, value, args, bounds, kernels)
            units[id(node)] = _unhealthy(node, value, args, np.broadcast_to(own, node.shape))
        return [np.where(np.isfinite(memo[id(root)]), 16 * EPS * units[id(root)], np.inf)
                for root in roots]  # fmt: skip


def _unhealthy(node: Node, value: np.ndarray, args: list[np.ndarray], units: np.ndarray
               ) -> np.ndarray:  # fmt: skip
    """`units` raised to at least tiny/eps where `value` is subnormal, or 0 from a
    function of arguments that are not 0 (exp(-800), 1e-200 * 1e-200): digits lost below
    the normal range (a sum that cancels to 0 exactly is exact, and is not raised)."""
    magnitude = np.abs(value)
    lost = (magnitude < _TINY) & (magnitude > 0)
    if isinstance(node, Call) and node.rule is not ADD and not node.rule.exact_zeros:
        nonzero = np.ones(node.shape, dtype=bool)
        for arg in args if node.rule is not POW else args[:1]:
            nonzero = nonzero & (arg != 0)
        lost = lost | ((value == 0) & nonzero)
    if not lost.any():
        return units
    return np.where(lost, np.maximum(units, _TINY / EPS), units)


def _relative_of(value: np.ndarray, units: np.ndarray) -> np.ndarray:
    """units / |value|: 0 where both are 0, inf where only the value is."""
    relative = units / np.abs(value)
    return np.where(units == 0, 0.0, np.where(np.isnan(relative), np.inf, relative))


def _scaled(value: np.ndarray, relative: Any) -> np.ndarray:
    """|value| (1 + relative): inf where a relative error of inf meets a value of 0."""
    units = np.abs(value) * (1 + relative)
    return np.where(np.isnan(units), np.inf, units)


def _relative(node, value, args, bounds, kernels) -> np.ndarray:  # noqa: ANN001
    """Any other function: its arguments' largest relative error, plus its own rounding
    (taken over whole arrays where the entries of the result mix those of its arguments:
    an inverse, a determinant, a reduction)."""
    worst = max((float(np.max(_relative_of(a, b), initial=0.0)) for a, b in
                 zip(args, bounds, strict=True)), default=0.0)  # fmt: skip
    return _scaled(value, worst)


def _call(node: Call, value, args, bounds, kernels) -> np.ndarray:  # noqa: ANN001
    if node.rule is ADD:
        return sum(bounds) + np.abs(value)
    if node.rule is MUL:
        a, b = args
        return bounds[0] * np.abs(b) + np.abs(a) * bounds[1] + np.abs(value)
    relative = _relative_of(args[0], bounds[0])
    if node.rule is POW:  # x**p: |p| times x's relative error (p a constant, mostly)
        power = np.abs(args[1])
        return _scaled(value, power * relative + _relative_of(args[1], bounds[1]))
    for arg, bound in zip(args[1:], bounds[1:], strict=True):
        relative = np.maximum(relative, _relative_of(arg, bound))
    return _scaled(value, relative)


def _einsum(node: Einsum, value, args, bounds, kernels) -> np.ndarray:  # noqa: ANN001
    """Each operand's bound through the products of the others' magnitudes, plus the
    rounding of the products and of their sum (the sum of the magnitudes)."""
    magnitudes = [np.abs(arg) for arg in args]
    total = kernels.einsum(magnitudes, node.subscripts, node.output)
    for position, bound in enumerate(bounds):
        if not np.any(bound):
            continue  # an exact operand (a variable) adds nothing
        weighed = [bound if k == position else m for k, m in enumerate(magnitudes)]
        total = total + kernels.einsum(weighed, node.subscripts, node.output)
    return total


def _softmax(node: Softmax, value, args, bounds, kernels) -> np.ndarray:  # noqa: ANN001
    """x - max(x) rounds by |x| + |max|, and the log of the total by the total's relative
    error (its size and its terms'): absolute errors of log_softmax, relative errors of
    softmax (those of the exponential)."""
    x, axis = args[0], node.axis
    shift = np.max(np.abs(x), axis=axis, keepdims=True)
    worst = np.max(bounds[0], axis=axis, keepdims=True)
    shifted = bounds[0] + 2 * worst + np.abs(x) + 2 * shift + x.shape[axis]
    if node.log:
        return shifted + np.abs(value)
    return _scaled(value, shifted + 1)


def _reduce(node: Reduce, value, args, bounds, kernels) -> np.ndarray:  # noqa: ANN001
    if node.kind != "logsumexp":
        return _relative(node, value, args, bounds, kernels)
    x, axes = args[0], node.axes
    count = np.prod([x.shape[axis] for axis in axes])
    return 2 * (np.max(bounds[0], axis=axes) + np.max(np.abs(x), axis=axes)) + count + np.abs(value)


def _scatter(node: Scatter, value, args, bounds, kernels) -> np.ndarray:  # noqa: ANN001
    units = np.zeros(node.shape)
    units[node.items] = bounds[0]
    return units


def _concatenate(node: Concatenate, value, args, bounds, kernels) -> np.ndarray:  # noqa: ANN001
    return np.concatenate([np.broadcast_to(b, a.shape) for a, b in zip(args, bounds, strict=True)],
                          axis=node.axis)  # fmt: skip


def _leaf(node, value, args, bounds, kernels) -> np.ndarray:  # noqa: ANN001
    return np.zeros(node.shape)  # a variable's value is the point itself, exactly


_BOUNDS: dict[type, Callable[..., np.ndarray]] = {
    Variable: _leaf,
    Compare: _leaf,
    Eye: _leaf,
    Constant: lambda node, value, args, bounds, k: np.abs(value),  # 1/10 is not exact
    Call: _call,
    Where: lambda node, value, args, bounds, k: np.where(args[0] != 0, bounds[1], bounds[2]),
    Einsum: _einsum,
    Softmax: _softmax,
    Reduce: _reduce,
    Reshape: lambda node, value, args, bounds, k: np.reshape(bounds[0], node.shape),
    BroadcastTo: lambda node, value, args, bounds, k: np.broadcast_to(bounds[0], node.shape),
    Index: lambda node, value, args, bounds, k: bounds[0][node.items],
    Scatter: _scatter,
    Concatenate: _concatenate,
}
