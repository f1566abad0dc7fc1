"""Constructors of IR nodes: shapes inferred and checked, zeros and ones folded.

Builder and reverse mode both build through these, so an adjoint stays as small as the
expression a person would write (g * 1 is g, a sum over no axis is its operand). A shape
that does not fit raises `ShapeError`; the builder words it for the user.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp

from ..symbolic.rules import RULES, Rule, X, rule_for
from .ir import (
    BroadcastTo,
    Call,
    Compare,
    Concatenate,
    Constant,
    Einsum,
    Index,
    IndexItem,
    Node,
    Reshape,
    Scatter,
    Shape,
    Where,
)

__all__ = [
    "ADD",
    "MUL",
    "POW",
    "ShapeError",
    "add",
    "broadcast_shapes",
    "broadcast_to",
    "call",
    "compare",
    "concatenate",
    "constant",
    "divide",
    "einsum",
    "exp",
    "index",
    "index_shape",
    "is_constant",
    "matmul",
    "multiply",
    "negate",
    "power",
    "reshape",
    "scatter",
    "stack",
    "subtract",
    "sum_axes",
    "sum_to",
    "swap_last",
    "transpose",
    "where",
]

# the primitives of the table, found through it: sums, products, powers
ADD: Rule = rule_for(X[0] + X[1])  # type: ignore[assignment]
MUL: Rule = rule_for(X[0] * X[1])  # type: ignore[assignment]
POW: Rule = rule_for(X[0] ** X[1])  # type: ignore[assignment]
_FOLDED = {"add": sp.Add, "mul": sp.Mul, "pow": sp.Pow}


class ShapeError(ValueError):
    """Shapes that do not fit; the builder turns it into an ExpressionError."""


def broadcast_shapes(*shapes: Shape) -> Shape:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError as err:
        raise ShapeError("shapes do not broadcast") from err


def constant(value: sp.Expr | int, shape: Shape = ()) -> Constant:
    return Constant(shape=tuple(shape), value=sp.sympify(value))


def is_constant(node: Node, value: int | None = None) -> bool:
    """Whether `node` is a filled constant (equal to `value`, if given)."""
    return isinstance(node, Constant) and (value is None or node.value == value)


def call(rule: Rule, args: Sequence[Node]) -> Node:
    """`rule` entry by entry; primitives on constants fold exactly (2 * 1/2 is 1)."""
    shape = broadcast_shapes(*(arg.shape for arg in args))
    if rule.name in _FOLDED and all(isinstance(arg, Constant) for arg in args):
        value = _FOLDED[rule.name](*(arg.value for arg in args))
        if value.is_real:  # (-2) ** (1/2) is not: it stays a call, NaN when evaluated
            return constant(value, shape)
    # a filled constant whose shape the others already give is written as a scalar
    args = [
        constant(arg.value)
        if isinstance(arg, Constant) and _shape_without(args, i) == shape
        else arg
        for i, arg in enumerate(args)
    ]
    return Call(shape=shape, rule=rule, args=tuple(args))


def _shape_without(args: Sequence[Node], position: int) -> Shape:
    return broadcast_shapes(*(arg.shape for i, arg in enumerate(args) if i != position))


def _kept(node: Node, shape: Shape) -> Node:
    return node if node.shape == shape else broadcast_to(node, shape)


def add(a: Node, b: Node) -> Node:
    shape = broadcast_shapes(a.shape, b.shape)
    if is_constant(a, 0):
        return _kept(b, shape)
    if is_constant(b, 0):
        return _kept(a, shape)
    return call(ADD, (a, b))


def multiply(a: Node, b: Node) -> Node:
    shape = broadcast_shapes(a.shape, b.shape)
    if is_constant(a, 0) or is_constant(b, 0):
        return constant(0, shape)
    if is_constant(a, 1):
        return _kept(b, shape)
    if is_constant(b, 1):
        return _kept(a, shape)
    a, b = (constant(a.value) if isinstance(a, Constant) and b.shape == shape else a,
            constant(b.value) if isinstance(b, Constant) and a.shape == shape else b)  # fmt: skip
    if _scalar_constant(b) and not _scalar_constant(a):
        a, b = b, a  # the number first, as people write it
    if _scalar_constant(a) and isinstance(b, Call) and b.rule is MUL:
        inner, rest = b.args
        if _scalar_constant(inner):  # 1/2 * (2 * x) is x
            return _kept(multiply(constant(a.value * inner.value), rest), shape)
    return call(MUL, (a, b))


def _scalar_constant(node: Node) -> bool:
    return isinstance(node, Constant) and node.shape == ()


def power(a: Node, b: Node) -> Node:
    shape = broadcast_shapes(a.shape, b.shape)
    if is_constant(b, 1):
        return _kept(a, shape)
    if is_constant(b, 0):
        return constant(1, shape)
    return call(POW, (a, b))


def negate(a: Node) -> Node:
    return multiply(constant(-1), a)


def subtract(a: Node, b: Node) -> Node:
    return add(a, negate(b))


def divide(a: Node, b: Node) -> Node:
    return multiply(a, power(b, constant(-1)))


def compare(op: str, left: Node, right: Node) -> Compare:
    shape = broadcast_shapes(left.shape, right.shape)
    return Compare(shape=shape, op=op, left=left, right=right)


def where(cond: Compare, a: Node, b: Node) -> Node:
    shape = broadcast_shapes(cond.shape, a.shape, b.shape)
    return Where(shape=shape, cond=cond, a=a, b=b)


def broadcast_to(node: Node, shape: Shape) -> Node:
    shape = tuple(shape)
    if broadcast_shapes(node.shape, shape) != shape:
        raise ShapeError(f"cannot broadcast {list(node.shape)} to {list(shape)}")
    if node.shape == shape:
        return node
    if isinstance(node, Constant):
        return constant(node.value, shape)
    return BroadcastTo(shape=shape, operand=node)


def reshape(node: Node, shape: Shape) -> Node:
    shape = tuple(shape)
    if int(np.prod(shape)) != node.size:
        raise ShapeError(f"cannot reshape {list(node.shape)} into {list(shape)}")
    if node.shape == shape:
        return node
    if isinstance(node, Constant):
        return constant(node.value, shape)
    if isinstance(node, Reshape):
        return reshape(node.operand, shape)
    return Reshape(shape=shape, operand=node)


def einsum(
    operands: Sequence[Node], subscripts: Sequence[Sequence[int]], output: Sequence[int]
) -> Node:
    """The contraction; sizes of each label must agree (checked by the caller)."""
    sizes: dict[int, int] = {}
    for operand, labels in zip(operands, subscripts, strict=True):
        if len(labels) != operand.ndim:
            raise ShapeError("einsum subscripts do not match the operands' axes")
        for label, size in zip(labels, operand.shape, strict=True):
            if sizes.setdefault(label, size) != size:
                raise ShapeError(f"einsum label {label} has sizes {sizes[label]} and {size}")
    shape = tuple(sizes[label] for label in output)
    subscripts = [tuple(labels) for labels in subscripts]
    if all(isinstance(operand, Constant) for operand in operands):
        return _constant_einsum(operands, subscripts, tuple(output), sizes, shape)
    # numbers (no subscripts) factor out: einsum(",ij->ij", 1, A) is A
    factor = [op for op, subs in zip(operands, subscripts, strict=True) if _scalar_constant(op)]
    if factor:
        kept = [(op, s) for op, s in zip(operands, subscripts, strict=True) if op not in factor]
        inner = einsum([op for op, _ in kept], [s for _, s in kept], output)
        return multiply(constant(sp.Mul(*(op.value for op in factor))), inner)
    if len(operands) == 1 and subscripts[0] == tuple(output):
        return operands[0]
    return Einsum(
        shape=shape, operands=tuple(operands), subscripts=tuple(subscripts), output=tuple(output)
    )


def _constant_einsum(
    operands: Sequence[Node],
    subscripts: Sequence[tuple[int, ...]],
    output: tuple[int, ...],
    sizes: dict[int, int],
    shape: Shape,
) -> Node:
    value = sp.Mul(*(operand.value for operand in operands))  # type: ignore[attr-defined]
    for label in set().union(*subscripts) - set(output):
        value *= sizes[label]  # a sum of equal terms
    return constant(value, shape)


def transpose(node: Node, axes: Sequence[int]) -> Node:
    """NumPy's transpose: axis i of the result is axis `axes[i]` of `node`."""
    axes = list(axes)
    return einsum([node], [tuple(axes.index(i) for i in range(node.ndim))], range(node.ndim))


