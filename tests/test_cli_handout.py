"""The handout's commands: `latex -o FILE.pdf` and `--figures`, `derive --format markdown`
and `--at` alone, `plot`, and the Python API's views for Jupyter."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from external_tools import require

from diffcheck import check_gradient
from diffcheck.cli import main

ROOT = Path(__file__).resolve().parent.parent
SIGMOID = ROOT / "cases" / "sigmoid.yaml"
MISTAKES = ROOT / "cases" / "mistakes.yaml"
NEURON = ROOT / "cases" / "neuron.yaml"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_a_variable_never_prints_as_a_function_a_derivative_calls(runner: CliRunner) -> None:
    # relu's derivative is heaviside, printed θ: a variable theta must print otherwise,
    # though no heaviside is in the function
    command = ["derive", "relu(x - theta)*theta", "--format", "markdown", "--wrt", "x"]
    result = runner.invoke(main, command)
    assert result.exit_code == 0, result.output
    assert (r"\frac{\partial f}{\partial x} &= \mathrm{theta} \theta\left(x - \mathrm{theta}"
            r"\right)") in result.stdout  # fmt: skip


def test_derive_markdown_gives_latex_chains_in_double_dollars(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "1/(1 + exp(-x))", "--steps", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("$$\n\\begin{aligned}\nf &= \\frac{1}{1 + e^{- x}}")
    assert r"&= - \left(1 + e^{- x}\right)^{-2} \cdot \left(- e^{- x}\right) && " in result.stdout


def test_derive_at_alone_takes_the_cases_first_point_and_says_so(runner: CliRunner) -> None:
    command = ["derive", str(NEURON), "--case", "neuron-article-weights", "--at"]
    result = runner.invoke(main, command)
    assert result.exit_code == 0, result.output
    assert result.stderr == ("at t=1, w0=-0.5, w1=0.4, w2=0.6, w3=0.3, x1=1, x2=0, x3=0 "
                             "(the case's first explicit point)\n")  # fmt: skip
    assert "at t=1, w0=-0.5" in result.stdout


def test_derive_at_alone_takes_the_middle_of_the_domain(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", str(NEURON), "--case", "neuron-any-input", "--at"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ("at t=0.5, w0=0, w1=0, w2=0, w3=0, x1=0.5, x2=0.5, x3=0.5 "
                             "(the middle of the case's domain)\n")  # fmt: skip


def test_derive_at_alone_needs_a_case(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "x^2", "--at"])
    assert result.exit_code == 2
    assert result.stderr.endswith("Error: Invalid value for --at: --at alone needs a case "
                                  "file; for an expression give NAME=VALUE,...\n")  # fmt: skip


def test_latex_writes_a_pdf(runner: CliRunner, tmp_path: Path) -> None:
    require("pdflatex")
    output = tmp_path / "sigmoid.pdf"
    result = runner.invoke(main, ["latex", str(SIGMOID), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {output}\n"
    assert output.read_bytes().startswith(b"%PDF")


def test_latex_figures_need_an_output_file(runner: CliRunner) -> None:
    result = runner.invoke(main, ["latex", str(SIGMOID), "--figures"])
    assert result.exit_code == 2
    assert result.stderr.endswith("Error: --figures needs -o FILE.tex or -o FILE.pdf\n")


def test_latex_figures_beside_a_tex_file(runner: CliRunner, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    output = tmp_path / "mistakes.tex"
    result = runner.invoke(main, ["latex", str(MISTAKES), "--figures", "-o", str(output)])
    assert result.exit_code == 0, result.output
    tex = output.read_text(encoding="utf-8")
    figure = "mistakes-figures/mistakes-sigmoid-sign-slip.pdf"
    assert rf"\includegraphics[width=0.6\linewidth]{{{figure}}}" in tex
    assert (tmp_path / figure).read_bytes().startswith(b"%PDF")


def test_plot_draws_a_claim_and_counts_where_it_is_wrong(runner: CliRunner, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    output = tmp_path / "slip.png"
    command = ["plot", str(MISTAKES), "--case", "tanh-square-missing", "-o", str(output)]
    result = runner.invoke(main, command)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {output}: ∂f/∂x over x in [-3, 3]; they disagree at ")
    assert output.read_bytes().startswith(b"\x89PNG")
    agreeing = runner.invoke(main, ["plot", str(NEURON), "--case", "neuron-article-weights",
                                    "--wrt", "w1", "-o", str(tmp_path / "w1.svg")])  # fmt: skip
    assert agreeing.stdout.endswith("derived and claimed agree at all 400 points\n")
    assert "at t=1, w0=-0.5, w2=0.6" in agreeing.stdout


def test_plot_refuses_a_format_it_cannot_write(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["plot", str(SIGMOID), "--case", "sigmoid-overflow",
                                  "-o", str(tmp_path / "a.jpg")])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: Invalid value for --output: cannot draw into 'a.jpg': name the file "
        ".png, .pdf, .svg\n"
    )


def test_plot_without_matplotlib_says_how_to_install_it(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    result = runner.invoke(main, ["plot", str(SIGMOID), "--case", "sigmoid-overflow",
                                  "-o", str(tmp_path / "a.png")])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == ("error: plot needs matplotlib, which is not installed "
                             "(pip install 'diffcheck-grad[plot]')\n")  # fmt: skip


def test_api_results_render_in_jupyter() -> None:
    check = check_gradient("1/(1 + exp(-x))", {"x": "sigmoid(x)*(1 - sigmoid(x))"},
                           domain={"x": (-30, 30)})  # fmt: skip
    latex = check._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}\nf &= \\frac{1}{1 + e^{- x}} \\\\\n")
    assert (r"\frac{d f}{d x} &= \sigma\left(x\right) \left(1 - \sigma\left(x\right)\right) "
            r"&& \text{claimed}") in latex  # fmt: skip
    assert latex.endswith("&& \\text{verdict: correct}\n\\end{aligned}$$")
    markdown = check._repr_markdown_()
    assert markdown.startswith("**check_gradient**: correct (proved symbolically;")
    assert markdown.endswith(latex)


def test_derive_cancels_what_cancels(runner: CliRunner) -> None:
    assert runner.invoke(main, ["derive", "exp(log(x))"]).stdout == "∂/∂x = 1\n"
    steps = runner.invoke(main, ["derive", "exp(log(x))", "--steps"]).stdout
    assert steps.endswith("∂f/∂x = 1\n")


TRANSPOSED = """cases:
  - name: transposed
    shapes: {W: [2, 2], x: [2], y: [2]}
    where:
      r: W @ x - y
    function: sum(r**2) / 2
    gradient:
      W: outer(x, r)
    domain: {W: [-1, 1], x: [-1, 1], y: [-1, 1]}
    samples: 4
    expect: incorrect
"""


def test_plot_of_an_array_claim_is_a_heat_map_of_its_error(
    runner: CliRunner, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    cases = tmp_path / "layer.yaml"
    cases.write_text(TRANSPOSED, encoding="utf-8")
    output = tmp_path / "transpose.png"
    result = runner.invoke(main, ["plot", str(cases), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {output}: gradient W: 2 of 4 entries wrong at point ")
    assert result.stdout.endswith("wrong at 4 of 4 points\n")
    assert output.read_bytes().startswith(b"\x89PNG")
    wrong = runner.invoke(main, ["plot", str(cases), "--wrt", "q", "-o", str(output)])
    assert wrong.exit_code == 2
    assert wrong.stderr == "error: case transposed has no claim for 'q' (claims: W)\n"
