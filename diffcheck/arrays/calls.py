"""Function calls of the array language -> IR: one builder per function, in one table.

Rule-table functions apply entry by entry; with one array argument max, min and
logsumexp reduce (with two or more they keep their version-1, entry-by-entry meaning).
Each builder checks its arguments, keywords and shapes and says what does not fit.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod

from ..errors import ExpressionError
from ..symbolic.parse import FUNCTION_RULES, counts_text, function_hint, rule_taking
from ..symbolic.rules import RULES, Rule
from . import ops
from .context import BuildContext, suggestion
from .einsum import build_einsum
from .ir import Det, Eye, Inv, Node, Reduce, Softmax, Solve
from .syntax import Call, Keyword, ListLiteral, Syntax

__all__ = ["FUNCTIONS", "build_call", "build_list"]

TABLE = {name: rule for rule in RULES.values() for name in (rule.name, *rule.aliases)}
Builder = Callable[[BuildContext, Call, str], Node]


def build_call(context: BuildContext, syntax: Call) -> Node:
    overloads = FUNCTION_RULES.get(syntax.function)
    name = overloads[0].name if overloads else syntax.function
    if name in FUNCTIONS:
        return FUNCTIONS[name](context, syntax, name)
    if overloads:  # log(x) or log(x, b): the rule that takes that many arguments
        rule = rule_taking(overloads, len(syntax.args))
        if rule is None:
            message = f"{syntax.function} takes {counts_text(overloads)}, got {len(syntax.args)}"
            raise context.error(message, syntax.offset)
        return _elementwise(context, syntax, rule)
    hint = function_hint(syntax.function, {*FUNCTIONS, *TABLE})
    raise context.error(f"unknown function '{syntax.function}'{hint}", syntax.offset)


def _count_text(low: int, high: int | None) -> str:
    noun = "argument" if (high or low) == 1 else "arguments"
    if high is None:
        return f"at least {low} {noun}"
    return f"{low} {noun}" if low == high else f"{low} to {high} {noun}"


def _arguments(
    context: BuildContext,
    syntax: Call,
    low: int,
    high: int | None,
    keywords: tuple[str, ...] = (),
) -> tuple[tuple[Syntax, ...], dict[str, Keyword]]:
    count = len(syntax.args)
    if count < low or (high is not None and count > high):
        message = f"{syntax.function} takes {_count_text(low, high)}, got {count}"
        raise context.error(message, syntax.offset)
    found: dict[str, Keyword] = {}
    for keyword in syntax.keywords:
        if keyword.name not in keywords:
            if keywords:
                hint = suggestion(keyword.name, keywords)
                message = f"{syntax.function} has no keyword '{keyword.name}'{hint}"
            else:
                message = f"{syntax.function} takes no keywords, got '{keyword.name}'"
            raise context.error(message, keyword.offset)
        if keyword.name in found:
            raise context.error(f"keyword '{keyword.name}' is given twice", keyword.offset)
        found[keyword.name] = keyword
    return syntax.args, found


def _elementwise(context: BuildContext, syntax: Call, rule: Rule) -> Node:
    low = rule.arity or 1
    high = None if rule.arity is None or rule.fold else rule.arity
    args, _ = _arguments(context, syntax, low, high)
    nodes = [context.expression(arg) for arg in args]
    for position in rule.integer_args:
        node = nodes[position]
        if not (ops.is_constant(node) and node.shape == () and node.value.is_integer):
            message = f"argument {position + 1} of {syntax.function} must be a whole number"
            raise context.error(message, args[position].offset)
    try:
        if not rule.fold:
            return ops.call(rule, nodes)
        result = nodes[0]
        for node in nodes[1:]:
            result = ops.call(rule, (result, node))
        ops.broadcast_shapes(*(node.shape for node in nodes))  # a folded pair may fit alone
        return result
    except ops.ShapeError:
        raise context.mismatch(syntax.function, syntax.offset, args, nodes) from None


def _one(context: BuildContext, syntax: Call, keywords: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    args, found = _arguments(context, syntax, 1, 1, keywords)
    return args[0], context.expression(args[0]), found


def _reduction(context: BuildContext, syntax: Call, name: str) -> Node:
    if name in ("max", "min", "logsumexp") and len(syntax.args) >= 2:
        if syntax.keywords:
            function, count = syntax.function, len(syntax.args)
            message = (
                f"{function} of {count} arguments works entry by entry and takes no "
                f"keywords; {function}(x, axis=...) reduces one array"
            )
            raise context.error(message, syntax.keywords[0].offset)
        return _elementwise(context, syntax, RULES[name])
    arg, x, keywords = _one(context, syntax, ("axis", "keepdims"))
    axes = context.axes(keywords.get("axis"), arg, x, syntax.function)
    keepdims = context.flag(keywords.get("keepdims"))
    shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    if name in ("sum", "mean"):
        result = ops.sum_axes(x, axes)
        if name == "mean":  # mean = sum / count, exactly
            result = ops.divide(result, ops.constant(prod(x.shape[i] for i in axes)))
    else:
        result = Reduce(shape=shape, kind=name, operand=x, axes=axes)
    if keepdims:
        result = ops.reshape(result, tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return result


def _softmax(context: BuildContext, syntax: Call, name: str) -> Node:
    arg, x, keywords = _one(context, syntax, ("axis",))
    if x.ndim == 0:
        described = context.describe(arg, x, "its argument")
        raise context.error(f"{name} needs an array with an axis: {described}", syntax.offset)
    axes = context.axes(keywords.get("axis"), arg, x, name) if keywords else (x.ndim - 1,)
    if len(axes) != 1:
        raise context.error(f"{name} takes one axis", keywords["axis"].offset)
    return Softmax(shape=x.shape, operand=x, axis=axes[0], log=name == "log_softmax")


def _two(context: BuildContext, syntax: Call) -> tuple[tuple[Syntax, ...], list[Node]]:
    args, _ = _arguments(context, syntax, 2, 2)
    return args, [context.expression(arg) for arg in args]


def _outer(context: BuildContext, syntax: Call, name: str) -> Node:
    args, (a, b) = _two(context, syntax)
    if a.ndim != 1 or b.ndim != 1:
        raise _wrong(context, syntax, "outer takes two vectors", args, [a, b])
    return ops.einsum([a, b], [(0,), (1,)], (0, 1))


def _dot(context: BuildContext, syntax: Call, name: str) -> Node:
    args, (a, b) = _two(context, syntax)
    if a.ndim > 2 or b.ndim > 2:
        message = "dot takes arrays of at most 2 axes (for stacks use @ or einsum)"
        raise _wrong(context, syntax, message, args, [a, b])
    try:
        return ops.multiply(a, b) if 0 in (a.ndim, b.ndim) else ops.matmul(a, b)
    except ops.ShapeError:
        raise context.mismatch("dot", syntax.offset, args, [a, b]) from None


def _wrong(
    context: BuildContext, syntax: Call, message: str, args: tuple, nodes: list[Node]
) -> ExpressionError:
    roles = [f"argument {i + 1}" for i in range(len(nodes))]
    described = ", ".join(map(context.describe, args, nodes, roles))
    return context.error(f"{message}: {described}", syntax.offset)


def _square_matrix(context: BuildContext, syntax: Call, arg: Syntax, node: Node, what: str):  # type: ignore[no-untyped-def]
    if node.ndim < 2 or node.shape[-1] != node.shape[-2]:
        raise _wrong(context, syntax, f"{syntax.function} takes {what}", (arg,), [node])


def _diag(context: BuildContext, syntax: Call, name: str) -> Node:
    arg, x, _ = _one(context, syntax)
    if x.ndim == 1:  # v[i] on the diagonal: v_i δ_ij
        return ops.einsum([x, Eye(shape=x.shape * 2)], [(0,), (0, 1)], (0, 1))
    if x.ndim != 2:
        raise _wrong(context, syntax, "diag takes a vector or a square matrix", (arg,), [x])
    _square_matrix(context, syntax, arg, x, "a vector or a square matrix")
    return ops.einsum([x], [(0, 0)], (0,))


def _trace(context: BuildContext, syntax: Call, name: str) -> Node:
    arg, x, _ = _one(context, syntax)
    if x.ndim != 2:
        raise _wrong(context, syntax, "trace takes a square matrix", (arg,), [x])
    _square_matrix(context, syntax, arg, x, "a square matrix")
    return ops.einsum([x], [(0, 0)], ())


def _transpose(context: BuildContext, syntax: Call, name: str) -> Node:
    arg, x, keywords = _one(context, syntax, ("axes",))
    if "axes" not in keywords:
        return ops.transpose(x, tuple(reversed(range(x.ndim))))
    axes = context.integers(keywords["axes"].value, "an axis")
    if sorted(a % x.ndim if -x.ndim <= a < x.ndim else -1 for a in axes) != list(range(x.ndim)):
        described = context.describe(arg, x, "its argument")
        message = f"axes {axes} are not an order of the {x.ndim} axes ({described})"
        raise context.error(message, keywords["axes"].value.offset)
    return ops.transpose(x, [a % x.ndim for a in axes])


def _reshape(context: BuildContext, syntax: Call, name: str) -> Node:
    args, _ = _arguments(context, syntax, 2, 2)
    x = context.expression(args[0])
    shape = context.integers(args[1], "a dimension")
    if shape.count(-1) == 1 and prod(shape) != 0:
        known = -prod(shape)
        shape[shape.index(-1)] = x.size // known if x.size % known == 0 else -1
    if any(n < 0 for n in shape) or prod(shape) != x.size:
        described = context.describe(args[0], x, "argument 1")
        message = f"cannot reshape into {shape}: {described} ({x.size} entries)"
        raise context.error(message, syntax.offset)
    return ops.reshape(x, tuple(shape))


def _filled(context: BuildContext, syntax: Call, name: str) -> Node:
    args, _ = _arguments(context, syntax, 1, 1)
    shape = context.integers(args[0], "a dimension")
    if any(n < 0 for n in shape):
        raise context.error(f"{name} takes sizes of at least 0, got {shape}", args[0].offset)
    if name == "eye":
        if len(shape) != 1:
            raise context.error("eye takes one size: eye(n)", args[0].offset)
        return Eye(shape=(shape[0], shape[0]))
    return ops.constant(1 if name == "ones" else 0, tuple(shape))


def _square(context: BuildContext, syntax: Call, name: str) -> Node:
    arg, a, _ = _one(context, syntax)
    _square_matrix(context, syntax, arg, a, "a square matrix or a stack of them")
    if name == "inv":
        return Inv(shape=a.shape, operand=a)
    return Det(shape=a.shape[:-2], operand=a, log=name == "logdet")


def _solve(context: BuildContext, syntax: Call, name: str) -> Node:
    args, (a, b) = _two(context, syntax)
    _square_matrix(context, syntax, args[0], a, "a square matrix (or a stack of them) first")
    n, vector = a.shape[-1], b.ndim == 1  # NumPy 2: only a 1-d b is a vector
    try:
        if b.ndim == 0 or b.shape[0 if vector else -2] != n:
            raise ops.ShapeError("solve: sizes differ")
        batch = ops.broadcast_shapes(a.shape[:-2], b.shape[:-1] if vector else b.shape[:-2])
        a = ops.broadcast_to(a, (*batch, n, n))
        b = ops.broadcast_to(b, (*batch, n) if vector else (*batch, *b.shape[-2:]))
    except ops.ShapeError:
        raise context.mismatch("solve", syntax.offset, args, [a, b]) from None
    return Solve(shape=b.shape, matrix=a, rhs=b, vector=vector)


def _stack(context: BuildContext, syntax: Call, name: str) -> Node:
    args, keywords = _arguments(context, syntax, 1, 1, ("axis",))
    return build_list(context, args[0], name, keywords.get("axis"))


def build_list(
    context: BuildContext, syntax: Syntax, name: str, axis: Keyword | None | int
) -> Node:
    """`stack` or `concatenate` of a list literal along `axis` (default 0)."""
    if not isinstance(syntax, ListLiteral):
        message = f"{name} takes a list of arrays, as in {name}([a, b], axis=0)"
        raise context.error(message, syntax.offset)
    if not syntax.items:
        raise context.error(f"{name} needs at least one array", syntax.offset)
    nodes = [context.expression(item) for item in syntax.items]
    if name == "concatenate" and nodes[0].ndim == 0:
        message = "concatenate needs arrays with an axis; stack([...]) makes a vector of scalars"
        raise context.error(message, syntax.offset)
    ndim = nodes[0].ndim + (name == "stack")
    position = 0
    if isinstance(axis, Keyword):
        position = context.integer(axis.value, "an axis")
        if not -ndim <= position < ndim:
            message = f"axis {position} is out of range for {name} into {ndim} axes"
            raise context.error(message, axis.value.offset)
    try:
        combine = ops.stack if name == "stack" else ops.concatenate
        return combine(nodes, position % ndim)
    except ops.ShapeError:
        k = next(
            i
            for i, node in enumerate(nodes)
            if node.ndim != nodes[0].ndim
            or not _fits(node.shape, nodes[0].shape, None if name == "stack" else position % ndim)
        )
        pair, roles = [syntax.items[0], syntax.items[k]], ["item 1", f"item {k + 1}"]
        raise context.mismatch(name, syntax.offset, pair, [nodes[0], nodes[k]], roles) from None


def _fits(shape: tuple[int, ...], first: tuple[int, ...], axis: int | None) -> bool:
    return all(a == b for i, (a, b) in enumerate(zip(shape, first, strict=True)) if i != axis)


def _where(context: BuildContext, syntax: Call, name: str) -> Node:
    args, _ = _arguments(context, syntax, 3, 3)
    cond = args[0]
    if not (hasattr(cond, "op") and cond.op in ("<", "<=", ">", ">=", "==", "!=")):
        message = "where takes a comparison first, as in where(x > 0, x, 0)"
        raise context.error(message, cond.offset)
    left, right = context.expression(cond.left), context.expression(cond.right)
    try:
        test = ops.compare(cond.op, left, right)
    except ops.ShapeError:
        pair, roles = [cond.left, cond.right], ["the left operand", "the right operand"]
        raise context.mismatch(cond.op, cond.offset, pair, [left, right], roles) from None
    a, b = context.expression(args[1]), context.expression(args[2])
    try:
        return ops.where(test, a, b)
    except ops.ShapeError:
        roles = ["the condition", "argument 2", "argument 3"]
        raise context.mismatch("where", syntax.offset, args, [test, a, b], roles) from None


FUNCTIONS: dict[str, Builder] = {
    **dict.fromkeys(("sum", "mean", "prod", "max", "min", "logsumexp", "norm"), _reduction),
    "softmax": _softmax,
    "log_softmax": _softmax,
    "outer": _outer,
    "dot": _dot,
    "diag": _diag,
    "trace": _trace,
    "transpose": _transpose,
    "reshape": _reshape,
    **dict.fromkeys(("eye", "ones", "zeros"), _filled),
    **dict.fromkeys(("inv", "det", "logdet"), _square),
    "solve": _solve,
    **dict.fromkeys(("stack", "concatenate"), _stack),
    "einsum": lambda context, syntax, name: build_einsum(context, syntax),
    "where": _where,
}
