"""Structured domains: each draw has its structure's defining property, on every shape it fits."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from diffcheck.arrays import domains
from diffcheck.arrays.domains import (
    STRUCTURES,
    draw_interval,
    draw_structured,
    structure_problem,
    unknown_structure_message,
)

SQUARE_SHAPES = [(1, 1), (2, 2), (3, 3), (8, 8), (4, 3, 3), (2, 3, 5, 5)]
SLICE_SHAPES = [(1,), (5,), (4, 3), (2, 3, 7), (6, 1)]


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def matrices(a: np.ndarray) -> np.ndarray:
    """The matrices of a stack, as one flat list of them."""
    return a.reshape(-1, *a.shape[-2:])


@pytest.mark.parametrize("shape", SQUARE_SHAPES)
def test_draw_spd_is_symmetric_positive_definite_and_well_conditioned(
    shape: tuple[int, ...],
) -> None:
    a = draw_structured("spd", shape, rng())
    n = shape[-1]
    assert a.shape == shape and a.dtype == np.float64
    assert np.array_equal(a, np.swapaxes(a, -1, -2))
    eigenvalues = np.linalg.eigvalsh(a)
    assert np.all(eigenvalues >= n - 1e-9)  # B Bᵀ + n I: at least n
    assert np.all(eigenvalues.max(axis=-1) / eigenvalues.min(axis=-1) < 10 * n)
    np.linalg.cholesky(a)  # raises LinAlgError unless every matrix is positive definite


@pytest.mark.parametrize("shape", SQUARE_SHAPES)
def test_draw_symmetric_is_symmetric_with_entries_in_minus_one_one(
    shape: tuple[int, ...],
) -> None:
    a = draw_structured("symmetric", shape, rng())
    assert a.shape == shape and a.dtype == np.float64
    assert np.array_equal(a, np.swapaxes(a, -1, -2))
    assert np.all(np.abs(a) <= 1)


@pytest.mark.parametrize("shape", SQUARE_SHAPES)
def test_draw_orthogonal_has_orthonormal_columns(shape: tuple[int, ...]) -> None:
    q = draw_structured("orthogonal", shape, rng())
    eye = np.eye(shape[-1])
    assert q.shape == shape and q.dtype == np.float64
    assert np.allclose(np.swapaxes(q, -1, -2) @ q, eye, rtol=0, atol=1e-12)
    assert np.allclose(q @ np.swapaxes(q, -1, -2), eye, rtol=0, atol=1e-12)


def test_draw_orthogonal_is_uniform_not_biased_by_qr_signs() -> None:
    # without the sign fix, LAPACK's QR gives Q[0, 0] < 0 every time and one determinant
    q = draw_structured("orthogonal", (4000, 3, 3), rng())
    first = q[:, 0, 0]
    assert abs(first.mean()) < 0.05 and 0.45 < np.mean(first > 0) < 0.55
    determinants = np.linalg.det(q)
    assert np.allclose(np.abs(determinants), 1)
    assert 0.45 < np.mean(determinants > 0) < 0.55


@pytest.mark.parametrize("shape", SLICE_SHAPES)
def test_draw_simplex_is_strictly_positive_and_sums_to_one(shape: tuple[int, ...]) -> None:
    p = draw_structured("simplex", shape, rng())
    assert p.shape == shape and p.dtype == np.float64
    assert np.all(p > 0)
    assert np.allclose(p.sum(axis=-1), 1, rtol=0, atol=1e-14)


def test_draw_simplex_is_dirichlet_one() -> None:
    # Dirichlet(1, 1, 1): each entry has mean 1/3 and variance (1/3)(2/3)/4 = 1/18
    p = draw_structured("simplex", (20000, 3), rng())
    assert np.allclose(p.mean(axis=0), 1 / 3, atol=0.01)
    assert np.allclose(p.var(axis=0), 1 / 18, atol=0.005)


@pytest.mark.parametrize("shape", SLICE_SHAPES)
def test_draw_onehot_has_a_single_one_per_slice(shape: tuple[int, ...]) -> None:
    y = draw_structured("onehot", shape, rng())
    assert y.shape == shape and y.dtype == np.float64
    assert set(np.unique(y)) <= {0.0, 1.0}
    assert np.array_equal(y.sum(axis=-1), np.ones(shape[:-1]))


def test_draw_onehot_places_the_one_at_random() -> None:
    y = draw_structured("onehot", (3000, 4), rng())
    assert np.allclose(y.mean(axis=0), 1 / 4, atol=0.03)


@pytest.mark.parametrize("kind", ["spd", "symmetric", "orthogonal"])
def test_draw_stacks_each_matrix_independently(kind: str) -> None:
    stack = matrices(draw_structured(kind, (3, 2, 4, 4), rng()))
    assert len({matrix.tobytes() for matrix in stack}) == 6


@pytest.mark.parametrize("kind", STRUCTURES)
def test_draw_is_determined_by_the_generator(kind: str) -> None:
    shape = (2, 3, 3)
    first = draw_structured(kind, shape, rng(7))
    assert np.array_equal(first, draw_structured(kind, shape, rng(7)))
    assert not np.array_equal(first, draw_structured(kind, shape, rng(8)))


def test_draw_uses_only_the_generator_it_is_given() -> None:
    np.random.seed(1)
    before = np.random.get_state()[1].copy()
    for kind in STRUCTURES:
        draw_structured(kind, (3, 3), rng())
    draw_interval(-1, 1, (3,), rng())
    assert np.array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 4)])
def test_draw_interval_fills_the_shape_uniformly(shape: tuple[int, ...]) -> None:
    x = draw_interval(-2, 3, shape, rng())
    assert isinstance(x, np.ndarray) and x.shape == shape and x.dtype == np.float64
    assert np.all((-2 <= x) & (x <= 3))


def test_draw_interval_is_uniform_and_deterministic() -> None:
    x = draw_interval(-2, 3, (20000,), rng(3))
    assert abs(x.mean() - 0.5) < 0.05 and abs(x.var() - 25 / 12) < 0.05
    assert np.array_equal(x, draw_interval(-2, 3, (20000,), rng(3)))


def test_draw_interval_of_one_point_is_that_point() -> None:
    assert np.array_equal(draw_interval(0.5, 0.5, (2, 2), rng()), np.full((2, 2), 0.5))


@pytest.mark.parametrize(
    ("low", "high", "message"),
    [
        (1, 0, "the interval [1.0, 0.0] is empty: low > high"),
        (0, float("inf"), "the interval [0.0, inf] must have finite bounds"),
        (float("nan"), 1, "the interval [nan, 1.0] must have finite bounds"),
    ],
)
def test_draw_interval_rejects_bad_bounds(low: float, high: float, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        draw_interval(low, high, (2,), rng())
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("kind", "shape"),
    [(kind, shape) for kind in ("spd", "symmetric", "orthogonal") for shape in SQUARE_SHAPES]
    + [(kind, shape) for kind in ("simplex", "onehot") for shape in SLICE_SHAPES]
    + [("spd", (0, 0)), ("orthogonal", (0, 3, 3)), ("simplex", (0, 3))],
)
def test_structure_problem_accepts_fitting_shapes(kind: str, shape: tuple[int, ...]) -> None:
    assert structure_problem(kind, shape) is None
    assert draw_structured(kind, shape, rng()).shape == shape


SQUARE = "needs a square matrix, or a stack of square matrices"
SUMS = "simplex needs a last axis of length 1 or more (each slice along it sums to 1)"
HOT = "onehot needs a last axis of length 1 or more (each slice along it holds a single 1)"


@pytest.mark.parametrize(
    ("kind", "shape", "variable", "dims", "message"),
    [
        ("spd", (3, 4), "W", ("m", "n"), f"spd {SQUARE}; W has shape [m, n] = [3, 4]"),
        ("spd", (3, 4), "W", None, f"spd {SQUARE}; W has shape [3, 4]"),
        ("spd", (3, 4), "W", (3, 4), f"spd {SQUARE}; W has shape [3, 4]"),
        ("spd", (3, 4), None, None, f"spd {SQUARE}; the array has shape [3, 4]"),
        ("symmetric", (4,), "v", ("n",), f"symmetric {SQUARE}; v has shape [n] = [4]"),
        ("orthogonal", (), "Q", (), f"orthogonal {SQUARE}; Q has shape []"),
        (
            "orthogonal",
            (2, 3, 4),
            "Q",
            ("b", "n", 4),
            f"orthogonal {SQUARE}; Q has shape [b, n, 4] = [2, 3, 4]",
        ),
        ("simplex", (), "p", (), f"{SUMS}; p has shape []"),
        ("simplex", (3, 0), "p", ("n", "k"), f"{SUMS}; p has shape [n, k] = [3, 0]"),
        ("onehot", (), "y", None, f"{HOT}; y has shape []"),
        ("onehot", (0,), "y", ("k",), f"{HOT}; y has shape [k] = [0]"),
    ],
)
def test_structure_problem_messages(
    kind: str,
    shape: tuple[int, ...],
    variable: str | None,
    dims: tuple[str | int, ...] | None,
    message: str,
) -> None:
    assert structure_problem(kind, shape, variable, dims) == message
    with pytest.raises(ValueError) as caught:
        draw_structured(kind, shape, rng())
    assert str(caught.value) == structure_problem(kind, shape)


LIST = "a domain is [low, high], a number, or one of spd, symmetric, orthogonal, simplex, onehot"


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("orthonormal", f"unknown structure 'orthonormal' (did you mean 'orthogonal'?); {LIST}"),
        ("SPD", f"unknown structure 'SPD' (did you mean 'spd'?); {LIST}"),
        ("simplx", f"unknown structure 'simplx' (did you mean 'simplex'?); {LIST}"),
        ("one_hot", f"unknown structure 'one_hot' (did you mean 'onehot'?); {LIST}"),
        ("positive", f"unknown structure 'positive'; {LIST}"),
    ],
)
def test_unknown_structures_are_named_with_the_nearest(kind: str, message: str) -> None:
    assert unknown_structure_message(kind) == message
    for call in (
        lambda: structure_problem(kind, (3, 3)),
        lambda: draw_structured(kind, (3, 3), rng()),
    ):
        with pytest.raises(ValueError) as caught:
            call()
        assert str(caught.value) == message


def test_domains_docstrings_run() -> None:
    assert doctest.testmod(domains, raise_on_error=True).attempted >= 2
