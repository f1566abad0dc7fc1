"""Symbolic stage, for people: an expression -> a tree of named rule applications.

Input: a SymPy expression and a variable. Output: a `Step` tree, one step per rule
applied (sum, product, quotient, power, chain, exp, sigmoid, ...). Every local
derivative is `symbolic.local_partial`, the factor `derive_gradient` multiplies in, so
an explanation cannot disagree with the checker. `closed_form` recognises the table's
activations in an expression (1/(1 + exp(-x)) is sigmoid(x)) and proves the compact
derivative equal. Main functions: `explain_steps`, `closed_form`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sympy as sp

from ..errors import RuleError
from ..limits import deep_recursion
from ..symbolic.derive import derive_gradient, local_partial, prove_equal
from ..symbolic.printing import is_power_form
from ..symbolic.rules import PRIMITIVES, RULES, Rule, rule_for
from ..symbolic.trees import call, nodes_in_order, substitute

__all__ = [
    "PRIMITIVE_RULES",
    "RECOGNISED",
    "ClosedForm",
    "Outer",
    "Step",
    "Term",
    "closed_form",
    "explain_steps",
    "recognise",
    "recognise_nodes",
]

# The rules of arithmetic, by the names textbooks give them; every other step is named
# after its entry in RULES (exp, log, sin, tanh, sigmoid, ...).
PRIMITIVE_RULES = ("constant", "variable", "sum", "constant multiple", "product", "quotient",
                   "power", "exponential", "general power", "chain")  # fmt: skip
# The activations people differentiate through their own value (σ' = σ(1 − σ)): written
# out by their definition, they are recognised and the compact derivative is proved.
RECOGNISED = ("sigmoid", "softplus", "logsumexp")
_PLACEHOLDERS = ("u", "v", "p", "q")


@dataclass(frozen=True)
class Term:
    """One dependent argument of a rule: `local` is the rule's partial with respect to
    it (the outer derivative, in a chain) and `step` differentiates the argument."""

    argument: sp.Expr
    local: sp.Expr
    step: Step


@dataclass(frozen=True)
class Outer:
    """The outer function of a chain, over placeholders: d/du u**(-1) = -u**(-2)."""

    rule: str
    placeholders: tuple[sp.Symbol, ...]
    expr: sp.Expr
    derivatives: tuple[sp.Expr, ...]


@dataclass(frozen=True)
class Step:
    """d expr / d variable = result, by `rule`; result = sum of local * term result.

    `rewrite` is set when the rule reads the expression in another form than it prints
    (1/(1 + exp(-x)) is the power (1 + exp(-x))**(-1)).
    """

    rule: str
    expr: sp.Expr
    variable: sp.Symbol
    result: sp.Expr
    terms: tuple[Term, ...] = ()
    outer: Outer | None = None
    rewrite: sp.Expr | None = None

    @property
    def local(self) -> tuple[sp.Expr, ...]:
        return tuple(term.local for term in self.terms)

    def walk(self) -> Iterable[Step]:
        """This step and every step below it, depth first."""
        yield self
        for term in self.terms:
            yield from term.step.walk()


@dataclass(frozen=True)
class ClosedForm:
    """`expr` is the derivative in the table's compact form, found by reading each
    `recognised` sub-expression as the table function it defines; `verified` only when
    prove_equal proved it equal to the derivation's result."""

    recognised: tuple[tuple[sp.Expr, sp.Expr], ...]
    expr: sp.Expr
    verified: bool


def explain_steps(expr: sp.Expr, variable: str | sp.Symbol, taken: Iterable[str] = ()) -> Step:
    """The derivative of `expr` as a tree of rule applications.

    Args:
        expr: a SymPy expression built by `parse` (small: deep chains are named first,
            see `chain.explain_expression`).
        variable: the variable to differentiate with respect to.
        taken: names placeholders must not take besides those in `expr` (the other
            intermediates of a case).

    Returns:
        The root `Step`; its `result` is the derivative.

    Raises:
        RuleError: some argument has no derivative (polygamma's order).

    >>> from diffcheck.symbolic.parse import parse_expression
    >>> step = explain_steps(parse_expression("tanh(tanh(x))"), "x")
    >>> step.rule, step.outer.rule, step.result
    ('chain', 'tanh', (1 - tanh(x)**2)*(1 - tanh(tanh(x))**2))
    """
    x = sp.Symbol(variable) if isinstance(variable, str) else variable
    names = {symbol.name for symbol in expr.free_symbols} | set(taken)
    with deep_recursion():
        return _Explainer(x, names).step(expr)


