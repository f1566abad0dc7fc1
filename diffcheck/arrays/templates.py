"""The rule table's templates (partials, kinks) instantiated as IR over array arguments.

A template is a SymPy expression over X0, X1, ..., XI and OUT; each of its sums,
products, powers and calls becomes the IR node of the same rule, so the local partial of
an elementwise call is read from the table, never written again here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy as sp

from ..symbolic.rules import OUT, XI, Rule, X, rule_for
from . import ops
from .ir import Call, Node

__all__ = ["instantiate", "kink_nodes", "local_partial"]


def instantiate(template: sp.Expr, mapping: Mapping[sp.Symbol, Node]) -> Node:
    """`template` with its template symbols replaced by the nodes of `mapping`."""
    template = sp.sympify(template)
    if template in mapping:
        return mapping[template]  # type: ignore[index]
    if template.is_Symbol:
        raise ValueError(f"template symbol {template} has no argument")
    if template.is_number and not template.has(sp.Function):
        return ops.constant(template)
    args = [instantiate(arg, mapping) for arg in template.args]
    if template.is_Add:
        return _fold(ops.add, args)
    if template.is_Mul:
        return _fold(ops.multiply, args)
    if template.is_Pow:
        return ops.power(args[0], args[1])
    rule = rule_for(template)
    if rule is None:
        raise ValueError(f"no rule for {type(template).__name__} in a template")
    if rule.fold:  # min, max of more than two arguments: their binary rule folded
        return _fold(lambda a, b: ops.call(rule, (a, b)), args)
    return ops.call(rule, args)


def _fold(combine, args: Sequence[Node]) -> Node:  # type: ignore[no-untyped-def]
    result = args[0]
    for arg in args[1:]:
        result = combine(result, arg)
    return result


def _mapping(rule: Rule, args: Sequence[Node], index: int | None) -> dict[sp.Symbol, Node]:
    mapping: dict[sp.Symbol, Node] = dict(zip(X, args, strict=False))
    if index is not None:
        mapping[XI] = args[index]
    return mapping


def local_partial(node: Call, index: int) -> Node | None:
    """The partial of `node` with respect to argument `index`, as IR (None: the table has
    no derivative for that argument, as for polygamma's order)."""
    rule = node.rule
    template = rule.partials[0 if rule.arity is None else index]
    if template is None:
        return None
    mapping = _mapping(rule, node.args, index if rule.arity is None else None)
    mapping[OUT] = node
    return instantiate(template, mapping)


def kink_nodes(node: Call) -> list[Node]:
    """The table's kink expressions of `node`: where one is 0, a partial does not exist."""
    mapping = _mapping(node.rule, node.args, None)
    return [instantiate(kink, mapping) for kink in node.rule.kinks]
