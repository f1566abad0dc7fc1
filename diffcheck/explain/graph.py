"""Oracle stage, for people: the computational graph of a function as Graphviz DOT.

Input: an expression (written out), its variables, a point and names for some nodes
(a case's intermediates). Output: DOT text with one node per distinct sub-expression,
labelled by its operation, its forward value and the adjoint flowing into it, all from
one `ReverseMode().sweep`; `render_graph` runs Graphviz's `dot` for SVG or PNG.
Main function: `graph_dot`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence

import numpy as np
import sympy as sp

from ..errors import DiffcheckError
from ..oracles.program import Program
from ..oracles.reverse import ReverseMode
from ..symbolic.derive import format_expression
from ..symbolic.rules import PRIMITIVES, rule_for
from ..symbolic.trees import nodes_in_order, substitute
from .relay import local_sweep

__all__ = [
    "IMAGE_FORMATS",
    "graph_dot",
    "node_names",
    "quote_dot",
    "render_graph",
    "where_graph_dot",
]

IMAGE_FORMATS = ("svg", "png")
_OPERATORS = {PRIMITIVES["add"]: "+", PRIMITIVES["mul"]: "×", PRIMITIVES["pow"]: "^"}


def quote_dot(text: str) -> str:
    """A DOT string: backslashes and quotes escaped, lines ended by DOT's \\n.

    >>> print(quote_dot('say "hi"\\nbye'))
    "say \\"hi\\"\\nbye"
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def _number(value: float) -> str:
    return f"{value + 0.0:.6g}"  # + 0.0: no "-0"


def _operation(node: sp.Basic, constant: bool) -> str:
    if node.is_Symbol:
        return node.name
    if constant:
        return format_expression(node)
    rule = rule_for(node)
    return _OPERATORS.get(rule, rule.name if rule is not None else type(node).__name__)


def node_names(function: sp.Expr, where: Sequence[tuple[sp.Symbol, sp.Expr]]
               ) -> dict[sp.Basic, str]:  # fmt: skip
    """Intermediate -> name for the nodes of the written-out `function` that stand for
    an intermediate at every use, so that their adjoint is the intermediate's.

    Not named: an intermediate SymPy merged into a user (u = x + y in u + sin(u) is
    x + y + sin(x + y), whose node x + y carries only sin's share), or one that is
    a variable or another intermediate (u = x).
    """
    resolved: dict[sp.Symbol, sp.Expr] = {}
    for name, definition in where:
        resolved[name] = substitute(definition, resolved)
    everything = substitute(function, resolved)
    names: dict[sp.Basic, str] = {}
    for name, _ in where:
        kept: dict[sp.Symbol, sp.Expr] = {}
        for other, definition in where:
            kept[other] = other if other == name else substitute(definition, kept)
        node = resolved[name]
        if node.is_Atom or node in names:
            continue
        if substitute(everything, {node: name}) == substitute(function, kept):
            names[node] = name.name
    return names


def graph_dot(
    function: sp.Expr,
    variables: Sequence[str],
    point: Sequence[float],
    names: Mapping[sp.Expr, str] | None = None,
    title: str = "diffcheck",
) -> str:
    """DOT text for the graph of `function` at `point`, inputs at the bottom.

    Args:
        function: the expression, with every intermediate written out.
        variables: its variables, in the order of `point`.
        point: a value per variable.
        names: sub-expression -> the name it has (a case's intermediates), shown
            beside its operation.
        title: the graph's name.

    Returns:
        The DOT text.
    """
    names = names or {}
    program = Program([function], variables)
    with np.errstate(all="ignore"):
        values, adjoints = ReverseMode().sweep(program, point)
    order = nodes_in_order([function])
    index = {node: i for i, node in enumerate(order)}
    lines = _header(title)
    constant: dict[sp.Basic, bool] = {}  # SymPy's is_number walks every occurrence
    for node in order:
        constant[node] = node.is_number if not node.args else all(map(constant.get, node.args))
    for i, node in enumerate(order):
        name = names.get(node)
        lines.append(_node_line(i, node, constant[node], name, values[i], adjoints[i],
                                i == len(order) - 1))  # fmt: skip
    for i, node in enumerate(order):
        lines.extend(f"  n{index[arg]} -> n{i};" for arg in dict.fromkeys(node.args))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _header(title: str) -> list[str]:
    return [f"digraph {quote_dot(title)} {{", "  rankdir=BT;",
            '  node [shape=box, style=rounded, fontname="Helvetica"];']  # fmt: skip


