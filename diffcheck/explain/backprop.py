"""Explain stage: backpropagation through an array case's `where` chain, the δ recursion.

`delta_chain(case, wrt)` walks the intermediates from the output back. Each expression
that uses a name passes that name its VJP for the expression's own δ, so
δ_u = ∂L/∂u is the sum over the expressions using u (`δ_h1 = W2.T @ δ_z2`), and ∂L/∂W
follows once every expression using W has passed its δ back. Each step is written in
matrix notation with the rule it applies and its shape; `DeltaChain.norms` evaluates
every step at a point (a norm that shrinks step by step is a vanishing gradient).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from ..arrays import ir, ops
from ..arrays.evaluate import evaluate
from ..arrays.reverse import depending_nodes, vjp_expressions
from ..cases.array_model import ArrayCase
from .matrix import CaseBuild, DimensionNames, UnitSums, case_builds, case_folding
from .matrix_convert import TermBuilder
from .matrix_print import print_term
from .matrix_terms import MatrixFormError

__all__ = ["DeltaChain", "DeltaStep", "delta_chain", "substitute"]

OUTPUT = ""  # the function's own slot among the named expressions


@dataclass(frozen=True)
class DeltaStep:
    """δ of an intermediate (`variable` False) or ∂L/∂ of a variable, in matrix notation."""

    target: str
    variable: bool
    text: str | None  # None: no matrix form (`problem` says why)
    shape: str  # [m, k]
    rules: tuple[str, ...]
    direct: bool  # only the function itself uses it: δ_u is ∂L/∂u straight away
    problem: str | None = None

    @property
    def label(self) -> str:
        return self.target if self.variable else f"δ_{self.target}"


@dataclass(frozen=True, eq=False)
class DeltaChain:
    output: str  # L for a scalar function, f otherwise
    steps: tuple[DeltaStep, ...]
    build: CaseBuild  # the case at its first sizes, and each step there as IR
    nodes: tuple[ir.Node, ...]

    def norms(self, point: Mapping[str, Any]) -> dict[str, float]:
        """Each step's value at `point` (the case's variables), as its 2-norm (the
        Frobenius norm of a matrix), keyed by the step's label."""
        values = dict(point)
        for name, node in self.build.intermediates:
            values[name] = evaluate(node, values)
        found = {}
        for step, node in zip(self.steps, self.nodes, strict=True):
            value = evaluate(node, values)
            if not step.variable:
                values[step.label] = value
            found[step.label] = float(np.linalg.norm(np.ravel(value)))
        return found


def substitute(root: ir.Node, replacements: Mapping[int, ir.Node]) -> ir.Node:
    """`root` rebuilt with the nodes whose ids `replacements` names replaced."""
    rebuilt: dict[int, ir.Node] = {}
    for node in ir.nodes_in_order([root]):
        if id(node) in replacements:
            rebuilt[id(node)] = replacements[id(node)]
            continue
        changes = {}
        for field in fields(node):
            value = getattr(node, field.name)
            if isinstance(value, ir.Node) and rebuilt[id(value)] is not value:
                changes[field.name] = rebuilt[id(value)]
            elif isinstance(value, tuple) and value and all(isinstance(v, ir.Node) for v in value):
                new = tuple(rebuilt[id(v)] for v in value)
                if any(a is not b for a, b in zip(new, value, strict=True)):
                    changes[field.name] = new
        rebuilt[id(node)] = replace(node, **changes) if changes else node
    return rebuilt[id(root)]


@dataclass
class _Cut:
    """The case's expressions with every intermediate a variable of its own name."""

    expressions: dict[str, ir.Node]  # name -> expression; OUTPUT -> the function
    order: list[str]  # the intermediates that carry a δ, in the case's order
    users: dict[str, list[str]]  # name -> the expressions using it directly

    def names(self) -> dict[int, str]:
        """The root of each intermediate's expression -> its name: a rule's partial
        that uses the function's own value (sigmoid's) reads h1, not sigmoid(z1)."""
        return {id(e): name for name, e in self.expressions.items() if name != OUTPUT}


