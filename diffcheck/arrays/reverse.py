"""The reference derivative: reverse mode over the IR, giving adjoints as IR expressions.

`vjp_expressions(node, wrt, cotangent)` runs one backward sweep over a topological order;
each node kind has one adjoint rule below (elementwise calls read their local partials
from the rule table through `templates`), and adjoints of shared nodes are summed.
`gradient_expressions` is the scalar case; `jacobian_values` evaluates basis cotangents,
`jacobian_rows` a block of them at a time for a Jacobian too large to hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from . import ops
from .evaluate import NotStackable, depending_on, evaluate_nodes, evaluate_stacked
from .ir import (
    BroadcastTo,
    Call,
    Cofactor,
    Compare,
    Concatenate,
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
from .kernels import FloatKernels
from .templates import local_partial

__all__ = [
    "COTANGENT",
    "MAX_JACOBIAN_ENTRIES",
    "ROW_BLOCK_ENTRIES",
    "JacobianTooLarge",
    "depending_nodes",
    "held_jacobian",
    "gradient_expressions",
    "jacobian_rows",
    "jacobian_values",
    "vjp_expressions",
]

MAX_JACOBIAN_ENTRIES = 250_000  # one backward evaluation per output entry: beyond, too slow
# entries of basis cotangents or Jacobian rows held at once by `jacobian_rows` (32 MiB)
ROW_BLOCK_ENTRIES = 1 << 22
COTANGENT = "<cotangent>"  # not a name a case can use
Pairs = Iterator[tuple[Node, Node]]
Needs = Callable[[Node], bool]


def vjp_expressions(
    node: Node,
    wrt: Sequence[str],
    cotangent: Node,
    *,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
) -> dict[str, Node]:
    """The vector-Jacobian product of `node` for each variable in `wrt`, as IR.

    Args:
        node: the function.
        wrt: variable names; one absent from `node` gets zeros of `shapes[name]`.
        cotangent: an expression of `node`'s shape (a variable such as g, or a constant).

    Returns:
        name -> adjoint expression, with that variable's shape.

    Raises:
        ValueError: the cotangent's shape differs, or a name is absent without a shape.
    """
    if cotangent.shape != node.shape:
        raise ValueError(f"cotangent shape {list(cotangent.shape)} != {list(node.shape)}")
    order = nodes_in_order([node])
    depends = depending_nodes(order, set(wrt))
    adjoints: dict[int, Node] = {id(node): cotangent}
    found: dict[str, Node] = {}
    for current in reversed(order):
        adjoint = adjoints.pop(id(current), None)
        if adjoint is None or id(current) not in depends:
            continue
        if isinstance(current, Variable):
            previous = found.get(current.name)
            found[current.name] = adjoint if previous is None else ops.add(previous, adjoint)
            continue
        for child, contribution in _RULES[type(current)](current, adjoint, _needs(depends)):
            previous = adjoints.get(id(child))
            adjoints[id(child)] = (
                contribution if previous is None else ops.add(previous, contribution)
            )
    return {name: _result(name, found, order, shapes) for name in wrt}


def _needs(depends: set[int]) -> Needs:
    return lambda child: id(child) in depends


def depending_nodes(order: Sequence[Node], wrt: set[str]) -> set[int]:
    """Ids of the nodes (in `order`, children first) through which a derivative flows to
    a variable in `wrt`."""
    depends: set[int] = set()
    for node in order:
        if isinstance(node, Variable):
            hit = node.name in wrt
        elif isinstance(node, Where):  # never through the condition
            hit = id(node.a) in depends or id(node.b) in depends
        else:
            hit = any(id(child) in depends for child in node.children())
        if hit and not isinstance(node, Compare):
            depends.add(id(node))
    return depends


def _result(
    name: str,
    found: Mapping[str, Node],
    order: Sequence[Node],
    shapes: Mapping[str, tuple[int, ...]] | None,
) -> Node:
    if name in found:
        return found[name]
    shape = next((n.shape for n in order if isinstance(n, Variable) and n.name == name), None)
    if shape is None and shapes is not None:
        shape = shapes.get(name)
    if shape is None:
        raise ValueError(f"{name} does not occur in the expression and has no shape")
    return ops.constant(0, shape)


def gradient_expressions(node: Node, wrt: Sequence[str], **kwargs: Any) -> dict[str, Node]:
    """The gradient of a scalar `node`: its VJP with cotangent 1."""
    if node.shape != ():
        raise ValueError(f"a gradient needs a scalar function, not shape {list(node.shape)}")
    return vjp_expressions(node, wrt, ops.constant(1), **kwargs)


class JacobianTooLarge(ValueError):
    """A Jacobian with more than MAX_JACOBIAN_ENTRIES entries: compare it by blocks of rows
    (`jacobian_rows`) instead of holding it whole."""


def jacobian_values(
    node: Node,
    wrt: Sequence[str],
    values: Mapping[str, Any],
    dtype: Any = np.float64,
    memo: dict | None = None,
) -> dict[str, np.ndarray]:
    """The Jacobian of `node` for each variable: shape node.shape + the variable's shape.

    The VJP at every basis cotangent, evaluated at once over the stack of them (the forward
    values computed once; `memo` may hold them already, see `evaluate_nodes`), or one
    cotangent after another where the VJP has a node the stack cannot pass.

    Raises:
        JacobianTooLarge: the Jacobians together would exceed MAX_JACOBIAN_ENTRIES entries.
    """
    shapes = {name: np.shape(values[name]) for name in wrt}
    total = node.size * sum(int(np.prod(shape)) for shape in shapes.values())
    if total > MAX_JACOBIAN_ENTRIES:
        raise JacobianTooLarge(
            f"the Jacobian would have {total} entries, more than {MAX_JACOBIAN_ENTRIES}: "
            "compare vector-Jacobian products instead"
        )
    basis = np.eye(node.size).reshape((node.size, *node.shape))
    rows = _rows(node, wrt, values, dtype, {} if memo is None else memo, shapes)(basis)
    return {name: rows[i].reshape(node.shape + shapes[name]) for i, name in enumerate(wrt)}


def held_jacobian(
    node: Node, name: str, values: Mapping[str, Any], memo: dict | None = None
) -> np.ndarray | None:
    """The Jacobian of `node` by `name` (`jacobian_values`), or None where it is too large
    to hold: then compare it by blocks of rows (`jacobian_rows`)."""
    try:
        return jacobian_values(node, [name], values, memo=memo)[name]
    except JacobianTooLarge:
        return None


def jacobian_rows(
    node: Node, name: str, values: Mapping[str, Any], memo: dict | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """The Jacobian of `node` by the variable `name`, a block of rows at a time: (first
    row, rows), each row the VJP at one basis cotangent (rows by `node`'s entries in
    row-major order, each of the variable's shape). No more than about ROW_BLOCK_ENTRIES
    entries of cotangents or rows are held at once, whatever the Jacobian's size."""
    shape = np.shape(values[name])
    width = max(node.size, int(np.prod(shape)), 1)
    block = max(1, ROW_BLOCK_ENTRIES // width)
    compute = _rows(node, [name], values, np.float64, {} if memo is None else memo,
                    {name: shape})  # fmt: skip
    for start in range(0, node.size, block):
        count = min(block, node.size - start)
        basis = np.zeros((count, node.size))
        basis[np.arange(count), start + np.arange(count)] = 1.0
        yield start, compute(basis.reshape((count, *node.shape)))[0]


def _rows(node, wrt, values, dtype, memo, shapes) -> Callable[[np.ndarray], list[np.ndarray]]:  # noqa: ANN001
    """basis cotangents (stacked) -> the VJP of each, by variable; built once per call."""
    cotangent = Variable(shape=node.shape, name=COTANGENT)
    adjoints = vjp_expressions(node, wrt, cotangent, shapes=shapes)
    targets = [adjoints[name] for name in wrt]
    kernels = FloatKernels(dtype)

    def rows(basis: np.ndarray) -> list[np.ndarray]:
        try:
            return evaluate_stacked(targets, values, kernels, COTANGENT, basis, memo)
        except NotStackable:
            return _one_by_one(targets, values, kernels, basis, memo)

    return rows


def _one_by_one(targets, values, kernels, basis, memo) -> list[np.ndarray]:  # noqa: ANN001
    """One backward evaluation per basis cotangent; a fresh copy of the forward values
    each time, so that nothing computed for one cotangent serves the next."""
    order = nodes_in_order(targets)
    varying = depending_on(order, COTANGENT)
    evaluate_nodes([node for node in order if id(node) not in varying], values, kernels, memo)
    rows = []
    for cotangent in basis:
        point = {**values, COTANGENT: cotangent}
        rows.append(evaluate_nodes(targets, point, kernels, dict(memo)))
    return [np.array([row[i] for row in rows]) for i in range(len(targets))]


# ---- adjoint rules: (node, its adjoint g, which children need one) -> (child, adjoint) --


def _call(node: Call, g: Node, needs: Needs) -> Pairs:
    for position, arg in enumerate(node.args):
        if not needs(arg):
            continue
        partial = local_partial(node, position)
        if partial is None:
            raise ValueError(f"no derivative of {node.rule.name} in argument {position + 1}")
        yield arg, ops.sum_to(ops.multiply(g, partial), arg.shape)


def _where(node: Where, g: Node, needs: Needs) -> Pairs:
    zero = ops.constant(0)
    if needs(node.a):
        yield node.a, ops.sum_to(ops.where(node.cond, g, zero), node.a.shape)
    if needs(node.b):
        yield node.b, ops.sum_to(ops.where(node.cond, zero, g), node.b.shape)


def _einsum(node: Einsum, g: Node, needs: Needs) -> Pairs:
    for position, operand in enumerate(node.operands):
        if needs(operand):
            yield operand, _einsum_adjoint(node, g, position)


def _einsum_adjoint(node: Einsum, g: Node, position: int) -> Node:
    """The output's and this operand's subscripts exchanged. A label repeated in the
    operand (a trace, a diagonal) gets a fresh label tied to it by an identity matrix;
    a label summed inside this operand alone is broadcast back by a vector of ones."""
    target = node.subscripts[position]
    operands = [g, *(op for i, op in enumerate(node.operands) if i != position)]
    subscripts = [node.output, *(s for i, s in enumerate(node.subscripts) if i != position)]
    fresh = max([*node.output, *target, *(x for s in subscripts for x in s)], default=-1) + 1
    size = dict(zip(target, node.operands[position].shape, strict=True))
    output: list[int] = []
    for label in target:
        if label in output:
            operands.append(Eye(shape=(size[label], size[label])))
            subscripts.append((label, fresh))
            label, fresh = fresh, fresh + 1
        output.append(label)
    present = set().union(*map(set, subscripts))
    for label in dict.fromkeys(target):
        if label not in present:
            operands.append(ops.constant(1, (size[label],)))
            subscripts.append((label,))
    return ops.einsum(operands, subscripts, output)


def _reduce(node: Reduce, g: Node, needs: Needs) -> Pairs:
    x, axes = node.operand, node.axes
    kept = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    gk, out = ops.reshape(g, kept), ops.reshape(node, kept)
    if node.kind in ("max", "min"):  # ties share the adjoint equally
        mask = ops.where(ops.compare("==", x, out), ops.constant(1), ops.constant(0))
        count = ops.sum_axes(mask, axes, keepdims=True)
        local = ops.divide(mask, count)
    elif node.kind == "prod":
        local = OthersProduct(shape=x.shape, operand=x, axes=axes)
    elif node.kind == "logsumexp":  # the softmax weights
        local = ops.exp(ops.subtract(x, out))
    else:  # norm: x / |x|, undefined at 0 (a kink)
        local = ops.divide(x, out)
    yield x, ops.multiply(gk, local)


def _softmax(node: Softmax, g: Node, needs: Needs) -> Pairs:
    axis = (node.axis,)
    if node.log:  # g - softmax * sum(g)
        weights = Softmax(shape=node.shape, operand=node.operand, axis=node.axis, log=False)
        yield node.operand, ops.subtract(g, ops.multiply(weights, ops.sum_axes(g, axis, True)))
    else:  # s * (g - sum(g * s)): the Jacobian diag(s) - s sᵀ applied without forming it
        inner = ops.sum_axes(ops.multiply(g, node), axis, keepdims=True)
        yield node.operand, ops.multiply(node, ops.subtract(g, inner))


def _concatenate(node: Concatenate, g: Node, needs: Needs) -> Pairs:
    start = 0
    for operand in node.operands:
        stop = start + operand.shape[node.axis]
        if needs(operand):
            items = [slice(0, n, 1) for n in node.shape[: node.axis]]
            yield operand, ops.index(g, [*items, slice(start, stop, 1)])
        start = stop


def _batch(node: Node) -> list[int]:
    return list(range(node.ndim - 2))


def _inv(node: Inv, g: Node, needs: Needs) -> Pairs:
    # d(A⁻¹) = -A⁻¹ dA A⁻¹, so the adjoint is -A⁻ᵀ G A⁻ᵀ
    b, (i, j, k, m) = _batch(node), range(node.ndim - 2, node.ndim + 2)
    term = ops.einsum([node, g, node], [(*b, j, i), (*b, j, k), (*b, m, k)], (*b, i, m))
    yield node.operand, ops.negate(term)


def _det(node: Det, g: Node, needs: Needs) -> Pairs:
    # ∂ log det A / ∂A = A⁻ᵀ; ∂ det A / ∂A is the cofactor matrix (det(A) A⁻ᵀ where A is
    # invertible), which a singular matrix has too: det is a polynomial
    matrix = node.operand
    b, (i, j) = _batch(matrix), (matrix.ndim - 2, matrix.ndim - 1)
    if not node.log:
        cofactor = Cofactor(shape=matrix.shape, operand=matrix)
        yield matrix, ops.einsum([g, cofactor], [tuple(b), (*b, i, j)], (*b, i, j))
        return
    inverse = Inv(shape=matrix.shape, operand=matrix)
    yield matrix, ops.einsum([g, inverse], [tuple(b), (*b, j, i)], (*b, i, j))


def _solve(node: Solve, g: Node, needs: Needs) -> Pairs:
    # x = A⁻¹ b: the adjoint of b is A⁻ᵀ g, that of A is -(A⁻ᵀ g) xᵀ
    matrix, rhs = node.matrix, node.rhs
    through = Solve(shape=rhs.shape, matrix=ops.swap_last(matrix), rhs=g, vector=node.vector)
    if needs(rhs):
        yield rhs, through
    if needs(matrix):
        b, (i, j, k) = _batch(matrix), (matrix.ndim - 2, matrix.ndim - 1, matrix.ndim)
        subs = [(*b, i), (*b, j)] if node.vector else [(*b, i, k), (*b, j, k)]
        yield matrix, ops.negate(ops.einsum([through, node], subs, (*b, i, j)))


def _no_rule(node: Node, g: Node, needs: Needs) -> Pairs:
    raise ValueError(f"no adjoint rule for {type(node).__name__}")


_RULES: dict[type, Callable[[Any, Node, Needs], Pairs]] = {
    Call: _call,
    Where: _where,
    Einsum: _einsum,
    Reduce: _reduce,
    Softmax: _softmax,
    Reshape: lambda node, g, needs: iter([(node.operand, ops.reshape(g, node.operand.shape))]),
    BroadcastTo: lambda node, g, needs: iter([(node.operand, ops.sum_to(g, node.operand.shape))]),
    Index: lambda node, g, needs: iter(
        [(node.operand, ops.scatter(g, node.items, node.operand.shape))]
    ),
    Scatter: lambda node, g, needs: iter([(node.operand, ops.index(g, node.items))]),
    Concatenate: _concatenate,
    Inv: _inv,
    Det: _det,
    Solve: _solve,
    OthersProduct: _no_rule,
    Cofactor: _no_rule,
}
