"""The LaTeX handout: derivations as one `align*` chain with a reason at each "=", names
printed as people write them and never alike, claims in the user's order, array cases
with their verdict, and the shipped cases compiled into a PDF with no box past the
margin, no heading alone at a page foot, and about a page per case or less."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import sympy as sp
from external_tools import require
from test_latex import overfull_boxes

from diffcheck.explain.chain import explain_expression
from diffcheck.explain.steps import explain_steps
from diffcheck.report.chain_rows import step_chain, tidy
from diffcheck.report.document import explain_paths, latex_document
from diffcheck.report.handout import compile_pdf
from diffcheck.report.latex import latex_expression
from diffcheck.report.latex_derivation import derivation_latex, derivation_markdown
from diffcheck.report.latex_layout import LINE_EM, estimate_width
from diffcheck.report.latex_names import latex_symbol_name, symbol_names
from diffcheck.symbolic.parse import parse_expression

ROOT = Path(__file__).resolve().parent.parent
x = sp.Symbol("x")

# the sigmoid article's chain: (1 + e^-x)^-1, the chain rule, e^-x/(1 + e^-x)^2, σ(1 - σ)
SIGMOID_CHAIN = r"""\begin{align*}
f &= \frac{1}{1 + e^{- x}} \\[1ex]
\frac{d f}{d x} &= \frac{d}{d x} \left(1 + e^{- x}\right)^{-1} \tag*{\small $\text{as a power}$} \\
&= - \left(1 + e^{- x}\right)^{-2} \cdot \left(- e^{- x}\right) \tag*{\small $\text{chain rule, power rule}$} \\
&= \frac{e^{- x}}{\left(1 + e^{- x}\right)^{2}} \tag*{\small $\text{simplified}$} \\
&= \sigma\left(x\right) \left(1 - \sigma\left(x\right)\right) \tag*{\small $\sigma\left(x\right) = \frac{1}{1 + e^{- x}}$}
\end{align*}
"""  # noqa: E501


def _derive(text: str, wrt: str = "x") -> str:
    return derivation_latex(explain_expression(parse_expression(text), [wrt]))


def test_sigmoid_derivation_is_the_article_chain_in_one_align() -> None:
    assert _derive("1/(1 + exp(-x))") == SIGMOID_CHAIN


def test_exp_of_log_ends_as_one_not_x_over_x() -> None:
    tex = _derive("exp(log(x))")
    assert tex.rstrip().endswith("&= 1 \\tag*{\\small $\\text{simplified}$}\n\\end{align*}")
    assert r"\frac{x}{x}" not in tex
    assert tidy(x / x) == 1 and tidy(sp.exp(-x) / (1 + sp.exp(-x)) ** 2) != 1


def test_small_inner_derivatives_are_taken_in_the_same_row() -> None:
    step = explain_expression(parse_expression("tanh(x^2 + 1)"), ["x"])["x"].factors[0].steps
    rows = step_chain(step, start=False)
    assert [row.reason for row in rows] == ["chain rule, tanh rule"]  # x² + 1 gives 2x at once


@pytest.mark.parametrize(
    ("name", "latex"),
    [("loss", r"\mathrm{loss}"), ("w10", "w_{10}"), ("x_out", r"x_{\mathrm{out}}"),
     ("delta2", r"\delta_{2}"), ("h1", "h_{1}"), ("yhat", r"\hat{y}"), ("λ", r"\lambda")],
)  # fmt: skip
def test_multi_letter_names_are_upright_and_digits_subscripts(name: str, latex: str) -> None:
    assert latex_symbol_name(name) == latex


def test_two_names_never_print_alike() -> None:
    names = symbol_names(["x1", "x_1", "sigma", "w2"], [r"\sigma"])
    assert names == {"x1": r"\mathrm{x1}", "x_1": r"\mathrm{x\_1}",
                     "sigma": r"\mathrm{sigma}", "w2": "w_{2}"}  # fmt: skip
    assert len(set(names.values())) == len(names)


def test_products_count_as_people_do_and_sums_start_positive() -> None:
    assert latex_expression(parse_expression("s10*s2*s1*s9")) == "s_{1} s_{2} s_{9} s_{10}"
    assert latex_expression(parse_expression("-t + y")) == "y - t"
    assert latex_expression(parse_expression("(-1 + y)*x")) == r"x \left(y - 1\right)"


def _case_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_case_prints_clashing_names_as_typed_and_claims_as_written(tmp_path: Path) -> None:
    path = _case_file(tmp_path, "cases:\n  - name: clash\n"
                      "    function: sigmoid(x1 * sigma) + x_1\n    wrt: [sigma]\n"
                      "    gradient: {sigma: '(1 - sigmoid(x1*sigma))*x1*sigmoid(x1*sigma)'}\n"
                      "    domain: {x1: [-1, 1], x_1: [-1, 1], sigma: [-1, 1]}\n")  # fmt: skip
    entries, results = explain_paths([str(path)])
    assert [r.status for r in results] == ["pass"]
    tex = latex_document(entries)
    assert r"\mathrm{x1}" in tex and r"\mathrm{x\_1}" in tex and r"\mathrm{sigma}" in tex
    assert "x_{1}" not in tex
    claim = (
        r"\left(1 - \sigma\left(\mathrm{x1} \mathrm{sigma}\right)\right) \mathrm{x1} "
        r"\sigma\left(\mathrm{x1} \mathrm{sigma}\right) \tag*{\small $\text{claimed}$}"
    )
    assert claim in tex  # the user's order, not SymPy's


def test_intermediates_stay_names_in_the_handout() -> None:
    entries, _ = explain_paths([str(ROOT / "cases" / "chain-rule.yaml")])
    (entry,) = [e for e in entries if e.name == "two-layer-backprop"]
    tex = latex_document([entry])
    assert r"\frac{\partial f}{\partial v_{1}} &= \frac{\partial f}{\partial y} \cdot" in tex
    assert r"\left(y - t\right) \cdot y \left(1 - y\right) \cdot w_{1}" in tex
    assert r"\tanh\left(v_{0}" not in tex  # h stays h


def test_long_rows_break_at_their_operators() -> None:
    derivations = explain_expression(parse_expression("tanh(" * 12 + "x" + ")" * 12), ["x"])
    tex = derivation_latex(derivations)
    rows = [row for row in tex.splitlines() if row.startswith("&")]
    assert any(row.startswith(r"&\quad \cdot") for row in rows)
    for row in tex.splitlines():
        formula = row.split(r"\tag*")[0].split("&", 1)[-1]
        assert estimate_width(formula) <= LINE_EM + 4, row


def test_markdown_is_aligned_blocks_between_double_dollars() -> None:
    text = derivation_markdown(explain_expression(parse_expression("x*sigmoid(x)"), ["x"]))
    assert text.startswith("$$\n\\begin{aligned}\nf &= x \\sigma\\left(x\\right)")
    assert r"&& \text{product rule}" in text and r"\tag" not in text
    assert text.rstrip().endswith("\\end{aligned}\n$$")


ARRAY_CASE = """cases:
  - name: layer
    description: "a linear layer: ∂L/∂W = r xᵀ"
    shapes: {W: [2, 2], x: [2], y: [2]}
    where:
      r: W @ x - y
    function: sum(r**2) / 2
    gradient:
      W: outer(r, x)
    domain: {W: [-1, 1], x: [-1, 1], y: [-1, 1]}
    samples: 4
