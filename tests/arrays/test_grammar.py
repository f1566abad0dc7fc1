"""The array grammar: text -> syntax tree, with offsets, and a located message for each error."""

from __future__ import annotations

import doctest
import sys
from fractions import Fraction

import pytest

from diffcheck.arrays import grammar
from diffcheck.arrays.grammar import MAX_NESTING, parse_array_syntax
from diffcheck.arrays.syntax import (
    Binary,
    Call,
    Index,
    Keyword,
    ListLiteral,
    Name,
    Number,
    Slice,
    StringLiteral,
    Syntax,
    Transpose,
    Unary,
)
from diffcheck.errors import ExpressionError, Location


def show(node: Syntax | None) -> str:
    """A compact prefix form of a (small) tree, to state precedence at a glance."""
    if node is None:
        return "_"
    if isinstance(node, Number):
        return node.text
    if isinstance(node, Name):
        return node.name
    if isinstance(node, StringLiteral):
        return repr(node.value)
    if isinstance(node, Unary):
        return f"({node.op}u {show(node.operand)})"
    if isinstance(node, Binary):
        return f"({node.op} {show(node.left)} {show(node.right)})"
    if isinstance(node, Transpose):
        return f"(T {show(node.operand)})"
    if isinstance(node, Slice):
        return f"(slice {show(node.start)} {show(node.stop)} {show(node.step)})"
    if isinstance(node, Index):
        return f"(index {show(node.operand)} {' '.join(show(item) for item in node.items)})"
    if isinstance(node, ListLiteral):
        return "[" + " ".join(show(item) for item in node.items) + "]"
    if isinstance(node, Keyword):
        return f"{node.name}={show(node.value)}"
    assert isinstance(node, Call)
    parts = [show(arg) for arg in node.args] + [show(keyword) for keyword in node.keywords]
    return f"({node.function} {' '.join(parts)})".replace(" )", ")")


