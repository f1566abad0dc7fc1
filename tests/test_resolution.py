"""A case's `where` written out only where it must be (`symbolic.resolution`): reading a
long chain, and deriving and drawing it at a point through its names, build a number of
SymPy nodes linear in its length (written out, the chain holds n² nodes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp
from sympy.core.cache import clear_cache

from diffcheck.cases.loader import load_case_file, read_case_text
from diffcheck.explain.chain import MAX_RESOLVED_NODES
from diffcheck.explain.graph import where_graph_dot
from diffcheck.explain.relay import relay_at
from diffcheck.run.targets import Target, explain_target
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.resolution import Resolution
from diffcheck.symbolic.trees import substitute

CASES = Path(__file__).resolve().parent.parent / "cases"
x, y = sp.symbols("x y")


def _where_chain(count: int) -> str:
    lines = ["cases:", "  - name: deep-where", "    where:", "      u1: sin(x)"]
    lines += [f"      u{i}: sin(u{i - 1}) + 0.5*u{i - 1}" for i in range(2, count + 1)]
    lines += [f"    function: u{count}", "    domain: {x: [-1, 1]}"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many SymPy nodes are built (every node goes through Basic.__new__); SymPy's
    cache is emptied first, so that no count feeds on an earlier one."""
    count = [0]
    original = sp.Basic.__new__

    def counting(cls, *args, **options):
        count[0] += 1
        return original(cls, *args, **options)

    clear_cache()
    monkeypatch.setattr(sp.Basic, "__new__", staticmethod(counting))
    return count


def _count(built: list[int], work) -> int:
    clear_cache()
    before = built[0]
    work()
    return built[0] - before


def _read(count: int):
    (case,) = read_case_text(_where_chain(count), "chain.yaml").cases
    return case


def _derive_and_draw(case) -> None:
    """What `derive CASE --at` and `graph CASE --at` do with a long chain, through the
    case's names."""
    target = Target(case, case.function.expr, case.variables, {})
    assert target.larger_than(MAX_RESOLVED_NODES)  # drawn and derived through the names
    relay_at(explain_target(target, ["x"]), {"x": 0.3})
    where = [(sp.Symbol(name), expression.expr) for name, expression in case.where]
    where_graph_dot(case.function.expr, where, {"x": 0.3}, case.name)


def test_reading_a_where_chain_builds_nodes_linear_in_its_length(built) -> None:
    # writing each intermediate out while reading built n² nodes: 4 times as many at 400
    sizes = {count: _count(built, lambda count=count: _read(count)) for count in (200, 400)}
    assert sizes[400] < 2.5 * sizes[200]


def test_deriving_and_drawing_a_where_chain_builds_nodes_linear_in_its_length(built) -> None:
    cases = {count: _read(count) for count in (200, 400)}
    sizes = {count: _count(built, lambda case=case: _derive_and_draw(case))
             for count, case in cases.items()}  # fmt: skip
    assert sizes[400] < 2.5 * sizes[200]


def test_larger_than_writes_out_a_long_chain_only_up_to_the_limit(built) -> None:
    cases = {count: _read(count) for count in (200, 400)}
    limit = MAX_RESOLVED_NODES

    def size(case) -> int:
        return _count(built, lambda: case.larger_than(case.function.expr, limit))

    assert size(cases[400]) == size(cases[200])  # the same first links, then it stops
    assert cases[400].larger_than(cases[400].function.expr, limit)
    assert not cases[400].larger_than(sp.Symbol("u3"), limit)


def test_the_written_out_intermediates_are_those_of_resolving_them_in_order() -> None:
    checked = 0
    for path in sorted(CASES.glob("*.yaml")):
        for case in load_case_file(path).cases:
            if not getattr(case, "substitutions", None):
                continue
            eager: dict[sp.Symbol, sp.Expr] = {}
            for name, expression in case.where:
                eager[sp.Symbol(name)] = substitute(expression.expr, eager)
            assert dict(case.substitutions) == eager
            assert case.resolve(case.function.expr) == substitute(case.function.expr, eager)
            checked += 1
    assert checked >= 5


def test_a_name_is_written_out_with_the_names_it_uses_and_no_others() -> None:
    u1, u2, u3 = sp.symbols("u1 u2 u3")
    resolution = Resolution([(u1, parse_expression("x**2")), (u2, parse_expression("y + 1")),
                             (u3, parse_expression("u1*sin(u1)"))])  # fmt: skip
    assert resolution[u3] == x**2 * sp.sin(x**2)
    assert set(resolution._known) == {u1, u3}  # u2 is not needed
    assert u2 in resolution and x not in resolution and list(resolution) == [u1, u2, u3]
    assert resolution.resolve(u3 + u2) == x**2 * sp.sin(x**2) + y + 1
    with pytest.raises(KeyError):
        resolution[x]


def test_a_variable_is_a_symbol_its_definitions_use_even_when_sympy_cancels_it() -> None:
    # written out, u2 is x (SymPy cancels y); the case writes y, so y is a variable
    text = ("cases:\n  - name: c\n    where:\n      u1: x + y\n      u2: u1 - y\n"
            "    function: u2\n    domain: {x: [0, 1], y: [0, 1]}\n")  # fmt: skip
    (case,) = read_case_text(text, "c.yaml").cases
    assert case.variables == ("x", "y") and case.wrt == ("x", "y")
    assert case.resolve(case.function.expr) == x


def test_names_defined_later_or_by_themselves_stay_symbols() -> None:
    u1, u2 = sp.symbols("u1 u2")
    resolution = Resolution([(u1, u2 + x), (u2, u2 * u1)])  # both errors of a case file
    assert resolution[u1] == u2 + x
    assert resolution[u2] == u2 * (u2 + x)
    assert resolution.symbols(u2) == {u2, x}


def test_an_output_added_is_listed_first_and_written_out_last() -> None:
    u1, f = sp.symbols("u1 f")
    extended = Resolution([(u1, sp.sin(x))]).extended(f, u1 + 1)
    assert list(extended) == [f, u1]
    assert extended[f] == sp.sin(x) + 1
    assert Resolution([(u1, sp.sin(x))]).extended(f, u1, resolved=sp.cos(x))[f] == sp.cos(x)
