"""Symbolic stage: derive closed-form partial derivatives and try to prove claims equal.

Input: SymPy expressions built by `parse`. Output: the gradient (variable -> partial),
kept in the compact forms of the rule table (sigmoid' = sigmoid(1 - sigmoid)), proofs
of equality within a time budget, and the kinks of an expression. Main function:
`derive_gradient`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from ..errors import RuleError
from ..limits import deep_recursion, time_limit
from .masks import mask_products
from .printing import print_expression
from .rules import PRIMITIVES, RULES, TableFunction, rule_for
from .trees import call, nodes_in_order, substitute, symbols_in

__all__ = [
    "KINK_ULPS",
    "DEFAULT_PROOF_BUDGET",
    "derive_gradient",
    "expand_definitions",
    "fold_intermediates",
    "format_expression",
    "kink_expressions",
    "local_partial",
    "prove_equal",
]

DEFAULT_PROOF_BUDGET = 2.0  # seconds per claimed partial; a symbolic "no" is never trusted


def _partial(node: sp.Basic, index: int) -> sp.Expr | None:
    """The rule table's partial of `node` with respect to its argument `index`."""
    rule = rule_for(node)
    if rule is None:
        raise RuleError(f"no derivative rule for {type(node).__name__} in {node}")
    args = node.args
    if rule is PRIMITIVES["add"]:
        return sp.Integer(1)
    if rule is PRIMITIVES["mul"]:
        # an n-ary product is the binary rule applied to (this factor, the others)
        others = sp.Mul(*args[:index], *args[index + 1 :])
        return rule.partial(0, (args[index], others), node)
    return rule.partial(index, args, node)


def local_partial(node: sp.Basic, index: int) -> sp.Expr | None:
    """The rule table's partial of `node` with respect to its argument `index`, the very
    factor `derive_gradient` multiplies in there (None: no derivative exists).

    >>> from diffcheck.symbolic.parse import parse_expression
    >>> local_partial(parse_expression("sigmoid(2*x)"), 0)
    (1 - sigmoid(2*x))*sigmoid(2*x)
    """
    return _partial(node, index)


