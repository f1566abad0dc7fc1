"""Tree building and walking: substitution without slow evaluation, DAG-aware walks."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from strategies import Sample, samples
from sympy.core.cache import clear_cache

from diffcheck.cases.loader import read_case_text
from diffcheck.limits import deep_recursion
from diffcheck.report.latex import latex_expression
from diffcheck.report.text import render_json
from diffcheck.run.check import check_case
from diffcheck.symbolic.derive import format_expression
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.trees import (
    MAX_PRINTED_NODES,
    call,
    nodes_in_order,
    substitute,
    symbols_in,
    too_large_to_print,
    tree_size,
)

x, y, u = sp.symbols("x y u")


@settings(max_examples=60, deadline=None)
@given(samples(max_depth=3))
def test_substitute_means_what_xreplace_means(sample: Sample) -> None:
    mapping = {x: u}  # a rename: the sample's point stays inside every rule's domain
    ours = substitute(sample.expr, mapping)
    theirs = sample.expr.xreplace(mapping)
    assert symbols_in(ours) == theirs.free_symbols
    at = {u: sp.Float(sample.point["x"], 40), y: sp.Float(sample.point["y"], 40)}
    ours_value = complex(ours.evalf(30, subs=at))
    theirs_value = complex(theirs.evalf(30, subs=at))
    assert ours_value == pytest.approx(theirs_value, rel=1e-20, abs=1e-25)


def test_substitute_replaces_whole_sub_expressions_and_keeps_untouched_nodes() -> None:
    expr = parse_expression("sigmoid(w*x)*(1 - sigmoid(w*x)) + y")
    replaced = substitute(expr, {parse_expression("sigmoid(w*x)"): u})
    assert replaced == u * (1 - u) + y
    assert substitute(expr, {parse_expression("w*x"): u}) == parse_expression(
        "sigmoid(u)*(1 - sigmoid(u)) + y"
    )
    assert substitute(expr, {sp.Symbol("absent"): u}) is expr
    assert substitute(expr, {}) is expr


def test_calls_of_calls_are_built_as_written() -> None:
    inner = parse_expression("tanh(x)")
    nested = call(sp.tanh, [inner])
    assert nested.func is sp.tanh and nested.args == (inner,)
    assert call(sp.tanh, [sp.Integer(0)]).args == (0,)  # on a number: not evaluated
    assert call(sp.tanh, [x]) == sp.tanh(x)
    assert call(sp.Add, [x, x]) == 2 * x  # sums stay canonical


def _chain(depth: int, link: str) -> str:
    lines = ["cases:", "  - name: chain", "    where:", "      a0: w*x"]
    lines += [f"      a{i}: {link.format(f'a{i - 1}')}" for i in range(1, depth)]
    lines += [f"    function: a{depth - 1}", "    domain: {w: [-1, 1], x: 0.5}", "    samples: 8"]
    return "\n".join(lines) + "\n"


def test_a_where_chain_of_300_tanh_links_loads_and_checks() -> None:
    # rebuilding tanh(tanh(...)) with SymPy's evaluation asks whether each argument is
    # real all the way down: minutes at depth 25 before substitution avoided it
    (case,) = read_case_text(_chain(300, "tanh({})"), "chain.yaml").cases
    result = check_case(case)
    status, message = result.status, result.message  # the result's repr is huge
    assert status == "pass", message


def test_a_chain_whose_links_use_the_one_before_twice_is_checked_and_reported() -> None:
    # written out as a tree the function has ~2**40 nodes: every walk must share them
    (case,) = read_case_text(_chain(40, "tanh({0})*sigmoid({0})"), "dag.yaml").cases
    result = check_case(case)
    status, message = result.status, result.message  # the result's repr is huge
    assert status == "pass", message
    report = render_json([result])
    assert '"derived": "<too large to print: ' in report


def test_tree_size_counts_every_occurrence_and_nodes_in_order_each_once() -> None:
    expr = x
    for _ in range(60):
        expr = sp.Function("f")(expr, expr)
    assert tree_size(expr) == 2**61 - 1
    assert len(nodes_in_order([expr])) == 61
    assert symbols_in(expr) == {x}


def test_expressions_too_large_to_print_get_a_note_instead() -> None:
    small = parse_expression("x*y + 1")
    assert too_large_to_print(small) is None
    assert format_expression(small) == "x*y + 1"
    big = x
    for _ in range(20):
        big = sp.Function("f")(big, big)
    assert tree_size(big) > MAX_PRINTED_NODES
    assert format_expression(big) == "<too large to print: 2.1e+06 nodes written out>"
    with deep_recursion():
        assert too_large_to_print(big) == "too large to print: 2.1e+06 nodes written out"
    medium = x
    for _ in range(15):  # 65535 nodes: printable as text, too long a line for pdflatex
        medium = sp.Function("f")(medium, medium)
    assert too_large_to_print(medium) is None
    assert latex_expression(medium) == r"\text{(too large to print: 6.55e+04 nodes written out)}"


def test_a_chain_built_again_after_sympy_forgot_it_is_substituted_without_deep_comparisons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # built again, the chain is equal to the first but not identical; SymPy's == of two
    # such compares them as trees: 2**depth comparisons for links that use u twice
    def written_out(depth: int) -> sp.Expr:
        u = sp.Symbol("u0")
        names = [u]
        expr: sp.Expr = sp.sin(x)
        for i in range(1, depth):
            names.append(sp.Symbol(f"u{i}"))
            expr = substitute(sp.sin(names[-2]) + sp.Rational(1, 2) * names[-2], {names[-2]: expr})
        return expr

    depth = 18
    first = written_out(depth)
    clear_cache()
    compared = [0]
    original = sp.Basic.__eq__

    def counting(self, other):
        compared[0] += 1
        return original(self, other)

    monkeypatch.setattr(sp.Basic, "__eq__", counting)
    again = written_out(depth)
    monkeypatch.undo()
    assert again == first and again is not first
    assert compared[0] < 100 * depth
