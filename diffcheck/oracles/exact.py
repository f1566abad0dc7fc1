"""The reference: symbolic expressions evaluated in float64, refined in mpmath on demand.

`ExactValues(exprs, variables, points)` evaluates every expression at every point in
float64 (vectorised); `refined(i)` re-evaluates all of them at point i with mpmath at
30, 60, 120, ... digits until two precisions agree, so float64 overflow and cancellation
(1 - tanh(19)**2 is 0.0 in float64) never decide a verdict. A point whose values lie
beyond mpmath's reach (`program.REACH_BITS`) is reported as such, not computed for hours.
`partial_limits` finds, at a point on a kink, whether each partial derivative exists
there after all (x*abs(x) at 0): as the common limit of its values on both sides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from .problem import Estimate, Problem
from .program import OutOfReach, Program

EPS = float(np.finfo(np.float64).eps)

__all__ = ["EPS", "EXTENDED", "PRECISIONS", "Exact", "ExactValues", "Refined", "context",
           "exactly_zero", "partial_limits", "precisions_for", "refine_at", "rounding_bound",
           "settle"]  # fmt: skip

PRECISIONS = (30, 60, 120, 240, 480, 960)  # decimal digits, each try doubling the last
# Beyond 960 digits for programs of elementary functions only (`Rule.elementary`):
# 1 - tanh(700)**2 cancels 608 digits and costs milliseconds at 3840, where gamma or
# digamma take seconds.
EXTENDED = (1920, 3840)
# Two precisions agreeing to this many significant digits settle a value: cancellation
# that left fewer good digits would make them disagree, except by a 1-in-10^20 fluke.
SETTLED_DIGITS = 20
# From this precision on, a zero that may be cancellation, below a negligible size at two
# precisions, is taken for that: a larger value hiding behind it would take a factor
# beyond 10^900 to show (the ladder ended here before EXTENDED, settling such zeros).
ZERO_DIGITS = 960
# Where a kink's sides are probed: 10^-k times the coordinate's size (at least 1) off
# the point, at LIMIT_DIGITS digits; three steps, so that convergence shows.
LIMIT_STEPS = (40, 80, 120)
LIMIT_DIGITS = 200


@dataclass(frozen=True)
class Refined:
    """mpmath values of every expression at one point, with error bounds.

    `errors[i]` is the change between the last two precisions, an upper bound on the
    error of `values[i]`; `converged` is False if no two precisions agreed on every
    value, and `settled[i]` says which did (all, when converged). A point out of
    mpmath's reach has no values and says why in `beyond` ("exp of 1.2e+1650000").
    """

    context: Any
    values: tuple[Any, ...]
    errors: tuple[Any, ...]
    converged: bool
    beyond: str | None = None
    settled: tuple[bool, ...] = ()

    def settled_at(self, slot: int) -> bool:
        """Whether value `slot` settled (others may not have: one value cancelling beyond
        every precision leaves the rest known)."""
        return self.converged or (bool(self.settled) and self.settled[slot])


def _settled(ctx: Any, old: Any, new: Any, exact_zero: bool, negligible: Any,
             digits: tuple[int, int]) -> Any | None:  # fmt: skip
    """The value `new` stands for once two precisions (`digits`, lower then higher) gave
    `old` and `new`, or None if they do not settle it."""
    if ctx.isnan(old) or ctx.isnan(new):
        return new if ctx.isnan(old) and ctx.isnan(new) else None
    if ctx.isinf(old) or ctx.isinf(new):
        return new if old == new else None
    if new == 0 and old == 0 and exact_zero:
        return new
    if new != 0 and abs(new - old) <= ctx.mpf(10) ** -SETTLED_DIGITS * abs(new):
        return new
    # 0, not `new`: below `negligible`, `new` may be all rounding (-8.7e-62 at 60 digits
    # for a true 1.3e-695)
    vanishing = _vanishing(ctx, old, new, negligible, digits[0])
    return ctx.zero if vanishing or _negligible(old, new, negligible, digits[1]) else None


def _vanishing(ctx: Any, old: Any, new: Any, negligible: Any, digits: int) -> bool:
    """An exact zero reached by cancellation (atan(x) + atan(1/x), differentiated) never
    settles relatively: each precision leaves a remainder of its own size, 1e-30 at 30
    digits, 1e-60 at 60. Below `negligible` at both (so that 0 in its place changes no
    judgement) and shrinking with the precision, the value is 0. A true value the lower
    precision had lost entirely (tanh's 3.9e-608 at 480 digits, 0 there) does not shrink
    from one precision to the next: `_negligible` or relative settling takes it."""
    if old == 0 or abs(old) > negligible or abs(new) > negligible:
        return False
    return bool(abs(new) <= abs(old) * ctx.mpf(10) ** -(digits // 2))


def _negligible(old: Any, new: Any, negligible: Any, digits: int) -> bool:
    """Whether two precisions, the higher of `digits`, put a value at or below `negligible`
    (atol·ε: the tolerance cannot tell it from 0, so the digits it lacks change no
    judgement, and climbing for them is wasted: 1 - tanh(2300)**2 is 0 up to 1920 digits).
    A non-zero value that small at either is small in truth, bar a fluke; a zero at both
    that may be cancellation is not trusted before ZERO_DIGITS: a claim such as
    exp(2*x)*(1 - tanh(x)**2), 4 at x = 100, is 0 at 30 and 60 digits."""
    if negligible == 0 or abs(old) > negligible or abs(new) > negligible:
        return False
    return bool(old != 0 or new != 0 or digits >= ZERO_DIGITS)


_CONTEXTS: dict[int, Any] = {}


def context(digits: int) -> Any:
    """The mpmath context of `digits` decimal digits, made once per process and reused:
    making one costs ~1 ms, more than settling a typical point. Callers never change its
    precision for good (kernels go through `workprec`, which restores it), and it is not
    mpmath's global `mp`, whose precision belongs to the caller."""
    if digits not in _CONTEXTS:
        made = mpmath.MPContext()
        made.dps = digits
        _CONTEXTS[digits] = made
    return _CONTEXTS[digits]


def precisions_for(program: Program) -> tuple[int, ...]:
    """The precisions `refine_at` may climb to for `program`: EXTENDED too when all of
    its functions are elementary."""
    elementary = all(step.rule is None or step.rule.elementary for step in program.steps)
    return PRECISIONS + EXTENDED if elementary else PRECISIONS


def refine_at(program: Program, point: Sequence[float], negligible: float = 0.0) -> Refined:
    """Evaluate `program` at `point` in rising precision until the results settle; a
    value below `negligible` that shrinks with the precision settles as 0."""
    return settle(lambda ctx: program.exact_zeros_mp(point, ctx), precisions_for(program),
                  negligible)  # fmt: skip


def settle(evaluate: Callable[[Any], tuple[list[Any], list[bool]]],
           precisions: Sequence[int] = PRECISIONS, negligible: float = 0.0) -> Refined:  # fmt: skip
    """Call `evaluate(ctx)` at 30, 60, 120, ... digits until two precisions agree.

    `evaluate` returns mpmath values and, for each, whether a zero is exactly zero (a
    zero that may be cancellation keeps the precision rising); if it raises OutOfReach,
    the result has no values and `beyond` set.
    """
    previous: list[Any] | None = None
    for step, digits in enumerate(precisions):
        ctx = context(digits)
        try:
            current, exact = evaluate(ctx)
        except OutOfReach as beyond:
            return Refined(ctx, (), (), False, str(beyond))
        if previous is not None:
            small, pair = ctx.mpf(negligible), (precisions[step - 1], digits)
            settled = [_settled(ctx, a, b, zero, small, pair)
                       for a, b, zero in zip(previous, current, exact, strict=True)]  # fmt: skip
            errors = tuple(_change(ctx, a, b) for a, b in zip(previous, current, strict=True))
            values = tuple(b if v is None else v for b, v in zip(current, settled, strict=True))
            known = tuple(v is not None for v in settled)
            if all(known):
                return Refined(ctx, values, errors, True, settled=known)
        previous = current
    return Refined(ctx, values, errors, False, settled=known)


def _change(ctx: Any, old: Any, new: Any) -> Any:
    if ctx.isnan(old) or ctx.isnan(new) or ctx.isinf(old) or ctx.isinf(new):
        return ctx.zero if old == new or (ctx.isnan(old) and ctx.isnan(new)) else ctx.inf
    return abs(new - old)


def rounding_bound(value: np.ndarray, conditioning: np.ndarray) -> np.ndarray:
    """How far float64 rounding may have moved `value`, given its conditioning (see
    `ExactValues.rounding_bound`); elementwise, for callers that work chunk by chunk."""
    if conditioning.strides == (0,) and conditioning.size:  # one factor everywhere
        factor = float(conditioning[0])
        if np.isinf(factor):
            return np.full(value.shape, np.inf)
        with np.errstate(all="ignore"):
            return (16 * EPS) * factor * np.abs(value)
    with np.errstate(all="ignore"):
        bound = (16 * EPS) * conditioning * np.abs(value)
    return np.where(np.isinf(conditioning), np.inf, bound)


class ExactValues:
    """Expressions at every point in float64, refined with mpmath where asked."""

    def __init__(self, exprs: Sequence[sp.Expr], variables: Sequence[str], points: np.ndarray,
                 negligible: float = 0.0):  # fmt: skip
        """`negligible`: a refined value below it that shrinks with the precision is 0
        (see `refine_at`); the caller's absolute tolerance makes it harmless."""
        self.program = Program(exprs, variables)
        self.points = points
        self.negligible = negligible
        evaluated = self.program.evaluate(points, conditioning=True)
        self.values = evaluated[: len(exprs)]
        # per expression, how much float64 rounding may be magnified at each point
        self.conditioning = evaluated[len(exprs) :]
        self._refined: dict[int, Refined] = {}
        # point -> slot -> the value found as a limit (a partial at a kink), which
        # evaluating the expression at the point itself might not give
        self.limits: dict[int, dict[int, Any]] = {}

    def set_limits(self, index: int, limits: dict[int, Any]) -> None:
        """Take `limits` (slot -> mpmath value) as the values at point `index`, in float64
        and in every refinement."""
        self.limits[index] = limits
        for slot, value in limits.items():
            if not self.values[slot].flags.writeable or self.values[slot].strides == (0,):
                self.values[slot] = np.array(self.values[slot])  # a copy of its own
            self.values[slot][index] = float(value)
        self._refined.pop(index, None)

    def rounding_bound(self, slot: int, indices: np.ndarray | None = None) -> np.ndarray:
        """How far float64 rounding may have moved expression `slot`'s value at each
        point (or at `indices`): inf where its sums cancelled to 0 or it underflowed (any
        value may hide)."""
        value, conditioning = self.values[slot], self.conditioning[slot]
        if indices is not None:
            value, conditioning = value[indices], conditioning[indices]
        return rounding_bound(value, conditioning)

    def refined(self, index: int) -> Refined:
        if index not in self._refined:
            refined = refine_at(self.program, self.points[:, index].tolist(), self.negligible)
            self._refined[index] = _with_limits(refined, self.limits.get(index, {}))
        return self._refined[index]

    def is_refined(self, index: int) -> bool:
        return index in self._refined


def _with_limits(refined: Refined, limits: dict[int, Any]) -> Refined:
    if not limits or refined.beyond is not None:
        return refined
    values, errors = list(refined.values), list(refined.errors)
    settled = list(refined.settled or [True] * len(values))
    for slot, value in limits.items():
        values[slot], errors[slot], settled[slot] = refined.context.mpf(value), 0, True
    return Refined(refined.context, tuple(values), tuple(errors), all(settled), None,
                   tuple(settled))  # fmt: skip


def exactly_zero(program: Program, point: Sequence[float], slots: Sequence[int]) -> bool:
    """Whether `program`'s outputs `slots` are all exactly 0 at `point` in mpmath: a kink
    expression that float64 only rounds to 0 (w - 0.3 at w = 0.3, the decimal 0.3 not
    being the double) puts the point beside the kink, on a side float64 code may miss."""
    try:
        values = program.evaluate_mp(point, context(LIMIT_DIGITS))
    except OutOfReach:
        return False
    return all(values[slot] == 0 for slot in slots)


def partial_limits(program: Program, point: Sequence[float], rows: Sequence[int],
                   first: Sequence[int] = (), with_agreement: bool = False
                   ) -> tuple[Any, ...] | None:  # fmt: skip
    """At a point on a kink: per partial, its value as the common limit from both sides;
    None as soon as one partial does not exist there (abs at 0: the sides give -1 and 1),
    trying the variables of `first` (rows: those the kink depends on) first. With
    `with_agreement`, per partial (limit, whether the partial's own formula at the point
    gives that limit): where it does, the limits confirm the formula by other means.

    `program`'s outputs are the function, then the partial along each of `rows`. A
    partial exists where the function is continuous along its variable and the partial's
    values converge from both sides to one limit (then, by the mean value theorem, the
    limit is the partial): x*abs(x), relu(x)**2, Huber's switch, elu(x, 1) at 0.
    """
    ctx = context(LIMIT_DIGITS)
    order = sorted(range(len(rows)), key=lambda k: rows[k] not in first)
    found: list[Any] = [None] * len(rows)
    try:
        centre = program.evaluate_mp(point, ctx)
        for k in order:
            found[k] = _limit(program, point, rows[k], 1 + k, centre, ctx)
            if found[k] is None:
                return None
    except OutOfReach:
        return None
    return tuple(found) if with_agreement else tuple(limit for limit, _ in found)


def _limit(program: Program, point: Sequence[float], row: int, slot: int,
           centre_values: list[Any], ctx: Any) -> tuple[Any, bool] | None:  # fmt: skip
    """The limit of output `slot` along `row` from both sides, and whether the partial's
    own formula at the point agrees with it to within the steps' spread (then the limit
    is that value: 0 for x*abs(x) at 0, not the 2e-120 of the last step); or None."""
    centre, at = centre_values[0], centre_values[slot]
    size = max(ctx.one, abs(ctx.mpf(point[row])))
    sides = []
    for sign in (1, -1):
        function, partial = [], []
        for step in LIMIT_STEPS:
            shifted = [ctx.mpf(value) for value in point]
            shifted[row] += sign * size * ctx.mpf(10) ** -step
            values = program.evaluate_mp(shifted, ctx)
            function.append(values[0])
            partial.append(values[slot])
        if not all(ctx.isfinite(v) for v in (centre, *function, *partial)):
            return None
        jumps = [abs(value - centre) for value in function]
        if not _vanishes(ctx, jumps[0], jumps[1], abs(centre) + abs(function[0])):
            return None  # the function jumps: no derivative, whatever its slopes
        changes = [abs(partial[1] - partial[0]), abs(partial[2] - partial[1])]
        if not _vanishes(ctx, *changes, abs(partial[1])):
            return None  # the slope diverges (x*log(abs(x)) at 0)
        sides.append(partial)
    (right, left) = sides
    gaps = [abs(right[1] - left[1]), abs(right[2] - left[2])]
    if not _vanishes(ctx, *gaps, abs(right[2]) + abs(left[2])):
        return None  # two slopes: a kink
    limit = (right[2] + left[2]) / 2
    spread = max(abs(right[1] - right[2]), abs(left[1] - left[2]), gaps[1])
    agrees = bool(ctx.isfinite(at) and abs(at - limit) <= spread)
    return (at if agrees else limit), agrees


def _vanishes(ctx: Any, before: Any, after: Any, scale: Any) -> bool:
    """Whether a difference tends to 0 as the step shrinks: 40 decades smaller steps
    leave it at most 1e-10 of what it was (a constant jump stays), or it is at the
    level of the evaluation's rounding."""
    noise = scale * ctx.mpf(10) ** -(LIMIT_DIGITS // 2)
    return bool(after == 0 or after <= before * ctx.mpf(10) ** -10 or after <= noise)


class Exact:
    """The derived gradient in float64: the reference every other oracle is held to."""

    name = "exact"

    def gradient(self, problem: Problem, points: np.ndarray) -> Estimate:
        exprs = [problem.gradient[name] for name in problem.wrt]
        values = Program(exprs, problem.variables).evaluate(points)
        return Estimate(
            oracle=self.name,
            method={name: "float64" for name in problem.wrt},
            values=dict(zip(problem.wrt, values, strict=True)),
            errors={name: np.zeros_like(v) for name, v in zip(problem.wrt, values, strict=True)},
        )
