"""Second-order claims: a case may claim Hessian entries "x,y" (d/dy of the partial d/dx);
each is checked like a gradient against the symbolic second derivative, with forward-
over-reverse mode and finite differences of the gradient as oracles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from diffcheck.cases.loader import load_case_file
from diffcheck.oracles import Problem
from diffcheck.oracles.exact import Exact
from diffcheck.oracles.finite import FiniteDifferences
from diffcheck.oracles.reverse import ForwardOverReverse
from diffcheck.report.text import render_json, render_text
from diffcheck.run.check import Settings, check_case
from diffcheck.symbolic.parse import parse_expression

SIGMOID_MIXED = (
    "3*x^2 + sigmoid(x*y)*(1 - sigmoid(x*y)) + x*y*sigmoid(x*y)*(1 - sigmoid(x*y))"
    "*(1 - 2*sigmoid(x*y))"
)


def _case(tmp_path: Path, body: str):
    path = tmp_path / "hessian.yaml"
    path.write_text("cases:\n" + body, encoding="utf-8")
    return load_case_file(path)


def _check(tmp_path: Path, body: str):
    (case,) = _case(tmp_path, body).cases
    return check_case(case, Settings(samples=32))


@pytest.mark.parametrize(
    ("function", "pair", "claim"),
    [
        ("x^3*y + sigmoid(x*y)", "x,y", SIGMOID_MIXED),
        ("x^3*y + sigmoid(x*y)", "y,x", SIGMOID_MIXED),
        ("x^3*y", "x,x", "6*x*y"),
        ("relu(x)*y^2", "x,y", "2*y*heaviside(x)"),
        ("logsumexp(x, y)", "x,y", "-exp(x + y - 2*logsumexp(x, y))"),
    ],
)
def test_hessian_right_claims_are_correct(tmp_path: Path, function, pair, claim) -> None:
    result = _check(
        tmp_path,
        f'  - name: h\n    function: {function}\n    hessian: {{"{pair}": "{claim}"}}\n'
        "    domain: {x: [-2, 2], y: [-2, 2]}\n",
    )
    assert result.status == "pass", result.verdict
    (entry,) = result.second_order
    assert entry.pair == tuple(pair.split(","))
    assert entry.verdict.verdict == "correct"


@pytest.mark.parametrize(
    ("function", "claim", "method"),
    [
        ("x^3*y", "3*x^2*y", "complex step over reverse mode"),  # analytic
        ("relu(x)*x*y", "2*x*heaviside(x)*y", "central differences over reverse mode"),
    ],
)
def test_hessian_wrong_claims_are_incorrect(tmp_path: Path, function, claim, method) -> None:
    result = _check(
        tmp_path,
        f'  - name: h\n    function: {function}\n    hessian: {{"x,y": "{claim}"}}\n'
        "    domain: {x: [0.5, 2], y: [-2, 2]}\n    expect: incorrect\n",
    )
    assert result.status == "pass"
    assert result.verdict.evidence.startswith("counterexample at x=")
    assert "∂²/∂x∂y expected" in result.verdict.evidence
    assert result.verdict.evidence.endswith(
        "reverse mode and finite differences agree with the expected value"
    )
    (variable,) = result.second_order[0].comparison.results
    assert variable.oracles["reverse"].method == method


def test_hessian_key_errors_are_reported_verbatim(tmp_path: Path) -> None:
    loaded = _case(
        tmp_path,
        "  - name: h\n    function: x*y\n    hessian:\n      x: 1\n      x,q: 1\n"
        "      x,y: 1\n      ' x , y ': 1\n    domain: {x: [0, 1], y: [0, 1]}\n",
    )
    assert [str(error) for error in loaded.errors] == [
        f"{tmp_path / 'hessian.yaml'}:5:7: a hessian key names two variables, as 'x,y'; got 'x'",
        f"{tmp_path / 'hessian.yaml'}:6:7: hessian entry 'x,q' names 'q', which is not in wrt "
        "(x, y)",
        f"{tmp_path / 'hessian.yaml'}:8:7: hessian entry ' x , y ' repeats 'x,y'",
    ]


def test_forward_over_reverse_matches_the_symbolic_second_derivative() -> None:
    base = Problem.derive(parse_expression("sin(x*y)*exp(y)"), ("x", "y"), ("x", "y"))
    inner = Problem.derive(base.gradient["x"], ("y",), ("x", "y"))
    points = np.random.default_rng(3).uniform(-1, 1, (2, 200))
    exact = Exact().gradient(inner, points).values["y"]
    for oracle in (ForwardOverReverse(base, "x"), FiniteDifferences()):
        estimate = oracle.gradient(inner, points)
        assert np.allclose(estimate.values["y"], exact, rtol=1e-8, atol=1e-10), oracle.name
        assert np.all(np.abs(estimate.values["y"] - exact) <= 4 * estimate.errors["y"] + 1e-15)


def test_hessian_in_the_reports(tmp_path: Path) -> None:
    result = _check(
        tmp_path,
        '  - name: h\n    function: x^3*y\n    hessian: {"x,y": "3*x^2*y"}\n'
        "    domain: {x: [0.5, 2], y: [-2, 2]}\n",
    )
    entry = json.loads(render_json([result]))["cases"][0]["hessian"]["x,y"]
    assert (entry["claimed"], entry["derived"], entry["claim"]) == (True, "3*x**2", "3*x^2*y")
    assert set(entry["oracles"]) == {"exact", "reverse", "finite"}
    text = render_text([result])
    assert "  derived ∂²/∂x∂y = 3*x**2\n  claimed ∂²/∂x∂y = 3*x^2*y\n" in text


def test_hessian_near_float64s_end_is_not_a_conflict(tmp_path: Path) -> None:
    # CASES.md's overflow example one order up: the complex step's imaginary part
    # underflows near x = 709, and central differences of the gradient settle it
    result = _check(
        tmp_path,
        "  - name: h\n    function: log(1 + exp(x))\n"
        '    hessian: {"x,x": "exp(x)/(1 + exp(x))^2"}\n    domain: {x: [700, 800]}\n',
    )
    assert result.verdict.verdict == "correct", result.verdict


def test_a_kink_of_the_gradient_is_named_as_such_not_as_the_functions(tmp_path: Path) -> None:
    # relu(x)**2 is differentiable at 0; its derivative 2*relu(x) is not
    result = _check(tmp_path, (
        "  - name: relu-squared\n    function: relu(x)**2\n    gradient: {x: 2*relu(x)}\n"
        "    hessian: {\"x,x\": 2*heaviside(x)}\n    domain: {x: [-1, 1]}\n"
        "    points: [{x: 0}]\n"
    ))  # fmt: skip
    assert result.verdict.verdict == "correct"
    assert result.verdict.warnings == (
        "1 point lies where ∂f/∂x is not differentiable (e.g. x=0); left out",
    )


@pytest.mark.parametrize(
    ("function", "pair", "claim", "point"),
    [("v*relu(w*x)", "w,v", "x*heaviside(w*x, 0)", "{v: 0.5, w: 0, x: 0.7}"),
     ("relu(x)*y", "x,y", "heaviside(x, 0)", "{x: 0, y: 1}"),
     ("abs(x)*y", "x,y", "2*heaviside(x, 1) - 1", "{x: 0, y: 1}"),
     ("max(x, y)*v", "x,v", "heaviside(x - y, 1)", "{x: 1, y: 1, v: 1}")],
)  # fmt: skip
def test_a_mixed_entry_is_not_judged_where_the_gradient_does_not_exist(
    tmp_path: Path, function: str, pair: str, claim: str, point: str
) -> None:
    # along the second variable the first partial may look smooth (x*heaviside(w*x) in
    # v), but at w*x = 0 it does not exist, so neither does the entry: PyTorch's
    # relu'(0) = 0 in a claim is not refuted there
    names = sorted({*pair.split(","), *point.strip("{}").replace(" ", "").split(",")})
    variables = sorted({name.split(":")[0] for name in names})
    domain = ", ".join(f"{name}: [-1, 1]" for name in variables)
    result = _check(tmp_path, (
        f"  - name: mixed\n    function: {function}\n    hessian: {{\"{pair}\": '{claim}'}}\n"
        f"    domain: {{{domain}}}\n    points: [{point}]\n"
    ))  # fmt: skip
    assert result.verdict.verdict == "correct", result.verdict
    (entry,) = result.second_order
    assert not entry.comparison.usable[0]  # the explicit point, on the kink, left out


def test_a_hessian_where_no_gradient_exists_is_inconclusive_once(tmp_path: Path) -> None:
    result = _check(tmp_path, (
        "  - name: on-the-kink\n    function: relu(x)*y\n    hessian: {\"x,y\": 'heaviside(x)'}\n"
        "    domain: {x: 0, y: [-1, 1]}\n"
    ))  # fmt: skip
    assert result.verdict.verdict == "inconclusive"
    assert result.verdict.reasons == (
        "no point where the function can be checked: all 32 points are at non-differentiable "
        "places",
    )