def error_of(text: str) -> str:
    with pytest.raises(ExpressionError) as caught:
        parse_array_syntax(text)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a + b @ c * d", "(+ a (* (@ b c) d))"),
        ("a @ b @ c", "(@ (@ a b) c)"),
        ("a / b @ c", "(@ (/ a b) c)"),
        ("a - b - c", "(- (- a b) c)"),
        ("-x**2", "(-u (** x 2))"),
        ("-x^2", "(-u (** x 2))"),
        ("2**-x", "(** 2 (-u x))"),
        ("2**-1", "(** 2 (-u 1))"),
        ("2**3**2", "(** 2 (** 3 2))"),
        ("2^3**2", "(** 2 (** 3 2))"),
        ("2**-x**2", "(** 2 (-u (** x 2)))"),
        ("-a * b", "(* (-u a) b)"),
        ("- -x", "(-u (-u x))"),
        ("+x", "(+u x)"),
        ("a * -b", "(* a (-u b))"),
        ("a @ b.T", "(@ a (T b))"),
        ("(a + b).T", "(T (+ a b))"),
        ("A.T[0]", "(index (T A) 0)"),
        ("f(x)[1].T", "(T (index (f x) 1))"),
        ("A.T.T", "(T (T A))"),
        ("x.T**2", "(** (T x) 2)"),
        ("x[:, newaxis] * y", "(* (index x (slice _ _ _) newaxis) y)"),
        (
            "sum(A * B, axis=[0, 1], keepdims=true)",
            "(sum (* A B) axis=[0 1] keepdims=true)",
        ),
        ('einsum("ij,j->i", W, x)', "(einsum 'ij,j->i' W x)"),
        ("einsum('ij,j->i', W, x)", "(einsum 'ij,j->i' W x)"),
        (
            "softmax(z, axis=-1) * (g - sum(g * softmax(z, axis=-1), axis=-1, keepdims=true))",
            "(* (softmax z axis=(-u 1)) (- g (sum (* g (softmax z axis=(-u 1)))"
            " axis=(-u 1) keepdims=true)))",
        ),
        ("where(x >= 0, x, 0.01 * x)", "(where (>= x 0) x (* 0.01 x))"),
        ("where(x + 1 > 2 * y, x, 0)", "(where (> (+ x 1) (* 2 y)) x 0)"),
        ("W[:, 0:k]", "(index W (slice _ _ _) (slice 0 k _))"),
        ("stack([a, b], axis=1)", "(stack [a b] axis=1)"),
        ("A[0]", "(index A 0)"),
        ("A[:, 1]", "(index A (slice _ _ _) 1)"),
        ("A[1:3, :]", "(index A (slice 1 3 _) (slice _ _ _))"),
        ("A[::2]", "(index A (slice _ _ 2))"),
        ("A[1:]", "(index A (slice 1 _ _))"),
        ("A[:n - 1]", "(index A (slice _ (- n 1) _))"),
        ("A[::-1]", "(index A (slice _ _ (-u 1)))"),
        ("A[-1]", "(index A (-u 1))"),
        ("A[0][1]", "(index (index A 0) 1)"),
        ("[a, b][0]", "(index [a b] 0)"),
        ("ones([])", "(ones [])"),
        ("ones([n, d + n])", "(ones [n (+ d n)])"),
        ("stack([[a, b], [c, d]])", "(stack [[a b] [c d]])"),
        ("eye()", "(eye)"),
        ("sum(x, keepdims=false)", "(sum x keepdims=false)"),
        ("transpose(A, axes=[1, 0])", "(transpose A axes=[1 0])"),
        ("logsumexp(a, b, c)", "(logsumexp a b c)"),
        ("((x))", "x"),
        ("x\t*\n y", "(* x y)"),
        ("lambda * x", "(* lambda x)"),  # a version-1 variable name stays a name
        ("α + β_1", "(+ α β_1)"),
        ("True", "True"),
    ],
)
def test_parse_precedence_and_structure(text: str, tree: str) -> None:
    assert show(parse_array_syntax(text)) == tree


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_parse_every_comparison_in_where(op: str) -> None:
    assert show(parse_array_syntax(f"where(a {op} b, a, b)")) == f"(where ({op} a b) a b)"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2", Fraction(2)),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("0.1", Fraction(1, 10)),
        ("1e-3", Fraction(1, 1000)),
        ("1E+2", Fraction(100)),
        ("2.", Fraction(2)),
        ("1.5e1", Fraction(15)),
        ("1e400", Fraction(10) ** 400),
        ("1e-400", Fraction(1, 10**400)),
    ],
)
def test_parse_numbers_exactly(text: str, value: Fraction) -> None:
    assert parse_array_syntax(text) == Number(0, value, text)


def test_parse_names_are_nfc_normalised() -> None:
    assert parse_array_syntax("e\u0301") == Name(0, "\u00e9")


def test_parse_offsets_point_at_operators_and_first_characters() -> None:
    tree = parse_array_syntax("sum(W @ x, axis=0).T[1:n]")
    x = Name(8, "x")
    call = Call(
        0,
        "sum",
        (Binary(6, "@", Name(4, "W"), x),),
        (Keyword(11, "axis", Number(16, Fraction(0), "0")),),
    )
    item = Slice(21, Number(21, Fraction(1), "1"), Name(23, "n"), None)
    assert tree == Index(20, Transpose(18, call), (item,))


def test_parse_offsets_of_unary_lists_strings_and_comparisons() -> None:
    tree = parse_array_syntax("where(-a < [b], einsum('i', c), 2)")
    comparison = Binary(9, "<", Unary(6, "-", Name(7, "a")), ListLiteral(11, (Name(12, "b"),)))
    einsum = Call(16, "einsum", (StringLiteral(23, "i"), Name(28, "c")))
    assert tree == Call(0, "where", (comparison, einsum, Number(32, Fraction(2), "2")))


def test_parse_slice_offset_is_its_first_character() -> None:
    tree = parse_array_syntax("A[n - 1:, :2]")
    assert isinstance(tree, Index)
    assert [item.offset for item in tree.items] == [2, 10]
    assert tree.items[0].start.offset == 4  # the "-" of n - 1