def _node_line(
    i: int,
    node: sp.Basic,
    constant: bool,
    name: str | None,
    value: float,
    adjoint: float | None,
    output: bool,
) -> str:
    """One node: a constant as plain text; else its operation (with its name), value
    and adjoint, a variable as an ellipse, the output with a double border."""
    if constant:
        return f"  n{i} [shape=plaintext, label={quote_dot(_operation(node, True))}];"
    label = _operation(node, False)
    if name is not None and name != label:
        label = f"{name} = {label}"
    shown = "—" if adjoint is None else _number(adjoint)
    text = f"{label}\nvalue {_number(value)}\nadjoint {shown}"
    shape = ", shape=ellipse" if node.is_Symbol else ""
    peripheries = ", peripheries=2" if output else ""
    return f"  n{i} [label={quote_dot(text)}{shape}{peripheries}];"


def where_graph_dot(
    function: sp.Expr,
    where: Sequence[tuple[sp.Symbol, sp.Expr]],
    point: Mapping[str, float],
    title: str = "diffcheck",
) -> tuple[str, dict[str, float]]:
    """DOT text for the graph of `function` through its intermediates, drawn as they are
    defined: one node per distinct sub-expression of each definition, an intermediate
    one node however often it is used. Linear in the definitions, where the written-out
    function SymPy builds may hold the square of their number (0.5*(a + b) is
    0.5*a + 0.5*b) and `graph_dot` draws it all.

    Args:
        function: the function, written with the intermediates' names.
        where: (name, definition) pairs in order, each written with earlier names.
        point: variable -> value.
        title: the graph's name.

    Returns:
        The DOT text, and the value of each variable and intermediate at `point`,
        and of the function under the name "".
    """
    output = sp.Dummy("output")
    definitions = [*where, (output, function)]
    known = {sp.Symbol(name): float(value) for name, value in point.items()}
    sweeps = []
    with np.errstate(all="ignore"):
        for name, definition in definitions:  # forward: one small sweep a definition
            index, values, local = local_sweep(definition, known)
            known[name] = values[index[definition]]
            sweeps.append((nodes_in_order([definition]), index, values, local))
    adjoints: dict[sp.Basic, float | None] = {output: 1.0}
    for (name, _), (_, index, _, local) in zip(reversed(definitions), reversed(sweeps),
                                                strict=True):  # fmt: skip
        flow = adjoints.get(name)
        for symbol in (node for node in index if node.is_Symbol):
            if flow is not None and local[index[symbol]] is not None:
                adjoints[symbol] = flow * local[index[symbol]] + (adjoints.get(symbol) or 0.0)
    names = {name for name, _ in where}
    drawn = function if function in names else output  # the node drawn as the output
    values = {"" if symbol is output else symbol.name: value for symbol, value in known.items()}
    return _where_lines(definitions, sweeps, known, adjoints, drawn, title), values


def _where_lines(definitions, sweeps, known, adjoints, drawn: sp.Symbol, title: str) -> str:
    """The DOT lines of `where_graph_dot`: variables first, then each definition's nodes,
    an intermediate's name on the node of its definition."""
    ids: dict[sp.Basic, int] = {}  # a variable or an intermediate -> its node
    lines, edges = _header(title), []
    for variable in sorted(set(known) - {name for name, _ in definitions}, key=str):
        ids[variable] = len(ids)
        lines.append(_node_line(ids[variable], variable, False, None, known[variable],
                                adjoints.get(variable), False))  # fmt: skip
    count = len(ids)
    for (name, definition), (order, index, values, local) in zip(definitions, sweeps,
                                                                  strict=True):  # fmt: skip
        mine: dict[sp.Basic, int] = {}
        flow = adjoints.get(name)
        for node in order:
            if node.is_Symbol:
                mine[node] = ids[node]
                continue
            mine[node] = count
            count += 1
            constant = not (node.free_symbols)
            adjoint = None if flow is None or local[index[node]] is None else (
                flow * local[index[node]])  # fmt: skip
            root = node is definition
            shown = name.name if root and not isinstance(name, sp.Dummy) else None
            lines.append(_node_line(mine[node], node, constant, shown, values[index[node]],
                                    adjoint, root and name == drawn))  # fmt: skip
            edges.extend(f"  n{mine[arg]} -> n{mine[node]};" for arg in dict.fromkeys(node.args))
        ids[name] = mine[definition]
    return "\n".join([*lines, *edges, "}"]) + "\n"


def render_graph(dot: str, image_format: str) -> bytes:
    """The graph drawn by Graphviz's `dot` as SVG or PNG.

    Raises:
        DiffcheckError: `dot` is not installed, or failed.
    """
    program = shutil.which("dot")
    if program is None:
        raise DiffcheckError(
            f"Graphviz's dot is not installed, so no {image_format.upper()} can be drawn "
            "(install graphviz, or write a .dot file)"
        )
    result = subprocess.run(
        [program, f"-T{image_format}"], input=dot.encode("utf-8"), capture_output=True
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise DiffcheckError(f"dot failed: {message}")
    return result.stdout
