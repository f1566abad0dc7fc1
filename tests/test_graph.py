"""Graph stage: DOT text with a node per distinct sub-expression, labelled by operation,
forward value and adjoint; SVG and PNG through Graphviz."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import sympy as sp
from external_tools import require

from diffcheck.cases.loader import load_case_file
from diffcheck.errors import DiffcheckError
from diffcheck.explain import graph as graph_module
from diffcheck.explain.graph import graph_dot, node_names, render_graph
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.trees import nodes_in_order

NEURON = Path(__file__).parent / "data" / "explain" / "neuron.yaml"
ARTICLE = {"w0": -0.5, "w1": 0.4, "w2": 0.6, "w3": 0.3, "x1": 1.0, "x2": 0.0, "x3": 0.0, "t": 1.0}


def _neuron_dot() -> str:
    (case,) = load_case_file(NEURON).cases
    names = {expr: name.name for name, expr in case.substitutions.items()}
    point = [ARTICLE[name] for name in case.variables]
    return graph_dot(case.resolve(case.function.expr), case.variables, point, names, case.name)


def _labels(dot: str) -> list[str]:
    return re.findall(r'label="((?:[^"\\]|\\.)*)"', dot)


def test_graph_has_a_node_per_distinct_subexpression() -> None:
    expr = parse_expression("sigmoid(x)*(1 - sigmoid(x))")
    dot = graph_dot(expr, ["x"], [0.0])
    assert dot.startswith('digraph "diffcheck" {\n')
    assert len(_labels(dot)) == len(nodes_in_order([expr]))
    assert 'sigmoid\\nvalue 0.5\\nadjoint 0"' in dot  # d/ds s(1 - s) = 1 - 2s = 0 there
    edges = re.findall(r"n\d+ -> n\d+;", dot)
    assert len(edges) == sum(len(set(n.args)) for n in nodes_in_order([expr]))


def test_graph_labels_name_the_intermediates_and_carry_the_relay() -> None:
    labels = _labels(_neuron_dot())
    (y,) = [label for label in labels if label.startswith("y = sigmoid")]
    value, adjoint = (float(line.split()[1]) for line in y.split("\\n")[1:])
    assert math.isclose(value, 1 / (1 + math.exp(0.1)), rel_tol=1e-6)
    assert math.isclose(adjoint, value - 1, rel_tol=1e-6)
    assert any(label.startswith("z = +") for label in labels)
    assert "w2\\nvalue 0.6\\nadjoint 0" in labels


def test_graph_quotes_names() -> None:
    dot = graph_dot(sp.Symbol("x"), ["x"], [1.0], {}, 'say "hi"')
    assert dot.startswith('digraph "say \\"hi\\"" {')


@pytest.mark.parametrize(("image", "magic"), [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_render_graph(image: str, magic: bytes) -> None:
    require("dot")
    assert magic in render_graph(_neuron_dot(), image)[:400]


def test_render_graph_without_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    with pytest.raises(DiffcheckError) as caught:
        render_graph("digraph {}", "svg")
    assert str(caught.value) == (
        "Graphviz's dot is not installed, so no SVG can be drawn (install graphviz, or "
        "write a .dot file)"
    )


def test_nodes_are_named_only_for_intermediates_they_stand_for_at_every_use() -> None:
    x, y, u, v = sp.symbols("x y u v")
    chain = node_names(sp.sin(v), [(u, x * y), (v, sp.tanh(u))])
    assert chain == {x * y: "u", sp.tanh(x * y): "v"}
    assert node_names(u + sp.sin(u), [(u, x + y)]) == {}  # merged: x + y + sin(x + y)
    assert node_names(u * x, [(u, x)]) == {}  # u is x's own node


def test_a_chain_deeper_than_python_s_recursion_limit_is_drawn() -> None:
    depth = 999  # the parser's limit; SymPy's == recursed out near 330
    dot = graph_dot(parse_expression("tanh(" * depth + "x" + ")" * depth), ["x"], [0.5])
    assert dot.count("label=") == depth + 1
    assert dot.count("peripheries=2") == 1
