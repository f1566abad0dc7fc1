"""Evaluation of IR nodes: float64, complex128 (for the complex step) or mpmath.

`evaluate(node, values)` and `evaluate_mp(node, values, dps)` walk the graph once in
topological order, each shared node computed once. The reductions below are written
once for every backend: the kernels supply exp, log, einsum and linear algebra.
`evaluate_stacked` evaluates for a stack of values of one variable at once (a Jacobian's
basis cotangents).
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..symbolic.rules import Rule
from .ir import (
    BroadcastTo,
    Call,
    Cofactor,
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

__all__ = ["STACK_ENTRIES", "NotStackable", "depending_on", "evaluate", "evaluate_mp",
           "evaluate_nodes", "evaluate_stacked"]  # fmt: skip

Memo = dict[Any, np.ndarray]  # node id -> value, and structure -> value
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
    filled, so a caller can keep values that do not change between calls.

    Nodes built apart but equal in structure (the function's `X @ W` and the claim's)
    are computed once: the memo also maps each node's structure, with its variables'
    values by identity, to the value, so a memo reused for other values of a variable
    never serves a stale value through it. The memo keeps every node it names alive, so
    that a node built later (a kink's distance, an adjoint) never reuses an id in it.
    """
    memo = {} if memo is None else memo
    with np.errstate(all="ignore"):
        for node in nodes_in_order(nodes):
            if id(node) in memo:
                continue
            key = _structure(node, values, memo)
            value = memo.get(key)
            if value is None:
                if isinstance(node, Variable):
                    value = _variable(node, values, kernels)
                else:
                    args = [memo[id(child)] for child in node.children()]
                    value = _EVALUATORS[type(node)](node, args, kernels)
                memo[key] = value
            memo[id(node)] = value
            memo[(Node, id(node))] = node  # kept alive: its id names no other node
    return [memo[id(node)] for node in nodes]


def _structure(node: Node, values: Mapping[str, Any], memo: Memo) -> tuple:
    """What determines `node`'s value: its kind, shape and settings, and its children's
    values by identity (equal children share one value object) or, for a variable, the
    object `values` holds, kept in the memo so that its identity stays its own."""
    if isinstance(node, Variable):
        given = values.get(node.name)
        memo[("given", id(given))] = given  # type: ignore[assignment]
        return (Variable, node.shape, node.name, id(given))
    settings = tuple(_hashable(getattr(node, name)) for name in _settings(type(node)))
    children = tuple(id(memo[id(child)]) for child in node.children())
    return (type(node), node.shape, settings, children)


@functools.cache
def _settings(kind: type) -> tuple[str, ...]:
    """The fields of a node kind that are neither its shape nor its children."""
    skipped = {"shape", *kind._children}  # type: ignore[attr-defined]
    return tuple(field.name for field in dataclasses.fields(kind) if field.name not in skipped)


def _hashable(value: Any) -> Any:
    if isinstance(value, slice):  # slices hash only from Python 3.12 on
        return (slice, value.start, value.stop, value.step)
    if isinstance(value, tuple):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, Node | Rule):  # by identity: rules are the table's own objects
        return (id(value),)
    return value


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
    Cofactor: lambda node, args, k: k.cofactor(args[0]),
    Det: _det,
    Solve: lambda node, args, k: k.solve(args[0], args[1], node.vector),
}


# ---- a stack of values of one variable --------------------------------------------------
# A Jacobian is the VJP at every basis cotangent. The VJP is linear in the cotangent and
# reaches it only through the kinds of node in _STACKED, which carry a leading stack axis:
# every node that depends on the stacked variable gets one, the rest is computed once.

STACK_ENTRIES = 1 << 22  # entries of one stacked value at most (32 MiB): chunks below it


class NotStackable(Exception):
    """A node on the stacked variable's path has no stacked evaluation."""


