"""LaTeX of array cases: matrix notation (bold arrays, ^\\top, \\odot, 1^\\top X) for the
function, intermediates, derivatives and claims, and the shipped array cases compiled."""

from __future__ import annotations

from pathlib import Path

import pytest
from external_tools import require
from test_latex import _compile

from diffcheck.cases.loader import load_case_file
from diffcheck.report.document import explain_paths, latex_document
from diffcheck.report.latex_arrays import ArrayNotation, matrix_symbol
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