class _Explainer:
    def __init__(self, variable: sp.Symbol, taken: set[str]):
        self.x = variable
        self.taken = taken
        free = [n for n in _PLACEHOLDERS if n not in taken]
        self.placeholder = sp.Symbol(free[0] if free else self.fresh("u", 1)[0])

    def fresh(self, stem: str, count: int) -> list[str]:
        """`count` names stem1, stem2, ... that no variable of the expression has."""
        names = (f"{stem}{n}" for n in itertools.count(1))
        return list(itertools.islice((n for n in names if n not in self.taken), count))

    def depends(self, expr: sp.Basic) -> bool:
        return self.x in expr.free_symbols

    def step(self, expr: sp.Expr) -> Step:
        if not self.depends(expr):
            return Step("constant", expr, self.x, sp.Integer(0))
        if expr == self.x:
            return Step("variable", expr, self.x, sp.Integer(1))
        if expr.is_Add:
            terms = tuple(Term(arg, sp.Integer(1), self.step(arg)) for arg in expr.args)
            return Step("sum", expr, self.x, sp.Add(*(t.step.result for t in terms)), terms)
        if expr.is_Mul:
            return self.product(expr)
        if expr.is_Pow:
            base, exponent = (self.depends(arg) for arg in expr.args)
            name = "general power" if base and exponent else "power" if base else "exponential"
            return self.call(expr, name)
        rule = rule_for(expr)
        if rule is None or rule in PRIMITIVES.values():
            raise RuleError(f"no derivative rule for {type(expr).__name__} in {expr}")
        return self.call(expr, rule.name)

    def product(self, expr: sp.Mul) -> Step:
        constant = [arg for arg in expr.args if not self.depends(arg)]
        dependent = [arg for arg in expr.args if self.depends(arg)]
        if constant:
            coefficient, rest = sp.Mul(*constant), sp.Mul(*dependent)
            inner = self.step(rest)
            term = Term(rest, coefficient, inner)
            return Step("constant multiple", expr, self.x, coefficient * inner.result, (term,))
        below = [arg for arg in dependent if is_power_form(arg) and arg.exp < 0]
        above = [arg for arg in dependent if arg not in below]
        if below and above:
            return self.quotient(expr, sp.Mul(*above), sp.Mul(*(1 / arg for arg in below)))
        terms = tuple(
            Term(arg, sp.Mul(*dependent[:i], *dependent[i + 1 :]), self.step(arg))
            for i, arg in enumerate(dependent)
        )
        result = sp.Add(*(term.local * term.step.result for term in terms))
        return Step("product", expr, self.x, result, terms)

    def quotient(self, expr: sp.Expr, numerator: sp.Expr, denominator: sp.Expr) -> Step:
        # (f/g)' = (f'g - fg')/g²: the locals are ∂/∂f = 1/g and ∂/∂g = -f/g²
        top, bottom = self.step(numerator), self.step(denominator)
        terms = (
            Term(numerator, 1 / denominator, top),
            Term(denominator, -numerator / denominator**2, bottom),
        )
        result = (top.result * denominator - numerator * bottom.result) / denominator**2
        return Step("quotient", expr, self.x, result, terms)

    def call(self, expr: sp.Expr, name: str) -> Step:
        """A function (or power) applied to its arguments: the rule, or the chain rule."""
        indices = [i for i, arg in enumerate(expr.args) if self.depends(arg)]
        terms = tuple(Term(expr.args[i], self.local(expr, i), self.step(expr.args[i]))
                      for i in indices)  # fmt: skip
        result = sp.Add(*(term.local * term.step.result for term in terms))
        rewrite = expr if is_power_form(expr) else None
        if all(expr.args[i] == self.x for i in indices):
            return Step(name, expr, self.x, result, terms, rewrite=rewrite)
        return Step("chain", expr, self.x, result, terms, self.outer(expr, name, indices), rewrite)

    def local(self, expr: sp.Expr, index: int) -> sp.Expr:
        partial = local_partial(expr, index)
        if partial is None:
            raise RuleError(
                f"no rule for {expr.func.__name__} argument {index + 1}: "
                f"{expr} cannot be differentiated with respect to {expr.args[index]}"
            )
        return partial

    def outer(self, expr: sp.Expr, name: str, indices: list[int]) -> Outer:
        if len(indices) == 1:
            placeholders = [self.placeholder]
        else:
            placeholders = [sp.Symbol(n) for n in self.fresh(self.placeholder.name, len(indices))]
        args = list(expr.args)
        for index, placeholder in zip(indices, placeholders, strict=True):
            args[index] = placeholder
        outer = expr.func(*args)
        derivatives = tuple(self.local(outer, index) for index in indices)
        return Outer(name, tuple(placeholders), outer, derivatives)