def _cut(build: CaseBuild, wrt: Sequence[str]) -> _Cut:
    named = build.names()
    kept = [(name, node) for name, node in build.intermediates if named.get(id(node)) == name]
    variables = {id(node): ir.Variable(shape=node.shape, name=name) for name, node in kept}
    expressions = {name: substitute(node, {k: v for k, v in variables.items() if k != id(node)})
                   for name, node in kept}  # fmt: skip
    expressions[OUTPUT] = substitute(build.function, variables)
    uses = {name: {v.name for v in ir.variables_in(e)} for name, e in expressions.items()}
    depends: set[str] = set(wrt)
    for name, _ in kept:
        if uses[name] & depends:
            depends.add(name)
    needed, users = {OUTPUT}, {}
    for name in [OUTPUT, *reversed([n for n, _ in kept])]:
        if name not in needed:
            continue
        for used in sorted(uses[name] & depends, key=lambda n: (n in wrt, n)):
            users.setdefault(used, []).append(name)
            needed.add(used)
    order = [name for name, _ in kept if name in needed and name in depends]
    return _Cut(expressions, order, users)


def _steps(case: ArrayCase, build: CaseBuild, wrt: Sequence[str]) -> tuple[list[tuple], dict]:
    """(target, is a variable, IR, rules, direct) of every step, from the output back,
    and the names of the nodes that the steps print by name."""
    cut = _cut(build, wrt)
    passed: dict[str, list[tuple[ir.Node, tuple[str, ...]]]] = {}
    pending = {name: len(cut.users.get(name, [])) for name in wrt}
    steps = []
    for consumer in [OUTPUT, *reversed(cut.order)]:
        expr = cut.expressions[consumer]
        if consumer == OUTPUT:
            cotangent = build.cotangent(case)
        else:
            node = _total(passed[consumer], expr.shape)
            direct = cut.users[consumer] == [OUTPUT]
            steps.append((consumer, False, node, _rules_of(passed[consumer]), direct))
            cotangent = ir.Variable(shape=expr.shape, name=f"δ_{consumer}")
        targets = [name for name, users in cut.users.items() if consumer in users]
        adjoints = vjp_expressions(expr, targets, cotangent)
        for name in targets:
            passed.setdefault(name, []).append((adjoints[name], _rules(expr, name)))
            if name in pending:
                pending[name] -= 1
                if pending[name] == 0:
                    node = _total(passed[name], adjoints[name].shape)
                    steps.append((name, True, node, _rules_of(passed[name]), False))
    return steps, cut.names()


def _total(parts: list[tuple[ir.Node, tuple[str, ...]]], shape: tuple[int, ...]) -> ir.Node:
    total = ops.constant(0, shape)
    for node, _ in parts:
        total = ops.add(total, node)
    return total


