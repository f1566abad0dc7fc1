"""Expression text -> SymPy expression, by a whitelist grammar; nothing is evaluated.

Grammar (`^` and `**` are both powers, right-associative, binding tighter than unary -):

    sum   := term (("+" | "-") term)*
    term  := unary (("*" | "/") unary)*
    unary := ("+" | "-") unary | power
    power := atom (("**" | "^") unary)?
    atom  := NUMBER | NAME | NAME "(" sum ("," sum)* ")" | "(" sum ")"
           | "where" "(" sum COMPARISON sum "," sum "," sum ")"

A comparison (< <= > >= == !=) is allowed only as the first argument of where; it
becomes the number d of where(d, a, b) = a if d > 0 else b (x < y: d = y - x; <=, >=
and == swap a and b). Function names and arities come from `rules.RULES`. Main
function: `parse_expression`.
"""

from __future__ import annotations

import difflib
import math
import unicodedata
from collections.abc import Callable, Iterator
from fractions import Fraction
from types import MappingProxyType

import sympy as sp

from ..errors import ExpressionError, Location, counted
from ..limits import deep_recursion
from .rules import RULES, Rule
from .tokens import COMPARISONS, NUMBER, Token, tokenize
from .trees import nodes_in_order
from .values import constant_float

__all__ = [
    "CONSTANTS",
    "FUNCTION_NAMES",
    "FUNCTION_RULES",
    "MAX_CONSTANT_BITS",
    "TOO_LARGE_CONSTANT",
    "WRITTEN_OTHERWISE",
    "counts_text",
    "function_hint",
    "parse_expression",
    "rule_taking",
    "suggest",
    "unused_name",
]

CONSTANTS = {"pi": sp.pi, "E": sp.E}


def _spellings(rule: Rule) -> tuple[str, ...]:
    """The names case files call `rule` by; an overload shares those of its rule."""
    if rule.overload_of is not None:
        return _spellings(RULES[rule.overload_of])
    return (rule.name, *rule.aliases)


def _function_table() -> dict[str, tuple[Rule, ...]]:
    """Each case-file name -> its rules, one per number of arguments (heaviside has two)."""
    table: dict[str, tuple[Rule, ...]] = {}
    for rule in RULES.values():
        for name in _spellings(rule):
            table[name] = (*table.get(name, ()), rule)
    return table


_FUNCTIONS = _function_table()
FUNCTION_NAMES = frozenset(_FUNCTIONS)
FUNCTION_RULES = MappingProxyType(_FUNCTIONS)  # for the array grammar: the same overloads
_WHERE = "where"  # its first argument is a comparison: the grammar reads it
_COMPARISON_PLACE = "comparisons are only allowed as the first argument of where(...)"

MAX_NESTING = 1000  # parentheses and calls; deeper text is almost surely generated garbage
MAX_DECIMAL_EXPONENT = 400  # beyond float64's range either way; bounds the work of 1e999999
MAX_DIGITS = 1000  # in one number: Python refuses integers of over 4300 digits; float64 reads 17
MAX_INTEGER_POWER = 10_000  # 2**(10**9) would try to build a billion-bit integer
# a constant's exact value is printed in reports, and Python prints no integer of over
# 4300 digits (int_max_str_digits); float64 ends at 2**1024 anyway
MAX_CONSTANT_BITS = 10_000
TOO_LARGE_CONSTANT = (
    f"the constant is too large: its exact value would have more than {MAX_CONSTANT_BITS} bits"
)


def suggest(name: str, candidates: frozenset[str] | set[str]) -> str:
    """A " (did you mean 'x'?)" suffix naming the closest candidate, or "".

    >>> suggest("sigmod", frozenset({"sigmoid", "sign"}))
    " (did you mean 'sigmoid'?)"
    """
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# functions other tools name, written here another way: the way is said, not guessed at
WRITTEN_OTHERWISE = MappingProxyType({
    "pow": "write a**b or a^b",
    "square": "write x**2",
    "exp2": "write 2**x",
    "mish": "write x*tanh(softplus(x))",
    "logsigmoid": "write -softplus(-x)",
    "log_sigmoid": "write -softplus(-x)",
    "logaddexp": "write logsumexp(a, b)",
    "hardtanh": "write max(-1, min(1, x))",
    "relu6": "write min(max(0, x), 6)",
})  # fmt: skip


