"""Explain stage, matrix notation: an einsum contraction written as people write it.

The reverse mode gives every matmul, outer product, trace and sum as an einsum;
`contract` writes it back: `"ij,j->i"` is `W @ x`, `"i,j->ij"` is `outer(r, x)`,
`"ij->ji"` is `.T`, `"ij,ik->jk"` is `X.T @ D`, a sum over axis 0 is `sum(D, axis=0)`.
Numbers, scalar factors, vectors of ones and identity matrices are taken out first; three
or more operands are contracted pair by pair; what fits no form stays an einsum.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sympy as sp

from .matrix_algebra import add, product, split_scalars
from .matrix_linear import call, matmul, transpose
from .matrix_terms import (
    Apply,
    Contraction,
    Filled,
    Identity,
    Index,
    Name,
    Product,
    Reshape,
    Sum,
    Term,
    filled,
    is_scalar,
)

__all__ = ["contract", "reshape"]

Labels = tuple[int, ...]


def contract(
    operands: Sequence[Term],
    subscripts: Sequence[Labels],
    output: Labels,
    unit_sums: Collection[str] = (),
) -> Term:
    """The einsum of `operands` in matrix notation.

    Args:
        operands: the terms, one per subscript.
        subscripts: each operand's labels (small integers).
        output: the result's labels.
        unit_sums: names whose sum along the last axis is 1 (one-hot or simplex rows).

    Returns:
        A term of the output's shape: a matmul, outer product, trace, diagonal, sum over
        axes, transpose or entry-by-entry product, with its numbers in front; an einsum
        for what fits none of them.
    """
    sizes = {label: size for op, subs in zip(operands, subscripts, strict=True)
             for label, size in zip(subs, op.shape, strict=True)}  # fmt: skip
    shape = tuple(sizes[label] for label in output)
    coefficient: Any = sp.Integer(1)
    scalars: list[tuple[Term, Any]] = []
    kept: list[tuple[Term, Labels]] = []
    ones: list[Labels] = []
    for operand, labels in zip(operands, subscripts, strict=True):
        if is_scalar(operand):
            scalars.append((operand, 1))
            continue
        number, parts, rest = split_scalars(operand)
        coefficient, scalars = coefficient * number, scalars + parts
        if isinstance(rest, Filled):
            ones.append(tuple(labels))
        else:
            kept.append((rest, tuple(labels)))
    present = {label for _, labels in kept for label in labels}
    for label in {label for labels in ones for label in labels}:
        if label not in present and label not in output:
            coefficient *= sizes[label]  # a sum over an axis of ones counts it
    kept = _tie_identities(kept, output)
    core = _core(kept, output, sizes, unit_sums) if kept else filled(1, shape)
    return product(coefficient, [*scalars, (core, 1)], shape)


def _tie_identities(kept: list[tuple[Term, Labels]], output: Labels) -> list:
    """An identity matrix ties its two labels: one is renamed to the other wherever it
    occurs and the identity goes, unless both are in the output (diag(v), g * eye(n))."""
    while True:
        for position, (term, labels) in enumerate(kept):
            if not isinstance(term, Identity) or labels[0] == labels[1]:
                continue
            a, b = labels
            if a in output and b in output:
                continue
            old, new = (b, a) if b not in output else (a, b)
            others = [other for i, (_, other) in enumerate(kept) if i != position]
            if new not in output and not any(old in o or new in o for o in others):
                continue  # a lone identity summed over both labels: left to the einsum
            kept = [(t, tuple(new if x == old else x for x in other))
                    for i, (t, other) in enumerate(kept) if i != position]  # fmt: skip
            break
        else:
            return kept


def _core(kept: list, output: Labels, sizes: dict, unit: Collection[str]) -> Term:
    while len(kept) > 2:
        kept = _contract_pair(kept, output, sizes, unit)
    if len(kept) == 1:
        return _single(*kept[0], output, sizes, unit)
    (a_term, a), (b_term, b) = kept
    return _pair(a_term, a, b_term, b, output, sizes, unit)


def _contract_pair(kept: list, output: Labels, sizes: dict, unit: Collection[str]) -> list:
    """Two operands contracted into one: the pair sharing a label whose result has the
    fewest axes (the first such pair)."""
    best = None
    for i in range(len(kept)):
        for j in range(i + 1, len(kept)):
            shared = set(kept[i][1]) & set(kept[j][1])
            labels = _pair_output(kept, i, j, output)
            score = (not shared, len(labels), i, j)
            if best is None or score < best[0]:
                best = (score, i, j, labels)
    _, i, j, labels = best
    term = _pair(*kept[i], *kept[j], labels, sizes, unit)
    rest = [entry for k, entry in enumerate(kept) if k not in (i, j)]
    return [(term, labels), *rest]


def _pair_output(kept: list, i: int, j: int, output: Labels) -> Labels:
    needed = set(output).union(*(set(kept[k][1]) for k in range(len(kept)) if k not in (i, j)))
    ordered = dict.fromkeys([*kept[i][1], *kept[j][1]])
    return tuple(label for label in ordered if label in needed)


def _single(term: Term, labels: Labels, output: Labels, sizes: dict, unit: Collection[str]) -> Term:
    shape = tuple(sizes[label] for label in output)
    if len(set(labels)) < len(labels):
        if len(labels) == 2 and output == ():
            return call("trace", [term], ())
        if len(labels) == 2 and output == labels[:1]:
            return call("diag", [term], shape)
        return _einsum([term], [labels], output, shape)
    summed = [axis for axis, label in enumerate(labels) if label not in output]
    if summed:
        remaining = tuple(label for label in labels if label in output)
        reduced = tuple(sizes[label] for label in remaining)
        last = summed == [len(labels) - 1]
        if isinstance(term, Name) and term.name in unit and last:
            term = filled(1, reduced)  # a one-hot or simplex row sums to 1
        else:
            keywords = () if len(summed) == len(labels) else (("axis", _axes(summed)),)
            term = call("sum", [term], reduced, keywords)
        labels = remaining
    return _place(term, labels, output, shape)


def _axes(axes: list[int]) -> Any:
    return axes[0] if len(axes) == 1 else tuple(axes)


def _arrange(term: Term, labels: Labels, order: Labels) -> Term:
    """The term with its axes in `order` (a permutation of `labels`)."""
    if tuple(labels) == tuple(order):
        return term
    if len(labels) == 2:
        return transpose(term)
    axes = tuple(labels.index(label) for label in order)
    shape = tuple(term.shape[axis] for axis in axes)
    return call("transpose", [term], shape, (("axes", axes),))


def _place(term: Term, labels: Labels, output: Labels, shape: tuple) -> Term:
    """The term broadcast against `output`: its axes in output order, and a new axis
    (x[:, newaxis]) where an output label it lacks comes after one it has."""
    present = tuple(label for label in output if label in labels)
    term = _arrange(term, labels, present)
    if not present or len(present) == len(output):
        return term
    first = output.index(present[0])
    items: list[Any] = []
    for axis, label in enumerate(output[first:]):
        items.append((0, shape[first + axis], 1) if label in labels else None)
    while items and items[-1] is not None:
        items.pop()  # trailing whole axes need no item
    if not items:
        return term
    indexed = tuple(1 if item is None else item[1] for item in items)
    rest = term.shape[len([i for i in items if i is not None]) :]
    return reshape(term, (*indexed, *rest))


def _pair(a_term: Term, a: Labels, b_term: Term, b: Labels, output: Labels, sizes: dict,
          unit: Collection[str]) -> Term:  # fmt: skip
    shape = tuple(sizes[label] for label in output)
    if len(set(a)) < len(a) or len(set(b)) < len(b):
        return _einsum([a_term, b_term], [a, b], output, shape)
    a_term, a = _sum_private(a_term, a, b, output, sizes, unit)
    b_term, b = _sum_private(b_term, b, a, output, sizes, unit)
    contracted = [label for label in a if label in b and label not in output]
    batch = [label for label in output if label in a and label in b]
    free_a = [label for label in output if label in a and label not in b]
    free_b = [label for label in output if label in b and label not in a]
    if not contracted:
        return _entrywise(a_term, a, b_term, b, output, shape)
    if len(contracted) == 1:
        found = _matmul(a_term, a, b_term, b, contracted[0], (batch, free_a, free_b), output, shape)
        if found is not None:
            return found
    if not (batch or free_a or free_b) and set(a) == set(b):  # Σ of an entrywise product
        inner = product(1, [(a_term, 1), (_arrange(b_term, b, a), 1)], a_term.shape)
        return call("sum", [inner], shape)
    return _einsum([a_term, b_term], [a, b], output, shape)


def _sum_private(term: Term, labels: Labels, other: Labels, output: Labels, sizes: dict,
                 unit: Collection[str]) -> tuple[Term, Labels]:  # fmt: skip
    """Labels of one operand only, not in the output, summed there first."""
    kept = tuple(label for label in labels if label in other or label in output)
    if kept == labels:
        return term, labels
    return _single(term, labels, kept, sizes, unit), kept


def _entrywise(a_term: Term, a: Labels, b_term: Term, b: Labels, output: Labels,
               shape: tuple) -> Term:  # fmt: skip
    if len(a) == 1 and len(b) == 1 and len(output) == 2 and a != b:
        first, second = (a_term, b_term) if output == (*a, *b) else (b_term, a_term)
        return call("outer", [first, second], shape)
    for vector, v, square, s in ((a_term, a, b_term, b), (b_term, b, a_term, a)):
        if isinstance(square, Identity) and len(v) == 1 and set(s) == set(output) and v[0] in s:
            return call("diag", [vector], shape)
    placed = [(_place(a_term, a, output, shape), 1), (_place(b_term, b, output, shape), 1)]
    return product(1, placed, shape)


def _matmul(a_term: Term, a: Labels, b_term: Term, b: Labels, c: int, groups: tuple,
            output: Labels, shape: tuple) -> Term | None:  # fmt: skip
    """A @ B for one contracted label, the matrix on the left of a vector; None when
    no matmul writes it (several free labels, a stack with a vector)."""
    batch, free_a, free_b = groups
    if len(free_a) > 1 or len(free_b) > 1:
        return None
    if not batch:
        if not free_a and not free_b:
            return matmul(a_term, b_term, shape)
        if not free_b:
            return matmul(_arrange(a_term, a, (free_a[0], c)), b_term, shape)
        if not free_a:
            return matmul(_arrange(b_term, b, (free_b[0], c)), a_term, shape)
    if not (free_a and free_b) or tuple(output[: len(batch)]) != tuple(batch):
        return None
    fa, fb = free_a[0], free_b[0]
    if tuple(output[len(batch) :]) == (fa, fb):
        left, right = _arrange(a_term, a, (*batch, fa, c)), _arrange(b_term, b, (*batch, c, fb))
    else:
        left, right = _arrange(b_term, b, (*batch, fb, c)), _arrange(a_term, a, (*batch, c, fa))
    return matmul(left, right, shape)


def reshape(x: Term, shape: tuple[int, ...]) -> Term:
    """x as `shape`: keepdims=true after a sum, x[:, newaxis] where only axes of size 1
    are added, x[:, 0] where only such axes go; reshape(x, [...]) otherwise. A reshape
    goes into products and sums whose factors all have the same shape, where it may
    meet and cancel another."""
    shape = tuple(shape)
    if tuple(x.shape) == shape:
        return x
    if isinstance(x, Filled):
        return filled(x.value, shape)
    if isinstance(x, Index) and _unit_index(x) or isinstance(x, Reshape):
        return reshape(x.operand, shape)
    if isinstance(x, Product) and all(_same(f, x) for f, _ in x.factors):
        factors = _reshaped([f for f, _ in x.factors], shape)
        if factors is not None:
            exponents = [e for _, e in x.factors]
            return product(x.coefficient, list(zip(factors, exponents, strict=True)), shape)
    if isinstance(x, Sum) and all(_same(t, x) for t in x.terms):
        terms = _reshaped(x.terms, shape)
        if terms is not None:
            return add(terms, shape)
    keywords = dict(x.keywords) if isinstance(x, Apply) and x.function == "sum" else {}
    if keywords.get("keepdims") and shape == tuple(n for n in x.shape if n != 1):
        dropped = tuple(item for item in x.keywords if item[0] != "keepdims")
        if all(n != 1 for n in x.args[0].shape):  # the kept axes are exactly the summed ones
            return Apply(shape, "sum", x.args, dropped)
    if isinstance(x, Apply) and x.function == "sum" and "keepdims" not in dict(x.keywords):
        source = x.args[0].shape
        axes = dict(x.keywords).get("axis", tuple(range(len(source))))
        axes = axes if isinstance(axes, tuple) else (axes,)
        if shape == tuple(1 if i in axes else n for i, n in enumerate(source)):
            return Apply(shape, "sum", x.args, (*x.keywords, ("keepdims", True)))
    items = _unit_axes(tuple(x.shape), shape)
    if items is None:
        return Reshape(shape, x)
    return Index(shape, x, items)


def _reshaped(parts: Sequence[Term], shape: tuple[int, ...]) -> list[Term] | None:
    """Each part reshaped, or None when one would only be wrapped (x[:, 0]): then the
    reshape stays outside, where it may meet another and cancel."""
    found = [part if is_scalar(part) else reshape(part, shape) for part in parts]
    for part, reshaped in zip(parts, found, strict=True):
        if isinstance(reshaped, (Index, Reshape)) and reshaped.operand == part:
            return None
    return found


def _same(part: Term, whole: Term) -> bool:
    return is_scalar(part) or tuple(part.shape) == tuple(whole.shape)


def _unit_index(x: Index) -> bool:
    """An index that only adds or drops axes of size 1 (what `reshape` writes)."""
    axis = 0
    for item in x.items:
        if item is None:
            continue
        size = x.operand.shape[axis]
        if isinstance(item, int) and size != 1:
            return False
        if isinstance(item, tuple) and item != (0, size, 1):
            return False
        axis += 1
    return True


def _unit_axes(source: tuple[int, ...], target: tuple[int, ...]) -> tuple | None:
    """Index items that add (newaxis) or drop (0) axes of size 1 only, or None."""
    items: list[Any] = []
    i = j = 0
    while i < len(target) or j < len(source):
        if i < len(target) and j < len(source) and target[i] == source[j]:
            items.append((0, source[j], 1))
            i, j = i + 1, j + 1
        elif i < len(target) and target[i] == 1:
            items.append(None)
            i += 1
        elif j < len(source) and source[j] == 1:
            items.append(0)
            j += 1
        else:
            return None
    if None in items and 0 in items:
        return None
    while items and isinstance(items[-1], tuple):
        items.pop()
    return tuple(items)


def _einsum(operands: Sequence[Term], subscripts: Sequence[Labels], output: Labels,
            shape: tuple) -> Term:  # fmt: skip
    return Contraction(tuple(shape), tuple(operands), tuple(map(tuple, subscripts)), output)
