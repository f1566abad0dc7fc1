"""The derivative table, one parametrised test per property over every entry.

A new entry of RULES or PRIMITIVES is tested here with no new test code: its partials
against sympy.diff of its definition, its SymPy class's fdiff against the table, its
NumPy kernel against its mpmath kernel, and its partials against complex-step and
central differences of the NumPy kernel, at points drawn from its `test_domain`.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from sympy.core.function import ArgumentIndexError

from diffcheck.symbolic.parse import CONSTANTS
from diffcheck.symbolic.rules import OUT, PRIMITIVES, RULES, XI, Rule, TableFunction, X, rule_for

ALL_RULES = (*RULES.values(), *PRIMITIVES.values())
POINTS_PER_RULE = 6
DIGITS = 30
CTX = mpmath.MPContext()  # never mpmath's global context: its precision is shared
CTX.dps = DIGITS


def _argument_counts(rule: Rule) -> tuple[int, ...]:
    """The call sizes to test: the arity, and 3 for fold and variadic rules."""
    if rule.arity is None:
        return (1, 2, 3)
    if rule.fold:
        return (rule.arity, 3)
    return (rule.arity,)


CALLS = [
    pytest.param(rule, count, id=f"{rule.name}-{count}")
    for rule in ALL_RULES
    for count in _argument_counts(rule)
]
KERNEL_CALLS = [
    pytest.param(rule, rule.arity or 2, id=rule.name) for rule in ALL_RULES
]  # the kernels take exactly `arity` arguments (variadic: any number, 2 here)


def _interval(rule: Rule, index: int) -> tuple[float, float]:
    # extra arguments of fold and variadic rules share the last argument's interval
    return rule.test_domain[min(index, len(rule.test_domain) - 1)]


def _points(rule: Rule, count: int) -> list[tuple[float, ...]]:
    """Points inside the test domain, away from its edges (room for a stencil)."""
    rng = np.random.default_rng(sum(map(ord, rule.name)) + count)
    points = []
    for _ in range(POINTS_PER_RULE):
        point = []
        for index in range(count):
            low, high = _interval(rule, index)
            margin = 0.02 * (high - low)
            value = float(rng.uniform(low + margin, high - margin))
            point.append(round(value) if index in rule.integer_args else value)
        points.append(tuple(point))
    return points


def _dummies(count: int) -> tuple[sp.Dummy, ...]:
    return tuple(sp.Dummy(f"a{i}", real=True) for i in range(count))


def _definition(rule: Rule, args: tuple[sp.Expr, ...]) -> sp.Expr:
    """The rule's value for a call with `args`, from its definition only."""
    if rule.arity is None:
        return rule.expand(args)
    result = rule.instantiate(rule.definition, args[: rule.arity])
    for arg in args[rule.arity :]:  # a fold rule with more arguments
        result = rule.instantiate(rule.definition, (result, arg))
    return result


def _table_partial(rule: Rule, args: tuple[sp.Expr, ...], index: int) -> sp.Expr | None:
    """The partial of a call with respect to argument `index`, from the table only."""
    if rule.fold and len(args) > rule.arity:
        inner = rule.build(args[:-1])
        out = rule.build(args)
        if index == len(args) - 1:
            return rule.partial(1, (inner, args[-1]), out)
        outer = rule.partial(0, (inner, args[-1]), out)
        return outer * _table_partial(rule, args[:-1], index)
    return rule.partial(index, args, rule.build(args))


def _substitute(args: tuple[sp.Expr, ...], point: tuple[float, ...], rule: Rule) -> dict:
    values = {}
    for index, (arg, value) in enumerate(zip(args, point, strict=True)):
        exact = sp.Integer(value) if index in rule.integer_args else sp.Float(value, DIGITS)
        values[arg] = exact
    return values


def _value(expr: sp.Expr, values: dict) -> mpmath.mpf:
    result = sp.N(expr.xreplace(values), DIGITS)
    assert result.is_number and result.is_real, result
    return CTX.mpf(str(result))


def _close(a: float, b: float, rtol: float, atol: float = 0.0) -> bool:
    return abs(a - b) <= atol + rtol * abs(b)


def _differentiable(rule: Rule) -> list[int]:
    return [i for i in range(len(rule.partials)) if rule.partials[i] is not None]


def _indices(rule: Rule, count: int) -> list[int]:
    if rule.arity is None:
        return list(range(count))
    if rule.fold:
        return list(range(count))
    return _differentiable(rule)


def _numeric_derivative(definition: sp.Expr, arg: sp.Dummy, values: dict) -> mpmath.mpf:
    """d definition / d arg at `values`: a central difference of the definition's
    30-digit values, with a step (1e-10) that its rounding cannot hide, good to about 15
    digits where the definition is smooth around the point."""
    return CTX.diff(lambda t: _value(definition, {**values, arg: sp.Float(t, DIGITS)}),
                    CTX.mpf(str(values[arg])), h=CTX.mpf("1e-10"))  # fmt: skip


