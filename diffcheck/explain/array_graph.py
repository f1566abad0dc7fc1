"""Explain stage, for people: the computational graph of an array case as Graphviz DOT.

Input: an `ArrayCase` (its first instance: the first size of each dimension). Output:
DOT text with one node per distinct node of the array IR, labelled by its operation and,
for an intermediate, its name; each edge carries the shape of the value flowing along it
([64, 512]; [] for a scalar), as the array builder inferred it. Main function:
`array_graph_dot`.
"""

from __future__ import annotations

from ..arrays import ir
from ..cases.array_model import ArrayCase
from ..symbolic.rules import PRIMITIVES
from .graph import quote_dot

__all__ = ["array_graph_dot", "operation"]

_OPERATORS = {PRIMITIVES["add"].name: "+", PRIMITIVES["mul"].name: "×", PRIMITIVES["pow"].name: "^"}


def _shape(node: ir.Node) -> str:
    return "[" + ", ".join(str(n) for n in node.shape) + "]"


def operation(node: ir.Node) -> str:
    """What a node does, in a few characters: a variable's name, a constant's value, a
    call's function, an einsum's subscripts, else the kind of node."""
    if isinstance(node, ir.Variable):
        return node.name
    if isinstance(node, ir.Constant):
        return str(node.value)
    if isinstance(node, ir.Call):
        return _OPERATORS.get(node.rule.name, node.rule.name)
    if isinstance(node, ir.Einsum):
        return f"einsum {ir.show(node).split(chr(34))[1]}"  # the subscripts between quotes
    if isinstance(node, ir.Reduce):
        return f"{node.kind} axis {list(node.axes)}"
    if isinstance(node, ir.Softmax):
        return f"{'log_' * node.log}softmax axis {node.axis}"
    if isinstance(node, ir.Compare):
        return node.op
    return type(node).__name__.lower()


def array_graph_dot(case: ArrayCase) -> str:
    """DOT text for the graph of an array case's function, inputs at the bottom.

    The sizes are the first of each dimension's sweep; the graph's title says them.
    """
    instance = case.instances[0]
    names = {id(node): name for name, node in instance.intermediates}
    order = ir.nodes_in_order([instance.function])
    index = {id(node): i for i, node in enumerate(order)}
    sizes = ", ".join(f"{dim}={size}" for dim, size in instance.dims.items())
    title = f"{case.name} ({sizes})" if sizes else case.name
    lines = [f"digraph {quote_dot(title)} {{", "  rankdir=BT;",
             '  node [shape=box, style=rounded, fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];']  # fmt: skip
    for i, node in enumerate(order):
        label = operation(node)
        if id(node) in names and names[id(node)] != label:
            label = f"{names[id(node)]} = {label}"
        if i == len(order) - 1:
            label += f"\n{_shape(node)}"
        if isinstance(node, ir.Constant):
            style = ", shape=plaintext"
        else:
            style = ", shape=ellipse" if isinstance(node, ir.Variable) else ""
        style += ", peripheries=2" if i == len(order) - 1 else ""
        lines.append(f"  n{i} [label={quote_dot(label)}{style}];")
    for i, node in enumerate(order):
        seen: set[int] = set()
        for child in node.children():
            if id(child) not in seen:
                seen.add(id(child))
                lines.append(f"  n{index[id(child)]} -> n{i} [label={quote_dot(_shape(child))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
