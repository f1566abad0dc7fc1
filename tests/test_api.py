"""The Python API: check_gradient and assert_gradient, for a project's own tests."""

from __future__ import annotations

import numpy as np
import pytest

import diffcheck
from diffcheck import ApiError, CaseFileError, assert_gradient, check_gradient
from diffcheck.report.text import render_case


def test_check_gradient_correct_formula() -> None:
    checked = check_gradient(
        "1/(1 + exp(-x))", {"x": "sigmoid(x)*(1 - sigmoid(x))"}, domain={"x": (-30, 30)}
    )
    assert (checked.verdict, checked.passed) == ("correct", True)
    assert checked.evidence == "proved symbolically; agrees at 64 points"


def test_check_gradient_wrong_formula_and_its_report() -> None:
    checked = check_gradient("tanh(x)", {"x": "1 - tanh(x)"}, domain={"x": (-3, 3)}, seed=1)
    assert (checked.verdict, checked.passed) == ("incorrect", False)
    assert str(checked) == checked.report == render_case(checked.result)
    assert checked.report.startswith("FAIL  check_gradient: incorrect, expected correct")
    assert "  claimed ∂/∂x = 1 - tanh(x)\n" in checked.report


def test_check_gradient_callable_gradient() -> None:
    def backward(w, x):
        return {"w": x * np.cos(w * x)}

    checked = check_gradient("sin(w*x)", backward, wrt=["w"], domain={"w": (-1, 1), "x": 2.0})
    assert checked.verdict == "correct"

    def wrong(w, x):
        return (np.cos(w * x),)  # the inner derivative x dropped

    assert check_gradient(
        "sin(w*x)", wrong, wrt=["w"], domain={"w": (-1, 1), "x": 2.0}
    ).verdict == ("incorrect")


def test_check_gradient_where_points_hessian_and_expect() -> None:
    checked = check_gradient(
        "(y - t)^2/2",
        {"w": "(y - t)*y*(1 - y)*x"},
        where={"y": "sigmoid(w*x)"},
        hessian={("w", "w"): "x^2*y*(1 - y)*(y*(1 - y) + (y - t)*(1 - 2*y))"},
        wrt=["w"],
        domain={"w": (-1, 1), "x": (-2, 2), "t": 1},
        points=[{"w": 0.4, "x": 1.0}],
        samples=16,
    )
    assert checked.verdict == "correct", checked.report
    assert check_gradient("x^2", {"x": "x"}, domain={"x": (1, 2)}, expect="incorrect").passed


def test_check_gradient_invalid_arguments_name_the_problem() -> None:
    with pytest.raises(CaseFileError) as raised:
        check_gradient("sigmod(x)", {"x": "1"}, domain={"x": (0, 1)}, tolerance={"atl": 0})
    assert str(raised.value) == (
        "check_gradient: function, column 1: unknown function 'sigmod' (did you mean "
        "'sigmoid'?); check_gradient: tolerance['atl']: unknown key 'atl' in tolerance (did "
        "you mean 'atol'?)"
    )


def test_assert_gradient_raises_with_the_cli_text_and_passes_quietly() -> None:
    with pytest.raises(AssertionError) as raised:
        assert_gradient("sin(x^2)", {"x": "cos(x^2)"}, domain={"x": (-2, 2)})
    assert str(raised.value).startswith("FAIL  check_gradient: incorrect, expected correct")
    assert "wrong at x=" in str(raised.value)
    checked = assert_gradient("x^3", {"x": "3*x^2"}, domain={"x": (-2, 2)})
    assert checked.passed


def test_api_is_exported() -> None:
    assert {"check_gradient", "assert_gradient", "GradientCheck"} <= set(diffcheck.__all__)


def test_numpy_numbers_and_arrays_are_accepted_wherever_numbers_are() -> None:
    checked = check_gradient(
        "x**2*y",
        {"x": "2*x*y"},
        wrt="x",
        domain={"x": (np.float32(-2), np.float64(2)), "y": np.int64(3)},
        points=[{"x": np.float64(0.5)}],
        samples=np.int64(10),
        seed=np.int32(4),
        tolerance={"rtol": np.float64(1e-6)},
    )
    assert checked.verdict == "correct"
    assert checked.evidence == "proved symbolically; agrees at 11 points"
    assert check_gradient("x**2", {"x": np.float64(2.0)}, domain={"x": np.array([1, 1])}).passed


