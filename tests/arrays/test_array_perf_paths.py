"""The fast paths of array checking give what the plain ones give: einsum plans against
np.einsum, values shared between nodes of equal structure, Jacobians over a stack of
cotangents, the directional check from gradients already evaluated, and the entry
comparison; and the command line runs BLAS on one thread. No timing is asserted here
(benchmarks/arrays.py measures)."""

from __future__ import annotations

import gc
import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from arrays_support import OPERATIONS, build

from diffcheck.arrays.evaluate import NotStackable, evaluate, evaluate_nodes
from diffcheck.arrays.ir import Constant, Variable, nodes_in_order
from diffcheck.arrays.kernels import FloatKernels
from diffcheck.arrays.oracles import check_direction_mp, check_directions
from diffcheck.arrays.reverse import (
    COTANGENT,
    gradient_expressions,
    jacobian_values,
    vjp_expressions,
)
from diffcheck.cases.loader import load_case_file
from diffcheck.cases.model import Tolerance
from diffcheck.compare.array_compare import ClaimResult, compare_entries
from diffcheck.run.check import Settings, check_case

TIGHT = Tolerance(rtol=1e-7, atol=1e-12)
# the modules (the package exports functions of the same names)
evaluate_module = importlib.import_module("diffcheck.arrays.evaluate")
reverse = importlib.import_module("diffcheck.arrays.reverse")


# ---- einsum plans -------------------------------------------------------------------------


def _random_contraction(rng: np.random.Generator) -> tuple[list, list, tuple]:
    """Operands, subscripts and output of a random einsum: 1 to 3 operands, repeated and
    summed labels, scalars, sizes 1 to 3."""
    labels = list(range(int(rng.integers(1, 6))))
    sizes = {label: int(rng.integers(1, 4)) for label in labels}
    subscripts = [tuple(int(x) for x in rng.choice(labels, size=int(rng.integers(0, 4))))
                  for _ in range(int(rng.integers(1, 4)))]  # fmt: skip
    used = sorted(set().union(*map(set, subscripts)))
    output = tuple(int(x) for x in rng.permutation(used)[: int(rng.integers(0, len(used) + 1))])
    operands = [rng.standard_normal([sizes[label] for label in subs]) for subs in subscripts]
    return operands, subscripts, output


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_einsum_plans_equal_numpy_einsum(dtype) -> None:  # noqa: ANN001
    rng = np.random.default_rng(12)
    kernels = FloatKernels(dtype)
    for _ in range(600):
        operands, subscripts, output = _random_contraction(rng)
        operands = [np.asarray(x * (1 + 1j) if dtype is np.complex128 else x, dtype=dtype)
                    for x in operands]  # fmt: skip
        interleaved = [x for p in zip(operands, map(list, subscripts), strict=True) for x in p]
        expected = np.einsum(*interleaved, list(output))
        got = kernels.einsum(operands, subscripts, output)
        assert got.shape == expected.shape, (subscripts, output)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_einsum_plan_with_labels_beyond_numpys_52() -> None:
    a, b, c = np.ones((2, 3)), np.ones((3, 4)), np.ones(4)
    got = FloatKernels().einsum([a, b, c], [(100, 200), (200, 300), (300,)], (100,))
    np.testing.assert_array_equal(got, [12.0, 12.0])


def test_matrix_product_plan_leaves_no_transposed_view() -> None:
    # X.T @ G written as einsum("ik,ij->jk", G, X): the operands swap instead
    g, x = np.ones((4, 2)), np.ones((4, 3))
    got = FloatKernels().einsum([g, x], [(0, 2), (0, 1)], (1, 2))
    assert got.shape == (3, 2) and got.flags.c_contiguous


# ---- values shared by structure ----------------------------------------------------------


def test_a_claims_product_is_the_functions_product() -> None:
    shapes = {"X": (4, 3), "W": (3, 5)}
    function = build("sum(X @ W)", shapes)
    claim = build("X.T @ (X @ W)", shapes)
    rng = np.random.default_rng(0)
    values = {"X": rng.standard_normal((4, 3)), "W": rng.standard_normal((3, 5))}
    memo: dict = {}
    evaluate_nodes([function, claim], values, FloatKernels(), memo)

    def product(root):  # noqa: ANN001, ANN202
        return next(n for n in nodes_in_order([root]) if getattr(n, "subscripts", None)
                    and n.shape == (4, 5))  # fmt: skip

    assert product(function) is not product(claim)
    assert memo[id(product(function))] is memo[id(product(claim))]


def test_a_memo_reused_with_new_values_serves_no_stale_value() -> None:
    memo: dict = {}
    kernels = FloatKernels()
    first = build("exp(x)", {"x": (2,)})
    evaluate_nodes([first], {"x": np.zeros(2)}, kernels, memo)
    second = build("exp(x)", {"x": (2,)})  # equal structure, new nodes, new value of x
    (value,) = evaluate_nodes([second], {"x": np.ones(2)}, kernels, memo)
    np.testing.assert_allclose(value, np.exp(np.ones(2)))