def swap_last(node: Node) -> Node:
    """The matrix transpose of each matrix of a stack (..., m, n) -> (..., n, m)."""
    labels = list(range(node.ndim))
    return einsum([node], [labels], [*labels[:-2], labels[-1], labels[-2]])


def sum_axes(node: Node, axes: Sequence[int], keepdims: bool = False) -> Node:
    """Sum over `axes` (non-negative)."""
    labels = list(range(node.ndim))
    summed = einsum([node], [labels], [label for label in labels if label not in axes])
    if not keepdims:
        return summed
    return reshape(summed, tuple(1 if i in axes else n for i, n in enumerate(node.shape)))


def sum_to(node: Node, shape: Shape) -> Node:
    """Undo broadcasting: sum `node` over the axes along which `shape` was broadcast."""
    shape = tuple(shape)
    if node.shape == shape:
        return node
    lead = node.ndim - len(shape)
    axes = list(range(lead))
    axes += [lead + i for i, n in enumerate(shape) if n == 1 and node.shape[lead + i] != 1]
    return reshape(sum_axes(node, axes), shape)


def index_shape(shape: Shape, items: Sequence[IndexItem]) -> Shape:
    result: list[int] = []
    position = 0
    for item in items:
        if item is None:
            result.append(1)
            continue
        if isinstance(item, slice):
            result.append(len(range(*item.indices(shape[position]))))
        position += 1
    return (*result, *shape[position:])


