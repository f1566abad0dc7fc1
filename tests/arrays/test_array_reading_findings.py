"""Array cases read as scalar ones are: a name only a claim uses, a constant too large to
compute, a point's cotangent, names that clash, a typo in a claim, a constant expression
as a claim, each reported once at FILE:LINE:COLUMN, and the other cases still read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from diffcheck.cases.array_points import complete_point, draw_point
from diffcheck.cases.loader import load_case_file
from diffcheck.run.check import check_case


def _load(tmp_path: Path, text: str):  # noqa: ANN202
    path = tmp_path / "case.yaml"
    path.write_text(text)
    return load_case_file(str(path))


def _errors(tmp_path: Path, text: str) -> list[str]:
    return [str(error).split("case.yaml:", 1)[1] for error in _load(tmp_path, text).errors]


def _verdict(tmp_path: Path, text: str) -> str:
    (case,) = _load(tmp_path, text).cases
    return check_case(case).verdict.verdict


# ---- C1: a name that only a claim uses -------------------------------------------------

G_ONLY_IN_CLAIM = """cases:
  - name: g-only-in-claim
    shapes: {x: [3]}
    function: 9.81 * sum(x**2)
    gradient:
      x: 2 * g * x
    domain: {x: [-1, 1], g: 9.81}
    samples: 2
"""


def test_the_cotangents_name_only_in_a_gradient_claim(tmp_path: Path) -> None:
    # as for scalars: a claim may use the variables and the intermediates, nothing else
    assert _errors(tmp_path, G_ONLY_IN_CLAIM) == [
        "6:14: 'g' in the claim for x is neither a variable nor an intermediate",
        "7:26: the domain gives 'g', which the case does not use",
    ]
    without_domain = G_ONLY_IN_CLAIM.replace(", g: 9.81", "")
    assert _errors(tmp_path, without_domain) == [
        "6:14: 'g' in the claim for x is neither a variable nor an intermediate"
    ]


def test_another_name_only_in_a_claim(tmp_path: Path) -> None:
    text = G_ONLY_IN_CLAIM.replace("2 * g * x", "2 * c * x").replace("g: 9.81", "c: 9.81")
    assert _errors(tmp_path, text) == [
        "6:14: 'c' in the claim for x is neither a variable nor an intermediate",
        "7:26: the domain gives 'c', which the case does not use",
    ]


def test_the_same_name_in_the_function_as_well_is_a_variable(tmp_path: Path) -> None:
    text = G_ONLY_IN_CLAIM.replace("9.81 * sum", "g * sum").replace("wrt", "wrt")
    text = text.replace("    gradient:", "    wrt: [x]\n    gradient:")
    assert _verdict(tmp_path, text) == "correct"


def test_a_name_in_an_intermediate_only_a_claim_uses_is_a_variable(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [3]}
    where:
      k: 2 * c * x
    function: c * sum(x**2)
    wrt: [x]
    gradient:
      x: k
    domain: {x: [-1, 1], c: 3}
"""
    assert _verdict(tmp_path, text) == "correct"


# ---- C2: constants too large to compute ------------------------------------------------


def _function(text: str) -> str:
    return f"""cases:
  - name: c
    shapes: {{x: [3]}}
    function: {text}
    domain: {{x: [-1, 1]}}
"""


TOO_LARGE = "the constant is too large: its exact value would have more than 10000 bits"


def test_a_constant_power_too_large_is_refused_as_for_scalars(tmp_path: Path) -> None:
    # the scalar grammar's message, at the column of the operator
    assert _errors(tmp_path, _function("sum(x) * 2**(2**24)")) == [
        "4:25: exponent too large for a constant base (16777216)"
    ]
    assert _errors(tmp_path, _function("sum(x) * 2**20000")) == [
        "4:25: exponent too large for a constant base (20000)"
    ]
    assert _errors(tmp_path, _function("sum(x) * 10**10000")) == [f"4:26: {TOO_LARGE}"]


