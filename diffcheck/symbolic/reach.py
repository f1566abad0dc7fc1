"""How far mpmath is asked to go: no value beyond 2^±REACH_BITS is computed.

mpmath's cost grows with the size of a number's exponent: log or sin of 1e4932 take
microseconds, of 1e(1e6) seconds; e^a for a whole a above 2^600 is built by repeated
squaring (e^(e^e^e^e^e) asks for more memory than there is), and x^1e400 takes 50 ms and
400 digits to settle. So no value beyond 2^±REACH_BITS (about 1e±4932, the range of
80-bit extended precision) is computed: no kernel but + and x takes an argument beyond
it, no power or exponential kernel gives a result beyond it, and such a point is out of
reach (`OutOfReach`) instead of minutes long. Every evaluator in mpmath (the scalar
programs, the array kernels) asks `check_reach` before each kernel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .rules import PRIMITIVES, Rule

__all__ = ["EXPONENT_LIMIT", "OUT_OF_REACH", "REACH_BITS", "REACH_LIMIT", "WIDE_EXPONENT_BITS",
           "OutOfReach", "check_arguments", "check_reach"]  # fmt: skip

REACH_BITS = 1 << 14
# an exponential kernel's argument (`Rule.exponential`) is kept within ±REACH_BITS·ln 2,
# where e^a reaches 2^REACH_BITS
EXPONENT_LIMIT = REACH_BITS * math.log(2)
_EXPONENT_BITS = math.floor(math.log2(EXPONENT_LIMIT))  # below it, |a| < EXPONENT_LIMIT
# the exponentials mpmath evaluates in milliseconds however far (`Rule.wide_reach`: e^a
# at 3840 digits for |a| up to 2^20) get arguments up to ±WIDE_EXPONENT_BITS in size
WIDE_EXPONENT_BITS = 20
# what reports say of such a point; mpmath itself has no limit, the bound is diffcheck's
OUT_OF_REACH = "out of float64's and mpmath's reach"
REACH_LIMIT = ("diffcheck bounds the arguments it gives mpmath (to 2^±16384, and an "
               "exponential's to ±1e6 or less), where a value could take minutes")  # fmt: skip

_ADD, _MUL, _POW = PRIMITIVES["add"], PRIMITIVES["mul"], PRIMITIVES["pow"]


class OutOfReach(ArithmeticError):
    """A value too large (or a power too small) for mpmath to evaluate in bounded time;
    the message says what was needed: "exp of 1.03e+18", "the power 0.905^1.0e+400"."""


def check_reach(rule: Rule, args: Sequence[Any], ctx: Any) -> None:
    """Raise OutOfReach if `rule`'s kernel would take an argument, or a power give a
    result, beyond 2^±REACH_BITS (each check costs a few exponent comparisons)."""
    if rule is _ADD or rule is _MUL:
        return  # sums and products of huge numbers are cheap: exponents just add
    check_arguments(rule.name, args, ctx, rule.exponential, rule.wide_reach)
    if rule is _POW:
        _check_power(*args, ctx=ctx)


def check_arguments(name: str, args: Sequence[Any], ctx: Any, exponential: bool = False,
                    wide: bool = False) -> None:  # fmt: skip
    """Raise OutOfReach if an argument of the kernel `name` lies beyond 2^±REACH_BITS,
    or, for an exponential kernel, beyond ±EXPONENT_LIMIT (±2^WIDE_EXPONENT_BITS for
    one of `wide` reach)."""
    for arg in args:
        if not ctx.isfinite(arg) or arg == 0:
            continue
        magnitude = ctx.mag(arg)  # |arg| < 2^magnitude
        if wide:
            beyond = magnitude > WIDE_EXPONENT_BITS
        else:
            beyond = magnitude > REACH_BITS or (
                exponential and magnitude > _EXPONENT_BITS and abs(arg) > EXPONENT_LIMIT
            )
        if beyond:
            raise OutOfReach(f"{name} of {ctx.nstr(arg, 3)}")


def _check_power(base: Any, exponent: Any, ctx: Any) -> None:
    if not (ctx.isfinite(base) and ctx.isfinite(exponent)) or base == 0:
        return
    with ctx.workprec(24):  # the result's exponent, to a few digits
        bits = abs(exponent * ctx.log(abs(base), 2))
    if bits > REACH_BITS:
        base_text, exponent_text = ctx.nstr(base, 3), ctx.nstr(exponent, 3)
        raise OutOfReach(f"the power {base_text}^{exponent_text}")