def evaluate_stacked(nodes: Sequence[Node], values: Mapping[str, Any], kernels: FloatKernels,
                     name: str, stack: np.ndarray, memo: Memo) -> list[np.ndarray]:  # fmt: skip
    """The values of `nodes` for each value `stack[i]` of the variable `name`, with a
    leading axis of the stack's length. What does not depend on `name` is computed once
    into `memo` (values at `values`); the stacked values are not kept.

    Raises:
        NotStackable: a node kind on `name`'s path without a stacked evaluation.
    """
    order = nodes_in_order(nodes)
    varying = depending_on(order, name)
    for node in order:
        if id(node) in varying and type(node) not in _STACKED:
            raise NotStackable(type(node).__name__)
    evaluate_nodes([node for node in order if id(node) not in varying], values, kernels, memo)
    largest = max([node.size for node in order if id(node) in varying], default=1)
    chunk = max(1, STACK_ENTRIES // max(largest, 1))
    parts = [_stacked_chunk(nodes, order, varying, memo, kernels, stack[start : start + chunk])
             for start in range(0, len(stack), chunk)]  # fmt: skip
    return [np.concatenate([part[i] for part in parts]) for i in range(len(nodes))]


def depending_on(order: Sequence[Node], name: str) -> set[int]:
    """Ids of the nodes of `order` (children first) whose value depends on the variable
    `name`, through any child (a comparison's too)."""
    found: set[int] = set()
    for node in order:
        if isinstance(node, Variable) and node.name == name:
            found.add(id(node))
        elif any(id(child) in found for child in node.children()):
            found.add(id(node))
    return found


def _stacked_chunk(nodes, order, varying, memo, kernels, stack) -> list[np.ndarray]:  # noqa: ANN001
    count, stacked = len(stack), {}
    with np.errstate(all="ignore"):
        for node in (node for node in order if id(node) in varying):
            if isinstance(node, Variable):
                value = kernels.variable(stack)
            else:
                args = [stacked.get(id(child), memo.get(id(child))) for child in node.children()]
                flags = [id(child) in varying for child in node.children()]
                value = _STACKED[type(node)](node, args, flags, kernels, count)
            stacked[id(node)] = np.broadcast_to(value, (count, *node.shape))
    found = (stacked.get(id(node)) for node in nodes)
    return [
        np.asarray(
            np.broadcast_to(memo[id(node)] if value is None else value, (count, *node.shape))
        )  # fmt: skip
        for node, value in zip(nodes, found, strict=True)
    ]


def _lift(value: np.ndarray, stacked: bool, rank: int) -> np.ndarray:
    """A stacked value (count, *shape) with axes after the stack axis so that it
    broadcasts against unstacked values of `rank` axes; an unstacked value as it is."""
    if not stacked:
        return value
    return value.reshape((len(value), *(1,) * (rank + 1 - value.ndim), *value.shape[1:]))


def _lifted(node: Node, args: list[np.ndarray], flags: list[bool]) -> list[np.ndarray]:
    return [_lift(arg, flag, node.ndim) for arg, flag in zip(args, flags, strict=True)]


def _stacked_einsum(node: Einsum, args, flags, k, count):  # noqa: ANN001, ANN202
    """The stack axis as one more label, on the stacked operands and the output."""
    label = max([*node.output, *(x for s in node.subscripts for x in s)], default=-1) + 1
    subscripts = [(label, *s) if f else s for s, f in zip(node.subscripts, flags, strict=True)]
    return k.einsum(args, subscripts, (label, *node.output))


def _stacked_where(node: Where, args, flags, k, count):  # noqa: ANN001, ANN202
    cond, a, b = _lifted(node, args, flags)
    return np.where(cond != 0, a, b)


def _stacked_concatenate(node: Concatenate, args, flags, k, count):  # noqa: ANN001, ANN202
    parts = [arg if flag else np.broadcast_to(arg, (count, *arg.shape))
             for arg, flag in zip(args, flags, strict=True)]  # fmt: skip
    return np.concatenate(parts, axis=node.axis + 1)


def _stacked_scatter(node: Scatter, args, flags, k, count):  # noqa: ANN001, ANN202
    result = k.constant(0, (count, *node.shape))
    result[(slice(None), *node.items)] = args[0]
    return result


def _stacked_solve(node: Solve, args, flags, k, count):  # noqa: ANN001, ANN202
    """The stacked right-hand sides as more columns of one right-hand side."""
    if flags[0]:
        raise NotStackable("Solve of a stacked matrix")
    columns = args[1][..., None] if node.vector else args[1]  # (count, *batch, n, m)
    moved = np.moveaxis(columns, 0, -2)  # (*batch, n, count, m)
    merged = moved.reshape((*moved.shape[:-2], count * moved.shape[-1]))
    solved = np.moveaxis(k.solve(args[0], merged, False).reshape(moved.shape), -2, 0)
    return solved[..., 0] if node.vector else solved


_STACKED: dict[type, Callable[..., np.ndarray]] = {
    Variable: lambda node, args, flags, k, count: args[0],  # never called: the stack itself
    Call: lambda node, args, flags, k, count: k.call(node.rule, _lifted(node, args, flags)),
    Where: _stacked_where,
    Einsum: _stacked_einsum,
    Reshape: lambda node, args, flags, k, count: np.reshape(args[0], (count, *node.shape)),
    BroadcastTo: lambda node, args, flags, k, count: _lift(args[0], True, node.ndim),
    Index: lambda node, args, flags, k, count: args[0][(slice(None), *node.items)],
    Scatter: _stacked_scatter,
    Concatenate: _stacked_concatenate,
    Solve: _stacked_solve,
}