"""


def test_array_cases_show_function_claims_and_verdict(tmp_path: Path) -> None:
    entries, results = explain_paths([str(_case_file(tmp_path, ARRAY_CASE))])
    assert [r.status for r in results] == ["pass"]
    tex = latex_document(entries)
    assert (r"\frac{\partial L}{\partial \mathbf{W}} &= \mathbf{r} \mathbf{x}^{\top}"
            r" \tag*{\small $\text{claimed}$}") in tex  # fmt: skip
    assert r"\text{derived}" in tex
    assert r"Verdict: \textbf{correct} (as expected)" in tex


# ---- the shipped cases as one PDF ------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    require("pdflatex", "pdftotext")
    entries, _ = explain_paths([str(ROOT / "cases")])
    folder = tmp_path_factory.mktemp("handout")
    (folder / "shipped.pdf").write_bytes(compile_pdf(latex_document(entries), folder))
    return folder, entries


def test_shipped_handout_has_no_overfull_box(shipped_pdf) -> None:
    folder, _ = shipped_pdf
    log = (folder / "handout.log").read_text(encoding="utf-8", errors="replace")
    assert overfull_boxes(log) == []


def _pages(pdf: Path) -> list[list[str]]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    return [[line.strip() for line in page.splitlines() if line.strip()]
            for page in text.split("\f") if page.strip()]  # fmt: skip


def test_shipped_handout_takes_a_page_per_case_or_less(shipped_pdf) -> None:
    folder, entries = shipped_pdf
    assert len(_pages(folder / "shipped.pdf")) <= len(entries)


def test_no_heading_stands_alone_at_a_page_foot(shipped_pdf) -> None:
    folder, entries = shipped_pdf
    headings = {e.name for e in entries} | {e.file for e in entries} | {"Verification."}
    for number, lines in enumerate(_pages(folder / "shipped.pdf"), 1):
        last = [line for line in lines if not re.fullmatch(r"\d+", line)][-1]
        assert last not in headings, f"page {number} ends with the heading {last!r}"


def test_readme_shows_the_real_sigmoid_chain() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```latex\n{SIGMOID_CHAIN}```" in readme


@pytest.mark.parametrize(
    ("text", "latex"),
    [
        ("((a - b)^2 + c)/2", r"\frac{\left(a - b\right)^{2} + c}{2}"),
        (
            "-(1 + exp(-x))^(-2) * (-exp(-x))",
            r"- \left(1 + e^{- x}\right)^{-2} \left(- e^{- x}\right)",
        ),  # fmt: skip
        ("2*u*3", r"2 u \cdot 3"),
        ("(y - t)*y*(1 - y)*x1", r"\left(y - t\right) y \left(1 - y\right) x_{1}"),
    ],
)
def test_expressions_print_as_written(text: str, latex: str) -> None:
    from diffcheck.cases.nodes import Expression
    from diffcheck.report.latex_tables import written

    expression = Expression(text, parse_expression(text), None)
    assert latex_expression(written(expression), as_written=True) == latex


def test_what_cancels_in_one_term_of_a_sum_is_cancelled():
    # exp(log(x)) differentiates to x/x (SymPy turns exp(log(x)) back into x, uncancelled)
    result = explain_steps(parse_expression("exp(log(x)) + s*sigmoid(x)"), "x").result
    assert "x/x" in str(result)
    assert str(tidy(result)) == "s*(1 - sigmoid(x))*sigmoid(x) + 1"
