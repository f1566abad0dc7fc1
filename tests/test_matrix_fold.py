"""The rewrites of `explain.matrix_fold`, one by one: mean for a sum over n entries
divided by n, names folded back, numbers distributed and cancelled, sums split and
centred names summing to 0, factors moved into sums, common factors taken out."""

from __future__ import annotations

import sympy as sp

from diffcheck.explain.matrix_algebra import add, product
from diffcheck.explain.matrix_fold import Folding, mean_of_sum
from diffcheck.explain.matrix_print import print_term
from diffcheck.explain.matrix_terms import Apply, Name, filled

N, D = sp.symbols("N d")
ROW, WIDE = (N, 1), (N, D)
KEEP = (("axis", 1), ("keepdims", True))
g, x, xc = Name(WIDE, "g"), Name(WIDE, "x"), Name(WIDE, "xc")
sigma, xhat = Name(ROW, "sigma"), Name(WIDE, "xhat")


def _sum(term, keywords=KEEP, shape=ROW):  # noqa: ANN001, ANN202
    return Apply(shape, "sum", (term,), keywords)


def _layer_norm() -> Folding:
    mu = product(1 / D, [(_sum(x), 1)], ROW)
    return Folding({
        "mu": mu,
        "xc": add([x, product(-1, [(Name(ROW, "mu"), 1)], ROW)], WIDE),
        "xhat": product(1, [(xc, 1), (sigma, -1)], WIDE),
    })  # fmt: skip


def test_a_sum_over_n_entries_divided_by_n_is_a_mean() -> None:
    term = product(-1 / D, [(_sum(g), 1), (sigma, -1)], ROW)
    assert print_term(mean_of_sum(term)) == "-mean(g, axis=-1, keepdims=true) / sigma"
    batch = product(1 / N, [(_sum(g, (("axis", 0),), (D,)), 1)], (D,))
    assert print_term(mean_of_sum(batch)) == "mean(g, axis=0)"


def test_a_sum_divided_by_another_size_stays_a_sum() -> None:
    term = product(1 / N, [(_sum(g), 1)], ROW)
    assert mean_of_sum(term) == term


def test_a_product_holding_a_names_definition_folds_into_the_name() -> None:
    folding = _layer_norm()
    term = product(2, [(g, 1), (xc, 1), (sigma, -3)], WIDE)
    assert print_term(folding.compact(term)) == "2 * g * xhat / sigma**2"
    assert folding.compact(product(1, [(xc, 1), (sigma, -1)], WIDE)) == xhat


def test_a_number_times_a_sum_is_distributed_and_cancels() -> None:
    inner = add([product(D**2, [(g, 1)], WIDE), product(-D, [(x, 1)], WIDE)], WIDE)
    term = product(D**-2, [(inner, 1)], WIDE)
    assert print_term(term) == "(d**2 * g - d * x) / d**2"
    assert print_term(Folding({}).expand(term)) == "g - x / d"
    assert print_term(Folding({}).simplify(term)) == "g - x / d"


def test_a_sum_splits_over_its_terms_and_moves_constant_factors_out() -> None:
    inner = add([product(D, [(g, 1), (sigma, -1)], WIDE), x], WIDE)
    found = Folding({}).expand(_sum(inner))
    assert print_term(found) == (
        "d * sum(g, axis=-1, keepdims=true) / sigma + sum(x, axis=-1, keepdims=true)"
    )


def test_a_centred_name_sums_to_zero_along_its_axis() -> None:
    folding = _layer_norm()
    assert print_term(folding.expand(_sum(xc))) == "zeros([N, 1])"
    term = _sum(add([g, product(1, [(xc, 1), (sigma, -1)], WIDE)], WIDE))
    assert print_term(folding.expand(term)) == "sum(g, axis=-1, keepdims=true)"
    assert print_term(Folding({}).expand(_sum(xc))) == "sum(xc, axis=-1, keepdims=true)"


def test_a_factor_constant_along_the_axis_moves_into_the_sum_where_it_folds() -> None:
    term = product(1, [(_sum(product(1, [(g, 1), (xc, 1)], WIDE)), 1), (sigma, -1)], ROW)
    assert print_term(term) == "sum(g * xc, axis=-1, keepdims=true) / sigma"
    assert print_term(_layer_norm().compact(term)) == "sum(g * xhat, axis=-1, keepdims=true)"


def test_a_factor_every_term_shares_is_taken_out() -> None:
    term = add([product(1, [(g, 1), (sigma, -1)], WIDE),
                product(-1, [(x, 1), (sigma, -1)], WIDE)], WIDE)  # fmt: skip
    assert print_term(term) == "g / sigma - x / sigma"
    assert print_term(Folding({}).compact(term)) == "(g - x) / sigma"


def test_simplify_keeps_the_form_as_built_when_no_rewrite_is_shorter() -> None:
    s = Name(WIDE, "s")
    term = product(
        1, [(g, 1), (s, 1), (add([filled(1), product(-1, [(s, 1)], WIDE)], WIDE), 1)], WIDE
    )
    assert Folding({}).simplify(term) == term
    assert print_term(term) == "g * s * (1 - s)"


def test_the_layer_norm_vjp_as_the_reverse_mode_writes_it_becomes_the_textbook_form() -> None:
    s_xc = _sum(product(1, [(g, 1), (xc, 1)], WIDE))
    summand = add([product(D, [(g, 1), (sigma, -1)], WIDE),
                   product(-1, [(s_xc, 1), (xc, 1), (sigma, -3)], WIDE)], WIDE)  # fmt: skip
    built = product(D**-2, [(add([
        product(D**2, [(g, 1), (sigma, -1)], WIDE),
        product(-1, [(_sum(summand), 1)], ROW),
        product(-D, [(s_xc, 1), (xc, 1), (sigma, -3)], WIDE),
    ], WIDE), 1)], WIDE)  # fmt: skip
    assert print_term(_layer_norm().simplify(built)) == (
        "(g - mean(g, axis=-1, keepdims=true) - xhat * mean(g * xhat, axis=-1, keepdims=true))"
        " / sigma"
    )
