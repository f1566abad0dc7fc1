"""How far float64 rounding may be magnified in a program's values, step by step.

`Conditioning` follows a program's forward sweep and keeps, per step, the largest
cancellation factor sum(|terms|) / |sum| of any sum the value depends on (inf where a
result underflowed); `mark_unhealthy` flags overflowed and subnormal values. Both skip
the passes over the values that cannot change their result.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from ..symbolic.rules import PRIMITIVES

__all__ = [
    "Conditioning",
    "cancellation_ratio",
    "exact_sums",
    "mark_unhealthy",
    "one_signed",
    "scaled_up",
]

_ADD, _MUL = PRIMITIVES["add"], PRIMITIVES["mul"]


def mark_unhealthy(factor: np.ndarray, value: Any) -> None:
    """Set `factor` to inf where `value` overflowed (1/(1 + inf) = 0 hides it downstream)
    or is subnormal (a few significant bits left)."""
    if _one_signed_healthy(value):
        return  # the usual case: two passes over the values instead of eight
    magnitude = np.abs(value)
    if _TINY <= magnitude.min() and magnitude.max() <= _HUGE:  # NaN fails both: three
        return  # passes where the signs are mixed
    with np.errstate(invalid="ignore"):
        broken = ~np.isfinite(magnitude) | ((magnitude < _TINY) & (magnitude > 0))
    factor[np.broadcast_to(broken, factor.shape)] = np.inf


_TINY = np.finfo(np.float64).tiny
_HUGE = np.finfo(np.float64).max


def _real_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.size > 0 and value.dtype.kind == "f"


def _one_signed_healthy(value: Any) -> bool:
    """Whether a real array's values all lie in [tiny, max] or all in [-max, -tiny]: then
    their magnitudes are normal and finite, as `mark_unhealthy` asks, found from the
    values themselves (no array of magnitudes). False decides nothing."""
    if not _real_array(value):
        return False
    low = value.min()  # NaN: False below
    if low >= _TINY:
        return bool(value.max() <= _HUGE)
    return bool(low >= -_HUGE) and bool(value.max() <= -_TINY)


def one_signed(values: list[Any], args: tuple[int, ...]) -> bool:
    """Whether the terms of a sum are real, none NaN, and all >= 0 or all <= 0: then
    sum(|terms|) and |sum| are the same sum, bit for bit (rounding is symmetric), and the
    cancellation ratio is 1 (or NaN, for 0/0 and inf/inf) at every point: it raises no
    factor, and costs at most one pass per term to rule out instead of six in all."""
    sign = 0.0
    arrays = []
    for arg in args:
        term = values[arg]
        if np.ndim(term):
            if not _real_array(term):
                return False
            arrays.append(term)
        elif isinstance(term, complex | np.complexfloating) or term != term:
            return False
        elif term:
            if sign and (term > 0) != (sign > 0):
                return False
            sign = float(term)
    for term in arrays:
        if sign >= 0 and term.min() >= 0:  # NaN: not >= 0, nor <= 0
            sign = sign or 1.0
        elif sign <= 0 and term.max() <= 0:
            sign = sign or -1.0
        else:
            return False
    return True


def cancellation_ratio(values: list[Any], args: tuple[int, ...], index: int) -> Any:
    """sum(|terms|) / |sum| at a sum: 1 without cancellation, inf where it hit 0, and
    NaN where every term is 0 (no cancellation either): it only ever raises factors of at
    least 1 by np.fmax, to which NaN and 1 are the same, so that case costs no pass."""
    terms = functools.reduce(np.add, [np.abs(values[arg]) for arg in args])
    magnitude = np.abs(values[index])
    with np.errstate(all="ignore"):
        if np.ndim(magnitude) == 0 or np.ndim(terms) == 0:
            return terms / magnitude
        return np.divide(terms, magnitude, out=magnitude)


def _larger(factor: Any, other: Any) -> Any:
    """np.fmax(factor, other) for conditioning factors, without the passes that cannot
    change anything: every factor is the scalar 1.0 or an array made by np.fmax from 1.0
    (so >= 1 and never NaN), and the larger of such an array and 1.0, or of an array and
    itself, is that array, bit for bit."""
    if np.ndim(other) == 0 and other == 1.0:
        return factor
    if (np.ndim(factor) == 0 and factor == 1.0) or factor is other:
        return other
    return np.fmax(factor, other)


def scaled_up(steps: Sequence[Any], step: Any, exactly: bool = False) -> bool:
    """Whether the step multiplies at most one value by constants of magnitude >= 1
    (-x, 2*x): its result is at least as large as that value, so it cannot underflow
    where its arguments did not, and needs no test for it. With `exactly`, of magnitude
    1 (-x): the result is as large as that value, healthy exactly where it is."""
    if step.rule is not _MUL:
        return False
    constants = [steps[arg] for arg in step.args]
    constants = [s for s in constants if s.rule is None and s.row is None]
    return len(step.args) - len(constants) <= 1 and all(
        abs(s.value) == 1 if exactly else abs(s.value) >= 1 for s in constants
    )


def exact_sums(steps: Sequence[Any]) -> list[bool]:
    """Per step, whether it is a sum of two values float64 holds exactly (the point's own
    values, constants such as 1, either negated): its result is correctly rounded, so it
    magnifies no error however much it cancels (1 - y at y = 1 is exactly 0, not a value
    of unknown size). Three terms are not: (1e16 + 1) - 1e16 is 0, not 1."""
    exact = [False] * len(steps)
    sums = [False] * len(steps)
    for index, step in enumerate(steps):
        if step.rule is None:
            exact[index] = step.row is not None or _exact_constant(step)
        elif scaled_up(steps, step, exactly=True):  # -x: exactly as exact as x
            exact[index] = all(exact[arg] for arg in step.args)
        elif step.rule is _ADD:
            sums[index] = len(step.args) == 2 and all(exact[arg] for arg in step.args)
    return sums


def _exact_constant(step: Any) -> bool:
    """Whether a constant's float64 value is the constant itself (1, 0.5; not 0.1, pi)."""
    constant = step.constant
    if constant is None or not constant.is_Rational or not np.isfinite(step.value):
        return False
    return bool(constant == sp.Rational(step.value))