def test_powers_that_would_run_for_ever_are_refused(tmp_path: Path) -> None:
    assert _errors(tmp_path, _function("sum(x**(10**10**10))")) == [
        "4:25: exponent too large for a constant base (10000000000)"
    ]
    assert _errors(tmp_path, _function("sum(x) * 10**(-10**10)")) == [
        "4:26: exponent too large for a constant base (-10000000000)"
    ]


def test_constants_folded_into_a_product_are_bounded_too(tmp_path: Path) -> None:
    text = _function("sum(x) * 10**2000 * 10**2000 * 10**2000 * 10**2000")
    assert _errors(tmp_path, text) == [f"4:33: {TOO_LARGE}"]


def test_a_constant_within_the_bound_still_reads(tmp_path: Path) -> None:
    assert _verdict(tmp_path, _function("sum(x) * 2**10 * 10**(-300) * 2**-1000")) == "correct"


# ---- C3: the cotangent an explicit point gives -----------------------------------------

POINT_COTANGENT = """cases:
  - name: point-cotangent-wrong-shape
    shapes: {x: [2]}
    function: x**2
    vjp:
      x: 2*x*g
    samples: 0
    points:
      - {x: [1, 2], g: [1, 2, 3]}
"""


def test_a_points_cotangent_of_another_shape_is_an_error(tmp_path: Path) -> None:
    wrong = "point 1: the cotangent 'g' has shape {}, which does not fit the function's shape [2]"
    assert _errors(tmp_path, POINT_COTANGENT) == ["9:9: " + wrong.format("[3]")]
    # with random points beside it, the point is not dropped unsaid either
    with_samples = POINT_COTANGENT.replace("samples: 0", "samples: 2\n    domain: {x: [-1, 1]}")
    assert _errors(tmp_path, with_samples) == ["10:9: " + wrong.format("[3]")]
    scalar = POINT_COTANGENT.replace("g: [1, 2, 3]", "g: 3")
    assert _errors(tmp_path, scalar) == ["9:9: " + wrong.format("[]")]


def test_a_points_cotangent_of_the_functions_shape_is_used(tmp_path: Path) -> None:
    assert _verdict(tmp_path, POINT_COTANGENT.replace("[1, 2, 3]", "[1, 2]")) == "correct"


def test_a_points_cotangent_in_a_sweep_of_sizes(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [n]}
    dims: {n: [2, 3]}
    function: x**2
    vjp:
      x: 2*x*g
    samples: 0
    points:
      - {x: [1, 2], g: [1, 2]}
      - {x: [1, 2, 3], g: [1, 2]}
"""
    assert _errors(tmp_path, text) == [
        "11:9: point 2: the cotangent 'g' has shape [2], which does not fit the function's "
        "shape [3]"
    ]


def test_a_point_giving_a_cotangent_the_case_does_not_use(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [2]}
    function: sum(x**2)
    gradient:
      x: 2*x
    samples: 0
    points:
      - {x: [1, 2], g: 1}
"""
    assert _errors(tmp_path, text) == ["9:21: point 1 gives 'g', which the case does not use"]


# ---- C4: an intermediate that takes another's name -------------------------------------

SHADOWS = """cases:
  - name: intermediate-named-like-the-cotangent
    shapes: {x: [3]}
    where:
      g: x**2
    function: exp(x)
    vjp:
      x: g*exp(x)
    domain: {x: [-1, 1]}
"""


def test_an_intermediate_named_like_the_cotangent(tmp_path: Path) -> None:
    assert _errors(tmp_path, SHADOWS) == [
        "7:5: 'g' is both an intermediate and the cotangent's name; name the cotangent "
        "otherwise (cotangent: <name>)"
    ]
    # either renamed, the case reads and is right
    renamed = SHADOWS.replace("function: exp(x)", "function: exp(g)\n    cotangent: dy")
    assert _verdict(tmp_path, renamed.replace("g*exp(x)", "dy*2*x*exp(g)")) == "correct"


def test_an_intermediate_g_where_no_cotangent_is_needed(tmp_path: Path) -> None:
    # a gradient needs no cotangent: the intermediate keeps g
    text = """cases:
  - name: c
    shapes: {x: [3]}
    where:
      g: x**2
    function: sum(g)
    gradient:
      x: 2*x
    domain: {x: [-1, 1]}
"""
    assert _verdict(tmp_path, text) == "correct"


