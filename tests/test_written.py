"""Derivations keep the user's form: what is differentiated is printed as written, an
outer derivative keeps its argument whole, and a sum starts with a positive term."""

from __future__ import annotations

import pytest
import sympy as sp
from click.testing import CliRunner

from diffcheck.cli import main
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.printing import print_expression
from diffcheck.symbolic.written import as_written_with, parse_as_written, written_forms


def _derive(*args: str) -> str:
    result = CliRunner().invoke(main, ["derive", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_each_evaluated_node_maps_to_its_written_form():
    forms = written_forms([parse_as_written("(y - t)^2 / 2")])
    printed = {str(k): print_expression(v, as_written=True) for k, v in forms.items()}
    assert printed["-t + y"] == "y - t"
    assert printed["(-t + y)**2"] == "(y - t)**2"
    assert printed["(-t + y)**2/2"] == "(y - t)**2/2"


def test_an_outer_derivative_keeps_its_written_argument_whole():
    u = sp.Symbol("u")
    forms = written_forms([parse_as_written("3*(y - t)")])
    whole = as_written_with(2 * u, {u: parse_expression("y - t")}, forms)
    assert print_expression(whole, as_written=True) == "2*(y - t)"
    assert as_written_with(2 * u, {u: parse_expression("a + b")}, forms) is None


def test_a_text_that_does_not_parse_has_no_written_form():
    assert parse_as_written("(y - ") is None


def test_a_sum_is_printed_with_a_positive_term_first():
    assert print_expression(parse_expression("-t + y")) == "y - t"
    assert print_expression(parse_expression("-2*t + 2*y")) == "2*y - 2*t"
    assert print_expression(parse_expression("-t - y")) == "-t - y"


def test_derive_steps_show_the_function_as_typed_and_its_parts_as_written():
    text = _derive("(y - t)**2 / 2", "--steps", "--wrt", "t")
    assert text.splitlines()[0] == "f = (y - t)**2 / 2"
    assert "  ∂/∂t ((y - t)**2/2)    (constant multiple rule)" in text
    assert "      outer, u = y - t: d/du u**2 = 2*u = 2*(y - t)    (power rule)" in text
    assert "      inner: ∂/∂t (y - t)    (sum rule)" in text
    assert "      product: 2*(y - t) · (-1) = 2*t - 2*y" in text
    assert text.rstrip().endswith("∂f/∂t = t - y")
    assert "-t + y" not in text


def test_derive_steps_of_a_case_show_its_intermediates_as_the_file_writes_them():
    text = _derive("cases/chain-rule.yaml", "--case", "two-layer-backprop", "--steps")
    assert "    ∂/∂y ((y - t)**2/2)    (constant multiple rule)" in text
    assert "    ∂/∂h (w0 + w1*h)    (sum rule)" in text
    assert "∂f/∂w0 = y*(1 - y)*(y - t)" in text


GELU_TANH = """\
cases:
  - name: gelu-tanh
    where:
      u: sqrt(2/pi)*(x + 0.044715*x^3)
    function: 0.5*x*(1 + tanh(u))
    domain: {x: [-5, 5]}
"""


def test_a_direct_partial_beside_the_chain_says_what_it_holds_fixed(tmp_path):
    path = tmp_path / "gelu.yaml"
    path.write_text(GELU_TANH)
    text = _derive(str(path))
    assert "∂f/∂x = ∂f/∂u · ∂u/∂x + ∂f/∂x|u" in text
    assert "  ∂f/∂x|u = tanh(u)/2 + 1/2" in text
    tex = CliRunner().invoke(main, ["latex", str(path), "--fragment"]).stdout
    assert r"\left.\frac{\partial f}{\partial x}\right|_{u} &= " in tex


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("0.044715*x^3/y", "0.044715*x**3/y"),
        ("0.001/x^2", "0.001/x**2"),
        ("-0.0025*(x + 1)", "-x/400 - 1/400"),  # a small denominator stays a fraction
        ("0.7978845608*(x + 0.044715*x^3)", "0.035677408136172*x**3 + 0.7978845608*x"),
        ("x/2", "x/2"),
    ],
)
def test_a_typed_decimal_prints_as_a_decimal_and_parses_back(text: str, printed: str):
    expr = parse_expression(text)
    assert print_expression(expr) == printed
    assert parse_expression(printed) == expr


@pytest.mark.parametrize(
    ("typed", "head"),
    [
        ("sin(x - 0.001/(-1.5))^2", "d/dx sin(x + 1/1500)**2"),
        ("sin(0.1234567*0.3*(0.001 + x))^2", "d/dx sin(0.03703701*x + 0.00003703701)**2"),
        ("sqrt(x)*3", "d/dx (sqrt(x)*3)"),
    ],
)
def test_a_step_never_shows_a_form_of_another_value(typed: str, head: str):
    # constant parts are worked out, and a written form that would print otherwise than
    # it means (a negative base's reciprocal without brackets) falls back to SymPy's
    text = _derive(typed, "--steps")
    assert text.splitlines()[3].startswith("  " + head + "    (")
    for line in text.splitlines()[3:]:
        if line.strip().startswith(("d/dx ", "∂/∂x ")):
            shown = line.strip()[5:].split("    (")[0].split(" = ")[0]
            parse_expression(shown)  # every step's expression is valid case-file text


def test_a_written_form_that_would_print_another_value_is_not_used():
    with sp.evaluate(False):
        raw = parse_expression("x - 0.001/(-1.5)")  # constant parts not worked out
    slip = print_expression(raw, as_written=True)
    assert parse_expression(slip) != parse_expression("x - 0.001/(-1.5)")  # the printer's
    assert parse_expression("x - 0.001/(-1.5)") not in written_forms([raw])