CASES_MD_EXPRESSIONS = [
    # version 1
    "1/(1 + exp(-x))",
    "sigmoid(x)*(1 - sigmoid(x))",
    "w0 + w1*x1 + w2*x2 + w3*x3",
    "sigmoid(z)",
    "(y - t)**2 / 2",
    "(y - t)*y*(1 - y)*x1",
    "exp(x)/(1+exp(x))**2",
    "polygamma(n, x)",
    "leaky_relu(x, a)",
    "elu(x, a)",
    "logsumexp(a, b, c)",
    "x^2",
    "pi * E",
    "Abs(x) + Max(x, y) + Heaviside(x) + loggamma(x)",
    # version 2
    "W @ x + b - y",
    "sum(r**2) / m",
    "2 * outer(r, x) / m",
    "2 * r / m",
    "softmax(z)",
    "diag(softmax(z)) - outer(softmax(z), softmax(z))",
    "softmax(z, axis=-1)",
    "softmax(z, axis=-1) * (g - sum(g * softmax(z, axis=-1), axis=-1, keepdims=true))",
    "A @ B",
    "A.T",
    "W @ b",
    "sum(A, axis=[0, 1], keepdims=true) + mean(A) + prod(A) + norm(A)",
    "max(A, axis=0) + min(A) + logsumexp(A, axis=1, keepdims=false)",
    "log_softmax(A, axis=-1)",
    "outer(a, b) + dot(a, b) + diag(v) + trace(A)",
    "transpose(A, axes=[1, 0])",
    "reshape(A, [2, 3])",
    "eye(n) + ones([n, n]) + zeros([n, n])",
    "inv(A) + det(A) + logdet(A) + solve(A, b)",
    "stack([a, b], axis=1)",
    "concatenate([a, b], axis=0)",
    'einsum("ij,j->i", W, x)',
    "x[0]",
    "A[:, 1]",
    "A[1:3, :]",
    "x[:, newaxis]",
    "softmax(z) - y",
    "inv(A).T",
    "2*inv(A) - diag(diag(inv(A)))",
    "[n, d + n]",
    "W[:, 0:k]",
    "W[3, 1]",
    "exp(x)/(1 + exp(x))**2",
]


@pytest.mark.parametrize("text", CASES_MD_EXPRESSIONS)
def test_parse_every_example_of_cases_md(text: str) -> None:
    assert isinstance(parse_array_syntax(text), Syntax)


def test_parse_a_sum_of_100000_terms_without_recursion() -> None:
    tree = parse_array_syntax(" + ".join(["x"] * 100_000))
    depth = 0
    while isinstance(tree, Binary):
        assert tree.op == "+" and tree.right == Name(tree.offset + 2, "x")
        tree, depth = tree.left, depth + 1
    assert depth == 99_999 and tree == Name(0, "x")


def test_parse_a_power_tower_of_100000_factors_right_associatively() -> None:
    tree = parse_array_syntax("**".join(["x"] * 100_000))
    depth = 0
    while isinstance(tree, Binary):
        assert tree.left == Name(tree.offset - 1, "x")
        tree, depth = tree.right, depth + 1
    assert depth == 99_999


@pytest.mark.parametrize(
    ("opener", "middle", "closer"),
    [("(", "x", ")"), ("f(", "x", ")"), ("[", "x", "]"), ("x[", "0", "]"), ("f(axis=", "x", ")"),
     ("where(", "x > 0", ")"), ("-", "x", ""), ("x[1:", "n", "]")],
)  # fmt: skip
def test_parse_nesting_up_to_the_limit(opener: str, middle: str, closer: str) -> None:
    text = opener * MAX_NESTING + middle + closer * MAX_NESTING
    limit = sys.getrecursionlimit()
    assert isinstance(parse_array_syntax(text), Syntax)
    assert sys.getrecursionlimit() == limit


@pytest.mark.parametrize(
    ("opener", "column"), [("(", 1001), ("-", 1001), ("f(", 2002), ("[", 1001), ("x[", 2002)]
)
def test_parse_nesting_beyond_the_limit_is_an_error(opener: str, column: int) -> None:
    closer = {"(": ")", "f(": ")", "[": "]", "x[": "]", "-": ""}[opener]
    text = opener * (MAX_NESTING + 1) + "0" + closer * (MAX_NESTING + 1)
    limit = sys.getrecursionlimit()
    assert error_of(text) == (
        f"<expression>:1:{column}: expression nested more than 1000 levels deep"
    )
    assert sys.getrecursionlimit() == limit