def test_an_intermediate_named_like_an_array_variable(tmp_path: Path) -> None:
    text = """cases:
  - name: intermediate-shadows-array-variable
    shapes: {x: [3]}
    where:
      x: x**2
    function: sum(x)
    gradient:
      x: 2*x
    domain: {x: [-1, 1]}
"""
    assert _errors(tmp_path, text) == ["5:10: intermediate 'x' is defined in terms of itself"]
    other = text.replace("x: x**2", "x: 2*y").replace("{x: [3]}", "{x: [3], y: [3]}")
    other = other.replace("domain: {x: [-1, 1]}", "domain: {x: [-1, 1], y: [-1, 1]}")
    assert _errors(tmp_path, other) == [
        "5:7: 'x' is both an array variable and an intermediate; give the intermediate another name"
    ]


def test_intermediates_are_defined_in_order(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [3]}
    where:
      a: 2*b
      b: x**2
    function: sum(a)
    domain: {x: [-1, 1]}
"""
    assert _errors(tmp_path, text) == [
        "5:10: intermediate 'a' uses 'b', which is defined later; intermediates are defined "
        "in order"
    ]


# ---- C5: a structured domain for the cotangent -----------------------------------------

COTANGENT_ONEHOT = """cases:
  - name: cotangent-onehot
    shapes: {z: [4]}
    function: softmax(z)
    vjp:
      z: softmax(z) * (g - sum(g * softmax(z)))
    domain: {z: [-2, 2], g: onehot}
    samples: 4
"""


def test_the_cotangent_is_drawn_from_a_structure_that_fits(tmp_path: Path) -> None:
    (case,) = _load(tmp_path, COTANGENT_ONEHOT).cases
    (instance,) = case.instances
    rng = np.random.default_rng(0)
    for _ in range(8):
        values = complete_point(case, instance, draw_point(case, instance, rng), rng)
        assert sorted(values["g"]) == [0, 0, 0, 1]
    assert check_case(case).verdict.verdict == "correct"


def test_a_structure_that_does_not_fit_the_functions_shape(tmp_path: Path) -> None:
    spd = COTANGENT_ONEHOT.replace("g: onehot", "g: spd")
    assert _errors(tmp_path, spd) == [
        "7:29: spd needs a square matrix, or a stack of square matrices; the cotangent 'g' "
        "has shape [4], the function's shape"
    ]
    text = """cases:
  - name: c
    shapes: {z: [n]}
    dims: {n: [2, 3]}
    function: sum(z**2)
    vjp:
      z: 2*z*g
    domain: {z: [-2, 2], g: simplex}
"""
    assert _errors(tmp_path, text) == [
        "8:29: simplex needs a last axis of length 1 or more (each slice along it sums to 1); "
        "the cotangent 'g' has shape [] at n=2, the function's shape"
    ]


# ---- C6: a typo in a claim, a claim using another cotangent, a cotangent's name taken --


def test_a_typo_in_an_array_claim_is_named_as_for_scalars(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [3]}
    function: sum(x**2)
    gradient:
      x: 2*xx
    domain: {x: [-1, 1]}
"""
    assert _errors(tmp_path, text) == [
        "6:12: 'xx' in the claim for x is neither a variable nor an intermediate "
        "(did you mean 'x'?)"
    ]


def test_a_vjp_claim_using_g_where_the_cotangent_is_dy(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [3]}
    function: exp(x)
    cotangent: dy
    vjp:
      x: g * exp(x)
    domain: {x: [-1, 1]}
"""
    assert _errors(tmp_path, text) == [
        "7:10: 'g' in the claim for x is neither a variable, an intermediate nor the cotangent 'dy'"
    ]


def test_a_cotangent_named_like_a_variable(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [3]}
    function: exp(x)
    cotangent: x
    vjp:
      x: x * exp(x)
    domain: {x: [-1, 1]}
"""
    assert _errors(tmp_path, text) == [
        "5:16: 'x' is both a variable and the cotangent's name; name the cotangent otherwise "
        "(cotangent: <name>)"
    ]


