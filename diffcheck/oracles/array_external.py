"""PyTorch's and JAX's autograd on array cases, as outside references for the array
reference derivative.

The array IR is translated node by node into the framework's own operations (never from
text): elementwise calls go through the scalar oracle's kernel tables (`apply_kernel`,
the one dispatch of a rule-table step), every other node kind through one short entry of
the tables below. The framework then takes the vector-Jacobian product for a cotangent (a
gradient is the VJP for 1) or the whole Jacobian, in float64, at one point. Main class:
`ArrayAutodiff`; `unsupported` says why a function cannot be translated.
"""

from __future__ import annotations

import operator
import string
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..arrays.ir import (
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
    Reduce,
    Reshape,
    Softmax,
    Solve,
    Variable,
    Where,
    nodes_in_order,
)
from ..symbolic.rules import PRIMITIVES
from .external import FRAMEWORKS, INSTALL, KERNELS, apply_kernel, available, float64
from .external import framework_namespace as namespace

__all__ = ["ArrayAutodiff", "unsupported"]

_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
                "==": operator.eq, "!=": operator.ne}  # fmt: skip
Translation = Callable[[Any, list[Any], SimpleNamespace], Any]


def _subscripts(node: Einsum) -> str:
    """The einsum's integer labels as letters: "ij,j->i"."""
    labels = sorted({*node.output, *(x for s in node.subscripts for x in s)})
    letter = dict(zip(labels, string.ascii_letters, strict=False))
    terms = ",".join("".join(letter[x] for x in s) for s in node.subscripts)
    return terms + "->" + "".join(letter[x] for x in node.output)


def _over_nothing(node: Reduce, x: Any) -> Any:
    # a reduction over no axis (max of a scalar) is the entry itself; frameworks read an
    # empty axis list as "every axis"
    return abs(x) if node.kind == "norm" else x


def _torch_reduce(node: Reduce, args: list[Any], f: SimpleNamespace) -> Any:
    x, axes, t = args[0], node.axes, f.t
    if not axes:
        return _over_nothing(node, x)
    if node.kind == "prod":  # torch's prod takes one axis: the reduced ones become one
        kept = [i for i in range(x.ndim) if i not in axes]
        moved = x.permute(*kept, *axes)
        return moved.reshape(*(x.shape[i] for i in kept), -1).prod(-1)
    reduce = {"max": t.amax, "min": t.amin, "logsumexp": t.logsumexp,
              "norm": t.linalg.vector_norm}[node.kind]  # fmt: skip
    return reduce(x, dim=axes)


def _jax_reduce(node: Reduce, args: list[Any], f: SimpleNamespace) -> Any:
    x, axes = args[0], node.axes
    if not axes:
        return _over_nothing(node, x)
    reduce = {"max": f.np.max, "min": f.np.min, "prod": f.np.prod,
              "logsumexp": f.special.logsumexp,
              "norm": f.np.linalg.vector_norm}[node.kind]  # fmt: skip
    return reduce(x, axis=axes)


def _torch_index(node: Index, args: list[Any], f: SimpleNamespace) -> Any:
    """Item by item: torch's slices take no negative step, index_select any order."""
    x, axis = args[0], 0
    for item in node.items:
        if item is None:
            x, axis = x.unsqueeze(axis), axis + 1
        elif isinstance(item, int):
            x = x.select(axis, item)
        else:
            positions = list(range(*item.indices(x.shape[axis])))
            x = x.index_select(axis, f.t.tensor(positions, dtype=f.t.long))
            axis += 1
    return x


def _solve(solve: Callable[[Any, Any], Any]) -> Translation:
    def translate(node: Solve, args: list[Any], f: SimpleNamespace) -> Any:
        matrix, rhs = args
        if not node.vector:
            return solve(matrix, rhs)
        return solve(matrix, rhs[..., None])[..., 0]  # one column: no batch ambiguity

    return translate


def _jax_logdet(a: Any, f: SimpleNamespace) -> Any:
    sign, log_abs = f.np.linalg.slogdet(a)
    return f.np.where(sign > 0, log_abs, f.np.nan)  # log of a negative determinant: NaN