def _rules_of(parts: list[tuple[ir.Node, tuple[str, ...]]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(rule for _, rules in parts for rule in rules))


def delta_chain(case: ArrayCase, wrt: Sequence[str]) -> DeltaChain:
    """The δ recursion of `case` for the variables `wrt`, from the output back."""
    real, probe = case_builds(case)
    names = DimensionNames(real.sizes, probe.sizes if probe else None)
    real_steps, real_names = _steps(case, real, wrt)
    probe_steps, probe_names = _steps(case, probe, wrt) if probe is not None else (None, {})
    if probe_steps is not None and [s[:2] for s in probe_steps] != [s[:2] for s in real_steps]:
        probe_steps = None
    folding = case_folding(case, real, probe, names)
    found = []
    for position, (target, variable, node, rules, direct) in enumerate(real_steps):
        other = probe_steps[position][2] if probe_steps else None
        shape = names.shape(node.shape, other.shape if other is not None else None)
        try:
            term = TermBuilder(real_names, UnitSums(case)).term(node)
            if other is not None:
                term = names.merge(term, TermBuilder(probe_names, UnitSums(case)).term(other))
            text = print_term(folding.simplify(term))
        except MatrixFormError as error:
            found.append(DeltaStep(target, variable, None, shape, rules, direct, str(error)))
            continue
        found.append(DeltaStep(target, variable, text, shape, rules, direct))
    output = "L" if real.function.shape == () else "f"
    return DeltaChain(output, tuple(found), real, tuple(s[2] for s in real_steps))


# ---- the rule each step applies --------------------------------------------------------

_TIER_ONE, _TIER_TWO = 1, 2
_PASSING = {
    ir.Reshape: "reshape's VJP",
    ir.BroadcastTo: "broadcasting's VJP: δ summed over the broadcast axes",
    ir.Index: "indexing's VJP: δ scattered back",
    ir.Scatter: "scatter's VJP: δ read back",
    ir.Concatenate: "concatenate's VJP: δ split",
}


def _rules(expr: ir.Node, name: str) -> tuple[str, ...]:
    """The rules on the way from `name` up to the root of `expr`: the ones that change
    δ (products, powers, table functions, matmul, softmax), else the ones passing it on."""
    order = ir.nodes_in_order([expr])
    depends = depending_nodes(order, {name})
    tiers: dict[int, list[str]] = {_TIER_ONE: [], _TIER_TWO: []}
    for node in order:
        if id(node) in depends and not isinstance(node, ir.Variable):
            label, tier = _label(node, depends)
            tiers[tier].append(label)
    return tuple(dict.fromkeys(tiers[_TIER_ONE] or tiers[_TIER_TWO]))


def _label(node: ir.Node, depends: set[int]) -> tuple[str, int]:
    if type(node) in _PASSING:
        return _PASSING[type(node)], _TIER_TWO
    if isinstance(node, ir.Call):
        return _call_label(node, depends)
    if isinstance(node, ir.Einsum):
        return _einsum_label(node)
    if isinstance(node, ir.Softmax):
        return f"{'log_' if node.log else ''}softmax's VJP", _TIER_ONE
    if isinstance(node, ir.Reduce):
        return f"{node.kind}'s VJP", _TIER_ONE
    if isinstance(node, ir.Where):
        return "where's VJP: δ kept where the condition holds", _TIER_ONE
    if isinstance(node, ir.Det):
        return f"{'logdet' if node.log else 'det'}'s VJP", _TIER_ONE
    return f"{type(node).__name__.lower()}'s VJP", _TIER_ONE


def _call_label(node: ir.Call, depends: set[int]) -> tuple[str, int]:
    dependent = [arg for arg in node.args if id(arg) in depends]
    broadcast = any(arg.shape != node.shape for arg in dependent)
    if node.rule is ops.ADD:
        if broadcast:
            return "sum rule; δ summed over the broadcast axes", _TIER_TWO
        return "sum rule: δ passes through +", _TIER_TWO
    if node.rule is ops.MUL:
        if len(dependent) == 2:
            return "elementwise product rule", _TIER_ONE
        if broadcast:
            return "elementwise product; δ summed over the broadcast axes", _TIER_TWO
        return "elementwise product: δ times the other factor", _TIER_TWO
    if node.rule is ops.POW:
        return "elementwise power rule", _TIER_ONE
    return f"{node.rule.name}'s VJP from the rule table", _TIER_ONE


def _einsum_label(node: ir.Einsum) -> tuple[str, int]:
    subscripts = node.subscripts
    if len(subscripts) == 1:
        labels = subscripts[0]
        if len(set(labels)) < len(labels):
            return ("trace's VJP" if not node.output else "diag's VJP"), _TIER_ONE
        if set(labels) - set(node.output):
            return "sum's VJP: δ broadcast back", _TIER_TWO
        return "transpose's VJP", _TIER_TWO
    if any(isinstance(operand, ir.Eye) for operand in node.operands):
        return "diag's VJP", _TIER_ONE
    counts: dict[int, int] = {}
    for labels in subscripts:
        for label in set(labels):
            counts[label] = counts.get(label, 0) + 1
    if any(n > 1 and label not in node.output for label, n in counts.items()):
        return "matmul's VJP", _TIER_ONE
    if len(subscripts) == 2 and all(len(s) == 1 for s in subscripts) and len(node.output) == 2:
        return "outer's VJP", _TIER_ONE
    return "einsum's VJP", _TIER_ONE
