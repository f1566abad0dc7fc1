"""Symbolic stage, for people: a derivative through named intermediates, factor by factor.

Input: a function written with intermediates (a case's `where`, or the names that
`name_subexpressions` gives the calls of a deep expression) and the variables. Output:
per variable a `Derivation`: the chain rule as paths of factors ∂A/∂B, each factor in
the rule table's closed form with its steps, their product, and the checker's own
derivative (`derive_gradient`) written with the names. Naming keeps the size linear in
depth where writing every sub-expression out grows with its square. Main functions:
`explain_expression`, `explain_case`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from ..limits import deep_recursion
from ..symbolic.derive import derive_gradient, fold_intermediates
from ..symbolic.resolution import Resolution
from ..symbolic.rules import PRIMITIVES, rule_for
from ..symbolic.trees import (
    more_nodes_than,
    nodes_in_order,
    substitute,
    symbols_in,
    tree_size,
)
from .steps import ClosedForm, Step, closed_form, explain_steps, recognise_nodes

if TYPE_CHECKING:  # annotations only: imported lazily, plain derive never needs it
    from ..cases.loader import Case

__all__ = [
    "MAX_CALL_DEPTH",
    "MAX_INLINE_SIZE",
    "MAX_PATHS",
    "MAX_RESOLVED_NODES",
    "MAX_RESULT_NODES",
    "Derivation",
    "Factor",
    "explain_case",
    "explain_expression",
    "explain_where",
    "name_subexpressions",
]

# Beyond these an expression is explained through named intermediates: every step of a
# derivation prints its sub-expression, so written out the text grows as size × depth.
MAX_CALL_DEPTH = 3  # nested function calls and powers
MAX_INLINE_SIZE = 60  # nodes of the expression written out as a tree
MAX_PATHS = 16  # more paths through the intermediates are shown as adjoint sums instead
# Beyond this many distinct nodes in the function written out, the result is the chain
# rule's sum of products of the factors (each from `derive_gradient` of a definition), not
# `derive_gradient` of the written-out function: SymPy merges intermediates into their
# users there (0.5*(a + b) is 0.5*a + 0.5*b), so a chain of n intermediates can hold n²
# nodes, and its derivative, written out, grows exponentially.
MAX_RESOLVED_NODES = 1000
# A result (derive_gradient's, folded into the names) larger than this written out is
# replaced by the chain's product of factors, which says the same in the names.
MAX_RESULT_NODES = 2000
_ADD, _MUL = PRIMITIVES["add"], PRIMITIVES["mul"]


@dataclass(frozen=True)
class Factor:
    """∂of/∂by: the closed form from the rule table (written with the intermediates'
    names), the steps that reach it and, if an activation is written out, its compact
    form."""

    of: sp.Symbol
    by: sp.Symbol
    expr: sp.Expr
    steps: Step
    closed_form: ClosedForm | None


@dataclass(frozen=True)
class Derivation:
    """∂output/∂variable through the intermediates `names` (name, definition), in order.

    `paths` lists the chains of factors (indices into `factors`) from the output down to
    the variable, None when there are more than MAX_PATHS; `product` is their sum of
    products; `result` is derive_gradient's partial, written with the names (the
    `product` instead when that partial is larger than MAX_RESULT_NODES written out, or
    the function larger than MAX_RESOLVED_NODES: the same derivative, linear); `resolved`
    maps the output and each name to the expression it stands for. Without
    intermediates there is one factor, ∂output/∂variable, and its steps are the whole
    derivation.
    """

    output: sp.Symbol
    function: sp.Expr
    names: tuple[tuple[sp.Symbol, sp.Expr], ...]
    variable: sp.Symbol
    factors: tuple[Factor, ...]
    paths: tuple[tuple[int, ...], ...] | None
    product: sp.Expr | None
    result: sp.Expr
    resolved: Mapping[sp.Symbol, sp.Expr]  # the output and each name, written out


def _fresh(base: str, taken: set[str], numbered: bool = False) -> sp.Symbol:
    """A name not in `taken` (which it joins): `base`, else base2, base3, ...; with
    `numbered`, base1, base2, ..."""
    number = 1
    name = f"{base}1" if numbered else base
    while name in taken:
        number += 1
        name = f"{base}{number}"
    taken.add(name)
    return sp.Symbol(name)


def _is_call(node: sp.Basic) -> bool:
    rule = rule_for(node)
    return bool(node.args) and rule is not None and rule not in (_ADD, _MUL)


def _needs_names(order: list[sp.Basic]) -> bool:
    depth: dict[sp.Basic, int] = {}
    size: dict[sp.Basic, int] = {}
    for node in order:
        depth[node] = max((depth[a] for a in node.args), default=0) + _is_call(node)
        size[node] = 1 + sum(size[a] for a in node.args)
    root = order[-1]
    return depth[root] > MAX_CALL_DEPTH or size[root] > MAX_INLINE_SIZE


def name_subexpressions(
    expr: sp.Expr, taken: set[str], force: bool | None = None
) -> tuple[sp.Expr, tuple[tuple[sp.Symbol, sp.Expr], ...], dict[sp.Symbol, sp.Expr]]:
    """Name the calls of a deep `expr`, and its shared and recognised sub-expressions.

    Args:
        expr: the function.
        taken: names in use (the variables); the new names u1, u2, ... avoid them and
            are added to it.
        force: True or False to name or not; None decides by MAX_CALL_DEPTH and
            MAX_INLINE_SIZE.

    Returns:
        `expr` written with the names; (name, definition) pairs, innermost first; and
        name -> the sub-expression it stands for (resolving the definitions would
        rebuild deep calls, which SymPy may evaluate at a cost exponential in depth).

    >>> from diffcheck.symbolic.parse import parse_expression
    >>> name_subexpressions(parse_expression("sigmoid(sigmoid(x))"), {"x"}, force=True)
    (sigmoid(u1), ((u1, sigmoid(x)),), {u1: sigmoid(x)})
    """
    order = nodes_in_order([expr])
    if not (force if force is not None else _needs_names(order)):
        return expr, (), {}
    recognised = recognise_nodes(expr)
    inside: set[sp.Basic] = set()  # inside a written-out sigmoid: named as a whole
    for node, call in recognised.items():
        inside |= set(nodes_in_order([node])) - set(nodes_in_order(call.args)) - {node}
    users: dict[sp.Basic, int] = {}
    for node in order:
        for arg in set(node.args):
            users[arg] = users.get(arg, 0) + 1
    names: dict[sp.Basic, sp.Symbol] = {}
    definitions: list[tuple[sp.Symbol, sp.Expr]] = []
    with deep_recursion():
        for node in order[:-1]:
            wanted = _is_call(node) or node in recognised or users.get(node, 0) > 1
            if wanted and node.args and node.free_symbols and node not in inside:
                name = _fresh("u", taken, numbered=True)
                definitions.append((name, substitute(node, names)))
                names[node] = name
        originals = {name: node for node, name in names.items()}
        return substitute(expr, names), tuple(definitions), originals


# ---- derivations -----------------------------------------------------------------------


class _Graph:
    """The output, the intermediates and a variable, and which uses which."""

    def __init__(
        self,
        output: sp.Symbol,
        function: sp.Expr,
        names: tuple[tuple[sp.Symbol, sp.Expr], ...],
        variable: sp.Symbol,
    ):
        self.definitions = {output: function, **dict(names)}
        self.taken = {str(name) for name in self.definitions}  # placeholders avoid them
        self.order = [output, *(name for name, _ in reversed(names))]  # users first
        self.variable = variable
        reaches = {variable}
        for name, definition in names:
            if definition.free_symbols & reaches:
                reaches.add(name)
        self.ranked = {name: i for i, name in enumerate(self.order)}  # nearer names first
        live = {output}  # what the output uses, directly or not
        self.edges: list[tuple[sp.Symbol, sp.Symbol]] = []
        for of in self.order:
            if of in live:
                uses = self._uses(of, reaches)
                live.update(uses)
                self.edges.extend((of, by) for by in uses)
        if not names:  # the one factor, even when it is 0
            self.edges = [(output, variable)]

    def _uses(self, of: sp.Symbol, reaches: set[sp.Symbol]) -> list[sp.Symbol]:
        symbols = self.definitions[of].free_symbols & reaches
        ranked = self.ranked
        return sorted(symbols, key=lambda s: ranked.get(s, len(ranked)))

    def paths(self) -> list[list[tuple[sp.Symbol, sp.Symbol]]] | None:
        uses: dict[sp.Symbol, list[sp.Symbol]] = {}
        for of, by in self.edges:
            uses.setdefault(of, []).append(by)
        count: dict[sp.Symbol, int] = {self.variable: 1}
        for of in reversed(self.order):
            count[of] = sum(count.get(by, 0) for by in uses.get(of, ()))
        if count[self.order[0]] > MAX_PATHS:
            return None
        found: list[list[tuple[sp.Symbol, sp.Symbol]]] = []
        stack = [(self.order[0], [])]
        while stack:
            node, path = stack.pop()
            if node == self.variable:
                found.append(path)
                continue
            for by in reversed(uses.get(node, ())):
                stack.append((by, [*path, (node, by)]))
        return found


def _factor(
    graph: _Graph, of: sp.Symbol, by: sp.Symbol, names: Mapping, folding: Mapping
) -> Factor:
    """∂of/∂by; `names` maps each definition to its name, `folding` those folded into
    the partial."""
    definition = graph.definitions[of]
    with deep_recursion():
        partial = derive_gradient(definition, [by.name])[by.name]
        expr = substitute(partial, folding)
    steps = explain_steps(definition, by, graph.taken)
    return Factor(of, by, expr, steps, closed_form(definition, by.name, steps.result, names))


def _derivation(
    output: sp.Symbol,
    function: sp.Expr,
    names: tuple[tuple[sp.Symbol, sp.Expr], ...],
    variable: str,
    result: sp.Expr | None,
    resolved: Mapping[sp.Symbol, sp.Expr],
) -> Derivation:
    """The chain of factors; `result` None: their sum of products is the result."""
    x = sp.Symbol(variable)
    graph = _Graph(output, function, names, x)
    # a factor is written with the names of what it contains (σ(u1) is u2)
    folding = {output: function, **dict(names)} if names else {}
    definitions = {definition: name for name, definition in folding.items()}
    folded = {d: name for d, name in definitions.items() if not d.is_Symbol and symbols_in(d)}
    factors = [_factor(graph, of, by, definitions, folded) for of, by in graph.edges]
    index = {(f.of, f.by): i for i, f in enumerate(factors)}
    paths = graph.paths()
    product = None
    if paths is not None:
        with deep_recursion():
            product = sp.Add(*(sp.Mul(*(factors[index[e]].expr for e in path))
                               for path in paths))  # fmt: skip
        paths = [tuple(index[e] for e in path) for path in paths]
    if product is not None and (result is None or tree_size(result) > MAX_RESULT_NODES):
        result = product  # the chain's product: linear in the intermediates
    elif result is None:  # too many paths: derived written out after all
        result = _written_out(resolved[output], [variable], resolved)[variable]
    return Derivation(output, function, names, x, tuple(factors),
                      None if paths is None else tuple(paths), product, result,
                      resolved)  # fmt: skip


def _written_out(
    resolved: sp.Expr, wrt: Sequence[str], names: Mapping[sp.Symbol, sp.Expr]
) -> dict[str, sp.Expr]:
    """derive_gradient's partials of the written-out function, folded into `names`."""
    with deep_recursion():
        gradient = derive_gradient(resolved, list(wrt))
        return {n: fold_intermediates(g, names) for n, g in gradient.items()}