EQUALS = "'=' is only allowed in a keyword argument such as axis=0 (to compare, write '==')"
COMPARISON = "comparisons are only allowed as the first argument of where(...)"
KEYWORD_LIST = "(the keywords are axis, axes and keepdims)"
COLON = "':' is only allowed inside an index, as in A[1:3, :]"
ATTRIBUTE = "attribute access is not allowed; only .T (transpose)"

ERRORS = [
    # characters
    ("x $ y", "1:3: unexpected character '$' (U+0024)"),
    ("x ! y", "1:3: unexpected character '!' (U+0021)"),
    ("x % 2", "1:3: unexpected character '%' (U+0025)"),
    ("x; y", "1:2: only one expression is allowed: unexpected ';'"),
    ("{x}", "1:1: braces are not allowed: unexpected '{'"),
    ("x}", "1:2: braces are not allowed: unexpected '}'"),
    ("x \u2212 1", "1:3: unexpected character '\u2212' (U+2212 MINUS SIGN): write '-'"),
    ("x \u2013 1", "1:3: unexpected character '\u2013' (U+2013 EN DASH): write '-'"),
    ("x × y", "1:3: unexpected character '×' (U+00D7 MULTIPLICATION SIGN): write '*'"),
    ("x·y", "1:2: unexpected character '·' (U+00B7 MIDDLE DOT): write '*'"),
    ("x \u22c5 y", "1:3: unexpected character '\u22c5' (U+22C5 DOT OPERATOR): write '*'"),
    ("x \u2217 y", "1:3: unexpected character '\u2217' (U+2217 ASTERISK OPERATOR): write '*'"),
    ("x ÷ y", "1:3: unexpected character '÷' (U+00F7 DIVISION SIGN): write '/'"),
    ("x²", "1:2: unexpected character '²' (U+00B2 SUPERSCRIPT TWO): write '**2'"),
    ("x³", "1:2: unexpected character '³' (U+00B3 SUPERSCRIPT THREE): write '**3'"),
    ("1e401", "1:1: number 1e401 is out of range: exponents beyond ±400 are not allowed"),
    ("x + 2e-999", "1:5: number 2e-999 is out of range: exponents beyond ±400 are not allowed"),
    ("1" * 1001, "1:1: number too long: 1001 characters (at most 1000)"),
    # empty, brackets
    ("", "1:1: empty expression"),
    ("  \t", "1:1: empty expression"),
    ("(x", "1:1: '(' is not closed"),
    ("((x)", "1:1: '(' is not closed"),
    ("x + f(y, (z)", "1:6: '(' is not closed"),
    ("[1, 2", "1:1: '[' is not closed"),
    ("A[0", "1:2: '[' is not closed"),
    ("(x]", "1:1: '(' is not closed: found ']'"),
    ("f(x]", "1:2: '(' is not closed: found ']'"),
    ("[x)", "1:1: '[' is not closed: found ')'"),
    ("A[0)", "1:2: '[' is not closed: found ')'"),
    ("x)", "1:2: unmatched ')'"),
    ("x]", "1:2: unmatched ']'"),
    ("(a, b)", "1:3: expected ')' but found ','"),
    ("x, y", "1:2: expected an operator or the end of the expression but found ','"),
    ("A[]", "1:3: empty index: write A[0], A[:, 1] or A[1:3]"),
    ("A[1:2:3:4]", "1:8: expected ',' or ']' but found ':'"),
    # operands and operators
    ("x +", "1:4: expected an expression but found the end of the expression"),
    ("* x", "1:1: expected an expression but found '*'"),
    ("()", "1:2: expected an expression but found ')'"),
    ("f(x,)", "1:5: expected an expression but found ')'"),
    ("[a, b,]", "1:7: expected an expression but found ']'"),
    ("A[0,]", "1:5: expected an expression but found ']'"),
    ("2x", "1:2: missing operator between '2' and 'x'"),
    ("W x", "1:3: missing operator between 'W' and 'x'"),
    ("(a)(b)", "1:4: missing operator between ')' and '('"),
    ("2(x)", "1:2: missing operator between '2' and '('"),
    ("f(x) y", "1:6: missing operator between ')' and 'y'"),
    ("A.T x", "1:5: missing operator between 'T' and 'x'"),
    ("x 'a'", "1:3: missing operator between 'x' and \"'a'\""),
    ("lambda x: x", "1:1: lambdas are not allowed"),
    ("lambda: 0", f"1:7: {COLON}"),
    ("x : y", f"1:3: {COLON}"),
    ("[1:2]", f"1:3: {COLON}"),
    ("f(:)", f"1:3: {COLON}"),
    ("f(a:b)", f"1:4: {COLON}"),
    ("x = 1", f"1:3: {EQUALS}"),
    ("where(x = 0, x, 0)", f"1:9: {EQUALS}"),
    ("f(1=2)", f"1:4: {EQUALS}"),
    ("where(x => 0, x, 0)", f"1:9: {EQUALS}"),
    # attributes
    ("A.x", f"1:2: {ATTRIBUTE}"),
    ("A.shape[0]", f"1:2: {ATTRIBUTE}"),
    ("A.T.sum", f"1:4: {ATTRIBUTE}"),
    ("x.5", f"1:2: {ATTRIBUTE}"),
    ("A.", f"1:2: {ATTRIBUTE}"),
    ("A.t", f"1:2: {ATTRIBUTE}"),
    (".T", "1:1: expected an expression but found '.'"),
    # comparisons
    ("x > 0", f"1:3: {COMPARISON}"),
    ("where(c, x > 0, 0)", f"1:12: {COMPARISON}"),
    ("sum(x > 0)", f"1:7: {COMPARISON}"),
    ("where((x > 0), x, 0)", f"1:10: {COMPARISON}"),
    ("where(x > 0, x, 0) == y", f"1:20: {COMPARISON}"),
    ("A[x > 0]", f"1:5: {COMPARISON}"),
    ("where(a < b < c, a, b)", "1:13: comparisons cannot be chained"),
    # strings
    ('"ij"', "1:1: strings are only allowed as einsum's subscripts"),
    ("f('ij', x)", "1:3: strings are only allowed as einsum's subscripts"),
    ("einsum(x, 'ij')", "1:11: strings are only allowed as einsum's subscripts"),
    ("einsum(subscripts='ij', x)", f"1:8: unknown keyword argument 'subscripts' {KEYWORD_LIST}"),
    ("einsum('i' + 'j', x)", "1:12: expected ',' or ')' but found '+'"),
    ("einsum('ij", "1:8: unterminated string: the quote ' is not closed"),
    ('x + "a', '1:5: unterminated string: the quote " is not closed'),
    # calls and keywords
    ("sum(x, axs=0)", "1:8: unknown keyword argument 'axs' (did you mean 'axis'?)"),
    ("sum(x, keepdim=true)", "1:8: unknown keyword argument 'keepdim' (did you mean 'keepdims'?)"),
    ("sum(x, dtype=0)", f"1:8: unknown keyword argument 'dtype' {KEYWORD_LIST}"),
    ("sum(x, axis=0, axis=1)", "1:16: keyword argument 'axis' is given twice"),
    ("sum(axis=0, x)", "1:13: a positional argument must come before the keywords"),
    ("f(*x)", "1:3: argument unpacking (*args, **kwargs) is not allowed"),
    ("f(x, **k)", "1:6: argument unpacking (*args, **kwargs) is not allowed"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_parse_errors_are_located_and_explained(text: str, message: str) -> None:
    assert error_of(text) == f"<expression>:{message}"


def test_parse_errors_go_through_locate() -> None:
    def locate(offset: int) -> Location:
        return Location("cases/a.yaml", 7, 20 + offset)

    with pytest.raises(ExpressionError) as caught:
        parse_array_syntax("W @ x > 0", locate)
    assert str(caught.value) == (
        "cases/a.yaml:7:26: comparisons are only allowed as the first argument of where(...)"
    )


def test_parse_errors_without_a_location_when_locate_gives_none() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_array_syntax("x +", lambda offset: None)
    assert caught.value.location is None


def test_grammar_docstrings_run() -> None:
    assert doctest.testmod(grammar, raise_on_error=True).attempted >= 1
