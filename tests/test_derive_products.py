"""`derive_gradient` multiplies a chain's local partials once, and gets exactly what
multiplying them one at a time gets.

SymPy's product is not associative in its printed form: 2*(x + 1) is 2*x + 2 while
Mul(2, x + 1, y) is 2*y*(x + 1), and sqrt(c*sqrt(w)) three times is c*sqrt(w)*sqrt(c*sqrt(w))
one at a time but (c*sqrt(w))**(3/2) at once. The reference below is the plain backward
sweep, each adjoint multiplied by its partial as it comes; every derivative must be the
same expression, argument for argument, over the shipped cases, chains of every function
of the table and random expressions. A last test counts SymPy's work: a chain's product
is sorted once, not once per link.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import given
from strategies import Sample, samples
from sympy.core.cache import clear_cache

from diffcheck.cases.loader import Case, load_case_file
from diffcheck.errors import RuleError
from diffcheck.symbolic.derive import derive_gradient, local_partial
from diffcheck.symbolic.masks import mask_products
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.rules import RULES
from diffcheck.symbolic.trees import call, nodes_in_order, substitute

CASES = Path(__file__).resolve().parent.parent / "cases"
UNARY = sorted(name for name, rule in RULES.items() if rule.arity == 1 and "." not in name)


def _reference_gradient(expr: sp.Expr, wrt: Sequence[str]) -> dict[str, sp.Expr]:
    """The backward sweep over placeholders, each product built as it comes."""
    targets = {sp.Symbol(name) for name in wrt}
    order = nodes_in_order([expr])
    depends: dict[sp.Basic, bool] = {}
    holders: dict[sp.Basic, sp.Basic] = {}
    for node in order:
        depends[node] = node in targets or any(depends[arg] for arg in node.args)
        if depends[node] and node.args:
            holders[node] = sp.Dummy()
    adjoints: dict[sp.Basic, sp.Expr] = {expr: sp.Integer(1)}
    for node in reversed(order):
        adjoint = adjoints.get(node)
        if adjoint is None or node not in holders:
            continue
        args = [holders.get(arg, arg) for arg in node.args]
        canonical = node.is_Add or node.is_Mul or node.is_Pow
        shallow = node.func(*args, evaluate=False) if canonical else call(node.func, args)
        for index, arg in enumerate(node.args):
            if depends[arg]:
                partial = local_partial(shallow, index)
                if partial is None:
                    raise RuleError(f"{node} argument {index + 1}")
                partial = substitute(partial, {shallow: holders[node]})
                adjoints[arg] = adjoints.get(arg, sp.Integer(0)) + adjoint * partial
    back = {holder: node for node, holder in holders.items()}
    return {name: mask_products(substitute(adjoints.get(sp.Symbol(name), sp.Integer(0)), back))
            for name in wrt}  # fmt: skip


def _assert_same_as_reference(expr: sp.Expr, wrt: Sequence[str]) -> None:
    try:
        expected = {name: sp.srepr(partial) for name, partial in
                    _reference_gradient(expr, wrt).items()}  # fmt: skip
    except RuleError:
        with pytest.raises(RuleError):
            derive_gradient(expr, wrt)
        return
    found = {name: sp.srepr(partial) for name, partial in derive_gradient(expr, wrt).items()}
    assert found == expected, expr


def _variables(expr: sp.Expr) -> list[str]:
    return sorted(node.name for node in nodes_in_order([expr]) if node.is_Symbol)


def _shipped() -> list[tuple[str, sp.Expr, tuple[str, ...]]]:
    found = []
    for path in sorted(CASES.glob("*.yaml")):
        for case in load_case_file(path).cases:
            if not isinstance(case, Case):
                continue  # an array case
            claims = [claim.expr for claim in case.gradient.values() if claim.expr is not None]
            for index, expr in enumerate([case.function.expr, *claims]):
                found.append((f"{path.stem}:{case.name}:{index}", case.resolve(expr), case.wrt))
    return found


def _chains() -> list[str]:
    """Each function of the table nested in itself, with numbers, signs and sums between
    the links (where SymPy's product of a number and a sum distributes)."""
    shapes = ("{f}(" * 3 + "x" + ")" * 3, "{f}(" * 3 + "x*y" + ")" * 3,
              "2*{f}(" * 3 + "x" + ")" * 3, "-{f}(" * 3 + "x" + ")" * 3,
              "{f}(1 - " * 3 + "x" + ")" * 3, "{f}(x*" * 3 + "x" + ")" * 3,
              "{f}(2*" * 2 + "x + 1" + ")" * 2)  # fmt: skip
    return [shape.format(f=name) for name in UNARY for shape in shapes]


# where one product at a time and all at once differ: a number times a sum, a power of a
# product met more than once, and factors whose bases repeat
EDGES = (
    "sin(sqrt(c*sqrt(w))*sin(sqrt(c*sqrt(w))*sin(sqrt(c*sqrt(w))*x)))",
    "exp(sqrt(c*sqrt(w))*exp(sqrt(c*sqrt(w))*x))",
    "tanh(1 - tanh(1 - tanh(1 - x)))",
    "2*(sigmoid(x) + 1)*y",
    "sqrt(sqrt(sqrt(x)))",
    "exp(exp(x))*exp(x)",
    "(x + 1)^2*(x + 1)^(1/2)*sin(x + 1)",
    "sigmoid(x)*sigmoid(x)*sigmoid(sigmoid(x))",
    "where(x > 0, sqrt(x), 0)*sigmoid(sigmoid(x))",
    "2^x*3^sin(x)*exp(sin(x))",
    "log(cos(x))*1.5*cos(cos(0.5*x))",
)


def test_the_shipped_functions_and_claims_are_found() -> None:
    assert len(_shipped()) >= 100


@pytest.mark.parametrize(("key", "expr", "wrt"), _shipped(), ids=lambda v: str(v)[:40])
def test_shipped_cases_derive_as_one_product_at_a_time(key: str, expr: sp.Expr,
                                                        wrt: tuple[str, ...]) -> None:  # fmt: skip
    _assert_same_as_reference(expr, wrt)


def test_chains_of_every_function_derive_as_one_product_at_a_time() -> None:
    for text in _chains():
        expr = parse_expression(text)
        _assert_same_as_reference(expr, _variables(expr))


@pytest.mark.parametrize("text", EDGES)
def test_products_that_sympy_forms_differently_at_once_are_formed_one_at_a_time(
    text: str,
) -> None:
    expr = parse_expression(text)
    _assert_same_as_reference(expr, ["x"])  # c and w held: sqrt(c*sqrt(w)) a factor
    _assert_same_as_reference(expr, _variables(expr))


@given(samples(max_depth=4))
def test_random_expressions_derive_as_one_product_at_a_time(sample: Sample) -> None:
    _assert_same_as_reference(sample.expr, ["x", "y"])


def _sorted_factors(monkeypatch: pytest.MonkeyPatch, text: str) -> int:
    """How many factors SymPy's products put in order while deriving `text`."""
    flatten = sp.Mul.flatten.__func__
    counted = [0]

    def counting(cls: type, seq: list) -> tuple:
        done = flatten(cls, seq)
        counted[0] += len(done[0])
        return done

    monkeypatch.setattr(sp.Mul, "flatten", classmethod(counting))
    clear_cache()  # SymPy calls flatten only for products it has not cached
    derive_gradient(parse_expression(text), ["x"])
    monkeypatch.undo()
    return counted[0]


def test_a_chain_is_multiplied_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # one at a time, the n-th link sorts the n factors before it again: 4 times the work
    # at twice the depth; all at once, twice
    short, long = (_sorted_factors(monkeypatch, "sigmoid(" * n + "x" + ")" * n) for n in (40, 80))
    assert long < 2.5 * short
