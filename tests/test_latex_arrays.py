"""LaTeX of array cases: matrix notation (bold arrays, ^\\top, \\odot, 1^\\top X) for the
function, intermediates, backpropagation's δ recursion, derivatives and claims, and the
shipped array cases compiled."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from external_tools import require
from test_latex import _compile

from diffcheck.cases.loader import load_case_file
from diffcheck.errors import DiffcheckError
from diffcheck.explain.backprop import delta_chain
from diffcheck.report import document
from diffcheck.report.document import explain_paths, latex_document
from diffcheck.report.latex_arrays import (
    ArrayNotation,
    chain_notation,
    matrix_symbol,
    recursion_latex,
)
from diffcheck.report.latex_layout import LINE_EM, estimate_width

CASES = Path(__file__).parent.parent / "cases"
ARRAY_FILES = sorted(CASES.glob("arrays-*.yaml"))


def _case(name: str, file: str = "arrays-layers.yaml"):  # noqa: ANN202
    return next(c for c in load_case_file(CASES / file).entries if c.name == name)


@pytest.fixture(scope="module")
def linear() -> ArrayNotation:
    return ArrayNotation(_case("linear-layer-mse"))


@pytest.mark.parametrize(
    ("text", "tex"),
    [
        ("W @ x + b - y", r"\mathbf{W} \mathbf{x} + \mathbf{b} - \mathbf{y}"),
        ("2 * outer(r, x) / m", r"\frac{2 \mathbf{r} \mathbf{x}^{\top}}{m}"),
        ("sum(r**2) / m", r"\frac{\mathbf{1}^{\top} \mathbf{r}^{\odot 2}}{m}"),
        ("r * b", r"\mathbf{r} \odot \mathbf{b}"),
        ("x @ W.T", r"\mathbf{x}^{\top} \mathbf{W}^{\top}"),
        ("dot(x, x)", r"\mathbf{x}^{\top} \mathbf{x}"),
        ("sum(W, axis=0)", r"\mathbf{1}^{\top} \mathbf{W}"),
        ("sum(W, axis=-1)", r"\mathbf{W} \mathbf{1}"),
        ("m * r", r"m \mathbf{r}"),
        ("r * 2", r"\mathbf{r} \cdot 2"),  # the user's factor order is kept
        ("(W.T @ r) * (1 - x**2)",
         r"\left(\mathbf{W}^{\top} \mathbf{r}\right) \odot \left(1 - \mathbf{x}^{\odot 2}\right)"),
    ],
)  # fmt: skip
def test_array_expressions_print_in_matrix_notation(
    linear: ArrayNotation, text: str, tex: str
) -> None:
    assert linear.tex(text) == tex


def test_names_are_bold_for_arrays_with_natural_subscripts() -> None:
    assert matrix_symbol("W1", True) == r"\mathbf{W}_{1}"
    assert matrix_symbol("h_10", False) == r"h_{10}"
    assert matrix_symbol("delta1", True) == r"\boldsymbol{\delta}_{1}"
    assert matrix_symbol("Delta", True) == r"\boldsymbol{\Delta}"
    assert matrix_symbol("loss", False) == r"\mathrm{loss}"
    notation = ArrayNotation(_case("mlp-tanh-softmax"))
    assert notation.symbol("W1") == r"\mathbf{W}_{1}"
    assert notation.symbol("delta2") == r"\boldsymbol{\delta}_{2}"
    assert notation.symbol("L") == "L"


def test_two_names_never_print_alike(tmp_path: Path) -> None:
    source = """\
cases:
  - name: alike
    shapes: {x1: [3], x_1: [3]}
    function: sum(x1 * x_1)
    gradient: {x1: x_1}
    domain: {x1: [-1, 1], x_1: [-1, 1]}
