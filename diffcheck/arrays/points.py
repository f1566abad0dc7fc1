"""Where a point is not an ordinary point of an expression: on a kink, or outside its domain.

`check_point(node, values)` evaluates once and reports, per operation, the entries where
a partial does not exist (the table's `kinks` for elementwise calls; ties of max and
min; norm at 0; the boundary of where) and where the value is undefined (NaN or inf
arising from finite arguments; a singular matrix inverted or solved). Callers report
such points rather than compare derivatives there, or probe whether the derivative of
the whole function exists all the same (norm(x)**2 at 0). det is no kink at a singular
matrix: its derivative, the cofactor matrix, exists everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .evaluate import evaluate_nodes
from .ir import Call, Det, Inv, Node, Reduce, Solve, Where, nodes_in_order, show
from .kernels import FloatKernels
from .reverse import depending_nodes
from .templates import kink_nodes

__all__ = ["SINGULAR_CONDITION", "Flag", "PointCheck", "check_point"]

SINGULAR_CONDITION = 1 / np.finfo(np.float64).eps  # beyond: the matrix is singular in float64
_TEXT_LIMIT = 60


@dataclass(frozen=True)
class Flag:
    """One operation's entries (indices into its value) that are kinks or undefined."""

    operation: str  # the node's kind: relu, max, logdet, inv, ...
    reason: str
    entries: tuple[tuple[int, ...], ...]
    expression: str  # the node, shortened


@dataclass(frozen=True)
class PointCheck:
    kinks: tuple[Flag, ...]
    undefined: tuple[Flag, ...]

    @property
    def ordinary(self) -> bool:
        return not self.kinks and not self.undefined


def check_point(
    node: Node,
    values: Mapping[str, Any],
    wrt: Sequence[str] | None = None,
    atol: float = 0.0,
    memo: dict | None = None,
) -> PointCheck:
    """The kinks and undefined entries of `node` at one point.

    Args:
        node: the expression.
        values: variable name -> array.
        wrt: when given, kinks count only where a derivative flows to these variables.
        atol: a kink expression within `atol` of 0 counts as 0.
        memo: float64 values already computed at this point (see `evaluate_nodes`), read
            and filled: the claims evaluated next reuse the function's values.
    """
    order = nodes_in_order([node])
    kernels, memo = FloatKernels(), ({} if memo is None else memo)
    evaluate_nodes([node], values, kernels, memo)
    flowing = None if wrt is None else depending_nodes(order, set(wrt))
    kinks: list[Flag] = []
    undefined: list[Flag] = []
    finite: dict[int, bool] = {}  # node id -> every entry of its value is finite
    for current in order:
        if flowing is None or id(current) in flowing:
            mask, reason = _kink(current, memo, kernels, atol)
            _add(kinks, current, mask, reason)
        mask, reason = _undefined(current, memo, finite)
        _add(undefined, current, mask, reason)
    return PointCheck(tuple(kinks), tuple(undefined))


def _add(flags: list[Flag], node: Node, mask: np.ndarray | None, reason: str) -> None:
    if mask is None or not np.any(mask):
        return
    entries = tuple(tuple(int(i) for i in index) for index in np.argwhere(mask))
    text = show(node)
    text = text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 3] + "..."
    flags.append(Flag(_kind(node), reason, entries, text))


def _kind(node: Node) -> str:
    if isinstance(node, Call):
        return node.rule.name
    if isinstance(node, Reduce):
        return node.kind
    if isinstance(node, Det):
        return "logdet" if node.log else "det"
    return type(node).__name__.lower()


def _kink(node: Node, memo: dict, kernels: FloatKernels, atol: float):  # type: ignore[no-untyped-def]
    value = memo[id(node)]
    if isinstance(node, Call) and node.rule.kinks:
        found = np.zeros(node.shape, dtype=bool)
        for kink in kink_nodes(node):
            (distance,) = evaluate_nodes([kink], {}, kernels, memo)
            found |= np.broadcast_to(np.abs(distance) <= atol, node.shape)
        return found, f"{node.rule.name} has no derivative here"
    if isinstance(node, Reduce) and node.kind in ("max", "min"):
        x = memo[id(node.operand)]
        kept = np.expand_dims(value, node.axes)
        ties = np.sum(np.abs(x - kept) <= atol, axis=node.axes)
        return ties > 1, f"{node.kind} is attained more than once"
    if isinstance(node, Reduce) and node.kind == "norm":
        return np.abs(value) <= atol, "norm has no derivative at 0"
    if isinstance(node, Where):
        left, right = memo[id(node.cond.left)], memo[id(node.cond.right)]
        boundary = np.broadcast_to(np.abs(left - right) <= atol, node.shape)
        return boundary, "on the boundary of where's condition"
    return None, ""


def _undefined(node: Node, memo: dict, finite: dict[int, bool]):  # type: ignore[no-untyped-def]
    """Entries undefined at this node itself; `finite` (filled in `order`, children
    first) spares a second pass over each child's value."""
    value = memo[id(node)]
    finite[id(node)] = bool(np.isfinite(value).all())
    if isinstance(node, (Inv, Solve, Det)):
        matrix = node.matrix if isinstance(node, Solve) else node.operand
        singular = _condition(memo[id(matrix)]) > SINGULAR_CONDITION
        if isinstance(node, Det) and not node.log:
            singular = np.zeros_like(singular)  # det is defined everywhere
        if np.any(singular):
            return _batch_entries(singular, node), f"{_kind(node)} of a singular matrix"
    if finite[id(node)]:
        return None, ""
    bad = ~np.isfinite(value)
    children = [memo[id(child)] for child in node.children()]
    if not all(finite[id(child)] for child in node.children()):
        if not isinstance(node, (Call, Where)):
            return None, ""  # inherited from an argument: flagged there
        for child in children:
            bad = bad & np.broadcast_to(np.isfinite(child), node.shape)
    reason = "undefined (NaN)" if np.any(np.isnan(value[bad])) else "infinite (overflow or pole)"
    return bad, f"{_kind(node)} is {reason}"


def _condition(matrices: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        if not np.all(np.isfinite(matrices)):
            return np.zeros(matrices.shape[:-2])  # non-finite inputs are flagged upstream
        return np.linalg.cond(matrices)


def _batch_entries(singular: np.ndarray, node: Node) -> np.ndarray:
    """Spread a per-matrix flag over the entries of the node's value."""
    extra = node.ndim - singular.ndim
    return np.broadcast_to(singular.reshape(singular.shape + (1,) * extra), node.shape)
