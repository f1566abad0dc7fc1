"""Chain stage: derivations through intermediates, factor by factor, linear in depth, and
always the checker's own derivative in the end."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from diffcheck.cases.array_model import ArrayCase
from diffcheck.cases.loader import load_case_file
from diffcheck.explain.chain import (
    MAX_PATHS,
    explain_case,
    explain_expression,
    explain_where,
    name_subexpressions,
)
from diffcheck.report.derivation import render_text
from diffcheck.symbolic.derive import derive_gradient, fold_intermediates, prove_equal
from diffcheck.symbolic.parse import parse_expression

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "cases").glob("*.yaml"))
NEURON = Path(__file__).parent / "data" / "explain" / "neuron.yaml"
x, y, z, t, f = sp.symbols("x y z t f")
sigmoid = parse_expression("sigmoid(x)").func


def nested(function: str, depth: int) -> sp.Expr:
    return parse_expression(f"{function}(" * depth + "x" + ")" * depth)


def test_small_expressions_keep_no_names() -> None:
    derivation = explain_expression(parse_expression("1/(1 + exp(-x))"), ["x"])["x"]
    assert derivation.names == ()
    (factor,) = derivation.factors
    assert (factor.of, factor.by) == (f, x)
    assert factor.steps.rule == "chain"
    assert derivation.paths == ((0,),)


def test_deep_expressions_name_their_calls() -> None:
    function, names, originals = name_subexpressions(nested("sigmoid", 4), {"x"})
    assert [str(name) for name, _ in names] == ["u1", "u2", "u3"]
    assert names[1][1] == sigmoid(sp.Symbol("u1"))
    assert function == sigmoid(sp.Symbol("u3"))
    assert originals[sp.Symbol("u2")] == nested("sigmoid", 2)


def test_names_avoid_the_variables() -> None:
    _, names, _ = name_subexpressions(parse_expression("sin(sin(u1 + x))"), {"u1", "x"}, True)
    assert [str(name) for name, _ in names] == ["u2"]


def test_written_out_sigmoid_is_named_as_a_whole() -> None:
    _, names, _ = name_subexpressions(parse_expression("1/(1 + exp(-1/(1 + exp(-x))))"),
                                      {"x"}, force=True)  # fmt: skip
    assert names == ((sp.Symbol("u1"), parse_expression("1/(1 + exp(-x))")),)


def test_deep_chain_factors_are_written_with_the_names() -> None:
    derivation = explain_expression(nested("sigmoid", 80), ["x"])["x"]
    assert len(derivation.names) == 79
    assert derivation.paths == (tuple(range(80)),)
    u79, u78 = sp.symbols("u79 u78")
    assert derivation.factors[0].expr == f * (1 - f)
    assert derivation.factors[1].expr == u79 * (1 - u79)
    assert (derivation.factors[2].of, derivation.factors[2].by) == (u78, sp.Symbol("u77"))


@pytest.mark.parametrize("function", ["sigmoid", "tanh"])
def test_printed_size_is_linear_in_depth(function: str) -> None:
    sizes = {depth: len(render_text(explain_expression(nested(function, depth), ["x"]), True))
             for depth in (20, 80)}  # fmt: skip
    # written out, four times the depth is sixteen times the text
    assert sizes[80] < 4.5 * sizes[20]


def test_where_chain_of_the_neuron() -> None:
    (case,) = load_case_file(NEURON).cases
    derivation = explain_case(case)["w1"]
    factors = [(str(f.of), str(f.by), f.expr) for f in derivation.factors]
    assert factors == [("f", "y", y - t), ("f", "y", y - t)][:1] + [
        ("y", "z", y * (1 - y)),
        ("z", "w1", sp.Symbol("x1")),
    ]
    assert derivation.paths == ((0, 1, 2),)
    assert derivation.product == derivation.result == (y - t) * y * (1 - y) * sp.Symbol("x1")


def test_several_paths_are_summed() -> None:
    where = [("y", x**2), ("z", sp.sin(x))]
    derivation = explain_where(y * z, where, {y: x**2, z: sp.sin(x)}, ["x"])["x"]
    assert len(derivation.paths) == 2
    assert derivation.product == z * 2 * x + y * sp.cos(x)


def test_too_many_paths_are_not_listed() -> None:
    where, substitutions, previous = [], {}, x
    for level in range(1, 6):  # a diamond per level: q_k reaches q_k-1 directly and via p_k
        p_k, q_k = sp.symbols(f"p{level} q{level}")
        where += [(p_k.name, sp.sin(previous)), (q_k.name, p_k + sp.cos(previous))]
        substitutions[p_k] = sp.sin(previous).xreplace(substitutions)
        substitutions[q_k] = (p_k + sp.cos(previous)).xreplace(substitutions)
        previous = q_k
    derivation = explain_where(previous, where, substitutions, ["x"])["x"]
    assert 2**5 > MAX_PATHS
    assert derivation.paths is None and derivation.product is None
    assert len(derivation.factors) == 3 * 5 + 1


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_derivations_end_in_the_checkers_derivative(path: Path) -> None:
    # an explanation cannot disagree with the verdict: its result is derive_gradient's
    for case in load_case_file(path).cases:
        if isinstance(case, ArrayCase):  # no scalar derivative to compare with
            continue
        derivations = explain_case(case)
        gradient = derive_gradient(case.resolve(case.function.expr), case.wrt)
        for name, derivation in derivations.items():
            if case.where:
                expected = fold_intermediates(gradient[name], {f: case.resolve(case.function.expr),
                                                               **case.substitutions})  # fmt: skip
                assert derivation.result == expected
                if derivation.product is not None:
                    resolved = {**case.substitutions, f: case.resolve(case.function.expr)}
                    product = derivation.product.xreplace(resolved)
                    assert prove_equal(case.resolve(product), gradient[name], 10.0)
            else:
                assert derivation.result == gradient[name]