def test_a_node_built_after_another_is_freed_never_takes_its_value() -> None:
    # a kink's distance or an adjoint is built, evaluated into the point's memo and
    # dropped; a node built next may get the same id, and must not read that value
    memo: dict = {}
    kernels = FloatKernels()
    for trial in range(50):
        evaluate_nodes([Constant(shape=(2,), value=sp.Integer(trial))], {}, kernels, memo)
        gc.collect()
        (value,) = evaluate_nodes([Constant(shape=(3,), value=sp.Integer(-1))], {}, kernels,
                                  memo)  # fmt: skip
        assert value.shape == (3,) and value[0] == -1


# ---- Jacobians over a stack of cotangents ------------------------------------------------


def _jacobian_one_at_a_time(node, name: str, values: dict) -> np.ndarray:  # noqa: ANN001
    cotangent = Variable(shape=node.shape, name=COTANGENT)
    (adjoint,) = vjp_expressions(node, [name], cotangent,
                                 shapes={name: np.shape(values[name])}).values()  # fmt: skip
    rows = []
    for entry in range(node.size):
        basis = np.zeros(node.size)
        basis[entry] = 1.0
        rows.append(evaluate(adjoint, {**values, COTANGENT: basis.reshape(node.shape)}))
    return np.array(rows).reshape(node.shape + np.shape(values[name]))


@pytest.mark.parametrize("case", OPERATIONS, ids=lambda case: case.name)
def test_stacked_jacobian_equals_one_cotangent_at_a_time(case) -> None:  # noqa: ANN001
    node = case.build()
    values = case.point(np.random.default_rng(7))
    names = [name for name, shape in case.shapes.items() if shape] or list(case.scalars)
    jacobians = jacobian_values(node, names, values)
    for name in names:
        expected = _jacobian_one_at_a_time(node, name, values)
        np.testing.assert_allclose(jacobians[name], expected, rtol=1e-12, atol=1e-14)


def test_stacked_jacobian_in_chunks_equals_it_whole(monkeypatch) -> None:  # noqa: ANN001
    node = build("tanh(W @ x) * sum(W)", {"W": (4, 3), "x": (3,)})
    rng = np.random.default_rng(1)
    values = {"W": rng.standard_normal((4, 3)), "x": rng.standard_normal(3)}
    whole = jacobian_values(node, ["W", "x"], values)
    monkeypatch.setattr(evaluate_module, "STACK_ENTRIES", 20)  # chunks of one or two
    chunked = jacobian_values(node, ["W", "x"], values)
    for name in whole:
        np.testing.assert_allclose(chunked[name], whole[name], rtol=1e-14, atol=1e-15)


def test_jacobian_without_a_stack_falls_back_to_one_cotangent_at_a_time(monkeypatch) -> None:  # noqa: ANN001
    node = build("solve(A, b) * b[0]", {"A": (3, 3), "b": (3,)})
    values = {"A": np.eye(3) * 3 + 0.1, "b": np.array([1.0, -2.0, 0.5])}
    stacked = jacobian_values(node, ["A", "b"], values)

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise NotStackable("test")

    monkeypatch.setattr(reverse, "evaluate_stacked", refuse)
    looped = jacobian_values(node, ["A", "b"], values)
    for name in stacked:
        np.testing.assert_allclose(looped[name], stacked[name], rtol=1e-12, atol=1e-15)


# ---- the directional check: gradients already evaluated, doubts settled in mpmath -------


def test_directions_from_given_gradients_match_the_backward_pass() -> None:
    shapes = {"W": (3, 4), "x": (4,)}
    node = build("sum(tanh(W @ x) ** 2)", shapes)
    rng = np.random.default_rng(2)
    values = {"W": rng.standard_normal((3, 4)), "x": rng.standard_normal(4)}
    gradients = {name: evaluate(g, values)
                 for name, g in gradient_expressions(node, ["W", "x"]).items()}  # fmt: skip
    plain_rng, given_rng = np.random.default_rng(5), np.random.default_rng(5)
    plain = check_directions(node, ["W", "x"], values, plain_rng, 3)
    given = check_directions(node, ["W", "x"], values, given_rng, 3, gradients=gradients)
    for a, b in zip(plain, given, strict=True):
        assert b.reference == pytest.approx(a.reference, rel=1e-12)
        assert (b.oracle, b.error, b.method) == (a.oracle, a.error, a.method)
    assert plain_rng.random() == given_rng.random()  # the same draws: the same next points


