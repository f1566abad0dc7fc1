"""LaTeX stage: the printer names every function by its rule, prose is escaped, the
derivations match their golden files, and the document of every shipped case file
compiles with pdflatex into a page (rendered to PNG to prove it)."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path

import pytest
import sympy as sp
from external_tools import require
from golden_files import compare_golden

from diffcheck.cases.loader import load_case_file
from diffcheck.explain.chain import explain_case, explain_expression
from diffcheck.explain.relay import relay_at
from diffcheck.report.document import explain_paths, latex_document
from diffcheck.report.latex import escape_text, latex_expression
from diffcheck.report.latex_derivation import derivation_latex
from diffcheck.symbolic.parse import parse_expression
from diffcheck.symbolic.rules import RULES, TableFunction

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "cases").glob("*.yaml"))
NEURON = Path(__file__).parent / "data" / "explain" / "neuron.yaml"
ARTICLE = {"t": 1.0, "w0": -0.5, "w1": 0.4, "w2": 0.6, "w3": 0.3, "x1": 1.0, "x2": 0.0, "x3": 0.0}
x = sp.Symbol("x")


@pytest.mark.parametrize(
    "name",
    [
        n
        for n, r in RULES.items()
        if isinstance(r.function, type) and issubclass(r.function, TableFunction)
    ],
)
def test_table_functions_print_with_their_rule_name(name: str) -> None:
    rule = RULES[name]
    args = [sp.Symbol(f"a{i}") for i in range(rule.arity or 2)]
    text = latex_expression(rule.function(*args))
    head = rule.latex.split("{}")[0] if "{}" in rule.latex else rule.latex
    assert text.startswith(head)
    assert "a_{0}" in text


@pytest.mark.parametrize(
    ("text", "latex"),
    [
        ("sigmoid(x)^2", r"\sigma^{2}\left(x\right)"),
        ("abs(x)", r"\left|x\right|"),
        ("asinh(x)", r"\operatorname{arsinh}\left(x\right)"),
        ("lgamma(x)", r"\log\Gamma\left(x\right)"),
        ("digamma(x)", r"\psi\left(x\right)"),
        ("polygamma(2, x)", r"\psi^{(2)}\left(x\right)"),
        ("exp(-x)", r"e^{- x}"),
        ("ŷ1 + σ", r"\hat{y}_{1} + \sigma"),
        # a power of a name that carries its own superscript goes on the whole call
        ("erfinv(x)^2", r"\left(\operatorname{erf}^{-1}\left(x\right)\right)^{2}"),
    ],
)
def test_latex_expression(text: str, latex: str) -> None:
    assert latex_expression(parse_expression(text)) == latex


def test_power_form_keeps_powers() -> None:
    expr = parse_expression("-1/(1 + exp(-x))^2")
    assert latex_expression(expr) == r"- \frac{1}{\left(1 + e^{- x}\right)^{2}}"
    assert latex_expression(expr, power_form=True) == r"- \left(1 + e^{- x}\right)^{-2}"
    root = sp.Pow(sp.exp(x), sp.Rational(1, 2), evaluate=False)
    assert latex_expression(root, power_form=True) == r"\left(e^{x}\right)^{\frac{1}{2}}"


def test_powers_of_superscripted_bases_compile(tmp_path: Path) -> None:
    require("pdflatex", "pdftoppm")
    texts = ["erfinv(x)", "sqrt(exp(x))", "exp(exp(x))^(1/2)", "1/sqrt(a__2)", "erfinv(x)^3"]
    expressions = [parse_expression(text) for text in texts]
    body = "".join(
        derivation_latex(explain_expression(expr, sorted(map(str, expr.free_symbols))))
        for expr in expressions
    )
    _compile(latex_document([])[: -len("\\end{document}\n")] + body + "\\end{document}\n",
             tmp_path)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        (
            "50% & $5 #1 a_b {x} ~ ^ \\",
            r"50\% \& \$5 \#1 a\_b \{x\} \textasciitilde{} \^{} \textbackslash{}",
        ),
        ("σ'(x) = σ(x)(1 − σ(x))", r"$\sigma$'(x) = $\sigma$(x)(1 $-$ $\sigma$(x))"),
        ("E = ½ Σ (ŷᵢ − yᵢ)²", r"E = $\frac{1}{2}$ $\Sigma$ (\^{y}$_{i}$ $-$ y$_{i}$)$^{2}$"),
        ("log(1 + eˣ) ≈ x, Φ, Α", r"log(1 + e$^{x}$) $\approx$ x, $\Phi$, A"),
        ("重み", r"\texttt{[U+91CD]}\texttt{[U+307F]}"),
        ("bell\x07, two\n\nlines", r"bell\texttt{[U+0007]}, two  lines"),  # pdflatex-safe
    ],
)
def test_escape_text(text: str, escaped: str) -> None:
    assert escape_text(text) == escaped


def test_every_character_of_the_shipped_cases_has_a_latex_form() -> None:
    text = "".join(path.read_text(encoding="utf-8") for path in SHIPPED)
    unknown = {char for char in text if "[U+" in escape_text(char)}
    assert unknown == set(), [unicodedata.name(char, "?") for char in unknown]


@pytest.mark.parametrize(("name", "latex"), [("ŷ1", r"\hat{y}_{1}"), ("σ", r"\sigma"),
                                              ("Δw", r"\Delta w"), ("重", r"\mathrm{u91cd}"),
                                              ("alpha1", r"\alpha_{1}")])  # fmt: skip
def test_symbol_names(name: str, latex: str) -> None:
    assert latex_expression(sp.Symbol(name)) == latex
    assert latex.isascii()


# ---- golden files ------------------------------------------------------------------------


def test_sigmoid_latex_golden(update_golden: bool) -> None:
    derivations = explain_expression(parse_expression("1/(1 + exp(-x))"), ["x"])
    compare_golden("derive-sigmoid.tex", derivation_latex(derivations), update_golden)


def test_tanh_tanh_latex_golden(update_golden: bool) -> None:
    derivations = explain_expression(parse_expression("tanh(tanh(x))"), ["x"])
    compare_golden("derive-tanh-tanh.tex", derivation_latex(derivations), update_golden)


def test_neuron_latex_golden(update_golden: bool) -> None:
    (case,) = load_case_file(NEURON).cases
    derivations = explain_case(case)
    relay = relay_at(derivations, ARTICLE)
    compare_golden("derive-neuron.tex", derivation_latex(derivations, relay=relay), update_golden)


# ---- compiling -----------------------------------------------------------------------------

MAX_OVERFULL_PT = 1.0  # pdflatex reports boxes past the margin; more than this is visible


def overfull_boxes(log: str) -> list[str]:
    """The overfull box warnings of a pdflatex log wider (or taller) than MAX_OVERFULL_PT."""
    found = re.findall(r"^(Overfull \\[hv]box \(([\d.]+)pt too (?:wide|high)\).*)$", log, re.M)
    return [line for line, points in found if float(points) > MAX_OVERFULL_PT]


def _compile(tex: str, folder: Path) -> str:
    """pdflatex `tex` in `folder`; fail on any LaTeX error or overfull box; the log."""
    source = folder / "document.tex"
    source.write_text(tex, encoding="utf-8")
    command = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, errors="replace")
    log = (folder / "document.log").read_text(encoding="utf-8", errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert result.returncode == 0 and not errors, "\n".join(errors) or result.stdout[-3000:]
    assert overfull_boxes(log) == []
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile",
                    "document.pdf", "page"], cwd=folder, check=True)  # fmt: skip
    assert (folder / "page.png").read_bytes().startswith(b"\x89PNG")
    return log


def test_overfull_boxes_are_read_from_the_log() -> None:
    log = (
        "Overfull \\hbox (0.6772pt too wide) in paragraph at lines 646--653\n"
        "Overfull \\hbox (17.98254pt too wide) in paragraph at lines 21--27\n"
        "Overfull \\vbox (106.35036pt too high) has occurred while \\output is active []\n"
    )
    assert overfull_boxes(log) == [
        "Overfull \\hbox (17.98254pt too wide) in paragraph at lines 21--27",
        "Overfull \\vbox (106.35036pt too high) has occurred while \\output is active []",
    ]  # fmt: skip


def test_fragment_compiles_inside_a_paper(tmp_path: Path) -> None:
    require("pdflatex", "pdftoppm")
    # A deep folder: the file's heading must break at its separators, wherever it lies.
    deep = tmp_path / "a_checkout_of_the_project" / "in-a-folder.with.a.long.name" / "cases"
    deep.mkdir(parents=True)
    case_file = deep / "the_neuron_through_a_sigmoid_and_the_squared_error.yaml"
    case_file.write_text(NEURON.read_text(encoding="utf-8"), encoding="utf-8")
    entries, _ = explain_paths([str(case_file)])
    fragment = latex_document(entries, fragment=True)
    assert r"\documentclass" not in fragment and r"\begin{document}" not in fragment
    (tmp_path / "derivations.tex").write_text(fragment, encoding="utf-8")
    paper = ("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
             "\\input{derivations}\n\\end{document}\n")  # fmt: skip
    _compile(paper, tmp_path)


def test_deep_chain_compiles(tmp_path: Path) -> None:
    require("pdflatex", "pdftoppm")
    derivations = explain_expression(parse_expression("tanh(" * 40 + "x" + ")" * 40), ["x"])
    body = derivation_latex(derivations, relay=relay_at(derivations, {"x": 0.4}))
    _compile(latex_document([])[: -len("\\end{document}\n")] + body + "\\end{document}\n",
             tmp_path)  # fmt: skip


def test_verification_shows_hessian_claims_and_implementations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "latex_layers.py").write_text(
        "import numpy as np\ndef bad(x):\n    return {'x': np.exp(-x)}\n", encoding="utf-8"
    )
    (tmp_path / "c.yaml").write_text(
        "cases:\n"
        "  - name: hessian\n    function: sin(x*y)\n"
        '    hessian: {"x,y": cos(x*y)}\n    domain: {x: [-2, 2], y: [-2, 2]}\n'
        "    expect: incorrect\n"
        "  - name: code\n    function: sigmoid(x)\n"
        "    implementation: {gradient: 'latex_layers:bad'}\n    domain: {x: [-1, 1]}\n"
        "    expect: incorrect\n",
        encoding="utf-8",
    )
    entries, results = explain_paths(["c.yaml"])
    assert [r.status for r in results] == ["pass", "pass"]
    tex = latex_document(entries)
    claim = r"\frac{\partial^{2} f}{\partial x\,\partial y} &= \cos\left(x y\right) \tag*"
    assert claim in tex
    assert r"{$\partial^{2} f/\partial x\,\partial y$ at 64 points" in tex
    assert r"Claimed: the gradient computed by \texttt{latex\_layers:bad}" in tex
    code_table = tex[tex.index(r"\texttt{latex\_layers:bad}") :]
    rows = code_table.split(r"\end{tabular}")[0].split(r"\midrule")[1]
    assert r"\text{---}$ & $" not in rows  # the implementation's values are the claim


def test_a_typed_decimal_is_set_as_a_decimal():
    from diffcheck.report.latex import latex_expression
    from diffcheck.symbolic.parse import parse_expression

    assert latex_expression(parse_expression("0.044715*x^3/y")) == r"0.044715 \frac{x^{3}}{y}"
    assert latex_expression(parse_expression("-0.0015")) == "- 0.0015"
    assert latex_expression(parse_expression("x/2")) == r"\frac{x}{2}"
