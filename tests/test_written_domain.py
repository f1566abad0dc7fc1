"""Cases are read as written: a name SymPy cancels is still a variable, and where the
function as written is not defined (sqrt(x)**2 at x < 0, x**2/x at 0), neither is the
case, though SymPy reads both as x."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffcheck.cases.loader import load_case_file
from diffcheck.run.check import Settings, check_case


def _results(folder: Path, text: str) -> dict[str, object]:
    path = folder / "cases.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_case_file(path)
    assert [str(error) for error in loaded.errors] == []
    return {case.name: check_case(case, Settings()) for case in loaded.cases}


SQUARED_ROOTS = """\
defaults: {samples: 8}
cases:
  - name: inline
    function: sqrt(x)**2
    gradient: {x: 2*sqrt(x) * 1/(2*sqrt(x))}
    domain: {x: [-1, 1]}
  - name: through-an-intermediate
    where: {u: sqrt(x)}
    function: u**2
    gradient: {x: 2*u * 1/(2*sqrt(x))}
    domain: {x: [-1, 1]}
  - name: inside-an-intermediate
    where: {u: sqrt(x)**2}
    function: 3*u
    gradient: {x: 3}
    domain: {x: [-1, 1]}
  - name: removable-quotient
    function: x**2/x
    gradient: {x: (2*x*x - x**2)/x**2}
    domain: {x: [-1, 1]}
    points: [{x: 0}]
  - name: wrong-factor
    function: sqrt(x)**2
    gradient: {x: 2*sqrt(x) * 1/sqrt(x)}
    domain: {x: [-1, 1]}
    expect: incorrect
"""


def test_where_the_function_as_written_is_undefined_the_case_is_too(tmp_path: Path) -> None:
    results = _results(tmp_path, SQUARED_ROOTS)
    for name in (
        "inline",
        "through-an-intermediate",
        "inside-an-intermediate",
        "removable-quotient",
    ):
        result = results[name]
        assert (result.status, result.verdict.verdict) == ("pass", "correct"), name
        assert result.comparison.undefined.any(), name  # left out, with a warning
    quotient = results["removable-quotient"].comparison
    assert quotient.undefined[0] and not quotient.usable[0]  # x = 0, the explicit point
    # the points left out are those of the function as written, no others
    inline = results["inline"].comparison
    assert inline.undefined.tolist() == (inline.points[0] < 0).tolist()
    wrong = results["wrong-factor"]
    assert (wrong.status, wrong.verdict.verdict) == ("pass", "incorrect")


CANCELLED = """\
defaults: {samples: 8}
cases:
  - name: bias-before-centring
    function: (w*x1 + b) - ((w*x1 + b) + (w*x2 + b))/2
    wrt: [w, b]
    gradient: {w: (x1 - x2)/2, b: 0}
    domain: {w: [-1, 1], b: [-1, 1], x1: [-2, 2], x2: [-2, 2]}
  - name: bias-claimed-one
    function: (w*x1 + b) - ((w*x1 + b) + (w*x2 + b))/2
    wrt: [b]
    gradient: {b: 1}
    domain: {w: [-1, 1], b: [-1, 1], x1: [-2, 2], x2: [-2, 2]}
    expect: incorrect
  - name: cancelled-in-an-intermediate
    where: {u: x + y - y}
    function: u**2
    gradient: {x: 2*x, y: 0}
    domain: {x: [-1, 1], y: [-1, 1]}
"""


def test_a_variable_sympy_cancels_is_still_the_cases(tmp_path: Path) -> None:
    results = _results(tmp_path, CANCELLED)
    for name, variables in (("bias-before-centring", ("b", "w", "x1", "x2")),
                            ("bias-claimed-one", ("b", "w", "x1", "x2")),
                            ("cancelled-in-an-intermediate", ("x", "y"))):  # fmt: skip
        result = results[name]
        assert result.status == "pass", (name, result.message)
        assert result.case.variables == variables
    assert results["bias-claimed-one"].verdict.verdict == "incorrect"
    assert results["cancelled-in-an-intermediate"].case.wrt == ("x", "y")


@pytest.mark.parametrize("text", ["x + y - y", "x*y/y"])
def test_a_cancelled_variable_needs_a_domain_as_any_other(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(f"cases:\n  - name: c\n    function: {text}\n    domain: {{x: [1, 2]}}\n",
                    encoding="utf-8")  # fmt: skip
    errors = [str(error) for error in load_case_file(path).errors]
    assert errors == [f"{path}:4:13: no domain for 'y': add 'y: [low, high]' (or a fixed "
                      "value) under domain"]  # fmt: skip