@pytest.mark.parametrize(("rule", "count"), CALLS)
def test_rule_partials_equal_sympy_diff_of_definition(rule: Rule, count: int) -> None:
    args = _dummies(count)
    definition = _definition(rule, args)
    for index in _indices(rule, count):
        table = _table_partial(rule, args, index)
        expected = sp.diff(definition, args[index])
        numeric = expected.has(sp.Derivative)  # SymPy cannot differentiate floor or Mod
        for point in _points(rule, count):
            values = _substitute(args, point, rule)
            if numeric:
                reference, rtol, atol = (
                    _numeric_derivative(definition, args[index], values),
                    1e-10,
                    1e-12,
                )
            else:
                reference, rtol, atol = _value(expected, values), 1e-20, 1e-25
            assert _close(_value(table, values), reference, rtol, atol), (
                rule.name,
                index,
                point,
                table,
                expected,
            )


@pytest.mark.parametrize(("rule", "count"), CALLS)
def test_rule_sympy_derivative_equals_table_partial(rule: Rule, count: int) -> None:
    args = _dummies(count)
    call = rule.build(args)
    for index in _indices(rule, count):
        table = _table_partial(rule, args, index)
        derivative = sp.diff(call, args[index])  # fdiff of the rule's SymPy class
        if isinstance(call, TableFunction):
            assert derivative == table
        for point in _points(rule, count):
            values = _substitute(args, point, rule)
            assert _close(_value(derivative, values), _value(table, values), 1e-20, 1e-25), (
                rule.name,
                index,
                point,
            )


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if None in r.partials], ids=lambda r: r.name)
def test_rule_missing_partial_raises_argument_index_error(rule: Rule) -> None:
    args = _dummies(rule.arity)
    call = rule.function(*args)
    for index, partial in enumerate(rule.partials):
        if partial is None:
            with pytest.raises(ArgumentIndexError):
                call.fdiff(index + 1)


@pytest.mark.parametrize(
    "rule",
    [
        r
        for r in RULES.values()
        if isinstance(r.function, type) and issubclass(r.function, TableFunction)
    ],
    ids=lambda r: r.name,
)
def test_table_function_fdiff_rejects_out_of_range_index(rule: Rule) -> None:
    args = _dummies(rule.arity or 2)
    call = rule.function(*args)
    for argindex in (0, len(args) + 1):
        with pytest.raises(ArgumentIndexError):
            call.fdiff(argindex)


def _numpy_at(rule: Rule, point: tuple[float, ...], dtype: type = np.float64) -> np.ndarray:
    return rule.numpy(*(np.array([value], dtype=dtype) for value in point))


@pytest.mark.parametrize(("rule", "count"), KERNEL_CALLS)
def test_rule_numpy_kernel_agrees_with_mpmath_kernel(rule: Rule, count: int) -> None:
    for point in _points(rule, count):
        value = float(_numpy_at(rule, point)[0])
        reference = rule.mpmath(CTX, *(CTX.mpf(v) for v in point))
        assert _close(value, float(reference), 1e-13, 1e-300), (rule.name, point)


@pytest.mark.parametrize(("rule", "count"), [c for c in KERNEL_CALLS if c.values[1] > 1])
def test_rule_numpy_kernel_broadcasts_a_constant_argument(rule: Rule, count: int) -> None:
    # the evaluator passes constants as NumPy scalars beside arrays of points
    points = _points(rule, count)
    columns = [np.array(values) for values in zip(*points, strict=True)]
    expected = rule.numpy(*columns)
    for index in range(count):
        for row, point in enumerate(points):
            args = [np.float64(point[i]) if i == index else columns[i] for i in range(count)]
            value = rule.numpy(*args)
            assert np.shape(value) == (len(points),), (rule.name, index)
            assert value[row] == pytest.approx(expected[row], rel=1e-15), (rule.name, index)


@pytest.mark.parametrize(("rule", "count"), KERNEL_CALLS)
def test_rule_mpmath_kernel_agrees_with_definition(rule: Rule, count: int) -> None:
    args = _dummies(count)
    definition = _definition(rule, args)
    for point in _points(rule, count):
        reference = _value(definition, _substitute(args, point, rule))
        value = rule.mpmath(CTX, *(CTX.mpf(v) for v in point))
        assert _close(value, reference, 1e-25, 1e-28), (rule.name, point)