def test_a_single_wrt_name_is_not_split_into_letters() -> None:
    checked = check_gradient("xy*z", {"xy": "z"}, wrt="xy", domain={"xy": (0, 1), "z": 2})
    assert checked.verdict == "correct"


def test_a_gradient_of_the_wrong_type_is_refused_not_ignored() -> None:
    with pytest.raises(ApiError) as raised:
        check_gradient("x**2", "2*x", domain={"x": (0, 1)})
    assert isinstance(raised.value, TypeError)
    assert str(raised.value) == (
        "check_gradient() argument 'gradient' must map each variable to its claimed partial "
        "derivative, or be a callable; got str"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"gradient": {"x": "2*sigmod(x)"}},
         "check_gradient: gradient['x'], column 3: unknown function 'sigmod' (did you mean "
         "'sigmoid'?)"),
        ({"where": {"y": "x +* 2"}},
         "check_gradient: where['y'], column 4: expected a number, a name or '(' but found '*'"),
        ({"hessian": {("x", "x"): "exp(x"}},
         "check_gradient: hessian['x,x'], column 6: expected ')' but found end of expression"),
        ({"domain": {"x": (1, 0)}},
         "check_gradient: domain['x']: the domain of 'x' is empty: low 1 is above high 0"),
        ({"wrt": ["x", "q"]},
         "check_gradient: wrt[1]: wrt names 'q', which the function does not depend on"),
        ({"tolerance": "float23"},
         "check_gradient: tolerance: tolerance must be a mapping {rtol: ..., atol: ...} or one "
         "of: float64, float32; got 'float23' (did you mean 'float32'?)"),
    ],
)  # fmt: skip
def test_check_gradient_errors_name_the_argument_and_the_column(arguments, message) -> None:
    options = {"gradient": {"x": "1"}, "domain": {"x": (0, 1)}, **arguments}
    with pytest.raises(CaseFileError) as raised:
        check_gradient("x", **options)
    assert str(raised.value) == message


def test_a_misspelled_keyword_is_named_with_the_nearest_one() -> None:
    with pytest.raises(ApiError) as raised:
        check_gradient("x^2", {"x": "2*x"}, domian={"x": (0, 1)})
    assert str(raised.value) == (
        "check_gradient() got an unexpected keyword argument 'domian' (did you mean 'domain'?)"
    )
    assert isinstance(raised.value, TypeError)  # `except TypeError` still catches it
    with pytest.raises(TypeError) as raised:
        assert_gradient("x^2", {"x": "2*x"}, tolerence="float32")
    assert str(raised.value) == (
        "assert_gradient() got an unexpected keyword argument 'tolerence' (did you mean "
        "'tolerance'?)"
    )


def test_reports_of_a_call_point_at_the_call_not_at_generated_text() -> None:
    checked = check_gradient("sigmoid(x)", {"x": "sigmoid(x)"}, domain={"x": (0, 1)})
    assert "FAIL check_gradient (check_gradient()): incorrect" in checked.report
    assert "<check_gradient>" not in checked.report

    def raising(x):
        raise ValueError("no")

    failed = check_gradient("x^2", raising, domain={"x": (0, 1)})
    message = "check_gradient(): implementation gradient raised ValueError: no"
    assert failed.result.message == message


def test_tolerance_accepts_a_preset_name() -> None:
    def backward32(x):
        s = 1 / (1 + np.exp(-x.astype(np.float32)))
        return {"x": s * (1 - s)}

    checked = check_gradient("sigmoid(x)", backward32, domain={"x": (-5, 5)})
    assert checked.verdict == "incorrect"
    assert "use `tolerance: float32` for single-precision code" in checked.evidence
    single = check_gradient("sigmoid(x)", backward32, domain={"x": (-5, 5)}, tolerance="float32")
    assert single.passed


def test_autodiff_takes_one_name_or_several_and_refuses_others() -> None:
    pytest.importorskip("torch", reason="the torch oracle needs torch")
    one = check_gradient("x**2", {"x": "2*x"}, domain={"x": [-1, 1]}, autodiff="torch")
    assert one.verdict == "correct" and "torch" in one.result.comparison.results[0].oracles
    with pytest.raises(ApiError) as raised:
        check_gradient("x**2", {"x": "2*x"}, domain={"x": [-1, 1]}, autodiff=["tensorflow"])
    assert str(raised.value) == ("check_gradient() argument 'autodiff' names 'tensorflow', not "
                                 "a framework diffcheck runs: torch, jax")  # fmt: skip