def test_a_cotangent_declared_under_shapes_but_used_only_by_claims(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [3], dy: [3]}
    function: exp(x)
    cotangent: dy
    vjp:
      x: dy * exp(x)
    domain: {x: [-1, 1]}
"""
    assert _errors(tmp_path, text) == [
        "5:16: the cotangent 'dy' takes the function's shape; do not give it under shapes"
    ]


# ---- C7: a constant expression fills the claim's shape, as a number does ---------------


def _constant_claim(function: str, claim: str, kind: str = "gradient") -> str:
    return f"""cases:
  - name: c
    shapes: {{x: [2, 2]}}
    function: {function}
    {kind}: {{x: {claim}}}
    domain: {{x: [-1, 1]}}
    samples: 4
"""


def test_constant_expressions_fill_a_claims_shape(tmp_path: Path) -> None:
    for function, claim in [("sum(x) / 2", "1/2"), ("sum(x) / sqrt(2)", "1/sqrt(2)"),
                            ("E * sum(x)", "exp(1)"), ("sum(x) * 2 * pi", "2*pi"),
                            ("sum(x) * exp(800)", "exp(800)")]:  # fmt: skip
        assert _verdict(tmp_path, _constant_claim(function, claim)) == "correct", claim
    assert _verdict(tmp_path, _constant_claim("E * sum(x)", "exp(2)")) == "incorrect"


def test_a_constant_jacobian_fills_the_jacobians_shape(tmp_path: Path) -> None:
    text = _constant_claim("x * log(3)", "log(3)", "jacobian").replace("[2, 2]", "[3]")
    assert _verdict(tmp_path, text) == "incorrect"  # filled to [3, 3]: wrong off the diagonal
    assert _verdict(tmp_path, _constant_claim("sum(x) * log(3)", "log(3)", "jacobian")) == "correct"


def test_an_expression_of_the_variables_is_still_never_broadcast(tmp_path: Path) -> None:
    assert _errors(tmp_path, _constant_claim("sum(x**2)", "2*sum(x)")) == [
        "5:19: the claimed gradient of 'x' has shape [], but it must have x's shape, [2, 2]; "
        "a claim is never broadcast"
    ]


# ---- C8: a nested domain reported once; an array function in a scalar case ------------


def test_a_nested_list_as_a_domain_is_one_error(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    shapes: {x: [2]}
    function: sum(x**2)
    domain: {x: [[-1, 1], [0, 2]]}
"""
    assert _errors(tmp_path, text) == [
        "5:17: the domain of 'x' must be [low, high] or a number, for every entry alike (or a "
        "structure such as spd), not a nested list"
    ]


def test_an_array_function_in_a_scalar_case_asks_for_shapes(tmp_path: Path) -> None:
    text = """cases:
  - name: c
    function: sum(x)
    domain: {x: [-1, 1]}
"""
    hint = "'{}' is an array function: declare the variables' shapes under shapes"
    assert _errors(tmp_path, text) == ["3:15: " + hint.format("sum")]
    claim = text.replace("sum(x)", "x**2\n    gradient: {x: 2*outer(x)}")
    assert _errors(tmp_path, claim) == ["4:21: " + hint.format("outer")]
    # a scalar function of another name keeps its suggestion
    assert _errors(tmp_path, text.replace("sum(x)", "sigmod(x)")) == [
        "3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)"
    ]


def test_a_constant_within_the_bound_is_read_however_it_is_written(tmp_path: Path) -> None:
    # 10**3000 has 9966 bits: within the bound, though 3000 powers of a 4-bit base are not
    path = tmp_path / "cases.yaml"
    path.write_text("cases:\n  - name: c\n    shapes: {x: [3]}\n"
                    "    function: sum(x) * 10**3000 / 10**2999\n    gradient:\n"
                    "      x: 10*ones([3])\n    domain: {x: [-1, 1]}\n    samples: 2\n",
                    encoding="utf-8")  # fmt: skip
    loaded = load_case_file(path)
    assert [str(error) for error in loaded.errors] == []