@pytest.mark.parametrize(("rule", "count"), KERNEL_CALLS)
def test_rule_mpmath_kernel_keeps_the_global_precision(rule: Rule, count: int) -> None:
    ctx = mpmath.MPContext()
    ctx.dps = 50
    before = mpmath.mp.dps
    rule.mpmath(ctx, *(ctx.mpf(v) for v in _points(rule, count)[0]))
    assert mpmath.mp.dps == before
    assert ctx.dps == 50


@pytest.mark.parametrize(("rule", "count"), [c for c in KERNEL_CALLS if c.values[0].complex_step])
def test_rule_complex_step_of_kernel_equals_partial(rule: Rule, count: int) -> None:
    args = _dummies(count)
    h = 1e-20
    for index in _indices(rule, count):
        table = _table_partial(rule, args, index)
        for point in _points(rule, count):
            moved = [complex(v) + (1j * h if i == index else 0) for i, v in enumerate(point)]
            derivative = float(_numpy_at(rule, moved, np.complex128)[0].imag / h)
            expected = float(_value(table, _substitute(args, point, rule)))
            assert _close(derivative, expected, 1e-12, 1e-14), (rule.name, index, point)


@pytest.mark.parametrize(("rule", "count"), KERNEL_CALLS)
def test_rule_central_differences_of_kernel_equal_partial(rule: Rule, count: int) -> None:
    args = _dummies(count)
    for index in _indices(rule, count):
        table = _table_partial(rule, args, index)
        for point in _points(rule, count):
            h = 1e-5 * max(1.0, abs(point[index]))
            above = [v + (h if i == index else 0.0) for i, v in enumerate(point)]
            below = [v - (h if i == index else 0.0) for i, v in enumerate(point)]
            difference = float((_numpy_at(rule, above) - _numpy_at(rule, below))[0]) / (2 * h)
            expected = float(_value(table, _substitute(args, point, rule)))
            assert _close(difference, expected, 1e-6, 1e-8), (rule.name, index, point)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.name)
def test_rule_test_domain_has_one_interval_per_argument(rule: Rule) -> None:
    if rule.arity is None:
        assert len(rule.test_domain) >= 2
    else:
        assert len(rule.test_domain) == rule.arity
    assert all(low <= high for low, high in rule.test_domain)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.name)
def test_rule_templates_use_only_their_own_symbols(rule: Rule) -> None:
    if rule.arity is None:
        assert rule.definition.free_symbols <= {X[0], X[1]}
        assert all(p.free_symbols <= {XI, OUT} for p in rule.partials)
        assert len(rule.partials) == 1
        return
    allowed = set(X[: rule.arity])
    assert rule.definition.free_symbols <= allowed
    assert len(rule.partials) == rule.arity
    for partial in rule.partials:
        if partial is not None:
            assert partial.free_symbols <= allowed | {OUT}
    for kink in rule.kinks:
        assert kink.free_symbols <= allowed


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if not r.inline], ids=lambda r: r.name)
def test_rule_for_finds_the_rule_of_a_call(rule: Rule) -> None:
    args = _dummies(rule.arity or 2)
    assert rule_for(rule.function(*args, evaluate=False)) is rule


def test_rules_names_and_aliases_are_unique() -> None:
    spellings = [name for rule in RULES.values() for name in (rule.name, *rule.aliases)]
    assert len(spellings) == len(set(spellings))
    assert not set(spellings) & set(CONSTANTS)
    assert all(key == rule.name for key, rule in RULES.items())
    assert all(key == rule.name for key, rule in PRIMITIVES.items())
    assert not set(RULES) & set(PRIMITIVES)


def test_rules_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        RULES["sigmoid"] = RULES["tanh"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        RULES["sigmoid"].name = "other"  # type: ignore[misc]


def test_rules_that_are_slow_at_thousands_of_digits_are_not_elementary() -> None:
    # gamma, erfinv and Bessel functions take seconds in mpmath at 3840 digits, where
    # tanh, sec or log(x, b) take milliseconds: refinement stops at 960 digits for them
    special = {rule.name for rule in (*RULES.values(), *PRIMITIVES.values()) if not rule.elementary}
    assert special == {
        "erf", "erfc", "erfinv", "gamma", "lgamma", "digamma", "polygamma", "besselj",
        "besseli", "besselk", "bessely", "i0", "i1", "gammainc", "gammaincc", "betainc",
        "gelu"}  # fmt: skip


def test_rules_that_are_exponentials_are_declared_so() -> None:
    # mpmath gets their arguments only within its exponents' reach: e^(1e4932) would take
    # minutes; sech and csch are 1/cosh and 1/sinh
    exponential = {rule.name for rule in RULES.values() if rule.exponential}
    assert exponential == {
        "exp", "expm1", "sinh", "cosh", "erfc", "gamma", "lgamma", "polygamma", "sigmoid",
        "softplus", "silu", "elu", "sech", "csch"}  # fmt: skip