"""
    (tmp_path / "alike.yaml").write_text(source, encoding="utf-8")
    (case,) = load_case_file(tmp_path / "alike.yaml").entries
    notation = ArrayNotation(case)
    assert notation.symbol("x1") != notation.symbol("x_1")
    assert notation.symbol("x1").startswith(r"\mathbf{")


def test_a_long_derivative_breaks_inside_the_margin() -> None:
    case = _case("layer-norm-affine-vjp")
    entries, _ = explain_paths([str(CASES / "arrays-layers.yaml")])
    entry = next(e for e in entries if e.name == case.name)
    text = entry.matrix["x"].text
    notation = ArrayNotation(case, [text])
    chunks = notation.chunks(text)
    assert len(chunks) > 1
    assert all(estimate_width(chunk.tex) < LINE_EM for chunk in chunks)


@pytest.fixture(scope="module")
def array_document() -> str:
    entries, _ = explain_paths([str(path) for path in ARRAY_FILES])
    return latex_document(entries)


def _section(document: str, name: str) -> str:
    heading = r"\subsection*{\raggedright " + name.replace("-", r"-\allowbreak{}")
    return document.split(heading, 1)[1].split(r"\subsection*", 1)[0]


def test_array_cases_are_written_in_matrix_notation(array_document: str) -> None:
    linear = _section(array_document, "linear-layer-mse")
    assert r"\mathbf{r} &= \mathbf{W} \mathbf{x} + \mathbf{b} - \mathbf{y}" in linear
    assert (r"\frac{\partial L}{\partial \mathbf{W}} &= \frac{2 \mathbf{r} \mathbf{x}^{\top}}{m}"
            r" \tag*{\small $\text{claimed}$}") in linear  # fmt: skip
    assert r"\text{derived}" in linear
    mlp = _section(array_document, "mlp-tanh-softmax")
    assert r"\odot" in mlp and r"\mathbf{W}_{2}^{\top}" in mlp
    assert r"\texttt" not in array_document


def test_shipped_array_cases_compile_without_overfull_boxes(
    array_document: str, tmp_path: Path
) -> None:
    require("pdflatex", "pdftoppm")
    _compile(array_document, tmp_path)


def test_a_network_gets_its_delta_recursion_in_order_with_rules(array_document: str) -> None:
    mlp = _section(array_document, "mlp-tanh-softmax")
    head = (
        r"\par\smallskip \textbf{Backpropagation}, from $L$ back: "
        r"$\boldsymbol{\delta}_u = \partial L / \partial u$:" + "\n\\begin{align*}"
    )
    assert head in mlp
    block = mlp.split(head, 1)[1].split(r"\end{align*}", 1)[0]
    rows = [row.strip() for row in block.strip().split(" \\\\\n")]
    assert rows[0] == (
        r"\boldsymbol{\delta}_{z_{2}} = \frac{\partial L}{\partial \mathbf{z}_{2}} &= "
        r"\boldsymbol{\delta}_{2} \in \mathbb{R}^{k} \tag*{\small $\text{log\_softmax's VJP}$}"
    )
    assert rows[3] == (
        r"\boldsymbol{\delta}_{h_{1}} &= \mathbf{W}_{2}^{\top} \boldsymbol{\delta}_{z_{2}} "
        r"\in \mathbb{R}^{h} \tag*{\small $\text{matmul's VJP}$}"
    )
    assert rows[5] == (
        r"\frac{\partial L}{\partial \mathbf{W}_{1}} &= \boldsymbol{\delta}_{z_{1}} "
        r"\mathbf{x}^{\top} \in \mathbb{R}^{h \times d} \tag*{\small $\text{matmul's VJP}$}"
    )
    names = [row.split(" &= ", 1)[0] for row in rows]
    assert names == [
        r"\boldsymbol{\delta}_{z_{2}} = \frac{\partial L}{\partial \mathbf{z}_{2}}",
        r"\frac{\partial L}{\partial \mathbf{W}_{2}}",
        r"\frac{\partial L}{\partial \mathbf{b}_{2}}",
        r"\boldsymbol{\delta}_{h_{1}}",
        r"\boldsymbol{\delta}_{z_{1}}",
        r"\frac{\partial L}{\partial \mathbf{W}_{1}}",
        r"\frac{\partial L}{\partial \mathbf{b}_{1}}",
    ]
    assert r"\text{tanh's VJP from the rule table}" in rows[4]
    # before the derivatives it leads to
    assert mlp.index(head) < mlp.index(r"\tag*{\small $\text{derived}$}")


def test_an_array_function_names_its_cotangent(array_document: str) -> None:
    attention = _section(array_document, "attention-vjp")
    assert (r"\textbf{Backpropagation}, from $\mathbf{f}$ back: $\boldsymbol{\delta}_u$ = the "
            r"VJP for $u$ with cotangent $\mathbf{g}$:") in attention  # fmt: skip
    assert r"\boldsymbol{\delta}_{P} &= \mathbf{g} \mathbf{V}^{\top} \in" in attention


@pytest.mark.parametrize(
    ("name", "steps"),
    [("softmax-vjp", 1), ("trace-of-product", 2), ("logdet-spd", 1)],  # no `where` chain
)
def test_a_case_without_where_chain_has_no_backpropagation_block(
    array_document: str, name: str, steps: int
) -> None:
    file = "arrays-layers.yaml" if name == "softmax-vjp" else "arrays-matrix-cookbook.yaml"
    case = _case(name, file)
    assert not case.where and len(delta_chain(case, case.wrt).steps) == steps
    assert r"\textbf{Backpropagation}" not in _section(array_document, name)


def test_a_step_without_matrix_form_says_so_in_words() -> None:
    case = _case("mlp-tanh-softmax")
    chain = delta_chain(case, case.wrt)
    step = replace(chain.steps[3], text=None, problem="no matrix form for this contraction")
    chain = replace(chain, steps=(*chain.steps[:3], step, *chain.steps[4:]))
    block, note = recursion_latex(chain_notation(case, [], chain), chain, case.cotangent)
    assert (r"\boldsymbol{\delta}_{h_{1}} &= \text{no matrix form} \in \mathbb{R}^{h} "
            r"\tag*{\small $\text{matmul's VJP}$}") in block  # fmt: skip
    assert note == (r"Note: $\boldsymbol{\delta}_{h_{1}}$: no matrix form for this "
                    r"contraction.\par")  # fmt: skip


def test_a_recursion_that_fails_leaves_the_rest_of_the_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing(case, wrt):  # noqa: ANN001, ANN202, ARG001
        raise DiffcheckError("no recursion here")

    monkeypatch.setattr(document, "delta_chain", failing)
    entries, _ = explain_paths([str(CASES / "arrays-layers.yaml")])
    entry = next(e for e in entries if e.name == "mlp-tanh-softmax")
    assert entry.error is None and entry.matrix is not None and entry.chain is None
    mlp = _section(latex_document([entry]), "mlp-tanh-softmax")
    assert r"\textbf{Backpropagation}" not in mlp and r"\text{derived}" in mlp
