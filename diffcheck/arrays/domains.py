"""Random points for array variables: intervals and structured domains (spd, simplex, ...).

Stage: arrays. Input: a domain kind, a shape and the case's `numpy.random.Generator`;
output: a float64 array of exactly that shape. Main functions: `draw_structured`,
`draw_interval`; `structure_problem` tells the case loader whether a structure fits a shape.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "STRUCTURES",
    "draw_interval",
    "draw_structured",
    "structure_problem",
    "unknown_structure_message",
]

STRUCTURES = ("spd", "symmetric", "orthogonal", "simplex", "onehot")
_MATRICES = ("spd", "symmetric", "orthogonal")  # along the last two axes; stacks allowed
_SLICES = {"simplex": "sums to 1", "onehot": "holds a single 1"}  # along the last axis


def unknown_structure_message(kind: str) -> str:
    """The message for a domain naming no structure, with the nearest one if any.

    >>> unknown_structure_message("orthonormal")  # doctest: +ELLIPSIS
    "unknown structure 'orthonormal' (did you mean 'orthogonal'?); a domain is [low, high], ..."
    """
    close = difflib.get_close_matches(kind.lower(), STRUCTURES, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return (
        f"unknown structure '{kind}'{hint}; a domain is [low, high], a number, "
        f"or one of {', '.join(STRUCTURES)}"
    )


def _show_shape(shape: tuple[int, ...], dims: Sequence[str | int] | None) -> str:
    numbers = "[" + ", ".join(str(size) for size in shape) + "]"
    if dims is None or all(isinstance(dim, int) for dim in dims):
        return numbers
    return "[" + ", ".join(str(dim) for dim in dims) + "] = " + numbers


def structure_problem(
    kind: str,
    shape: tuple[int, ...],
    variable: str | None = None,
    dims: Sequence[str | int] | None = None,
) -> str | None:
    """Why structure `kind` cannot fill `shape`, or None when it can.

    Args:
        kind: one of `STRUCTURES`.
        shape: the variable's shape, in numbers.
        variable: the variable's name, for the message (default "the array").
        dims: the shape as declared (``("m", "n")``), shown beside the numbers.

    Returns:
        None, or a message such as "spd needs a square matrix, or a stack of square
        matrices; W has shape [m, n] = [3, 4]".

    Raises:
        ValueError: `kind` is not a structure (see `unknown_structure_message`).

    >>> structure_problem("spd", (3, 4), "W", ("m", "n"))
    'spd needs a square matrix, or a stack of square matrices; W has shape [m, n] = [3, 4]'
    """
    if kind not in STRUCTURES:
        raise ValueError(unknown_structure_message(kind))
    if kind in _MATRICES:
        if len(shape) >= 2 and shape[-1] == shape[-2]:
            return None
        need = "a square matrix, or a stack of square matrices"
    else:
        if len(shape) >= 1 and shape[-1] >= 1:
            return None
        need = f"a last axis of length 1 or more (each slice along it {_SLICES[kind]})"
    return f"{kind} needs {need}; {variable or 'the array'} has shape {_show_shape(shape, dims)}"


def draw_interval(
    low: float, high: float, shape: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """Entries drawn independently and uniformly from [low, high] (all `low` when equal).

    Raises:
        ValueError: a bound is not finite, or low > high.
    """
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"the interval [{low}, {high}] must have finite bounds")
    if low > high:
        raise ValueError(f"the interval [{low}, {high}] is empty: low > high")
    return np.asarray(rng.uniform(low, high, size=shape), dtype=np.float64)


def draw_structured(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A random array with the structure `kind`, drawn well conditioned (CASES.md).

    Matrix structures apply to the last two axes, each matrix of a stack drawn
    independently; simplex and onehot apply to each slice along the last axis.

    Args:
        kind: one of `STRUCTURES`.
        shape: the shape to fill; `structure_problem(kind, shape)` must be None.
        rng: the only source of randomness (built from the case seed).

    Returns:
        A float64 array of exactly `shape`.

    Raises:
        ValueError: `kind` is unknown, or does not fit `shape`.
    """
    problem = structure_problem(kind, shape)
    if problem is not None:
        raise ValueError(problem)
    draw = {"spd": _spd, "symmetric": _symmetric, "orthogonal": _orthogonal,
            "simplex": _simplex, "onehot": _onehot}[kind]  # fmt: skip
    return np.asarray(draw(shape, rng), dtype=np.float64)


def _transposed(matrices: np.ndarray) -> np.ndarray:
    return np.swapaxes(matrices, -1, -2)


def _spd(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    # eigenvalues of B Bᵀ lie in [0, n²] (|B|₂² <= |B|_F² <= n²), so those of B Bᵀ + n I
    # lie in [n, n + n²]: the condition number is at most n + 1
    n = shape[-1]
    b = rng.uniform(-1.0, 1.0, size=shape)
    a = b @ _transposed(b) + n * np.eye(n)
    return (a + _transposed(a)) / 2  # exactly symmetric whatever order matmul summed in


def _symmetric(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    b = rng.uniform(-1.0, 1.0, size=shape)
    return (b + _transposed(b)) / 2


def _orthogonal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal(size=shape))
    # QR alone is not uniform (Haar) on the orthogonal group: LAPACK's signs bias it.
    # Making diag(R) positive makes the decomposition unique, and Q uniform (Mezzadri 2007)
    signs = np.where(np.diagonal(r, axis1=-2, axis2=-1) < 0, -1.0, 1.0)
    return q * signs[..., np.newaxis, :]


def _simplex(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    # Dirichlet(1, ..., 1) is independent Exp(1) draws over their sum; -log of a uniform
    # on [tiny, 1) is an Exp(1) draw that is never 0, so every entry is strictly positive
    weights = -np.log(rng.uniform(np.finfo(np.float64).tiny, 1.0, size=shape))
    return weights / weights.sum(axis=-1, keepdims=True)


def _onehot(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    hot = rng.integers(0, shape[-1], size=(*shape[:-1], 1))
    out = np.zeros(shape)
    np.put_along_axis(out, hot, 1.0, axis=-1)
    return out
