"""Relay stage: points read robustly; forward values and adjoints from one reverse
sweep; the chain's factors at the point multiply to the gradient."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import sympy as sp

from diffcheck.cases.array_model import ArrayCase
from diffcheck.cases.loader import load_case_file
from diffcheck.explain.chain import explain_case, explain_expression, explain_where
from diffcheck.explain.relay import complete_point, parse_point, relay_at
from diffcheck.report.lines import chain_value
from diffcheck.symbolic.derive import derive_gradient
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.trees import substitute

NEURON = Path(__file__).parent / "data" / "explain" / "neuron.yaml"
ARTICLE = {"w0": -0.5, "w1": 0.4, "w2": 0.6, "w3": 0.3, "x1": 1.0, "x2": 0.0, "x3": 0.0, "t": 1.0}


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("x=1", {"x": 1.0}),
        (" w1 = 0.4 , x=-2e-3", {"w1": 0.4, "x": -0.002}),
        ("x=pi/2", {"x": math.pi / 2}),
        ("σ=0.5", {"σ": 0.5}),
    ],
)
def test_parse_point(text: str, point: dict[str, float]) -> None:
    assert parse_point(text) == point


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x", "'x' is not NAME=VALUE (write e.g. w1=0.4,x=1)"),
        ("x=1,", "'' is not NAME=VALUE (write e.g. w1=0.4,x=1)"),
        ("=1", "'=1' is not NAME=VALUE (write e.g. w1=0.4,x=1)"),
        ("x=1,x=2", "x is given twice"),
        ("x=abc", "the value of x, 'abc', is not a number"),
        ("x=y+1", "the value of x, 'y+1', is not a number"),
        ("x=1e999", "the value of x, '1e999', is not finite"),
    ],
)
def test_parse_point_errors_name_the_bad_part(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_point(text)
    assert str(caught.value) == message


def test_complete_point_fills_fixed_values_and_names_missing_ones() -> None:
    assert complete_point({"w": 2}, ["t", "w"], {"t": 1}) == {"t": 1.0, "w": 2.0}
    with pytest.raises(ValueError) as caught:
        complete_point({}, ["t", "w", "x"], {"t": 1})
    assert str(caught.value) == (
        "no value for w, x (give every variable without a fixed value, e.g. --at w=0.5)"
    )
    with pytest.raises(ValueError) as caught:
        complete_point({"q": 1}, ["t"], {})
    assert str(caught.value) == "q is not a variable here (the variables: t)"


def test_relay_of_the_article_neuron() -> None:
    (case,) = load_case_file(NEURON).cases
    derivations = explain_case(case)
    relay = relay_at(derivations, dict(sorted(ARTICLE.items())))
    z, y = relay.node("z"), relay.node("y")
    assert math.isclose(z.value, -0.1)
    assert math.isclose(y.value, 1 / (1 + math.exp(0.1)))
    assert relay.node("f").adjoint == 1.0
    assert math.isclose(y.adjoint, y.value - 1)  # ∂L/∂y = y - t
    assert math.isclose(z.adjoint, y.adjoint * y.value * (1 - y.value))
    gradient = derive_gradient(case.resolve(case.function.expr), case.wrt)
    for name, derivation in derivations.items():
        expected = float(gradient[name].subs(ARTICLE))
        assert math.isclose(relay.node(name).adjoint, expected, abs_tol=1e-15)
        assert math.isclose(chain_value(derivation, relay), expected, abs_tol=1e-15)


def test_vanishing_product_of_a_deep_chain() -> None:
    expr = parse_expression("sigmoid(" * 80 + "x" + ")" * 80)
    derivation = explain_expression(expr, ["x"])["x"]
    relay = relay_at({"x": derivation}, {"x": 0.4})
    factors = [relay.factors[(f.of, f.by)] for f in derivation.factors]
    assert all(0.2 < value <= 0.25 for value in factors)
    assert math.isclose(chain_value(derivation, relay), relay.node("x").adjoint, rel_tol=1e-12)
    assert relay.node("x").adjoint < 1e-50


def test_an_intermediate_merged_into_its_user_still_gets_its_adjoint() -> None:
    # z + a with z = x**2 + 1 is one sum once written out: z has no node of its own
    x, z, a = sp.symbols("x z a")
    derivations = explain_where(z + a, [("z", x**2 + 1)], {z: x**2 + 1}, ["x"])
    relay = relay_at(derivations, {"a": 2.0, "x": 3.0})
    assert (relay.node("z").value, relay.node("z").adjoint) == (10.0, 1.0)
    assert relay.node("x").adjoint == 6.0


@pytest.mark.parametrize(
    ("function", "definition", "point", "adjoint"),
    [
        # u + sin(u) is x + y + sin(x + y) written out: the node x + y has sin's share
        ("u + sin(u)", "x + y", {"x": 0.5, "y": 0.5}, 1 + math.cos(1.0)),
        ("u*x", "x", {"x": 0.5}, 0.5),  # an intermediate naming a variable
    ],
)
def test_an_intermediate_s_adjoint_counts_every_use_of_it(
    function: str, definition: str, point: dict[str, float], adjoint: float
) -> None:
    u = sp.Symbol("u")
    defined = parse_expression(definition)
    derivations = explain_where(parse_expression(function), [("u", defined)], {u: defined},
                                sorted(point))  # fmt: skip
    assert relay_at(derivations, point).node("u").adjoint == pytest.approx(adjoint, rel=1e-15)


def test_a_variable_the_output_does_not_use_has_no_adjoint() -> None:
    x, y = sp.symbols("x y")
    relay = relay_at(explain_where(x**2, [], {}, ["x"]), {"x": 1.0, "y": 2.0})
    assert relay.node("y").adjoint is None


SHIPPED = sorted((Path(__file__).resolve().parent.parent / "cases").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_chain_at_a_point_is_the_reverse_mode_gradient(path: Path) -> None:
    # the factors shown multiply to what the relay (one reverse sweep) passes back
    for case in load_case_file(path).cases:
        if isinstance(case, ArrayCase):  # the relay at a point is for scalar cases
            continue
        derivations = explain_case(case)
        point = {name: 0.3 + 0.1 * i for i, name in enumerate(case.variables)}
        relay = relay_at(derivations, point)
        for name, derivation in derivations.items():
            adjoint = relay.node(name).adjoint
            if derivation.paths is not None and adjoint is not None and math.isfinite(adjoint):
                assert math.isclose(chain_value(derivation, relay), adjoint,
                                    rel_tol=1e-9, abs_tol=1e-12), (case.name, name)  # fmt: skip


def test_a_long_chain_evaluates_each_node_once() -> None:
    # u_i = sin(u_{i-1}) + u_{i-1}/2: rebuilding each station from the written-out
    # function took seconds at 40 links; node by node in order it is a few milliseconds
    where = [("u1", parse_expression("sin(x) + 0.5*x"))] + [
        (f"u{i}", parse_expression(f"sin(u{i - 1}) + 0.5*u{i - 1}")) for i in range(2, 41)
    ]
    resolved: dict[sp.Symbol, sp.Expr] = {}
    for name, definition in where:
        resolved[sp.Symbol(name)] = substitute(definition, resolved)
    derivations = explain_where(sp.Symbol("u40"), where, resolved, ["x"])
    relay = relay_at(derivations, {"x": 0.3})  # speed is measured in benchmarks/, not here
    value, adjoint = 0.3, 1.0
    for _ in range(40):
        value, adjoint = math.sin(value) + 0.5 * value, adjoint * (math.cos(value) + 0.5)
    assert relay.node("u40").value == pytest.approx(value, rel=1e-12)
    assert relay.node("x").adjoint == pytest.approx(adjoint, rel=1e-9)
