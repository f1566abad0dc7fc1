"""The symbolic proof of an array claim at small sizes, entry by entry.

SymPy's matrix calculus is no reference (it returns wrong zeros for ordinary cases), so
arrays reach the scalar engine only through lowering: each entry of the function and of
the claim becomes one scalar expression over entry symbols (`W[0, 1]`), the scalar
engine derives the function by every entry, and each claimed entry is proved equal to
its derivative. This is also a check of the array reference that shares nothing with it
but the rule table. Main function: `prove_array_claims`.
"""

from __future__ import annotations

import time

import numpy as np
import sympy as sp

from ..arrays.lowering import MAX_LOWERED_ENTRIES, entry_symbols, lower_to_sympy
from ..cases.array_model import ArrayCase, ArrayInstance
from ..limits import time_limit
from ..symbolic.derive import derive_gradient, prove_equal

__all__ = ["MAX_PROVED_ENTRIES", "prove_array_claims"]

MAX_PROVED_ENTRIES = 64  # claimed entries of one size: each proof costs SymPy time


def prove_array_claims(case: ArrayCase, instance: ArrayInstance, budget: float) -> set[str]:
    """The variables whose gradient or vjp claim is proved at every entry, at these sizes.

    Gives up (proving nothing more) once `budget` seconds are spent: a proof only adds
    to the numeric verdict, it never decides against it.
    """
    claims = {**instance.claims.get("gradient", {}), **instance.claims.get("vjp", {})}
    if not claims or not _small(instance, claims):
        return set()
    deadline = time.monotonic() + budget
    proved: set[str] = set()
    # the whole proof, lowering and derivation included, stops at the budget
    with time_limit(budget, "proof budget", suppress=True):
        try:
            function = lower_to_sympy(instance.function)
            weights = _cotangent(case, instance)
        except (ValueError, TypeError):
            return proved
        for name, claim in claims.items():
            if time.monotonic() > deadline:
                break
            try:
                if _prove_one(function, weights, name, instance, claim, deadline):
                    proved.add(name)
            except (TypeError, ValueError, ArithmeticError, RecursionError):
                continue  # SymPy could not take this form apart: the numbers still decide
    return proved


def _small(instance: ArrayInstance, claims: dict) -> bool:
    sizes = [instance.function.size, *(node.size for node in claims.values())]
    sizes += [int(np.prod(shape)) for shape in instance.shapes.values()]
    return (
        max(sizes) <= MAX_LOWERED_ENTRIES
        and sum(node.size for node in claims.values()) <= MAX_PROVED_ENTRIES
    )


def _cotangent(case: ArrayCase, instance: ArrayInstance) -> np.ndarray:
    """The weights of the function's entries: 1 for a scalar, the cotangent's entries
    (as symbols) for a vjp."""
    if instance.function.shape == ():
        return np.array(sp.Integer(1), dtype=object)
    return entry_symbols(case.cotangent, instance.function.shape)


def _prove_one(function, weights, name, instance, claim, deadline) -> bool:  # noqa: ANN001
    shape = instance.shapes.get(name, ())
    symbols = entry_symbols(name, shape)
    names = [str(symbol) for symbol in symbols.reshape(-1)] if shape else [name]
    derived = {entry: sp.Integer(0) for entry in names}
    for index in np.ndindex(function.shape):
        partials = derive_gradient(function[index], names)
        for entry in names:
            derived[entry] += weights[index] * partials[entry]
    try:
        lowered = np.broadcast_to(lower_to_sympy(claim), shape)
    except ValueError:
        return False
    for entry, symbol_index in zip(names, np.ndindex(shape), strict=True):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not prove_equal(lowered[symbol_index], derived[entry], remaining):
            return False
    return True
