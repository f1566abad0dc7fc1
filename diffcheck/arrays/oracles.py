"""Independent checks of the reference: complex step and central differences.

Both estimate directional derivatives u·J·v from function values only, never from the
adjoint rules: the complex step Im f(x + i h v) / h (no cancellation, so h = 1e-20 is
exact to rounding) where every operation is analytic; central differences with a
Richardson error bar everywhere else, and for single entries of a gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .evaluate import evaluate
from .ir import Call, Compare, Node, Reduce, Variable, Where, nodes_in_order
from .reverse import COTANGENT, vjp_expressions

__all__ = [
    "COMPLEX_STEP",
    "DirectionalCheck",
    "EntryEstimate",
    "central_difference_entries",
    "central_difference_jvp",
    "check_directions",
    "complex_step_jvp",
    "supports_complex_step",
]

COMPLEX_STEP = 1e-20
EPS = float(np.finfo(np.float64).eps)
Directions = Mapping[str, np.ndarray]


def supports_complex_step(node: Node) -> bool:
    """Whether every operation of `node` is analytic, so the complex step is exact."""
    for current in nodes_in_order([node]):
        if isinstance(current, Call) and not current.rule.complex_step:
            return False
        if isinstance(current, (Where, Compare)):
            return False
        if isinstance(current, Reduce) and current.kind in ("max", "min"):
            return False
    return True


def complex_step_jvp(
    node: Node, values: Mapping[str, Any], directions: Directions, h: float = COMPLEX_STEP
) -> np.ndarray:
    """J v = Im f(x + i h v) / h, of `node`'s shape."""
    point = {name: np.asarray(value, dtype=complex) for name, value in values.items()}
    for name, direction in directions.items():
        point[name] = point[name] + 1j * h * np.asarray(direction)
    return np.imag(evaluate(node, point, np.complex128)) / h


def _step(values: Mapping[str, Any], directions: Directions) -> float:
    """EPS^(1/3) max(1, |x|) over the entries the direction moves, per unit of direction."""
    scale, size = 1.0, 0.0
    for name, direction in directions.items():
        moved = np.asarray(direction) != 0
        if np.any(moved):
            scale = max(scale, float(np.max(np.abs(np.asarray(values[name])[moved]))))
            size = max(size, float(np.max(np.abs(direction))))
    return EPS ** (1 / 3) * scale / (size or 1.0)


def _richardson(phi: Callable[[float], np.ndarray], h: float) -> tuple[np.ndarray, np.ndarray]:
    """Central differences at h and h/2 combined to O(h⁴); the error bar is their
    difference plus the rounding of the function values."""
    wide = (phi(h) - phi(-h)) / (2 * h)
    plus, minus = phi(h / 2), phi(-h / 2)
    narrow = (plus - minus) / h
    value = (4 * narrow - wide) / 3
    rounding = 4 * EPS * (np.abs(plus) + np.abs(minus)) / h
    return value, np.abs(value - narrow) + rounding


def central_difference_jvp(
    node: Node, values: Mapping[str, Any], directions: Directions
) -> tuple[np.ndarray, np.ndarray]:
    """J v by central differences with Richardson extrapolation: (value, error bar)."""
    h = _step(values, directions)

    def phi(t: float) -> np.ndarray:
        point = dict(values)
        for name, direction in directions.items():
            point[name] = np.asarray(values[name], dtype=float) + t * np.asarray(direction)
        return evaluate(node, point)

    return _richardson(phi, h)


@dataclass(frozen=True)
class DirectionalCheck:
    """u·J·v from the reference adjoint and from an oracle, with the oracle's error bar."""

    method: str  # "complex step" or "central differences"
    reference: float
    oracle: float
    error: float


def check_directions(
    node: Node,
    wrt: Sequence[str],
    values: Mapping[str, Any],
    rng: np.random.Generator,
    count: int = 3,
) -> list[DirectionalCheck]:
    """`count` random pairs (u, v): the reference's u·J·v (the VJP for u, dotted with v)
    against the complex step where it applies, else central differences."""
    shapes = {name: np.shape(values[name]) for name in wrt}
    cotangent = Variable(shape=node.shape, name=COTANGENT)
    adjoints = vjp_expressions(node, wrt, cotangent, shapes=shapes)
    analytic = supports_complex_step(node)
    checks = []
    for _ in range(count):
        u = rng.standard_normal(node.shape)
        v = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
        point = {**values, COTANGENT: u}
        reference = sum(float(np.vdot(evaluate(adjoints[n], point), v[n])) for n in wrt)
        if analytic:
            jvp = complex_step_jvp(node, values, v)
            error = 16 * EPS * float(np.vdot(np.abs(u), np.abs(jvp)))
            oracle = float(np.vdot(u, jvp))
            checks.append(DirectionalCheck("complex step", reference, oracle, error))
        else:
            jvp, bars = central_difference_jvp(node, values, v)
            error = float(np.vdot(np.abs(u), bars))
            oracle = float(np.vdot(u, jvp))
            checks.append(DirectionalCheck("central differences", reference, oracle, error))
    return checks


@dataclass(frozen=True)
class EntryEstimate:
    """Partial derivatives of u·f with respect to single entries of one variable."""

    name: str
    entries: tuple[tuple[int, ...], ...]
    values: np.ndarray
    errors: np.ndarray


def central_difference_entries(
    node: Node,
    values: Mapping[str, Any],
    name: str,
    rng: np.random.Generator,
    count: int = 8,
    entries: Sequence[tuple[int, ...]] = (),
    cotangent: np.ndarray | None = None,
) -> EntryEstimate:
    """Central differences for the entries asked for plus `count` drawn at random.

    For an array-valued `node` the `cotangent` u gives the scalar u·f; a scalar node
    needs none.
    """
    if cotangent is None and node.shape != ():
        raise ValueError("an array-valued function needs a cotangent")
    u = np.ones(()) if cotangent is None else np.asarray(cotangent)
    shape = np.shape(values[name])
    chosen = [tuple(entry) for entry in entries]
    size = int(np.prod(shape))
    for flat in rng.permutation(size)[: max(0, min(count, size))]:
        entry = tuple(int(i) for i in np.unravel_index(flat, shape))
        if entry not in chosen:
            chosen.append(entry)
    found, bars = [], []
    for entry in chosen:
        direction = np.zeros(shape)
        direction[entry] = 1.0
        jvp, error = central_difference_jvp(node, values, {name: direction})
        found.append(float(np.sum(u * jvp)))
        bars.append(float(np.sum(np.abs(u) * error)))
    return EntryEstimate(name, tuple(chosen), np.array(found), np.array(bars))
