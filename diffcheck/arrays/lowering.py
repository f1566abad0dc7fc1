"""Small arrays -> scalar SymPy expressions, one per entry, over symbols named `W[0, 1]`.

`lower_to_sympy(node)` writes every entry of `node` as a SymPy expression, so the scalar
engine can derive and prove entry by entry. Table functions are built with the table's
own `Rule.build` (sigmoid stays sigmoid); reductions over several entries use the
table's variadic logsumexp and folded max/min. Only for arrays of at most
`MAX_LOWERED_ENTRIES` entries: the expressions grow with every contraction.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from ..symbolic.rules import RULES
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
from .kernels import Kernels

__all__ = ["MAX_LOWERED_ENTRIES", "entry_symbols", "lower_to_sympy"]

MAX_LOWERED_ENTRIES = 64
_RELATIONS = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "==": sp.Eq, "!=": sp.Ne}
_PRIMITIVES = {"add": operator.add, "mul": operator.mul, "pow": operator.pow}


def entry_symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One symbol per entry, named `W[0, 1]` (`x` for a scalar); plain symbols, as the
    scalar grammar makes them, so the two engines share their variables."""
    result = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        label = f"{name}[{', '.join(map(str, index))}]" if shape else name
        result[index] = sp.Symbol(label)
    return result


def lower_to_sympy(node: Node) -> np.ndarray:
    """Each entry of `node` as a SymPy expression (an object array of `node.shape`).

    Raises:
        ValueError: a variable or the result has more than MAX_LOWERED_ENTRIES entries.
    """
    order = nodes_in_order([node])
    arrays = [node, *(n for n in order if isinstance(n, Variable))]
    large = next((n for n in arrays if n.size > MAX_LOWERED_ENTRIES), None)
    if large is not None:
        raise ValueError(
            f"an array of shape {list(large.shape)} is too large to write entry by entry "
            f"(more than {MAX_LOWERED_ENTRIES} entries)"
        )
    memo: dict[int, np.ndarray] = {}
    for current in order:
        args = [memo[id(child)] for child in current.children()]
        memo[id(current)] = np.asarray(_LOWER[type(current)](current, args), dtype=object)
    return memo[id(node)]


def _map(function: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    return np.asarray(np.frompyfunc(function, len(arrays), 1)(*arrays), dtype=object)


def _call(node: Call, args: list[np.ndarray]) -> np.ndarray:
    rule = node.rule
    if rule.name in _PRIMITIVES:
        result = _map(_PRIMITIVES[rule.name], *args)
    else:
        result = _map(lambda *xs: rule.build(xs), *args)
    return np.broadcast_to(result, node.shape)


def _filled(value: sp.Expr, shape: tuple[int, ...]) -> np.ndarray:
    result = np.empty(shape, dtype=object)
    result[...] = value
    return result


def _rows(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """`x` with `axes` moved last and flattened into one: (..., n)."""
    moved = np.moveaxis(x, axes, range(-len(axes), 0))
    return moved.reshape(*moved.shape[: moved.ndim - len(axes)], -1)


def _reduce_row(kind: str, row: list[sp.Expr]) -> sp.Expr:
    if kind == "prod":
        return sp.Mul(*row)
    if kind == "norm":
        return sp.sqrt(sp.Add(*(entry**2 for entry in row)))
    return row[0] if len(row) == 1 else RULES[kind].build(row)


def _reduce(node: Reduce, args: list[np.ndarray]) -> np.ndarray:
    rows = _rows(args[0], node.axes)
    result = _filled(sp.Integer(0), node.shape)
    for index in np.ndindex(node.shape):
        result[index] = _reduce_row(node.kind, list(rows[index]))
    return result


def _others_product(node: OthersProduct, args: list[np.ndarray]) -> np.ndarray:
    rows = _rows(args[0], node.axes)
    products = np.empty(rows.shape, dtype=object)
    for index in np.ndindex(rows.shape):
        row = rows[index[:-1]]
        products[index] = sp.Mul(*(e for i, e in enumerate(row) if i != index[-1]))
    moved = np.moveaxis(args[0], node.axes, range(-len(node.axes), 0)).shape
    return np.moveaxis(products.reshape(moved), range(-len(node.axes), 0), node.axes)


def _softmax(node: Softmax, args: list[np.ndarray]) -> np.ndarray:
    x = np.moveaxis(args[0], node.axis, -1)
    result = np.empty(x.shape, dtype=object)
    for index in np.ndindex(x.shape[:-1]):
        row = list(x[index])
        if node.log:
            total = row[0] if len(row) == 1 else RULES["logsumexp"].build(row)
            result[index] = [entry - total for entry in row]
        else:
            exps = [sp.exp(entry) for entry in row]
            result[index] = [e / sp.Add(*exps) for e in exps]
    return np.moveaxis(result, -1, node.axis)


def _per_matrix(function: Callable[[sp.Matrix], Any], a: np.ndarray, shape: Any) -> np.ndarray:
    result = _filled(sp.Integer(0), shape)
    for index in np.ndindex(a.shape[:-2]):
        value = function(sp.Matrix(a[index].tolist()))
        is_matrix = hasattr(value, "tolist")
        result[index] = np.array(value.tolist(), dtype=object) if is_matrix else value
    return result


def _det(node: Det, args: list[np.ndarray]) -> np.ndarray:
    return _per_matrix(lambda m: sp.log(m.det()) if node.log else m.det(), args[0], node.shape)


def _solve(node: Solve, args: list[np.ndarray]) -> np.ndarray:
    a, b = args
    rhs = b[..., None] if node.vector else b
    solved = _filled(sp.Integer(0), rhs.shape)
    for index in np.ndindex(a.shape[:-2]):
        x = sp.Matrix(a[index].tolist()).LUsolve(sp.Matrix(rhs[index].tolist()))
        solved[index] = np.array(x.tolist(), dtype=object)
    return solved[..., 0] if node.vector else solved


def _scatter(node: Scatter, args: list[np.ndarray]) -> np.ndarray:
    result = _filled(sp.Integer(0), node.shape)
    result[node.items] = args[0]
    return result


class _ObjectKernels(Kernels):
    dtype = object


_LOWER: dict[type, Callable[[Any, list[np.ndarray]], np.ndarray]] = {
    Variable: lambda node, args: entry_symbols(node.name, node.shape),
    Constant: lambda node, args: _filled(node.value, node.shape),
    Eye: lambda node, args: _map(sp.Integer, np.eye(node.shape[0], dtype=int)),
    Call: _call,
    Compare: lambda node, args: _map(_RELATIONS[node.op], *args),
    Where: lambda node, args: np.broadcast_to(
        _map(lambda c, a, b: sp.Piecewise((a, c), (b, True)), *args), node.shape
    ),
    Einsum: lambda node, args: _ObjectKernels().einsum(args, node.subscripts, node.output),
    Reduce: _reduce,
    OthersProduct: _others_product,
    Softmax: _softmax,
    Reshape: lambda node, args: args[0].reshape(node.shape),
    BroadcastTo: lambda node, args: np.broadcast_to(args[0], node.shape),
    Index: lambda node, args: args[0][node.items],
    Scatter: _scatter,
    Concatenate: lambda node, args: np.concatenate(args, axis=node.axis),
    Inv: lambda node, args: _per_matrix(lambda m: m.inv(), args[0], node.shape),
    Cofactor: lambda node, args: _per_matrix(lambda m: m.cofactor_matrix(), args[0], node.shape),
    Det: _det,
    Solve: _solve,
}