class Conditioning:
    """Per step, how much float64 rounding may be magnified at that value: the largest
    cancellation factor of any sum it depends on, and inf where a result underflowed to
    0 or below the normal range from arguments that did not. A value v is in doubt where
    16 eps factor |v| exceeds what the tolerance allows."""

    def __init__(self, program: Any):  # a `Program` (which imports this module)
        self.program = program
        self.factors: list[Any] = [1.0] * len(program.steps)
        self.scaled = [scaled_up(program.steps, step) for step in program.steps]
        self.exact_sums = program.exact_sums  # worked out once, with the program

    def __call__(self, index: int, values: list[Any]) -> None:
        step = self.program.steps[index]
        factor: Any = 1.0
        for arg in step.args:
            factor = _larger(factor, self.factors[arg])
        if step.rule is _ADD:
            # else no term cancels anywhere, or the sum is exact but for its own rounding
            if not self.exact_sums[index] and not one_signed(values, step.args):
                factor = _cancelled(factor, cancellation_ratio(values, step.args, index))
        elif step.rule is not None and not step.rule.exact_zeros and not self.scaled[index]:
            value = values[index]
            # positive values >= tiny (exp, 1 + exp) are their own magnitudes: one pass
            positive = _real_array(value) and value.min() >= _TINY
            magnitude = None if positive else np.abs(value)
            if magnitude is not None and np.size(magnitude) and not _TINY <= np.min(magnitude):
                underflow = magnitude < _TINY
                for arg in step.args:
                    underflow = underflow & (np.abs(values[arg]) >= _TINY)
                factor = np.where(underflow, np.inf, factor)
        self.factors[index] = factor


def _cancelled(factor: Any, ratio: Any) -> Any:
    """`factor` raised to a sum's cancellation ratio where that is larger."""
    if np.ndim(ratio) == 0:
        return np.fmax(factor, ratio)
    if not ratio.max() <= 1.0:  # NaN too; else no term cancels: factor unchanged
        # (and a factor that stays 1.0 stays a number, written out nowhere)
        return np.fmax(factor, ratio, out=ratio)  # a fresh array: no new one
    return factor
