"""Shared by the array tests: build IR from text, draw points, and the operation table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from diffcheck.arrays.build import build_array_expression
from diffcheck.arrays.grammar import parse_array_syntax
from diffcheck.arrays.ir import Node
from diffcheck.errors import Location


def locate(offset: int) -> Location:
    """Expressions in these tests sit at line 3, column 10 of `case.yaml`."""
    return Location("case.yaml", 3, 10 + offset)


def build(
    text: str,
    shapes: Mapping[str, tuple[int, ...]],
    scalars: tuple[str, ...] = (),
    dims: Mapping[str, int] | None = None,
    intermediates: Mapping[str, Node] | None = None,
    dim_names: Mapping[str, tuple[str | int, ...]] | None = None,
) -> Node:
    return build_array_expression(
        parse_array_syntax(text, locate),
        shapes=shapes,
        scalars=scalars,
        dims=dims or {},
        intermediates=intermediates or {},
        dim_names=dim_names,
        locate=locate,
    )


@dataclass(frozen=True)
class OpCase:
    """One row of the operation table: an expression over arrays of given shapes."""

    name: str
    text: str
    shapes: dict[str, tuple[int, ...]]
    structure: dict[str, str] = field(default_factory=dict)  # spd, positive, invertible
    analytic: bool = True  # every operation analytic: the complex step applies
    scalars: tuple[str, ...] = ()
    dims: dict[str, int] = field(default_factory=dict)

    def build(self) -> Node:
        return build(self.text, self.shapes, self.scalars, self.dims)

    def point(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        shapes = {**self.shapes, **{name: () for name in self.scalars}}
        return {name: draw(rng, shape, self.structure.get(name)) for name, shape in shapes.items()}


def draw(rng: np.random.Generator, shape: tuple[int, ...], structure: str | None) -> np.ndarray:
    if structure == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if structure in ("spd", "invertible"):
        n = shape[-1]
        b = rng.uniform(-1, 1, shape)
        if structure == "spd":
            return b @ np.swapaxes(b, -1, -2) + n * np.eye(n)
        return b + n * np.eye(n)  # diagonally dominant: well conditioned, det > 0
    return rng.uniform(-2, 2, shape)


M23, M34, M33, S234 = (2, 3), (3, 4), (3, 3), (2, 3, 4)
V3, V4 = (3,), (4,)

OPERATIONS = [
    # ---- arithmetic and broadcasting ----
    OpCase("add-broadcast", "x + A", {"x": V3, "A": M23}),
    OpCase("sub-keepdims", "A - sum(A, axis=1, keepdims=true)", {"A": M23}),
    OpCase("mul-scalar-variable", "c * A * A", {"A": M23}, scalars=("c",)),
    OpCase("div-broadcast", "A / (x ** 2 + 1)", {"A": M23, "x": V3}),
    OpCase("pow-array-exponent", "P ** A", {"P": M23, "A": (3,)}, {"P": "positive"}),
    OpCase("neg-column", "-(x[:, newaxis] * y)", {"x": V3, "y": V4}),
    OpCase("dims-and-pi", "n * pi * x / 2", {"x": V3}, dims={"n": 3}),
    # ---- elementwise table functions ----
    OpCase("sigmoid", "sigmoid(A)", {"A": S234}),
    OpCase("tanh-exp", "tanh(A) * exp(A)", {"A": M23}),
    OpCase("log-sqrt", "log(P) + sqrt(P)", {"P": M23}, {"P": "positive"}),
    OpCase("softplus-silu", "softplus(A) - silu(A)", {"A": M23}),
    OpCase("atan2-broadcast", "atan2(A, P)", {"A": M23, "P": V3}, {"P": "positive"}, False),
    OpCase("logsumexp-entrywise", "logsumexp(A, x, 1)", {"A": M23, "x": V3}),
    OpCase("max-entrywise", "max(A, x)", {"A": M23, "x": V3}, analytic=False),
    OpCase("relu-abs", "relu(A) + abs(A)", {"A": M23}, analytic=False),
    OpCase("leaky-relu", "leaky_relu(A, 0.1)", {"A": M23}, analytic=False),
    OpCase("erf-gelu", "erf(A) * gelu(A)", {"A": M23}, analytic=False),
    # ---- contractions: matmul in every form, einsum ----
    OpCase("matmul-matrix", "A @ B", {"A": M23, "B": M34}),
    OpCase("matmul-matrix-vector", "A @ x", {"A": M23, "x": V3}),
    OpCase("matmul-vector-matrix", "x @ B", {"x": V3, "B": M34}),
    OpCase("matmul-vectors", "x @ y", {"x": V3, "y": V3}),
    OpCase("matmul-stack", "S @ B", {"S": (2, 4, 3), "B": M34}),
    OpCase("matmul-batch-broadcast", "S @ T", {"S": (2, 1, 3, 4), "T": (3, 4, 2)}),
    OpCase("matmul-stack-vector", "S @ y", {"S": S234, "y": V4}),
    OpCase("matmul-vector-stack", "x @ S", {"x": V3, "S": (2, 3, 4)}),
    OpCase("dot-vectors", "dot(x, y)", {"x": V4, "y": V4}),
    OpCase("dot-matrix-vector", "dot(A, x)", {"A": M23, "x": V3}),
    OpCase("outer", "outer(x, y)", {"x": V3, "y": V4}),
    OpCase("trace", "trace(A @ B)", {"A": M34, "B": (4, 3)}),
    OpCase("transpose-T", "A.T @ A", {"A": M23}),
    OpCase("transpose-axes", "transpose(S, axes=[1, -1, 0])", {"S": S234}),
    OpCase("diag-both-ways", "diag(x) @ A + diag(A)", {"x": V3, "A": M33}),
    OpCase("einsum-batched", 'einsum("bij,bj->bi", S, X)', {"S": S234, "X": (2, 4)}),
    OpCase("einsum-diagonal", 'einsum("ii->i", A) * x', {"A": M33, "x": V3}),
    OpCase("einsum-implicit", 'einsum("ij,ij", A, B)', {"A": M23, "B": M23}),
    OpCase("einsum-trace-outer", 'einsum("ii,j->j", A, x)', {"A": M33, "x": V4}),
    # ---- reductions ----
    OpCase("sum-all", "sum(A ** 3)", {"A": S234}),
    OpCase("sum-negative-axes", "sum(S, axis=[0, -1], keepdims=true) * S", {"S": S234}),
    OpCase("mean-axis", "mean(S, axis=-1)", {"S": S234}),
    OpCase("prod-axis", "prod(A, axis=0)", {"A": (4, 3)}),
    OpCase("max-reduce", "max(A)", {"A": (4, 3)}, analytic=False),
    OpCase("min-keepdims", "min(S, axis=1, keepdims=true)", {"S": S234}, analytic=False),
    OpCase("logsumexp-reduce", "logsumexp(S, axis=-1)", {"S": S234}),
    OpCase("logsumexp-all", "logsumexp(A)", {"A": M23}),
    OpCase("norm-vector", "norm(x)", {"x": V4}),
    OpCase("norm-frobenius", "norm(A)", {"A": M23}),
    OpCase("norm-axes", "norm(S, axis=[1, 2], keepdims=true)", {"S": S234}),
    # ---- softmax ----
    OpCase("softmax-last", "softmax(A)", {"A": (2, 5)}),
    OpCase("softmax-axis", "softmax(S, axis=1)", {"S": S234}),
    OpCase("log-softmax", "log_softmax(A, axis=0)", {"A": (4, 3)}),
    # ---- shapes ----
    OpCase("index-entry", "x[0] * x[-1]", {"x": V4}),
    OpCase("index-column", "A[:, 1]", {"A": (4, 3)}),
    OpCase("index-rows", "A[1:3, :]", {"A": (4, 3)}),
    OpCase("index-step-newaxis", "S[:, ::2, newaxis]", {"S": (2, 4, 3)}),
    OpCase("index-reversed", "x[::-1] * x", {"x": V4}),
    OpCase("reshape", "reshape(S, [6, 4]) @ y", {"S": S234, "y": V4}),
    OpCase("reshape-infer", "reshape(A, [-1])", {"A": M23}),
    OpCase("stack-axis", "stack([x, y ** 2], axis=1)", {"x": V3, "y": V3}),
    OpCase("stack-scalars", "stack([a, b * a])", {}, scalars=("a", "b")),
    OpCase("concatenate", "concatenate([A, B], axis=-1)", {"A": M23, "B": (2, 4)}),
    OpCase("list-literal", "[x, 2 * x]", {"x": V3}),
    OpCase("eye-ones-zeros", "A + eye(3) + ones([3, 3]) * zeros([3])", {"A": M33}),
    # ---- linear algebra ----
    OpCase("inv", "inv(A)", {"A": M33}, {"A": "invertible"}),
    OpCase("inv-stack", "inv(S)", {"S": (2, 3, 3)}, {"S": "invertible"}),
    OpCase("det", "det(A)", {"A": M33}, {"A": "invertible"}),
    OpCase("det-stack", "det(S)", {"S": (2, 3, 3)}, {"S": "invertible"}),
    OpCase("logdet", "logdet(A)", {"A": M33}, {"A": "spd"}),
    OpCase("solve-vector", "solve(A, b)", {"A": M33, "b": V3}, {"A": "invertible"}),
    OpCase("solve-matrix", "solve(A, B)", {"A": M33, "B": (3, 2)}, {"A": "invertible"}),
    OpCase("solve-stack", "solve(S, b)", {"S": (2, 3, 3), "b": V3}, {"S": "invertible"}),
    OpCase("solve-broadcast", "solve(A, B)", {"A": M33, "B": (2, 3, 2)}, {"A": "invertible"}),
    # ---- where and compositions ----
    OpCase("where", "where(x > 0, x ** 2, -x)", {"x": V4}, analytic=False),
    OpCase("where-broadcast", "where(A >= x, A, 0)", {"A": M23, "x": V3}, analytic=False),
    OpCase(
        "linear-layer-mse",
        "sum((W @ x + b - y) ** 2) / m",
        {"W": (4, 3), "x": V3, "b": V4, "y": V4},
        dims={"m": 4},
    ),  # fmt: skip
    OpCase(
        "cross-entropy",
        "-sum(y * log_softmax(Z, axis=-1)) / 2",
        {"Z": (2, 5), "y": (2, 5)},
        {"y": "positive"},
    ),  # fmt: skip
    OpCase("mlp", "sum(tanh(W2 @ sigmoid(W1 @ x)))", {"W1": (4, 3), "W2": (2, 4), "x": V3}),
    OpCase("quadratic-form", "x @ solve(A, x) + logdet(A)", {"x": V3, "A": M33}, {"A": "spd"}),
]