def explain_where(
    function: sp.Expr,
    where: Sequence[tuple[str, sp.Expr]],
    substitutions: Mapping[sp.Symbol, sp.Expr],
    wrt: Sequence[str],
    taken: set[str] | None = None,
    resolved: sp.Expr | None = None,
) -> dict[str, Derivation]:
    """Derivations of `function` through intermediates (a case's `where`).

    Args:
        function: the function, written with the intermediates' names.
        where: (name, definition) pairs in order, each written with earlier names.
        substitutions: name -> definition with every name resolved; a `Resolution`
            writes out only what it must (nothing, for a function larger than
            MAX_RESOLVED_NODES written out).
        wrt: the variables.
        taken: names in use, so that the output's name "f" does not clash.
        resolved: `function` with every name resolved, if known already.

    Returns:
        Variable name -> `Derivation`, in `wrt` order.
    """
    names = tuple((sp.Symbol(name), definition) for name, definition in where)
    taken = set(taken or ()) | {str(name) for name, _ in names} | set(wrt)
    taken |= {s.name for s in function.free_symbols}
    output = _fresh("f", taken)
    lazy = substitutions if isinstance(substitutions, Resolution) else (
        Resolution(names, substitutions))  # fmt: skip
    # through the names, nothing is written out: a long chain written out holds n² nodes
    with deep_recursion():
        if resolved is not None:
            large = more_nodes_than(resolved, MAX_RESOLVED_NODES)
        else:
            large = lazy.larger_than(function, MAX_RESOLVED_NODES)
    everything = lazy.extended(output, function, resolved)
    results: dict[str, sp.Expr | None] = dict.fromkeys(wrt)
    if not names or not large:
        results = _written_out(everything[output], wrt, everything if names else {})
    return {name: _derivation(output, function, names, name, results[name], everything)
            for name in wrt}  # fmt: skip


def explain_expression(
    expr: sp.Expr, wrt: Sequence[str], force_names: bool | None = None
) -> dict[str, Derivation]:
    """Derivations of a plain expression; a deep one is explained through names u1,
    u2, ... for its calls (`name_subexpressions`), so its size stays linear in depth.

    >>> from diffcheck.symbolic.parse import parse_expression
    >>> derivation = explain_expression(parse_expression("tanh(tanh(x))"), ["x"])["x"]
    >>> derivation.names, derivation.factors[0].steps.rule
    ((), 'chain')
    """
    taken = {s.name for s in expr.free_symbols} | set(wrt)
    function, names, originals = name_subexpressions(expr, taken, force_names)
    where = [(name.name, definition) for name, definition in names]
    return explain_where(function, where, originals, wrt, taken, resolved=expr)


def explain_case(case: Case) -> dict[str, Derivation]:
    """Derivations of a case: through its `where`, or as a plain expression."""
    if not case.where:
        return explain_expression(case.function.expr, case.wrt)
    where = [(name, expression.expr) for name, expression in case.where]
    return explain_where(case.function.expr, where, case.substitutions, case.wrt,
                         set(case.variables))  # fmt: skip