# ---- closed forms ---------------------------------------------------------------------


def _patterns(rule: Rule, node: sp.Basic) -> Iterable[tuple[sp.Expr, list[sp.Wild]]]:
    """The rule's definition over wildcards, in the shapes `node` could have."""
    if rule.arity is not None:
        wilds = [sp.Wild(f"a{i}") for i in range(rule.arity)]
        yield rule.expand(wilds), wilds
    elif node.args and node.args[0].is_Add:  # a variadic sum of exps: one shape per length
        wilds = [sp.Wild(f"a{i}") for i in range(len(node.args[0].args))]
        yield rule.expand(wilds), wilds


def _match(node: sp.Basic) -> sp.Expr | None:
    """The table function call that `node` is the definition of, if any."""
    for name in RECOGNISED:
        rule = RULES[name]
        for pattern, wilds in _patterns(rule, node):
            if pattern.func is not node.func:  # match() is slow: compare the heads first
                continue
            found = node.match(pattern)
            if not found or any(w not in found for w in wilds):
                continue
            args = [found[w] for w in wilds]
            if rule.expand(args) == node:  # exactly the definition, not a lookalike
                return rule.function(*args)
    return None


def recognise_nodes(expr: sp.Expr) -> dict[sp.Basic, sp.Expr]:
    """Each sub-expression of `expr` that writes out a RECOGNISED function, mapped to
    the call (over its own arguments, as written).

    >>> from diffcheck.symbolic.parse import parse_expression
    >>> recognise_nodes(parse_expression("2*log(1 + exp(x))"))
    {log(exp(x) + 1): softplus(x)}
    """
    with deep_recursion():
        return {node: call for node in nodes_in_order([expr])
                if node.args and (call := _match(node)) is not None}  # fmt: skip


def recognise(expr: sp.Expr) -> tuple[sp.Expr, tuple[tuple[sp.Expr, sp.Expr], ...]]:
    """`expr` with each written-out definition of a RECOGNISED function replaced by a
    call, and the (definition, call) pairs found, innermost first.

    >>> from diffcheck.symbolic.parse import parse_expression
    >>> recognise(parse_expression("1/(1 + exp(-x))"))
    (sigmoid(x), ((1/(1 + exp(-x)), sigmoid(x)),))
    """
    calls = recognise_nodes(expr)
    if not calls:
        return expr, ()
    replaced: dict[sp.Basic, sp.Basic] = {}
    with deep_recursion():
        for node in nodes_in_order([expr]):
            if node in calls:
                replaced[node] = substitute(calls[node], replaced)
            elif any(arg in replaced for arg in node.args):
                replaced[node] = call(node.func, [replaced.get(arg, arg) for arg in node.args])
    found = tuple((node, replaced[node]) for node in calls)
    return replaced.get(expr, expr), found


def closed_form(
    expr: sp.Expr,
    variable: str,
    result: sp.Expr,
    names: Mapping[sp.Expr, sp.Symbol] | None = None,
    budget: float = 2.0,
) -> ClosedForm | None:
    """The compact derivative of `expr`, when it writes out a RECOGNISED function.

    Args:
        expr: the expression differentiated.
        variable: the variable.
        result: the derivative as the steps found it; the closed form is proved equal
            to it within `budget` seconds.
        names: sub-expressions to write by name in the closed form (intermediates).
        budget: seconds for the proof.

    Returns:
        A `ClosedForm`, or None if nothing was recognised.
    """
    recognised, found = recognise(expr)
    if not found:
        return None
    compact = derive_gradient(recognised, [variable])[variable]
    verified = prove_equal(result, compact, budget)
    folding = {call: name for definition, call in found
               if (name := (names or {}).get(definition)) is not None}  # fmt: skip
    with deep_recursion():
        written = substitute(compact, folding)
    return ClosedForm(found, written, verified)