def function_hint(name: str, names: frozenset[str] | set[str] | None = None) -> str:
    """What to write instead of unknown function `name`: the way this grammar writes it,
    the known function spelled alike but for case (ReLU: relu), or the closest one.

    >>> function_hint("Relu"), function_hint("mish")
    (" (did you mean 'relu'?)", ': write x*tanh(softplus(x))')
    """
    names = FUNCTION_NAMES if names is None else names
    if name in WRITTEN_OTHERWISE:
        return f": {WRITTEN_OTHERWISE[name]}"
    # the plain lower-case spelling first: relu before ReLU
    alike = sorted((known for known in names if known.lower() == name.lower()),
                   key=lambda known: (known != known.lower(), known))  # fmt: skip
    if alike:
        return f" (did you mean '{alike[0]}'?)"
    if name.startswith("arc") and f"a{name[3:]}" in names:  # arccot: acot
        return f" (did you mean 'a{name[3:]}'?)"
    return suggest(name, names)


def unused_name(what: str, name: str, names: frozenset[str] | set[str]) -> str:
    """The message for a value given to a name the case does not use: a constant
    (pi, E) is named as one, any other name gets the closest of `names`.

    >>> unused_name("the domain", "pi", {"x"})
    "the domain gives 'pi', which is the constant pi = 3.14159..., not a variable"
    """
    if name in CONSTANTS:
        value = float(CONSTANTS[name])
        return (
            f"{what} gives '{name}', which is the constant {name} = {value:.6}..., not a variable"
        )
    return f"{what} gives '{name}', which the case does not use{suggest(name, names)}"


def _bits(number: sp.Rational) -> int:
    return max(abs(number.p).bit_length(), number.q.bit_length())


def _number(text: str) -> sp.Rational:
    # exact rationals: 0.1 is 1/10, so symbolic proofs and mpmath see the written value
    value = Fraction(text)
    return sp.Rational(value.numerator, value.denominator)


