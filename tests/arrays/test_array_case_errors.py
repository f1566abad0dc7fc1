"""Mistakes in array cases reported once, where they are: the cotangent's name taken by a
variable, an intermediate with an error used later, a dimension of a size that is not
one."""

from __future__ import annotations

from pathlib import Path

from diffcheck.cases.loader import load_case_file
from diffcheck.run.check import check_case


def _load(tmp_path: Path, text: str):  # noqa: ANN202
    path = tmp_path / "case.yaml"
    path.write_text(text)
    return load_case_file(str(path))


def _errors(tmp_path: Path, text: str) -> list[str]:
    return [str(error).split("case.yaml:", 1)[1] for error in _load(tmp_path, text).errors]


CLASH = "'g' is both a variable and the cotangent's name; name the cotangent otherwise " \
        "(cotangent: <name>)"  # fmt: skip


def test_an_array_variable_g_and_the_default_cotangent(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [3], g: [3]}
    function: x * g
    vjp:
      x: g * g
    domain: {x: [-1, 1], g: [0.5, 1]}
"""
    assert _errors(tmp_path, text) == [f"5:5: {CLASH}"]
    renamed = text.replace(
        "    vjp:\n      x: g * g", "    cotangent: dy\n    vjp:\n      x: dy * g"
    )
    (case,) = _load(tmp_path, renamed).cases
    assert check_case(case).verdict.verdict == "correct"


def test_a_scalar_variable_g_and_the_default_cotangent(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [3]}
    function: g * tanh(x)
    wrt: [x]
    vjp:
      x: g * (1 - tanh(x)**2)
    domain: {x: [-1, 1], g: [0.5, 2]}
"""
    assert _errors(tmp_path, text) == [f"6:5: {CLASH}"]


def test_a_given_cotangent_name_that_a_scalar_variable_has(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [3]}
    cotangent: s
    function: s * x
    wrt: [x]
    vjp:
      x: s * s
    domain: {x: [-1, 1], s: [0.5, 2]}
"""
    assert _errors(tmp_path, text) == [f"4:16: {CLASH.replace(chr(39) + 'g', chr(39) + 's')}"]


def test_a_variable_g_where_no_cotangent_is_needed(tmp_path: Path) -> None:
    # a gradient needs no cotangent: g stays the variable, and every variable is checked
    text = """cases:
  - name: c
    shapes: {x: [3], g: [3]}
    function: sum(x * g)
    gradient: {x: g, g: x}
    domain: {x: [-1, 1], g: [-1, 1]}
"""
    (case,) = _load(tmp_path, text).cases
    assert case.variables == ("g", "x") and case.cotangent == "dy"
    assert check_case(case).verdict.verdict == "correct"


def test_an_intermediate_with_an_error_is_reported_once(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [3], W: [2, 2]}
    where:
      h: W @ x
      k: h * 2
    function: sum(k)
    domain: {x: [-1, 1], W: [-1, 1]}
"""
    assert _errors(tmp_path, text) == [
        "5:12: shapes do not fit for @: W has shape [2, 2], x has shape [3]"
    ]
    cotangent = """cases:
  - name: c
    shapes: {x: [3], V: [3, 3]}
    where:
      h: g @ V
      k: h * x
    function: V @ x
    vjp:
      x: k
    domain: {x: [-1, 1], V: [-1, 1]}
"""
    assert _errors(tmp_path, cotangent) == []  # an intermediate of the backward pass


def test_a_dimension_of_a_size_that_is_not_one_is_reported_once(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [n]}
    dims: {n: SIZE}
    function: sum(x)
    domain: {x: [-1, 1]}
"""
    expected = {
        "0": "4:15: the size of 'n' must be at least 1",
        "-2": "4:15: the size of 'n' must be a whole number >= 1, got '-2'",
        "2.5": "4:15: the size of 'n' must be a whole number >= 1, got '2.5'",
        "[1, 0]": "4:19: the size of 'n' must be at least 1",
        "[]": "4:15: dims: 'n' needs at least one size",
    }
    for size, message in expected.items():
        assert _errors(tmp_path, text.replace("SIZE", size)) == [message], size


OVERLOADS = """cases:
  - name: log-base
    shapes: {x: [3]}
    function: sum(log(x, 2))
    gradient: {x: 1/(x*log(2))}
    domain: {x: [0.5, 1]}
  - name: log-base-wrong
    shapes: {x: [3]}
    function: sum(log(x, 2))
    gradient: {x: 1/x}
    domain: {x: [0.5, 1]}
    expect: incorrect
  - name: heaviside-at-half
    shapes: {x: [3]}
    function: sum(heaviside(x, 0.5) * x**2)
    gradient:
      x: 2*heaviside(x, 0.5)*x
    domain: {x: [-1, 1]}
"""


def test_a_function_with_two_arities_is_called_either_way_in_arrays(tmp_path: Path) -> None:
    loaded = _load(tmp_path, OVERLOADS)
    assert [str(error) for error in loaded.errors] == []
    verdicts = [check_case(case).verdict.verdict for case in loaded.cases]
    assert verdicts == ["correct", "incorrect", "correct"]


def test_a_wrong_count_of_arguments_names_every_arity(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [3]}
    function: sum(log(x, 2, 3))
    domain: {x: [0.5, 1]}
"""
    assert _errors(tmp_path, text) == ["4:19: log takes 1 or 2 arguments, got 3"]


BACKWARD = """cases:
  - name: c
    shapes: {x: [3], W: [2, 3]}
    where:
      h: tanh(W @ x)
      dz: g * (1 - h**2)
    function: h
    vjp:
      x: W.T @ dz
      W: outer(dz, x)
    domain: {x: [-1, 1], W: [-1, 1]}
  - name: wrong
    shapes: {x: [3], W: [2, 3]}
    where:
      h: tanh(W @ x)
      dz: g * (1 - h**2)
    function: h
    vjp:
      x: W.T @ g
    domain: {x: [-1, 1], W: [-1, 1]}
    expect: incorrect
"""


def test_intermediates_that_use_the_cotangent_serve_the_vjp_claims(tmp_path: Path) -> None:
    loaded = _load(tmp_path, BACKWARD)
    assert [str(error) for error in loaded.errors] == []
    assert [check_case(case).verdict.verdict for case in loaded.cases] == ["correct", "incorrect"]
    assert [name for name, _ in loaded.cases[0].instances[0].intermediates] == ["h"]
