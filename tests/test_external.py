"""PyTorch's and JAX's autograd as outside references: every rule has a translation,
each translation's gradient agrees with the math on its rule's domain, and where a
framework returns NaN or loses precision the report says so.

CI installs both frameworks and sets DIFFCHECK_REQUIRE_FRAMEWORKS=1, which turns a
missing framework from a skip into a failure, so that these tests cannot vanish there."""

from __future__ import annotations

import importlib
import os
import types

import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner
from strategies import constant_argument, fixed, interval

from diffcheck.cli import main
from diffcheck.oracles import Problem
from diffcheck.oracles.exact import Exact
from diffcheck.oracles.external import FRAMEWORKS, KERNELS, MISSING, ExternalAutodiff
from diffcheck.run.check import Settings, check_case
from diffcheck.symbolic.rules import RULES, Rule


def _framework(name: str) -> types.ModuleType:
    if os.environ.get("DIFFCHECK_REQUIRE_FRAMEWORKS"):
        return importlib.import_module(name)  # CI: a missing framework is a failure
    return pytest.importorskip(name, reason=f"{name} is not installed (CI installs it)")


def test_every_rule_has_a_translation_in_every_framework() -> None:
    # except those the framework has no differentiable counterpart for, listed as such
    for framework in FRAMEWORKS:
        missing = MISSING[framework]
        assert sorted(set(RULES) - set(KERNELS[framework]) - missing) == [], framework
        assert sorted(set(KERNELS[framework]) - set(RULES)) == [], framework
        assert sorted(missing & set(KERNELS[framework])) == [], framework
        assert missing <= set(RULES), framework


def _call(rule: Rule) -> tuple[sp.Expr, tuple[str, ...], np.ndarray]:
    count = 3 if rule.arity is None else rule.arity
    names = tuple(f"a{index}" for index in range(count))
    args = [constant_argument(rule, i) if fixed(rule, i) else sp.Symbol(n)
            for i, n in enumerate(names)]  # fmt: skip
    expr = rule.build(args)
    variables = tuple(sorted(s.name for s in expr.free_symbols))
    rng = np.random.default_rng(11)
    # kinked rules: stay a little away from their kinks, where every method is in doubt
    rows = [rng.uniform(*interval(rule, names.index(name)), 32) for name in variables]
    return expr, variables, np.array(rows)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("rule", list(RULES.values()), ids=lambda rule: rule.name)
def test_framework_gradient_of_every_rule_matches_the_math(framework: str, rule: Rule) -> None:
    _framework(framework)
    if rule.name in MISSING[framework]:
        pytest.skip(f"{framework} has no differentiable {rule.name}")
    expr, variables, points = _call(rule)
    if (framework, rule.name) in NEAR_ZERO_DEFECTS:
        points = points[:, np.all(np.abs(points) > 0.1, axis=0)]
    problem = Problem.derive(expr, variables, variables)
    exact = Exact().gradient(problem, points)
    estimate = ExternalAutodiff(framework).gradient(problem, points)
    for name in variables:
        expected, value = exact.values[name], estimate.values[name]
        usable = np.isfinite(expected)
        assert np.allclose(value[usable], expected[usable], rtol=1e-9, atol=1e-12), name


# a framework's own defect, which diffcheck reports where a case meets it: JAX's
# bessel_jn loses its derivative's digits near 0 (J0'(-0.0058) comes out as 8828)
NEAR_ZERO_DEFECTS = {("jax", "besselj")}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_framework_nan_is_reported(framework: str, tmp_path) -> None:
    _framework(framework)
    path = tmp_path / "case.yaml"
    path.write_text("cases:\n  - name: c\n    function: log(1 + exp(x))\n    points: [{x: 800}]"
                    "\n    samples: 0\n", encoding="utf-8")  # fmt: skip
    from diffcheck.cases.loader import load_case_file

    (case,) = load_case_file(path).cases
    result = check_case(case, Settings(autodiff=(framework,)))
    label = {"torch": "PyTorch autograd", "jax": "JAX autodiff"}[framework]
    assert (
        f"{label} returns NaN or inf at 1 point of ∂/∂x (e.g. x=800: NaN, where the "
        "derivative is 1)"
    ) in result.verdict.warnings


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_framework_precision_loss_is_the_odd_one_out(framework: str, tmp_path) -> None:
    _framework(framework)
    path = tmp_path / "case.yaml"
    path.write_text("cases:\n  - name: c\n    function: tanh(x)\n    points: [{x: 25}]\n"
                    "    samples: 0\n    tolerance: {atol: 0}\n", encoding="utf-8")  # fmt: skip
    from diffcheck.cases.loader import load_case_file

    (case,) = load_case_file(path).cases
    result = check_case(case, Settings(autodiff=(framework,)))
    assert result.verdict.verdict == "correct"
    odd = [w for w in result.verdict.warnings if "disagree" in w]
    assert len(odd) == 1 and "(float64 rounding or cancellation in its formula)" in odd[0]


def test_missing_framework_is_a_usage_error(monkeypatch, tmp_path) -> None:
    from diffcheck.oracles import external

    monkeypatch.setattr(external, "available", lambda framework: False)
    path = tmp_path / "case.yaml"
    path.write_text("cases:\n  - name: c\n    function: x^2\n    domain: {x: [0, 1]}\n")
    result = CliRunner().invoke(main, ["check", str(path), "--autodiff", "torch"])
    assert result.exit_code == 2
    assert (
        "Error: --autodiff torch needs torch, which is not installed "
        "(pip install 'diffcheck-grad[torch]')"
    ) in result.stderr


def test_framework_failure_is_reported_not_raised(monkeypatch, tmp_path) -> None:
    _framework("torch")
    from diffcheck.cases.loader import load_case_file
    from diffcheck.oracles import external

    def broken(f, x):
        raise RuntimeError("derivative for aten::something is not implemented")

    monkeypatch.setitem(external.KERNELS["torch"], "sigmoid", broken)
    path = tmp_path / "case.yaml"
    path.write_text("cases:\n  - name: c\n    function: sigmoid(x)\n    points: [{x: 0}]\n"
                    "    samples: 0\n", encoding="utf-8")  # fmt: skip
    (case,) = load_case_file(path).cases
    result = check_case(case, Settings(autodiff=("torch",)))
    assert result.verdict.verdict == "correct"
    assert result.verdict.warnings == (
        "PyTorch autograd returns NaN or inf at 1 point of ∂/∂x (e.g. x=0: NaN, where the "
        "derivative is 0.25; failed: RuntimeError: derivative for aten::something is not "
        "implemented)",
    )