class _Parser:
    def __init__(self, text: str, locate: Callable[[int], Location | None]):
        self.text = text
        self.locate = locate
        self.tokens = tokenize(text, self.error)
        self.index = 0
        self.depth = 0

    def error(self, message: str, offset: int) -> ExpressionError:
        return ExpressionError(message, self.locate(offset))

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def describe(self, token: Token) -> str:
        return "end of expression" if token.kind == "end" else repr(token.text)

    def expect(self, text: str) -> Token:
        if self.token.text != text or self.token.kind != "op":
            raise self.error(
                f"expected '{text}' but found {self.describe(self.token)}", self.token.start
            )
        return self.advance()

    def parse(self) -> sp.Expr:
        if self.token.kind == "end":
            raise self.error("empty expression", 0)
        expr = self.sum()
        if self.token.kind != "end":
            raise self.error(f"unexpected {self.describe(self.token)}", self.token.start)
        return expr

    def sum(self) -> sp.Expr:
        expr = self.terms()
        if self.at_comparison():
            raise self.error(_COMPARISON_PLACE, self.token.start)
        return expr

    def at_comparison(self) -> bool:
        return self.token.kind == "op" and self.token.text in COMPARISONS

    def terms(self) -> sp.Expr:
        # SymPy is given all the terms at once: adding them one by one rebuilds the
        # sum each time, quadratic in the number of terms
        terms = [self.signed_term()]
        while self.token.kind == "op" and self.token.text in "+-":
            operator = self.advance().text
            right = self.term()
            terms.append(right if operator == "+" else -right)
        return sp.Add(*terms)

    def signed_term(self) -> sp.Expr:
        # a leading sign applies to the whole term, as in -a*b = -(a*b): SymPy prints
        # -(x + 1)*(y + 2) for Mul(-1, x + 1, y + 2), and must read it back as that
        if self.token.kind == "op" and self.token.text in "+-":
            operator = self.advance()
            self.enter(operator)
            term = self.term()
            self.depth -= 1
            return -term if operator.text == "-" else term
        return self.term()

    def term(self) -> sp.Expr:
        factors = [self.unary()]  # all at once, as the terms of a sum
        while True:
            token = self.token
            if token.kind == "op" and token.text in ("*", "/"):
                self.advance()
                right = self.unary()
                if token.text == "/":
                    self.check_divisor(right, token.start)
                factors.append(right if token.text == "*" else 1 / right)
            elif token.kind in ("number", "name") or token.text == "(":
                previous = self.tokens[self.index - 1]
                raise self.error(
                    f"missing operator between {previous.text!r} and {token.text!r}"
                    f" (write {previous.text}*{token.text})",
                    token.start,
                )
            else:
                return sp.Mul(*factors)

    def check_divisor(self, divisor: sp.Expr, offset: int) -> None:
        # calls of constants are kept as written (see Rule.build), so SymPy cannot see
        # that log(1) is 0: their value decides
        if divisor.is_number and divisor.has(sp.Function) and constant_float(divisor) == 0:
            raise self.error(f"division by zero: {divisor} is 0", offset)

    def unary(self) -> sp.Expr:
        if self.token.kind == "op" and self.token.text in "+-":
            operator = self.advance()
            self.enter(operator)
            operand = self.unary()
            self.depth -= 1
            return -operand if operator.text == "-" else operand
        return self.power()

    def power(self) -> sp.Expr:
        base = self.atom()
        if self.token.kind == "op" and self.token.text in ("**", "^"):
            operator = self.advance()
            self.enter(operator)
            exponent = self.unary()
            self.depth -= 1
            return self.raise_to(base, exponent, operator.start)
        return base

    def raise_to(self, base: sp.Expr, exponent: sp.Expr, offset: int) -> sp.Expr:
        # SymPy computes powers of rationals exactly: bound the work before asking it
        if base.is_number and exponent.is_number:
            if exponent.is_Rational and abs(exponent) > MAX_INTEGER_POWER:
                shown = f" ({exponent})" if len(str(exponent)) <= 20 else ""
                raise self.error(f"exponent too large for a constant base{shown}", offset)
            if (
                base.is_Rational
                and exponent.is_Rational
                # a bound on the work only (10 counts 4 bits): the value is weighed at the end
                and _bits(base) * abs(exponent) > 4 * MAX_CONSTANT_BITS
            ):
                raise self.error(TOO_LARGE_CONSTANT, offset)
        return base**exponent

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"expression nested more than {MAX_NESTING} levels deep", token.start)

    def atom(self) -> sp.Expr:
        token = self.advance()
        if token.kind == "number":
            return self.number(token)
        if token.kind == "name":
            if self.token.text == "(" and self.token.kind == "op":
                return self.call(token)
            return self.name(token)
        if token.text == "(":
            self.enter(token)
            expr = self.sum()
            self.expect(")")
            self.depth -= 1
            return expr
        self.index -= 1
        raise self.error(
            f"expected a number, a name or '(' but found {self.describe(token)}", token.start
        )

    def number(self, token: Token) -> sp.Expr:
        exponent = NUMBER.fullmatch(token.text).group(2)
        if exponent and abs(int(exponent[1:])) > MAX_DECIMAL_EXPONENT:
            raise self.error(f"number {token.text} is out of range", token.start)
        digits = NUMBER.fullmatch(token.text).group(1)
        if len(digits) > MAX_DIGITS:  # Python refuses such integers; no float needs them
            raise self.error(f"number of {len(digits)} digits is too long "
                             f"(at most {MAX_DIGITS})", token.start)  # fmt: skip
        return _number(token.text)

    def name(self, token: Token) -> sp.Expr:
        name = unicodedata.normalize("NFC", token.text)
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in _FUNCTIONS:
            raise self.error(f"'{name}' is a function: call it as {name}(...)", token.start)
        return sp.Symbol(name)

    def call(self, token: Token) -> sp.Expr:
        name = unicodedata.normalize("NFC", token.text)
        rules = _FUNCTIONS.get(name)
        if rules is None:
            if name in CONSTANTS:
                raise self.error(f"'{name}' is a constant, not a function", token.start)
            raise self.error(f"unknown function '{name}'{function_hint(name)}", token.start)
        self.enter(self.advance())
        args, swap = self.condition() if name == _WHERE else ([self.sum()], False)
        while self.token.kind == "op" and self.token.text == ",":
            self.advance()
            args.append(self.sum())
        self.expect(")")
        self.depth -= 1
        rule = self.check_arguments(rules, name, args, token.start)
        if swap:  # where(x <= y, a, b) is where(x > y, b, a)
            args[1:] = args[:0:-1]
        call = rule.build(args)
        # args printed for messages only: printing every call of a chain is quadratic in it
        if all(arg.is_number for arg in args) and not _real_value(call):
            shown = ", ".join(map(str, args))
            raise self.error(f"{name}({shown}) has no finite real value", token.start)
        # a written-out call with some constant arguments (log(x, 1) = log(x)/log(1))
        undefined = rule.inline and next(_undefined_constants(call), None)
        if undefined:
            raise self.error(f"{name}({', '.join(map(str, args))}) is undefined: {undefined} "
                             "has no finite real value", token.start)  # fmt: skip
        return call

    def condition(self) -> tuple[list[sp.Expr], bool]:
        """where's comparison as [d] (where(d, a, b) is a where d > 0), and whether a
        and b swap places: x <= y is not x > y."""
        start = self.token.start
        left = self.terms()
        if not self.at_comparison():
            raise self.error("where takes a comparison first, as in where(x > 0, x, 0)", start)
        operator = self.advance().text
        right = self.terms()
        if self.at_comparison():
            raise self.error("comparisons cannot be chained", self.token.start)
        if operator in ("==", "!="):
            return [RULES["abs"].build([left - right])], operator == "=="
        above = operator in (">", "<=")  # d = left - right, else right - left
        return [left - right if above else right - left], operator in ("<=", ">=")

    def check_arguments(
        self, rules: tuple[Rule, ...], name: str, args: list[sp.Expr], offset: int
    ) -> Rule:
        """The rule of `name` that takes `args`; an error if none does."""
        rule = rule_taking(rules, len(args))
        if rule is None:
            raise self.error(f"{name} takes {counts_text(rules)}, got {len(args)}", offset)
        for index in rule.integer_args:
            arg = args[index]
            if not (arg.is_Integer and (rule.integer_min is None or arg >= rule.integer_min)):
                kind = "whole number" if rule.integer_min is None else "non-negative whole number"
                raise self.error(
                    f"{name}'s argument {index + 1} must be a {kind}, got '{arg}'", offset
                )
        return rule