def _shallow(node: sp.Basic, holders: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    """`node` over placeholders of its arguments: cheap for SymPy to multiply and sort."""
    args = [holders.get(arg, arg) for arg in node.args]
    if node.is_Add or node.is_Mul or node.is_Pow:
        return node.func(*args, evaluate=False)  # keeps the argument order of `node`
    return call(node.func, args)


@dataclass(frozen=True)
class _Factors:
    """An adjoint that is one product, kept as its factors until it is needed.

    Down a chain each node's adjoint is the one above times a local partial: multiplied
    out at each node, SymPy sorts the whole product again each time (n² comparisons at
    depth n: half the time of deriving sigmoid nested 80 deep). `bases` are the bases of the
    factors' factors (x of x**2; the sum 1 - x itself): while none is a number and no two
    are equal, SymPy combines nothing, and its product of them all at once is the one
    taken a factor at a time (tests/test_derive_products.py checks the two agree).
    """

    factors: tuple[sp.Expr, ...]
    bases: frozenset[sp.Expr]


_ONE = _Factors((), frozenset())
_ZERO = sp.Integer(0)


def _bases(expr: sp.Expr) -> frozenset[sp.Expr] | None:
    """The bases of `expr`'s factors, or None if a product with `expr` could combine
    anything but whole factors: a number (SymPy's 2*(x + 1) is 2*x + 2, Mul(2, x + 1, y)
    is not), a power of a number, i, a non-commuting factor, or a base met twice."""
    bases = []
    for factor in sp.Mul.make_args(expr):
        if factor.is_Number or factor is sp.I or factor.is_Order or not factor.is_commutative:
            return None
        base = factor.as_base_exp()[0]
        if base.is_Number:
            return None
        bases.append(base)
    found = frozenset(bases)
    return found if len(found) == len(bases) else None


def _times(adjoint: _Factors | sp.Expr, partial: sp.Expr) -> _Factors | sp.Expr:
    """`adjoint * partial`, as factors while that gives the same product."""
    if partial is sp.S.One:
        return adjoint
    if not isinstance(adjoint, _Factors):
        bases = _bases(adjoint)
        adjoint = _Factors((adjoint,), bases) if bases is not None else adjoint
    bases = _bases(partial)
    if isinstance(adjoint, _Factors) and bases is not None and bases.isdisjoint(adjoint.bases):
        return _Factors((*adjoint.factors, partial), adjoint.bases | bases)
    return _product(adjoint) * partial


def _product(adjoint: _Factors | sp.Expr) -> sp.Expr:
    if not isinstance(adjoint, _Factors):
        return adjoint
    if len(adjoint.factors) == 1:
        return adjoint.factors[0]  # as 1 * factor leaves it
    return sp.Mul(*adjoint.factors)


def _sweep(order: Sequence[sp.Basic], holders: Mapping[sp.Basic, sp.Basic],
           depends: Mapping[sp.Basic, bool]) -> dict[sp.Basic, _Factors | sp.Expr]:  # fmt: skip
    """Each node's adjoint over the placeholders, from the root's 1 (the root is last in
    `order`) down to the leaves; `_product` multiplies out one kept as factors."""
    adjoints: dict[sp.Basic, _Factors | sp.Expr] = {order[-1]: _ONE}
    for node in reversed(order):
        adjoint = adjoints.get(node)
        if adjoint is None or node not in holders:
            continue
        shallow = _shallow(node, holders)
        for index, arg in enumerate(node.args):
            if not depends[arg]:
                continue
            partial = _partial(shallow, index)
            if partial is None:
                raise RuleError(
                    f"no rule for {node.func.__name__} argument {index + 1}: "
                    f"{node} cannot be differentiated with respect to {arg}"
                )
            term = _times(adjoint, substitute(partial, {shallow: holders[node]}))
            if arg in adjoints:  # a second way down to `arg`: a sum from now on
                term = _product(adjoints[arg]) + _product(term)
            adjoints[arg] = term
    return adjoints


def derive_gradient(expr: sp.Expr, wrt: Sequence[str]) -> dict[str, sp.Expr]:
    """Every partial derivative of `expr`, by one backward sweep over its DAG.

    Each node's adjoint is multiplied by the local partial that the rule table gives,
    so sigmoid's derivative stays sigmoid(x)*(1 - sigmoid(x)) and shared sub-expressions
    are differentiated once. The sweep runs over placeholders standing for the inner
    nodes, and the real sub-expressions are put back once at the end: SymPy sorts a
    product by comparing its factors, which is slow when each factor is a deep tree.

    Args:
        expr: a SymPy expression built from the rule table's functions.
        wrt: the variable names to differentiate with respect to.

    Returns:
        Variable name -> partial derivative, in `wrt` order.

    Raises:
        RuleError: the derivative with respect to some argument does not exist
            (polygamma's order).

    >>> from diffcheck.symbolic.parse import parse_expression
    >>> derive_gradient(parse_expression("sigmoid(x)"), ["x"])
    {'x': (1 - sigmoid(x))*sigmoid(x)}
    """
    targets = {sp.Symbol(name) for name in wrt}
    order = nodes_in_order([expr])
    depends: dict[sp.Basic, bool] = {}
    holders: dict[sp.Basic, sp.Basic] = {}
    for node in order:
        depends[node] = node in targets or any(depends[arg] for arg in node.args)
        if depends[node] and node.args:
            holders[node] = sp.Dummy()
    adjoints = _sweep(order, holders, depends)
    back = {holder: node for node, holder in holders.items()}
    with deep_recursion():  # where's indicators as masks: 0, not 0·NaN, off the branch
        return {name: mask_products(substitute(_product(adjoints.get(sp.Symbol(name), _ZERO)),
                                               back))
                for name in wrt}  # fmt: skip


KINK_ULPS = 64.0  # a kink expression this close to 0 (in ulps of the point) is at the kink


def kink_expressions(expr: sp.Expr, wrt: Sequence[str] | None = None) -> tuple[sp.Expr, ...]:
    """Expressions whose zeros are the points where `expr` may not be differentiable
    with respect to `wrt` (default: any variable): a kink whose argument does not depend
    on them (relu(b) in w*relu(b), with respect to w) does not matter."""
    targets = None if wrt is None else {sp.Symbol(name) for name in wrt}
    depends: dict[sp.Basic, bool] = {}
    kinks: list[sp.Expr] = []
    for node in nodes_in_order([expr]):
        own = node.is_Symbol and (targets is None or node in targets)
        depends[node] = own or any(depends[arg] for arg in node.args)
        rule = rule_for(node)
        if rule is not None and rule.kinks and depends[node]:
            kinks.extend(k for k in rule.kink_expressions(node.args) if not k.is_number)
    return tuple(dict.fromkeys(kinks))


def expand_definitions(expr: sp.Expr) -> sp.Expr:
    """`expr` with every table function replaced by its definition (sigmoid -> 1/(1+e^-x))."""
    replaced: dict[sp.Basic, sp.Basic] = {}
    for node in nodes_in_order([expr]):
        args = [replaced.get(arg, arg) for arg in node.args]
        rebuilt = call(node.func, args) if args and args != list(node.args) else node
        if isinstance(rebuilt, TableFunction):
            rebuilt = RULES[rebuilt.rule_name].expand(rebuilt.args)
        if rebuilt is not node:
            replaced[node] = rebuilt
    return replaced.get(expr, expr)


def _proof_attempts(difference: sp.Expr) -> Iterable[sp.Expr]:
    """Ever more expensive rewrites of `difference`; any of them being 0 is a proof."""
    real = {s: sp.Dummy(s.name, real=True) for s in difference.free_symbols}
    elementary = expand_definitions(difference).xreplace(real)
    yield elementary
    exponential = elementary.rewrite(sp.exp)
    yield sp.cancel(sp.together(exponential))
    yield sp.simplify(elementary)


def _is_zero(expr: sp.Expr) -> bool:
    return expr == 0 or bool(expr.is_Number and expr.is_zero)  # SymPy: Float(0) != 0


def prove_equal(claim: sp.Expr, derived: sp.Expr, budget: float = DEFAULT_PROOF_BUDGET) -> bool:
    """True if `claim - derived` simplifies to 0 within `budget` seconds.

    False means "not proved", never "different": SymPy misses true identities such
    as 2*sigmoid(2*x) - 1 = tanh(x) in some forms, so the numeric check decides.

    >>> from diffcheck.symbolic.parse import parse_expression as p
    >>> prove_equal(p("sigmoid(x)*(1 - sigmoid(x))"), p("exp(-x)/(1 + exp(-x))^2"))
    True
    """
    difference = claim - derived
    if difference == 0:
        return True
    with time_limit(budget, "proof budget", suppress=True), deep_recursion():
        try:
            return any(_is_zero(attempt) for attempt in _proof_attempts(difference))
        except (
            RecursionError,
            ArithmeticError,
            TypeError,
            ValueError,
            NotImplementedError,
            AttributeError,
            sp.PolynomialError,
        ):
            return False  # SymPy gave up on this form; the numeric check still decides
    return False


def fold_intermediates(expr: sp.Expr, substitutions: Mapping[sp.Symbol, sp.Expr]) -> sp.Expr:
    """Write `expr` with the names of `where` intermediates, as people write the chain."""
    names = {resolved: name for name, resolved in substitutions.items()
             if not resolved.is_Symbol and symbols_in(resolved)}  # fmt: skip
    return substitute(expr, names)


def format_expression(expr: sp.Expr) -> str:
    """Case-file syntax for `expr`: parsing the text gives the expression back. Laid
    out as derivations print it (`print_expression`), so a report's derived gradient
    and `derive` read alike.

    >>> from diffcheck.symbolic.parse import parse_expression
    >>> format_expression(parse_expression("x^2/2 - t"))
    'x**2/2 - t'
    """
    return print_expression(expr)
