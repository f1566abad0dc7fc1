"""Run stage for array cases: whether a point flagged "on a kink" really is one.

The flags of `check_point` are local: norm has no derivative at 0, yet norm(x)**2 is
smooth there; where's boundary may join two pieces whose derivatives agree. At such a
point the derivative of the whole function is probed in mpmath, entry by entry of each
variable: the one-sided difference quotients (f(x + δ eₖ) - f(x)) / δ and
(f(x) - f(x - δ eₖ)) / δ with a tiny δ, each output entry held to its own size. Where
they agree along every entry the derivative exists, and their mean is the reference
there (the claims are compared with it as anywhere else); where along some entry they do
not, the point is a real kink and stays left out. Main function: `kink_jacobians`;
`limit_reference` gives each claim's reference from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays.evaluate import depending_on, evaluate_nodes
from ..arrays.ir import Node, nodes_in_order
from ..arrays.kernels import MpKernels

__all__ = ["MAX_KINK_ENTRIES", "MAX_KINK_WORK", "kink_jacobians", "limit_reference"]

KINK_DPS = 50
KINK_STEP = 20  # δ = 10**-KINK_STEP times max(1, |xₖ|): truncation O(δ), rounding O(10**-30)
# one-sided quotients this close, for their scale, agree: a smaller jump is no kink a
# tolerance could see
KINK_AGREEMENT = 1e-12
KINK_ZERO = 1e-15
MAX_KINK_ENTRIES = 2048  # entries of the variables probed at one point, at most
MAX_KINK_WORK = 100_000  # probes times the entries of the point and the function, at most


def kink_jacobians(function: Node, wrt: Sequence[str], values: Mapping[str, Any]
                   ) -> dict[str, np.ndarray] | None:  # fmt: skip
    """The Jacobian of `function` (shape: the function's + the variable's, mpmath values)
    for each variable of `wrt`, where the one-sided difference quotients agree along
    every entry; None where along some entry they do not (a real kink), or the point is
    too large to probe.

    Raises:
        OutOfReach: a value on the way lies beyond mpmath's reach (`symbolic.reach`): the
            caller leaves the point out as such, neither a kink nor a smooth point.
    """
    probes = sum(int(np.size(values[name])) for name in wrt)
    entries = sum(int(np.size(value)) for value in values.values()) + function.size
    if probes > MAX_KINK_ENTRIES or probes * entries > MAX_KINK_WORK:
        return None
    kernels = MpKernels(KINK_DPS)
    exact = {name: kernels.variable(value) for name, value in values.items()}
    (centre,) = evaluate_nodes([function], exact, kernels, {})
    order = nodes_in_order([function])
    found = {}
    for name in wrt:
        # what does not depend on the probed variable is computed once, then copied
        varying = depending_on(order, name)
        fixed: dict = {}
        evaluate_nodes([n for n in order if id(n) not in varying], exact, kernels, fixed)
        columns = []
        for index in np.ndindex(np.shape(values[name])):
            column = _probe(function, exact, name, index, centre, kernels, fixed)
            if column is None:
                return None
            columns.append(column)
        shape = function.shape + np.shape(values[name])
        found[name] = np.stack(columns, axis=-1).reshape(shape) if columns else \
            np.empty(shape, dtype=object)  # fmt: skip
    return found


def _probe(function: Node, exact: dict, name: str, index: tuple[int, ...], centre: np.ndarray,
           kernels: MpKernels, fixed: dict) -> np.ndarray | None:  # fmt: skip
    """The derivative along one entry, flattened: the mean of the one-sided quotients, or
    None where they differ (or either is not finite)."""
    ctx = kernels.ctx
    start = exact[name][index]
    step = ctx.mpf(10) ** -KINK_STEP * max(1, abs(start))
    sides = []
    for sign in (1, -1):
        moved = np.array(exact[name], dtype=object, copy=True)
        moved[index] = start + sign * step
        (value,) = evaluate_nodes([function], {**exact, name: moved}, kernels, dict(fixed))
        sides.append(np.asarray((value - centre) * sign, dtype=object).reshape(-1) / step)
    right, left = sides
    if not all(ctx.isfinite(v) for v in (*right, *left)):
        return None
    # each output entry against its own size: a large entry beside it would hide a kink
    # in it (1e13*y beside abs(y)) or swallow its small derivative as truncation
    scales = [max(1, abs(a), abs(b)) for a, b in zip(right, left, strict=True)]
    if any(abs(a - b) > KINK_AGREEMENT * scale
           for a, b, scale in zip(right, left, scales, strict=True)):  # fmt: skip
        return None
    mean = (right + left) / 2
    # what is left of δ's truncation in an entry that should be 0 (relu(x)**2 at 0 gives
    # δ / 2): far below any tolerance, and clearer shown as 0
    return np.array([0 if abs(v) <= KINK_ZERO * scale else v
                     for v, scale in zip(mean, scales, strict=True)], dtype=object)  # fmt: skip


def limit_reference(kind: str, name: str, jacobians: Mapping[str, np.ndarray],
                    cotangent: Any = None) -> np.ndarray:  # fmt: skip
    """The reference of a claim of `kind` for `name` from the probed Jacobians (mpmath):
    itself for a Jacobian, the cotangent applied for a vjp, the gradient for a scalar
    function."""
    jacobian = jacobians[name]
    if kind == "jacobian" or cotangent is None:
        return jacobian
    weights = np.asarray(cotangent, dtype=float).astype(object)  # floats are exact in mpmath
    return np.asarray(np.tensordot(weights, jacobian, axes=weights.ndim), dtype=object)