def rule_taking(rules: tuple[Rule, ...], count: int) -> Rule | None:
    """The rule of an overloaded name that takes `count` arguments (log(x) or
    log(x, b)), if any."""
    return next((rule for rule in rules if rule.accepts(count)), None)


def counts_text(rules: tuple[Rule, ...]) -> str:
    """How many arguments a function takes: "1 argument", "at least 2 arguments",
    "1 or 2 arguments"."""
    if len(rules) > 1:
        counts = sorted(rule.arity or 1 for rule in rules)
        return f"{' or '.join(map(str, counts[:-1]))} or {counted(counts[-1], 'argument')}"
    (rule,) = rules
    at_least = "at least " if rule.arity is None or rule.fold else ""
    return f"{at_least}{counted(rule.arity or 1, 'argument')}"


def _real_value(constant: sp.Expr) -> bool:
    """Whether a call of constants has a finite real value as the checker computes it
    (log(0) and log(-2) do not; lgamma(-2.5) = log|Γ(-2.5)| does)."""
    return not math.isnan(constant_float(constant))  # inf: finite but beyond float64


def _undefined_constants(expr: sp.Expr) -> Iterator[sp.Expr]:
    """The constant parts of `expr` (calls and their powers) without a real value."""
    for node in sp.preorder_traversal(expr):
        if node.is_number and not node.is_Atom and not _real_value(node):
            yield node


def _default_locator(offset: int) -> Location:
    return Location("<expression>", 1, offset + 1)


def parse_expression(
    text: str, locate: Callable[[int], Location | None] = _default_locator
) -> sp.Expr:
    """Parse case-file expression text into a SymPy expression.

    Args:
        text: the expression, e.g. ``"1/(1 + exp(-x))"`` or ``"x^2"``.
        locate: maps a 0-based offset in `text` to a file location for error messages.

    Returns:
        The SymPy expression, built from the rule table's functions and plain symbols.

    Raises:
        ExpressionError: the text is not in the grammar, names an unknown function, or
            calls one with the wrong number of arguments.

    >>> parse_expression("2*x^2 - sigmoid(x)")
    2*x**2 - sigmoid(x)
    """
    with deep_recursion():
        expr = _Parser(text, locate).parse()
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError("the expression is undefined (a division by zero?)", locate(0))
    numbers = (node for node in nodes_in_order([expr]) if node.is_Rational)  # no recursion
    if any(_bits(number) > MAX_CONSTANT_BITS for number in numbers):
        raise ExpressionError(
            TOO_LARGE_CONSTANT, locate(0)
        )  # a product of large ones: 10^3000 10^3000
    return expr
