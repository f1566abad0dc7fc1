"""`diffcheck derive` on array cases: each derivative in matrix notation, as the case file
would write it, put back into the case as its claim and found correct by `check`; the
δ recursion of a network, one step a line with its rule, shape and norm."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner

from diffcheck.arrays.evaluate import evaluate
from diffcheck.arrays.grammar import parse_array_syntax
from diffcheck.arrays.ops import constant
from diffcheck.arrays.reverse import vjp_expressions
from diffcheck.cases.array_model import ArrayCase
from diffcheck.cases.loader import load_case_file
from diffcheck.cli import main
from diffcheck.explain.backprop import delta_chain
from diffcheck.explain.matrix import DimensionNames, case_builds, matrix_derivatives
from diffcheck.explain.matrix_algebra import add, product
from diffcheck.explain.matrix_contract import contract
from diffcheck.explain.matrix_linear import call, matmul, transpose
from diffcheck.explain.matrix_print import print_term
from diffcheck.explain.matrix_terms import Filled, Name
from diffcheck.run.array_derive import case_with_claims, derivation_point, verify_claims
from diffcheck.run.check import check_case

DATA = Path(__file__).parent / "data" / "matrix"
CONTRACT = DATA / "contract.yaml"  # the array examples of the case-file contract
LAYERS = DATA / "layers.yaml"
FORMS = DATA / "forms.yaml"
ROUND_TRIP = [(path, case.name) for path in (CONTRACT, LAYERS, FORMS)
              for case in load_case_file(path).cases]  # fmt: skip


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _case(path: Path, name: str) -> ArrayCase:
    return next(case for case in load_case_file(path).cases if case.name == name)


def _texts(path: Path, name: str) -> dict[str, str | None]:
    case = _case(path, name)
    return {var: d.text for var, d in matrix_derivatives(case, case.wrt).items()}


# ---- the printed forms ----------------------------------------------------------------


def test_matrix_derivatives_of_the_contracts_linear_layer() -> None:
    assert _texts(CONTRACT, "linear-layer-mse") == {"W": "2 * outer(r, x) / m", "b": "2 * r / m"}


def test_matrix_derivatives_of_a_batched_layer_average_the_bias_over_the_batch() -> None:
    assert _texts(LAYERS, "batched-linear-layer") == {
        "W": "X.T @ (Z - Y) / N",
        "b": "mean(Z - Y, axis=0)",
        "X": "(Z - Y) @ W.T / N",
    }


def test_matrix_derivatives_of_a_network_keep_the_names_of_its_where_chain() -> None:
    assert _texts(LAYERS, "two-layer-mlp") == {
        "W1": "outer((W2.T @ (z2 - y)) * h1 * (1 - h1), x)",
        "b1": "(W2.T @ (z2 - y)) * h1 * (1 - h1)",
        "W2": "outer(z2 - y, h1)",
        "b2": "z2 - y",
    }


def test_matrix_derivatives_use_that_onehot_rows_sum_to_one_and_say_so() -> None:
    case = _case(LAYERS, "softmax-cross-entropy")
    found = matrix_derivatives(case, ["W"])["W"]
    assert found.text == "X.T @ (softmax(X @ W + b, axis=-1) - Y) / N"
    assert found.notes == ("sum(Y, axis=-1) = 1: Y is onehot along its last axis",)


def test_matrix_derivatives_of_targets_off_the_simplex_keep_their_sum(tmp_path: Path) -> None:
    path = tmp_path / "ce.yaml"
    path.write_text(
        "cases:\n  - name: ce\n    shapes: {z: [5], y: [5]}\n"
        "    function: -sum(y * log_softmax(z))\n    domain: {z: [-3, 3], y: [0, 1]}\n",
        encoding="utf-8",
    )
    assert _texts(path, "ce")["z"] == "softmax(z) * sum(y) - y"


def test_matrix_derivatives_of_array_valued_functions_are_vjps_with_the_cotangent() -> None:
    assert _texts(CONTRACT, "softmax-vjp") == {
        "z": "softmax(z, axis=-1) * (g - sum(g * softmax(z, axis=-1), axis=-1, keepdims=true))"
    }
    assert _texts(CONTRACT, "softmax-jacobian") == {"z": "softmax(z) * (g - sum(g * softmax(z)))"}


def test_matrix_derivatives_write_indexing_back_with_rows_of_the_identity() -> None:
    assert _texts(FORMS, "index-entries") == {
        "A": "2 * eye(m)[:, 1:3] @ A[1:3, :] + x[0] * eye(n)[1]",
        "x": "sum(A[:, 1]) * eye(n)[0]",
    }


def test_matrix_derivatives_name_sizes_written_with_dimension_arithmetic() -> None:
    assert _texts(FORMS, "dimension-arithmetic")["y"] == "ones([n + 1]) / (2 * n)"


# ---- the rules, one by one -------------------------------------------------------------


W, X, D = Name((4, 3), "W"), Name((5, 3), "X"), Name((5, 2), "D")
x, r = Name((3,), "x"), Name((4,), "r")


@pytest.mark.parametrize(
    ("operands", "subscripts", "output", "text"),
    [
        ([W, x], [(0, 1), (1,)], (0,), "W @ x"),
        ([r, x], [(0,), (1,)], (0, 1), "outer(r, x)"),
        ([r, x], [(0,), (1,)], (1, 0), "outer(x, r)"),
        ([W], [(0, 1)], (1, 0), "W.T"),
        ([X, D], [(0, 1), (0, 2)], (1, 2), "X.T @ D"),
        ([X, D], [(0, 1), (0, 2)], (2, 1), "D.T @ X"),
        ([D], [(0, 1)], (1,), "sum(D, axis=0)"),
        ([D], [(0, 1)], (), "sum(D)"),
        ([r, W], [(0,), (0, 1)], (1,), "W.T @ r"),
        ([Name((3, 3), "A")], [(0, 0)], (), "trace(A)"),
        ([Name((3, 3), "A")], [(0, 0)], (0,), "diag(A)"),
        ([W, W], [(0, 1), (0, 1)], (), "sum(W**2)"),
        ([W, Name((3, 4), "V")], [(0, 1), (1, 0)], (), "sum(W * V.T)"),
        ([Filled((), sp.Rational(1, 2)), r, Filled((), 2), x], [(), (0,), (), (1,)], (0, 1),
         "outer(r, x)"),
        ([Filled((), 2), r, x], [(), (0,), (1,)], (0, 1), "2 * outer(r, x)"),
        ([W, Name((3, 3), "B"), W], [(0, 1), (1, 2), (3, 2)], (0, 3), "W @ B @ W.T"),
    ],
)  # fmt: skip
def test_contract_writes_einsums_as_matrix_products(operands, subscripts, output, text) -> None:
    assert print_term(contract(operands, subscripts, output)) == text


def test_transposes_cancel_in_pairs_and_go_to_the_leaves() -> None:
    a, b = Name((4, 3), "A"), Name((3, 2), "B")
    assert transpose(transpose(a)) == a
    assert print_term(transpose(matmul(a, b, (4, 2)))) == "B.T @ A.T"
    assert print_term(transpose(call("outer", [r, x], (4, 3)))) == "outer(x, r)"
    assert print_term(transpose(product(3, [(a, 1), (a, 1)], (4, 3)))) == "3 * A.T**2"


def test_numbers_move_in_front_of_linear_operations() -> None:
    half_r = product(sp.Rational(1, 2), [(r, 1)], (4,))
    assert print_term(call("outer", [half_r, x], (4, 3))) == "outer(r, x) / 2"
    assert print_term(matmul(W, product(-2, [(x, 1)], (3,)), (4,))) == "-2 * W @ x"
    assert print_term(call("sum", [product(3, [(r, 1)], (4,))], ())) == "3 * sum(r)"


def test_products_are_entry_by_entry_and_cancel_inside_sums() -> None:
    s, y = Name((5,), "s"), Name((5,), "y")
    assert print_term(product(1, [(s, 1), (y, 1), (s, 1)], (5,))) == "s**2 * y"
    inner = add([Filled((), sp.Integer(1)), product(-1, [(y, 1), (s, -1)], (5,))], (5,))
    assert print_term(inner) == "1 - y / s"
    assert print_term(product(1, [(s, 1), (inner, 1)], (5,))) == "s - y"


@pytest.mark.parametrize(
    ("real", "probe", "named"),
    [
        (sp.Rational(1, 4), sp.Rational(1, 10007), "1/m"),
        (sp.Rational(2, 4), sp.Rational(2, 10007), "2/m"),
        (12, 10007 * 10009, "m*n"),
        (5, 10008, "m + 1"),
        (sp.Rational(1, 3), sp.Rational(1, 10006), "1/(m - 1)"),
        (sp.Rational(1, 2), sp.Rational(1, 2), "1/2"),
        (7, 123, "7"),  # no line through both: the number stays
    ],
)
def test_dimension_names_come_back_from_the_probe_sizes(real, probe, named) -> None:
    names = DimensionNames({"m": 4, "n": 3}, {"m": 10007, "n": 10009})
    assert str(names.number(real, probe)) == named


# ---- round trip: every derivative, as a claim, is correct ------------------------------


@pytest.mark.parametrize(("path", "name"), ROUND_TRIP, ids=[n for _, n in ROUND_TRIP])
def test_printed_derivatives_are_correct_claims(path: Path, name: str) -> None:
    case = _case(path, name)
    derivatives = matrix_derivatives(case, case.wrt)
    texts = {var: d.text for var, d in derivatives.items()}
    assert None not in texts.values(), texts
    for text in texts.values():
        parse_array_syntax(text)  # the array grammar reads it back
    kind = next(iter(derivatives.values())).kind
    claimed = case_with_claims(case, kind, texts)
    assert {var: t.text for var, t in claimed.claims[kind].items()} == texts
    assert len(claimed.instances) == len(case.instances)  # every size of `dims`
    result = check_case(claimed)
    assert (result.status, result.verdict.verdict) == ("pass", "correct"), result.verdict


def test_verify_claims_names_the_wrong_entry_of_a_wrong_text() -> None:
    case = _case(CONTRACT, "linear-layer-mse")
    found = verify_claims(case, "gradient", {"W": "outer(r, x) / m", "b": "2 * r / m"})
    assert found["b"].verified
    assert not found["W"].verified
    assert found["W"].message.startswith("∂f/∂W: W[")


def test_verify_claims_reports_a_text_that_does_not_load() -> None:
    case = _case(CONTRACT, "linear-layer-mse")
    found = verify_claims(case, "gradient", {"W": "2 * r / m"})["W"]
    assert not found.verified
    assert found.message == (
        "the claim does not load: the claimed gradient of 'W' has shape [4], but it must "
        "have W's shape, [m, n] = [4, 3]; a claim is never broadcast"
    )


# ---- the δ recursion -------------------------------------------------------------------


MLP_STEPS = """\
backpropagation, from L back: δ_u = ∂L/∂u; norms at the case's explicit point 1:
  δ_z2 = ∂L/∂z2 = z2 - y   [m]   (elementwise power rule)   ‖δ_z2‖ = 0.626528
  ∂L/∂W2 = outer(δ_z2, h1)   [m, k]   (matmul's VJP)   ‖∂L/∂W2‖ = 0.635854
  ∂L/∂b2 = δ_z2   [m]   (sum rule: δ passes through +)   ‖∂L/∂b2‖ = 0.626528
  δ_h1 = W2.T @ δ_z2   [k]   (matmul's VJP)   ‖δ_h1‖ = 0.626528
  δ_z1 = δ_h1 * h1 * (1 - h1)   [k]   (sigmoid's VJP from the rule table)   ‖δ_z1‖ = 0.153287
  ∂L/∂W1 = outer(δ_z1, x)   [k, n]   (matmul's VJP)   ‖∂L/∂W1‖ = 0.21678
  ∂L/∂b1 = δ_z1   [k]   (sum rule: δ passes through +)   ‖∂L/∂b1‖ = 0.153287
"""


def test_derive_steps_print_the_delta_recursion_of_a_network(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", str(LAYERS), "--case", "two-layer-mlp", "--steps"])
    assert result.exit_code == 0, result.output
    assert MLP_STEPS in result.stdout
    assert result.stdout.endswith("∂L/∂b2 = z2 - y  (verified)\n")


def test_delta_norms_of_the_variables_are_the_reference_gradients_norms() -> None:
    case = _case(LAYERS, "two-layer-mlp")
    chain = delta_chain(case, case.wrt)
    point, source = derivation_point(case, None)
    assert source == "the case's explicit point 1"
    norms = chain.norms(point)
    build, _ = case_builds(case)
    reference = vjp_expressions(build.function, list(case.wrt), constant(1))
    for name in case.wrt:
        expected = np.linalg.norm(evaluate(reference[name], point))
        assert norms[name] == pytest.approx(expected, rel=1e-12)


def test_derive_at_sets_a_variable_in_every_entry_and_says_so(runner: CliRunner) -> None:
    args = ["derive", str(LAYERS), "--case", "batched-linear-layer", "--at", "Y=0", "--wrt", "b"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "norms at a point drawn from the domain with seed 0, with Y=0:" in result.stdout


def test_derive_at_alone_gives_the_norms_at_the_default_point(runner: CliRunner) -> None:
    args = ["derive", str(LAYERS), "--case", "two-layer-mlp", "--wrt", "b1", "--at"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "norms at the case's explicit point 1:" in result.stdout
    assert "  ∂L/∂b1 = δ_z1   [k]   (sum rule: δ passes through +)   ‖∂L/∂b1‖ = 0.153287\n" in (
        result.stdout
    )


# ---- the command line ------------------------------------------------------------------


def test_derive_array_case_prints_each_variable_verified(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", str(CONTRACT), "--case", "linear-layer-mse"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "L = sum(r**2) / m\nwhere\n  r = W @ x + b - y\n\n"
        "∂L/∂W = 2 * outer(r, x) / m  (verified)\n∂L/∂b = 2 * r / m  (verified)\n"
    )


def test_derive_array_case_as_json(runner: CliRunner) -> None:
    args = ["derive", str(LAYERS), "--case", "two-layer-mlp", "--format", "json", "--steps"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["variables"]["W2"] == {
        "derivative": "outer(z2 - y, h1)", "verified": True, "message": None, "notes": []
    }  # fmt: skip
    first = document["steps"][0]
    assert (first["label"], first["expression"], first["shape"]) == ("δ_z2", "z2 - y", "[m]")
    assert document["point"]["source"] == "the case's explicit point 1"
    assert document["point"]["values"]["x"] == [1, 0, -1]


def test_derive_array_case_at_an_unknown_name_is_a_usage_error(runner: CliRunner) -> None:
    args = ["derive", str(LAYERS), "--case", "two-layer-mlp", "--at", "q=1"]
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: Invalid value for --at: 'q' is not a variable of case two-layer-mlp "
        "(its variables: W1, W2, b1, b2, x, y)\n"
    )


def test_graph_of_an_array_case_labels_its_edges_with_shapes(runner: CliRunner) -> None:
    # drawn since graphs show array cases (tests/test_graph_arrays.py has the details)
    result = runner.invoke(main, ["graph", str(LAYERS), "--case", "two-layer-mlp"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('digraph "two-layer-mlp (')


# ---- textbook forms of shipped cases, and Markdown --------------------------------------


SHIPPED = Path(__file__).parent.parent / "cases"
LAYER_NORM_X = (
    "(g - mean(g, axis=-1, keepdims=true) - xhat * mean(g * xhat, axis=-1, keepdims=true)) / sigma"
)
REWRITTEN = [  # shipped cases whose derivatives the rewrites of matrix_fold shorten
    ("arrays-layers.yaml", "layer-norm-vjp"),
    ("arrays-layers.yaml", "layer-norm-affine-vjp"),
    ("arrays-layers.yaml", "softmax-cross-entropy-batch"),
    ("arrays-layers.yaml", "mlp-tanh-softmax"),
    ("arrays-mistakes.yaml", "layer-norm-sigma-held-constant"),
    ("arrays-seeds.yaml", "neuron-batch-squared-error"),
]


def test_derive_layer_norm_prints_the_textbook_form_verified(runner: CliRunner) -> None:
    args = ["derive", str(SHIPPED / "arrays-layers.yaml"), "--case", "layer-norm-vjp", "--wrt", "x"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"\nvjp x = {LAYER_NORM_X}  (verified)\n")
    assert _texts(SHIPPED / "arrays-layers.yaml", "layer-norm-vjp")["x"] == LAYER_NORM_X


@pytest.mark.parametrize(("file", "name"), REWRITTEN, ids=[n for _, n in REWRITTEN])
def test_rewritten_derivatives_of_shipped_cases_are_correct_claims(file: str, name: str) -> None:
    case = _case(SHIPPED / file, name)
    derivatives = matrix_derivatives(case, case.wrt)
    texts = {var: d.text for var, d in derivatives.items()}
    kind = next(iter(derivatives.values())).kind
    found = verify_claims(case, kind, texts)
    assert all(check.verified for check in found.values()), found


def test_derive_markdown_of_an_array_case_is_latex_in_dollars(runner: CliRunner) -> None:
    args = ["derive", str(CONTRACT), "--case", "linear-layer-mse", "--format", "markdown"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "```" not in result.stdout
    assert result.stdout.startswith("$$\n\\begin{aligned}\nL &= \\frac{\\mathbf{1}^{\\top} ")
    assert r"\mathbf{W} \mathbf{x}" in result.stdout
    assert (
        r"\frac{\partial L}{\partial \mathbf{W}} &= \frac{2 \mathbf{r} \mathbf{x}^{\top}}{m} "
        r"&& \text{verified}"
    ) in result.stdout


def test_derive_steps_markdown_writes_each_delta_step_in_latex(runner: CliRunner) -> None:
    args = ["derive", str(LAYERS), "--case", "two-layer-mlp", "--steps", "--format", "markdown"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "```" not in result.stdout
    assert (
        r"\boldsymbol{\delta}_{z_{2}} = \frac{\partial L}{\partial \mathbf{z}_{2}} &= "
        r"\mathbf{z}_{2} - \mathbf{y} && \mathbb{R}^{m} && \text{elementwise power rule} "
        r"&& \lVert \boldsymbol{\delta}_{z_{2}} \rVert = 0.626528"
    ) in result.stdout
    assert (
        r"\frac{\partial L}{\partial \mathbf{W}_{2}} &= \boldsymbol{\delta}_{z_{2}} "
        r"\mathbf{h}_{1}^{\top} && \mathbb{R}^{m \times k} && \text{matmul's VJP}"
    ) in result.stdout
    assert r"&& \text{verified}" in result.stdout
    assert result.stdout.count("$$") == 6  # function, steps, derivatives


def test_notebook_view_of_an_array_result_is_matrix_notation() -> None:
    from diffcheck.report.notebook import result_latex

    result = check_case(_case(CONTRACT, "linear-layer-mse"))
    latex = result_latex(result)
    assert r"\mathbf{r} &= \mathbf{W} \mathbf{x} + \mathbf{b} - \mathbf{y} && \text{where}" in latex
    assert r"&= \frac{2 \mathbf{r} \mathbf{x}^{\top}}{m} && \text{derived}" in latex
    assert latex.endswith("&& \\text{verdict: correct}\n\\end{aligned}$$")


@pytest.mark.parametrize(("at", "warned"), [("", True), ("x=1", False)])
def test_numbers_at_a_kink_of_an_array_case_are_warned_about(tmp_path: Path, at: str,
                                                             warned: bool) -> None:  # fmt: skip
    # relu at 0: the norms shown use heaviside(0) = 1/2, neither side's derivative
    path = tmp_path / "relu.yaml"
    path.write_text("cases:\n  - name: relu-sum\n    shapes: {x: [2], w: [2]}\n"
                    "    function: sum(w * relu(x))\n    wrt: [x]\n"
                    "    domain: {x: [-1, 1], w: [-1, 1]}\n"
                    "    points: [{x: [0, 1], w: [2, 3]}]\n", encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(main, ["derive", str(path), "--at", *([at] if at else [])])
    assert result.exit_code == 0, result.output
    warning = ("warning: relu(x) at this point, entries [0]: relu has no derivative here; the "
               "function may not be differentiable here (the norms shown are the formulas' "
               "values at the point, which need not be either side's)\n")  # fmt: skip
    assert (warning in result.stderr) == warned
    assert "‖∂L/∂x‖" in result.stdout