# node kind -> the framework's computation of it from its children's values (`f` is the
# framework's namespace, `oracles.external.framework_namespace`)
_TORCH: dict[type, Translation] = {
    Constant: lambda n, a, f: f.t.full(n.shape, float(n.value), dtype=f.t.float64),
    Eye: lambda n, a, f: f.t.eye(n.shape[0], dtype=f.t.float64),
    Call: lambda n, a, f: f.t.broadcast_to(apply_kernel(n.rule, a, f), n.shape),
    Compare: lambda n, a, f: _COMPARISONS[n.op](a[0], a[1]).to(f.t.float64),
    Where: lambda n, a, f: f.t.broadcast_to(f.t.where(a[0] != 0, a[1], a[2]), n.shape),
    Einsum: lambda n, a, f: f.t.einsum(_subscripts(n), *a),
    Reduce: _torch_reduce,
    Softmax: lambda n, a, f: (f.t.log_softmax if n.log else f.t.softmax)(a[0], dim=n.axis),
    Reshape: lambda n, a, f: a[0].reshape(n.shape),
    BroadcastTo: lambda n, a, f: f.t.broadcast_to(a[0], n.shape),
    Index: _torch_index,
    Concatenate: lambda n, a, f: f.t.cat(a, dim=n.axis),
    Inv: lambda n, a, f: f.t.linalg.inv(a[0]),
    Det: lambda n, a, f: f.t.logdet(a[0]) if n.log else f.t.linalg.det(a[0]),
    Solve: lambda n, a, f: _solve(f.t.linalg.solve)(n, a, f),
}

_JAX: dict[type, Translation] = {
    Constant: lambda n, a, f: f.np.full(n.shape, float(n.value), dtype=f.np.float64),
    Eye: lambda n, a, f: f.np.eye(n.shape[0], dtype=f.np.float64),
    Call: lambda n, a, f: f.np.broadcast_to(apply_kernel(n.rule, a, f), n.shape),
    Compare: lambda n, a, f: _COMPARISONS[n.op](a[0], a[1]).astype(f.np.float64),
    Where: lambda n, a, f: f.np.broadcast_to(f.np.where(a[0] != 0, a[1], a[2]), n.shape),
    Einsum: lambda n, a, f: f.np.einsum(_subscripts(n), *a),
    Reduce: _jax_reduce,
    Softmax: lambda n, a, f: (f.nn.log_softmax if n.log else f.nn.softmax)(a[0], axis=n.axis),
    Reshape: lambda n, a, f: f.np.reshape(a[0], n.shape),
    BroadcastTo: lambda n, a, f: f.np.broadcast_to(a[0], n.shape),
    Index: lambda n, a, f: a[0][n.items],
    Concatenate: lambda n, a, f: f.np.concatenate(a, axis=n.axis),
    Inv: lambda n, a, f: f.np.linalg.inv(a[0]),
    Det: lambda n, a, f: _jax_logdet(a[0], f) if n.log else f.np.linalg.det(a[0]),
    Solve: lambda n, a, f: _solve(f.np.linalg.solve)(n, a, f),
}

NODES = {"torch": _TORCH, "jax": _JAX}
_PRIMITIVE_RULES = frozenset(id(rule) for rule in PRIMITIVES.values())


def unsupported(node: Node, framework: str) -> str | None:
    """Why `node` cannot be computed in `framework` (not installed, a rule without a
    differentiable kernel, a node kind without a translation), or None if it can."""
    if not available(framework):
        return f"{framework} is not installed ({INSTALL[framework]})"
    for current in nodes_in_order([node]):
        if isinstance(current, Variable):
            continue
        if type(current) not in NODES[framework]:
            return f"{framework} has no translation of {type(current).__name__}"
        if isinstance(current, Call) and id(current.rule) not in _PRIMITIVE_RULES:
            if current.rule.name not in KERNELS[framework]:
                return f"{framework} has no differentiable {current.rule.name}"
    return None