def test_a_direction_in_mpmath_matches_float64_where_float64_can_decide() -> None:
    shapes = {"W": (3, 4), "x": (4,)}
    node = build("tanh(W @ x)", shapes)
    rng = np.random.default_rng(4)
    values = {"W": rng.standard_normal((3, 4)), "x": rng.standard_normal(4)}
    (check,) = check_directions(node, ["W", "x"], values, rng, 1)
    settled = check_direction_mp(node, ["W", "x"], values, check)
    assert settled.method == "central differences in mpmath"
    assert settled.reference == pytest.approx(check.reference, rel=1e-13)
    assert settled.oracle == pytest.approx(check.oracle, rel=1e-13)
    assert settled.error < 1e-20


CANCELLING = """cases:
  - name: cancelling-terms
    shapes: {x: [2, 2]}
    function: sum((x + 0.3)**2 - x**2 - 0.6*x)
    domain: {x: [-1.0e6, 1.0e6]}
    samples: 4
"""


def test_rounding_noise_along_a_direction_is_settled_in_mpmath(tmp_path: Path) -> None:
    # the gradient is 0, but float64 cancels terms of 1e6: the reverse mode and the
    # complex step return different rounding noise, far apart for a tolerance of 1e-12
    path = tmp_path / "cancel.yaml"
    path.write_text(CANCELLING, encoding="utf-8")
    (case,) = load_case_file(str(path)).cases
    result = check_case(case, Settings(proof_budget=0.0))
    assert result.verdict.verdict == "correct", result.verdict.reasons
    assert "central differences in mpmath" in result.verdict.evidence


# ---- the entry comparison ------------------------------------------------------------------


def test_relative_error_of_exact_zeros_is_zero_and_of_a_wrong_zero_infinite() -> None:
    exact = ClaimResult("gradient", "W", (3,))
    compare_entries(exact, 0, np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0]), TIGHT)
    assert (exact.max_abs_error, exact.max_rel_error) == (0.0, 0.0)
    wrong = ClaimResult("gradient", "W", (2,))
    compare_entries(wrong, 0, np.array([0.0, 1.0]), np.array([0.5, 1.0]), TIGHT)
    assert (wrong.max_abs_error, wrong.max_rel_error) == (0.5, np.inf)


def test_non_finite_entries_keep_the_finite_errors() -> None:
    result = ClaimResult("gradient", "W", (3,))
    compare_entries(result, 0, np.array([np.nan, 1.0, 2.0]), np.array([1.0, 1.5, 2.0]), TIGHT)
    assert (result.max_abs_error, result.max_rel_error) == (0.5, 0.5)
    assert result.wrong_entries == 2 and result.worst.index == (0,)


def test_a_finite_wrong_entry_is_settled_in_mpmath_where_float64_overflowed() -> None:
    # exp(x)/(1 + exp(x))**2 * (1 + exp(x)) computes as 0.0 near x = 705: the square
    # overflowed on the way; mpmath gives the claim's true value, 1
    exact = (np.array([1, 1], dtype=object), np.array([1, 1], dtype=object))
    reference, claimed = np.array([1.0, 1.0]), np.array([1.0, 0.0])
    trusted = ClaimResult("gradient", "x", (2,))
    compare_entries(trusted, 0, reference, claimed, TIGHT, lambda: exact)
    assert trusted.wrong and trusted.settled == 0
    suspect = ClaimResult("gradient", "x", (2,))
    compare_entries(suspect, 0, reference, claimed, TIGHT, lambda: exact, suspect=True)
    assert not suspect.wrong and suspect.settled == 1


def test_a_constant_factor_is_worst_at_the_first_point_whatever_the_rounding() -> None:
    # 8 × the reference is wrong by 7/8 of the scale at every point; rounding may make
    # a later point's score larger in the last bit, and must not move the report there
    result = ClaimResult("gradient", "w", (3,))
    rng = np.random.default_rng(3)
    for point in range(6):
        reference = rng.standard_normal(3)
        claimed = 8 * reference * (1 + 1e-15 * (point + 1))
        compare_entries(result, point, reference, claimed, TIGHT)
    assert result.worst.point == 0 and result.wrong_points == 6


# ---- the command line's BLAS threads -----------------------------------------------------

CASE = """cases:
  - name: layer
    shapes: {W: [3, 2], x: [2]}
    function: sum((W @ x) ** 2)
    gradient:
      W: 2 * outer(W @ x, x)
    domain: {W: [-1, 1], x: [-1, 1]}
    samples: 2
"""
PROBE = (
    "import os, sys\nfrom diffcheck.cli import main\nsys.argv = ['diffcheck', 'check', "
    "sys.argv[1]]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
    "print([os.environ.get(n) for n in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS')])\n"
)


@pytest.mark.parametrize("given", [None, "2"])
def test_check_runs_blas_on_one_thread_unless_told(tmp_path: Path, given: str | None) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(CASE, encoding="utf-8")
    threads = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
    environment = {k: v for k, v in os.environ.items() if k not in threads}
    if given:
        environment["OPENBLAS_NUM_THREADS"] = given
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], env=environment,
                          capture_output=True, text=True, check=True)  # fmt: skip
    expected = [given or "1", "1"]
    assert done.stdout.strip().splitlines()[-1] == str(expected)
