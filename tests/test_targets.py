"""What the explaining commands work on (run/targets.py): a typed expression or a case of
a case file, the variables to differentiate, the point; messages verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffcheck.errors import DiffcheckError, ExpressionError
from diffcheck.run.targets import (
    OptionError,
    derivation_variables,
    explain_target,
    parse_typed,
    select_target,
    target_graph,
    target_point,
)

NEURON = str(Path(__file__).parent / "data" / "explain" / "neuron.yaml")
WEIGHTS = ["w0", "w1", "w2", "w3"]


def test_parse_typed_points_a_caret_at_the_column() -> None:
    with pytest.raises(ExpressionError) as error:
        parse_typed("sin(x*")
    assert str(error.value) == (
        "<expression>:1:7: expected a number, a name or '(' but found end of expression\n"
        "  sin(x*\n"
        "        ^"
    )


def test_select_target_of_an_expression() -> None:
    target = select_target("y*sigmoid(x)", None)
    assert (target.case, target.variables, dict(target.fixed)) == (None, ("x", "y"), {})
    assert target.function() == target.expr


def test_select_target_of_a_case_keeps_its_intermediates_apart() -> None:
    target = select_target(NEURON, None)
    assert target.case is not None and target.case.name == "neuron"
    assert dict(target.fixed) == {"x1": 1.0, "x2": 0.0, "x3": 0.0, "t": 1.0}
    assert "y" in {s.name for s in target.expr.free_symbols}
    assert "y" not in {s.name for s in target.function().free_symbols}


def test_select_target_refuses_a_case_for_an_expression() -> None:
    with pytest.raises(OptionError) as error:
        select_target("x^2", "square")
    assert (str(error.value), error.value.option) == (
        "needs a case file, not an expression",
        "--case",
    )


def test_select_target_of_a_missing_file() -> None:
    with pytest.raises(DiffcheckError, match="^nowhere.yaml: no such file$"):
        select_target("nowhere.yaml", None)


@pytest.mark.parametrize(
    ("text", "wrt", "message", "option"),
    [
        ("3 + 4", (), "the expression has no variables to differentiate", "EXPRESSION"),
        ("x*y", ("z",), "'z' does not appear in the expression (its variables: x, y)", "--wrt"),
        (NEURON, ("x1",), "'x1' does not appear in the wrt of case neuron (its variables: "
         "w0, w1, w2, w3)", "--wrt"),
    ],
)  # fmt: skip
def test_derivation_variables_refuses(text: str, wrt: tuple, message: str, option: str) -> None:
    with pytest.raises(OptionError) as error:
        derivation_variables(select_target(text, None), wrt)
    assert (str(error.value), error.value.option) == (message, option)


def test_derivation_variables_default_to_all_or_the_cases_wrt() -> None:
    assert derivation_variables(select_target("x*y", None), ()) == ["x", "y"]
    assert derivation_variables(select_target("x*y", None), ("y",)) == ["y"]
    assert derivation_variables(select_target(NEURON, None), ()) == WEIGHTS


def test_target_point_completes_with_fixed_values_in_variable_order() -> None:
    target = select_target(NEURON, None)
    point = target_point(target, "w3=0.3, w0=-0.5, w1=0.4, w2=0.6")
    assert list(point) == list(target.variables)
    assert point["t"] == 1.0 and point["w0"] == -0.5


def test_target_point_names_the_at_option() -> None:
    with pytest.raises(OptionError) as error:
        target_point(select_target("x*y", None), "x=1")
    assert (str(error.value), error.value.option) == (
        "no value for y (give every variable without a fixed value, e.g. --at y=0.5)",
        "--at",
    )


def test_explain_target_keeps_the_asked_variables() -> None:
    assert list(explain_target(select_target(NEURON, None), ["w1"])) == ["w1"]
    assert list(explain_target(select_target("x*y", None), ["y", "x"])) == ["y", "x"]


def test_target_graph_titles_and_names_the_intermediates() -> None:
    target = select_target(NEURON, None)
    dot = target_graph(target, target_point(target, "w0=-0.5,w1=0.4,w2=0.6,w3=0.3"))
    assert dot.startswith('digraph "neuron"')
    assert '[label="z = +\\nvalue -0.1\\n' in dot and '[label="y = sigmoid\\n' in dot
    typed = select_target("x*y", None)
    assert target_graph(typed, target_point(typed, "x=1,y=2")).startswith('digraph "expression"')