def _translate(node: Node, inputs: Mapping[str, Any], f: SimpleNamespace) -> Any:
    """`node`'s value from the framework's operations; `inputs` by variable name."""
    table, memo = NODES[f.name], {}
    for current in nodes_in_order([node]):
        if isinstance(current, Variable):
            memo[id(current)] = inputs[current.name]
        else:
            args = [memo[id(child)] for child in current.children()]
            memo[id(current)] = table[type(current)](current, args, f)
    return memo[id(node)]


class ArrayAutodiff:
    """A framework's autograd on an array function: "torch" or "jax"."""

    def __init__(self, framework: str):
        if framework not in NODES:
            raise ValueError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}")
        self.name = framework
        self._f: SimpleNamespace | None = None

    @property
    def f(self) -> SimpleNamespace:
        if self._f is None:
            self._f = namespace(self.name)
        return self._f

    def vjp(self, function: Node, wrt: Sequence[str], values: Mapping[str, Any],
            cotangent: Any) -> dict[str, np.ndarray]:  # fmt: skip
        """The VJP of `function` for `cotangent` (of its shape) by each variable of `wrt`.

        Raises:
            Exception: whatever the framework raises (NotImplementedError for a Bessel
                order it lacks); callers report it.
        """
        with np.errstate(all="ignore"), float64(self.f):
            if self.name == "torch":
                found = self._torch_vjp(function, wrt, values, cotangent)
            else:
                found = self._jax_vjp(function, wrt, values, cotangent)
        return {name: np.asarray(value, dtype=float) for name, value in found.items()}

    def jacobian(self, function: Node, wrt: Sequence[str],
                 values: Mapping[str, Any]) -> dict[str, np.ndarray]:  # fmt: skip
        """The Jacobian by each variable of `wrt`: function's shape + the variable's."""
        with np.errstate(all="ignore"), float64(self.f):
            inputs, primals = self._inputs(values, wrt)

            def apply(*xs: Any) -> Any:
                return _translate(function, {**inputs, **dict(zip(wrt, xs, strict=True))}, self.f)

            if self.name == "torch":
                found = self.f.t.autograd.functional.jacobian(apply, tuple(primals),
                                                              vectorize=True)  # fmt: skip
                found = [value.detach().numpy() for value in found]
            else:
                found = self.f.jax.jacrev(apply, argnums=tuple(range(len(wrt))))(*primals)
        return {name: np.asarray(value, dtype=float)
                for name, value in zip(wrt, found, strict=True)}  # fmt: skip

    def _inputs(self, values: Mapping[str, Any], wrt: Sequence[str]) -> tuple[dict, list]:
        """Every variable as a float64 tensor, and those of `wrt` in order."""
        if self.name == "torch":
            t = self.f.t
            inputs = {name: t.tensor(np.asarray(value, dtype=float), dtype=t.float64,
                                     requires_grad=name in wrt)
                      for name, value in values.items()}  # fmt: skip
        else:
            inputs = {name: self.f.np.asarray(np.asarray(value, dtype=float))
                      for name, value in values.items()}  # fmt: skip
        return inputs, [inputs[name] for name in wrt]

    def _torch_vjp(self, function, wrt, values, cotangent) -> dict[str, Any]:  # noqa: ANN001
        t = self.f.t
        inputs, primals = self._inputs(values, wrt)
        output = _translate(function, inputs, self.f)
        zeros = {name: np.zeros(np.shape(values[name])) for name in wrt}
        if not output.requires_grad:  # the function does not depend on them
            return zeros
        seed = t.tensor(np.asarray(cotangent, dtype=float), dtype=t.float64)
        grads = t.autograd.grad(output, primals, grad_outputs=seed, allow_unused=True)
        return {name: zeros[name] if grad is None else grad.detach().numpy()
                for name, grad in zip(wrt, grads, strict=True)}  # fmt: skip

    def _jax_vjp(self, function, wrt, values, cotangent) -> dict[str, Any]:  # noqa: ANN001
        inputs, primals = self._inputs(values, wrt)

        def apply(*xs: Any) -> Any:
            return _translate(function, {**inputs, **dict(zip(wrt, xs, strict=True))}, self.f)

        _, pull_back = self.f.jax.vjp(apply, *primals)
        grads = pull_back(self.f.np.asarray(np.asarray(cotangent, dtype=float)))
        return dict(zip(wrt, grads, strict=True))
