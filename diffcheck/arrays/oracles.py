"""Independent checks of the reference: complex step and central differences.

Both estimate directional derivatives u·J·v from function values only, never from the
adjoint rules: the complex step Im f(x + i h v) / h (no cancellation, so h = 1e-20 is
exact to rounding) where every operation is analytic; central differences with a
Richardson error bar everywhere else, and for single entries of a gradient; and, where
float64 cannot decide, central differences in mpmath.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

from .evaluate import depending_on, evaluate, evaluate_mp, evaluate_nodes
from .ir import Call, Compare, Node, Reduce, Variable, Where, nodes_in_order
from .kernels import FloatKernels
from .reverse import COTANGENT, vjp_expressions
from .rounding import rounding_bounds

__all__ = [
    "COMPLEX_STEP",
    "DirectionalCheck",
    "EntryEstimate",
    "central_difference_entries",
    "central_difference_jvp",
    "check_direction_mp",
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
    point = dict(values)  # entries without a direction are made complex by the kernels
    for name, direction in directions.items():
        point[name] = np.asarray(values[name], dtype=float) + 1j * h * np.asarray(direction)
    with np.errstate(all="ignore"):  # beyond float64's range: inf or NaN, judged later
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
    with np.errstate(all="ignore"):  # beyond float64's range: inf or NaN, judged later
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

    method: str  # "complex step", "central differences", "central differences in mpmath"
    reference: float
    oracle: float
    error: float
    u: Any = field(default=None, compare=False, repr=False)  # the directions, to settle
    v: Any = field(default=None, compare=False, repr=False)  # a disagreement in mpmath
    # (reference, oracle, error) as mpmath numbers, where they came from mpmath: float64
    # may not hold them (exp(715) is inf), so they are compared as they are
    exact: Any = field(default=None, compare=False, repr=False)


def check_directions(
    node: Node,
    wrt: Sequence[str],
    values: Mapping[str, Any],
    rng: np.random.Generator,
    count: int = 3,
    memo: dict | None = None,
    gradients: Mapping[str, np.ndarray] | None = None,
) -> list[DirectionalCheck]:
    """`count` random pairs (u, v): the reference's u·J·v (the VJP for u, dotted with v)
    against the complex step where it applies, else central differences.

    Args:
        memo: float64 values already computed at this point (`evaluate_nodes`): the
            adjoints reuse the forward values there; it is not changed.
        gradients: for a scalar `node`, the reference gradient already evaluated at this
            point, by variable: its VJP for u is u times it, so no backward pass is
            needed per direction (and the values checked are the ones compared).
    """
    shapes = {name: np.shape(values[name]) for name in wrt}
    reference_for = _reference_along(node, wrt, values, shapes, memo, gradients)
    analytic = supports_complex_step(node)
    checks = []
    for _ in range(count):
        u = rng.standard_normal(node.shape)
        v = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
        reference = reference_for(u, v)
        if analytic:
            jvp = complex_step_jvp(node, values, v)
            error = 16 * EPS * float(np.vdot(np.abs(u), np.abs(jvp)))
            method = "complex step"
        else:
            jvp, bars = central_difference_jvp(node, values, v)
            error = float(np.vdot(np.abs(u), bars))
            method = "central differences"
        oracle = float(np.vdot(u, jvp))
        checks.append(DirectionalCheck(method, reference, oracle, error, u, v))
    return checks


def check_direction_mp(node: Node, wrt: Sequence[str], values: Mapping[str, Any],
                       check: DirectionalCheck, dps: int = 40) -> DirectionalCheck:  # fmt: skip
    """`check`'s u·J·v again in mpmath at `dps` digits: the reference's VJP for u dotted
    with v, and central differences of u·f along v. Where float64 cancels (terms of 1e6
    summing to 0) both float64 sides are rounding noise; these are not.

    Raises:
        OutOfReach: a value on the way lies beyond mpmath's reach (`symbolic.reach`).
    """
    u, v = check.u, check.v
    cotangent = Variable(shape=node.shape, name=COTANGENT)
    shapes = {name: np.shape(values[name]) for name in wrt}
    adjoints = vjp_expressions(node, wrt, cotangent, shapes=shapes)
    point = {**values, COTANGENT: np.asarray(u, dtype=float)}
    reference = sum(np.sum(evaluate_mp(adjoints[name], point, dps) * np.asarray(v[name]))
                    for name in wrt)  # fmt: skip
    ctx = mpmath.MPContext()
    ctx.dps = dps + 10
    step = ctx.mpf(10) ** (-(dps // 3)) * _step(values, v) / EPS ** (1 / 3)

    def along(t: Any) -> Any:  # u·f at x + t v, every entry in mpmath
        moved = dict(values)
        for name, direction in v.items():
            pairs = zip(np.ravel(values[name]), np.ravel(direction), strict=True)
            entries = [ctx.mpf(float(x)) + t * ctx.mpf(float(d)) for x, d in pairs]
            moved[name] = np.array(entries, dtype=object).reshape(np.shape(direction))
        return np.sum(evaluate_mp(node, moved, dps) * np.asarray(u))

    wide = (along(step) - along(-step)) / (2 * step)
    narrow = (along(step / 2) - along(-step / 2)) / step
    # mpmath's rounding of u·f is that of its terms, not of u·f: 1e-40 of terms of 1e12
    # that cancel to 0 (float64's bound scaled to `dps` digits)
    noise = _float64_noise(node, values, u) * 16 * 10.0**-dps / EPS
    error = abs(narrow - wide) + (ctx.mpf(10) ** (2 - dps) * abs(along(step)) + noise) / step
    return DirectionalCheck("central differences in mpmath", float(reference), float(narrow),
                            float(error), u, v, (reference, narrow, error))  # fmt: skip


def _float64_noise(node: Node, values: Mapping[str, Any], u: Any) -> float:
    """How far float64 rounding may move u·f at this point (`rounding_bounds`; entries
    that overflowed float64 count 0: their terms are not known)."""
    memo: dict = {}
    evaluate_nodes([node], values, FloatKernels(), memo)
    (bound,) = rounding_bounds([node], memo)
    with np.errstate(invalid="ignore"):
        return float(np.sum(np.abs(u) * np.where(np.isfinite(bound), bound, 0.0)))


def _reference_along(node, wrt, values, shapes, memo, gradients):  # noqa: ANN001, ANN202
    """(u, v) -> the reference's u·J·v: from the gradients given, else by evaluating the
    VJP for u, what does not depend on u computed once."""
    if gradients is not None and node.shape == () and all(n in gradients for n in wrt):
        return lambda u, v: float(u) * sum(float(np.vdot(gradients[n], v[n])) for n in wrt)
    cotangent = Variable(shape=node.shape, name=COTANGENT)
    adjoints = vjp_expressions(node, wrt, cotangent, shapes=shapes)
    targets = [adjoints[name] for name in wrt]
    kernels, fixed = FloatKernels(), dict(memo or {})
    order = nodes_in_order(targets)
    varying = depending_on(order, COTANGENT)
    evaluate_nodes([n for n in order if id(n) not in varying], values, kernels, fixed)

    def reference(u: np.ndarray, v: Mapping[str, np.ndarray]) -> float:
        # a copy per direction: what depends on u must not serve the next direction
        computed = evaluate_nodes(targets, {**values, COTANGENT: u}, kernels, dict(fixed))
        return sum(float(np.vdot(value, v[n])) for n, value in zip(wrt, computed, strict=True))

    return reference


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
