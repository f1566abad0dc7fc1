"""Scalar lowering: SymPy's derivative of each lowered entry equals the array reverse mode."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from arrays_support import OPERATIONS, build

from diffcheck.arrays import (
    MAX_LOWERED_ENTRIES,
    Variable,
    entry_symbols,
    evaluate,
    lower_to_sympy,
    vjp_expressions,
)
from diffcheck.symbolic.rules import LogSumExp, Sigmoid

# every kind of node, kept small: SymPy differentiates each entry symbolically
LOWERED = [
    "add-broadcast", "div-broadcast", "pow-array-exponent", "sigmoid", "logsumexp-entrywise",
    "max-entrywise", "relu-abs", "matmul-batch-broadcast", "matmul-vector-stack", "trace",
    "transpose-axes", "diag-both-ways", "einsum-diagonal", "sum-negative-axes", "prod-axis",
    "max-reduce", "logsumexp-reduce", "norm-axes", "softmax-axis", "log-softmax",
    "index-step-newaxis", "index-reversed", "reshape", "stack-axis", "concatenate",
    "eye-ones-zeros", "inv", "det-stack", "logdet", "solve-broadcast", "where-broadcast",
    "cross-entropy",
]  # fmt: skip
CASES = [case for case in OPERATIONS if case.name in LOWERED]


def _number(expr: sp.Expr, subs: dict) -> float:  # type: ignore[type-arg]
    return float(sp.N(expr.xreplace(subs), 30))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_sympy_derivative_of_lowering_equals_reverse_mode(case) -> None:  # type: ignore[no-untyped-def]
    assert len(CASES) == len(LOWERED)
    rng = np.random.default_rng(5)
    node = case.build()
    point = case.point(rng)
    u = rng.integers(-3, 4, node.shape)  # small whole numbers keep u·f exact
    lowered = lower_to_sympy(node)
    assert lowered.shape == node.shape
    scalar = sp.Add(*(int(w) * entry for w, entry in zip(u.flat, lowered.flat, strict=True)))
    symbols = {name: entry_symbols(name, np.shape(value)) for name, value in point.items()}
    subs = {s: sp.Float(float(v), 30) for n in point
            for s, v in zip(symbols[n].flat, np.ravel(point[n]), strict=True)}  # fmt: skip
    np.testing.assert_allclose(
        np.array([_number(entry, subs) for entry in lowered.flat]).reshape(node.shape),
        evaluate(node, point),
        rtol=1e-12,
        atol=1e-12,
    )
    adjoints = vjp_expressions(node, list(point), Variable(shape=node.shape, name="g"))
    for name, adjoint in adjoints.items():
        reference = evaluate(adjoint, {**point, "g": u.astype(float)})
        derived = [_number(sp.diff(scalar, s), subs) for s in symbols[name].flat]
        np.testing.assert_allclose(
            np.reshape(derived, reference.shape), reference, rtol=1e-10, atol=1e-12
        )


def test_entry_symbols_are_named_like_indices() -> None:
    symbols = entry_symbols("W", (2, 3))
    assert symbols[0, 1].name == "W[0, 1]" and symbols.shape == (2, 3)
    assert entry_symbols("x", (3,))[2].name == "x[2]"
    assert entry_symbols("c", ()).item().name == "c"


def test_table_functions_stay_unexpanded() -> None:
    (entry,) = lower_to_sympy(build("sigmoid(x)", {"x": (1,)}))
    assert isinstance(entry, Sigmoid)
    expr = lower_to_sympy(build("logsumexp(x)", {"x": (3,)})).item()
    assert isinstance(expr, LogSumExp) and len(expr.args) == 3


def test_large_arrays_are_refused() -> None:
    node = build("sum(x)", {"x": (MAX_LOWERED_ENTRIES + 1,)})
    with pytest.raises(ValueError, match="too large to write entry by entry"):
        lower_to_sympy(node)
