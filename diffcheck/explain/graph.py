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

__all__ = ["IMAGE_FORMATS", "graph_dot", "node_names", "render_graph"]

IMAGE_FORMATS = ("svg", "png")
_OPERATORS = {PRIMITIVES["add"]: "+", PRIMITIVES["mul"]: "×", PRIMITIVES["pow"]: "^"}


def _quote(text: str) -> str:
    """A DOT string: backslashes and quotes escaped, lines ended by DOT's \\n.

    >>> print(_quote('say "hi"\\nbye'))
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
    lines = [f"digraph {_quote(title)} {{", "  rankdir=BT;",
             '  node [shape=box, style=rounded, fontname="Helvetica"];']  # fmt: skip
    constant: dict[sp.Basic, bool] = {}  # SymPy's is_number walks every occurrence
    for node in order:
        constant[node] = node.is_number if not node.args else all(map(constant.get, node.args))
    for i, node in enumerate(order):
        if constant[node]:
            lines.append(f"  n{i} [shape=plaintext, label={_quote(_operation(node, True))}];")
            continue
        label = _operation(node, False)
        if node in names and names[node] != label:
            label = f"{names[node]} = {label}"
        adjoint = "—" if adjoints[i] is None else _number(adjoints[i])
        text = f"{label}\nvalue {_number(values[i])}\nadjoint {adjoint}"
        shape = ", shape=ellipse" if node.is_Symbol else ""
        peripheries = ", peripheries=2" if i == len(order) - 1 else ""  # the output
        lines.append(f"  n{i} [label={_quote(text)}{shape}{peripheries}];")
    for i, node in enumerate(order):
        lines.extend(f"  n{index[arg]} -> n{i};" for arg in dict.fromkeys(node.args))
    lines.append("}")
    return "\n".join(lines) + "\n"


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