def index(node: Node, items: Sequence[IndexItem]) -> Node:
    items = tuple(items)
    shape = index_shape(node.shape, items)
    if isinstance(node, Constant):
        return constant(node.value, shape)
    whole = [slice(0, n, 1) for n in node.shape[: len(items)]]
    if list(items) == whole:
        return node  # every item a whole slice: no new axis, no whole number
    return Index(shape=shape, operand=node, items=items)


def scatter(node: Node, items: Sequence[IndexItem], shape: Shape) -> Node:
    if is_constant(node, 0):
        return constant(0, shape)
    return Scatter(shape=tuple(shape), operand=node, items=tuple(items))


def concatenate(operands: Sequence[Node], axis: int) -> Node:
    first = operands[0].shape
    for operand in operands:
        if operand.ndim != len(first) or any(
            a != b for i, (a, b) in enumerate(zip(operand.shape, first, strict=True)) if i != axis
        ):
            raise ShapeError("operands of concatenate differ off the axis")
    if len(operands) == 1:
        return operands[0]
    size = sum(operand.shape[axis] for operand in operands)
    shape = (*first[:axis], size, *first[axis + 1 :])
    return Concatenate(shape=shape, operands=tuple(operands), axis=axis)


def stack(operands: Sequence[Node], axis: int) -> Node:
    """`operands` of one shape along a new axis (non-negative, at most their ndim)."""
    shape = operands[0].shape
    if any(operand.shape != shape for operand in operands):
        raise ShapeError("operands of stack differ in shape")
    expanded = (*shape[:axis], 1, *shape[axis:])
    return concatenate([reshape(operand, expanded) for operand in operands], axis)


def matmul(a: Node, b: Node) -> Node:
    """NumPy's matmul as one einsum: vectors, matrices and broadcast stacks."""
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError("matmul of a scalar")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ShapeError("matmul: inner dimensions differ")
    if a.ndim == 1 and b.ndim == 1:
        return einsum([a, b], [(0,), (0,)], ())
    if b.ndim == 1:  # (..., m, k) @ (k,) -> (..., m)
        *batch, m, k = range(a.ndim)
        return einsum([a, b], [(*batch, m, k), (k,)], (*batch, m))
    if a.ndim == 1:  # (k,) @ (..., k, n) -> (..., n)
        *batch, k, n = range(b.ndim)
        return einsum([a, b], [(k,), (*batch, k, n)], (*batch, n))
    common = broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = broadcast_to(a, common + a.shape[-2:])
    b = broadcast_to(b, common + b.shape[-2:])
    *batch, m, k, n = range(len(common) + 3)
    return einsum([a, b], [(*batch, m, k), (*batch, k, n)], (*batch, m, n))


def exp(node: Node) -> Node:
    return call(RULES["exp"], (node,))
