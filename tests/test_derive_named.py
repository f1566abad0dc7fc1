"""Derivations linear in size: a deep derivative printed with names for the function's
sub-expressions, round trips of the named form as claims, and a `where` chain of many
intermediates derived at a point and drawn through its definitions."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from diffcheck.cases.loader import read_case_text
from diffcheck.cli import main
from diffcheck.report.derivation import MAX_WRITTEN_OUT
from diffcheck.run.check import check_case


def _nested(function: str, depth: int) -> str:
    return f"{function}(" * depth + "x" + ")" * depth


def _derive(*args: str) -> str:
    result = CliRunner().invoke(main, ["derive", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def _verdict(function: str, gradient: str, where: dict[str, str]) -> str:
    case = {"name": "round-trip", "function": function, "gradient": {"x": gradient},
            "domain": {"x": [-2, 2]}, "samples": 8}  # fmt: skip
    if where:
        case["where"] = where
    (read,) = read_case_text(yaml.safe_dump({"cases": [case]}, sort_keys=False), "t.yaml").cases
    return check_case(read).verdict.verdict


def _plain_named(text: str) -> tuple[str, dict[str, str]]:
    """The derivative and the `where` that a plain `derive` printed."""
    lines = text.splitlines()
    derivative = lines[0].removeprefix("∂/∂x = ")
    where = dict(line.strip().split(" = ", 1) for line in lines[lines.index("where") + 1 :])
    return derivative, where


def test_a_short_derivative_is_printed_written_out_as_before() -> None:
    assert _derive("sigmoid(sigmoid(x))") == (
        "∂/∂x = sigmoid(x)*sigmoid(sigmoid(x))*(1 - sigmoid(x))*(1 - sigmoid(sigmoid(x)))\n"
    )
    assert "where" not in _derive(_nested("sigmoid", 6))


def test_a_deep_derivative_is_printed_with_names_linear_in_depth() -> None:
    sizes = {}
    for depth in (40, 80):
        text = _derive(_nested("sigmoid", depth))
        assert "\nwhere\n  u1 = sigmoid(x)\n  u2 = sigmoid(u1)\n" in text
        sizes[depth] = len(text)
    assert sizes[80] < 2.5 * sizes[40]
    assert sizes[80] < 4 * MAX_WRITTEN_OUT * 10  # written out it is 59 KB


def test_the_named_plain_derivative_with_its_where_is_a_correct_claim() -> None:
    expression = _nested("sin", 40)  # sigmoid's derivative is below atol at this depth
    derivative, where = _plain_named(_derive(expression))
    assert "cos(u39)" in derivative
    assert _verdict(expression, derivative, where) == "correct"
    assert _verdict(expression, derivative.replace("cos(x)", "cos(2*x)"), where) == "incorrect"


def test_the_json_derivative_with_its_where_is_a_correct_claim() -> None:
    expression = _nested("tanh", 12)
    document = json.loads(_derive(expression, "--format", "json"))
    derivative = document["variables"]["x"]["derivative"]
    assert "u11" in derivative and list(document["where"])[0] == "u1"
    assert _verdict(expression, derivative, document["where"]) == "correct"


def _where_chain(count: int) -> str:
    lines = ["cases:", "  - name: deep-where", "    where:", "      u1: sin(x)"]
    lines += [f"      u{i}: sin(u{i - 1}) + 0.5*u{i - 1}" for i in range(2, count + 1)]
    lines += [f"    function: u{count}", "    domain: {x: [-1, 1]}"]
    return "\n".join(lines) + "\n"


def _run_on_chain(tmp_path, count: int, *args: str) -> str:
    path = tmp_path / f"chain{count}.yaml"
    path.write_text(_where_chain(count), encoding="utf-8")
    result = CliRunner().invoke(main, [args[0], str(path), *args[1:]])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_long_where_chain_at_a_point_is_derived_through_its_names(tmp_path) -> None:
    # written out, SymPy spreads 0.5*u over u's terms: n² nodes, and the derivative
    # has ~1e30 nodes at n = 100; through the names it is one factor per intermediate
    sizes = {}
    for count in (30, 60):
        text = _run_on_chain(tmp_path, count, "derive", "--at", "x=0.3")
        last = text.splitlines()[-1]
        assert last.startswith("∂f/∂x = ") and "too large" not in last
        assert f"(cos(u{count - 1}) + 1/2)" in last
        sizes[count] = len(text)
    assert sizes[60] < 2.5 * sizes[30]


def test_a_long_where_chain_is_drawn_through_its_definitions(tmp_path) -> None:
    sizes = {}
    for count in (60, 120):
        dot = _run_on_chain(tmp_path, count, "graph", "--at", "x=0.3")
        assert dot.count("\\nvalue ") == 3 * count - 1  # x, sin, then sin × + a link
        assert f'label="u{count} = +\\nvalue 1.89549\\nadjoint 1", peripheries=2]' in dot
        assert '"u1 = sin\\nvalue 0.29552\\nadjoint ' in dot
        sizes[count] = len(dot)
    assert sizes[120] < 2.5 * sizes[60]
