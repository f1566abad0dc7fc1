"""The explaining commands through click's CliRunner: derive --steps/--at/--format,
latex and graph; exit codes, stdout and stderr kept apart, messages verbatim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from external_tools import require

from diffcheck.cli import main
from diffcheck.explain import graph as graph_module

NEURON = Path(__file__).parent / "data" / "explain" / "neuron.yaml"
TWO_CASES = """\
cases:
  - name: square
    function: x^2
    gradient: {x: 2*x}
    domain: {x: [0, 1]}
  - name: chain
    where: {u: 3*x + 2}
    function: t*u^2
    domain: {x: [0, 1], t: 2}
"""
INVALID = """\
cases:
  - name: typo
    function: sigmod(x)
    domain: {x: [0, 1]}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_derive_without_new_options_prints_as_before(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "sigmoid(x)*y"])
    assert result.stdout == "∂/∂x = y*sigmoid(x)*(1 - sigmoid(x))\n∂/∂y = sigmoid(x)\n"


def test_derive_steps(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "tanh(tanh(x))", "--steps"])
    assert result.exit_code == 0
    assert "outer, u = tanh(x): d/du tanh(u) = 1 - tanh(u)**2" in result.stdout
    assert result.stdout.endswith("∂f/∂x = (1 - tanh(x)**2)*(1 - tanh(tanh(x))**2)\n")


def test_derive_json_is_the_only_thing_on_stdout(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "sin(x*y)", "--wrt", "y", "--format", "json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert list(document["variables"]) == ["y"]
    assert document["variables"]["y"]["derivative"] == "x*cos(x*y)"


def test_derive_at_a_point(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "sigmoid(w*x)", "--at", "w=2,x=0"])
    assert result.exit_code == 0
    assert "  f     0.5    1\n  w     2      0\n  x     0      0.5\n" in result.stdout


def test_derive_case_file_uses_fixed_values(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "two.yaml", TWO_CASES)
    result = runner.invoke(main, ["derive", path, "--case", "chain", "--at", "x=1"])
    assert result.exit_code == 0, result.output
    assert "∂f/∂x = ∂f/∂u · ∂u/∂x\n" in result.stdout
    assert result.stdout.split("\n  x ")[1].split()[:2] == ["1", "60"]  # 2tu · 3 at u = 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "x"], "Invalid value for --at: 'x' is not NAME=VALUE (write e.g. w1=0.4,x=1)"),
        (["--at", "x=1,x=2"], "Invalid value for --at: x is given twice"),
        (["--at", "y=1"], "Invalid value for --at: no value for x (give every variable "
                          "without a fixed value, e.g. --at x=0.5)"),
        (["--at", "x=1,q=2"], "Invalid value for --at: q is not a variable here "
                              "(the variables: x, y)"),
        (["--case", "a"], "Invalid value for --case: needs a case file, not an expression"),
    ],
)  # fmt: skip
def test_derive_bad_options_name_the_bad_part(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(main, ["derive", "x*y", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in " ".join(result.stderr.split())


def test_derive_case_file_needs_a_case_name(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "two.yaml", TWO_CASES)
    result = runner.invoke(main, ["derive", path])
    assert result.exit_code == 2
    assert result.stderr == f"{path} has 2 cases; choose one with --case (square, chain)\n"
    result = runner.invoke(main, ["derive", path, "--case", "chian"])
    assert result.stderr == f"{path} has no case 'chian' (did you mean 'chain'?)\n"


def test_derive_invalid_or_missing_case_file(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", INVALID)
    result = runner.invoke(main, ["derive", path])
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)\n")
    missing = str(tmp_path / "none.yaml")
    result = runner.invoke(main, ["derive", missing])
    assert (result.exit_code, result.stderr) == (2, f"{missing}: no such file\n")


def test_latex_writes_a_document(runner: CliRunner, tmp_path: Path) -> None:
    output = tmp_path / "out.tex"
    result = runner.invoke(main, ["latex", str(NEURON), "-o", str(output)])
    assert result.exit_code == 0, result.output
    text = output.read_text(encoding="utf-8")
    assert text.startswith("\\documentclass") and text.endswith("\\end{document}\n")
    assert "Verdict: \\textbf{correct} (as expected)" in text


def test_latex_fragment_to_stdout(runner: CliRunner) -> None:
    result = runner.invoke(main, ["latex", str(NEURON), "--fragment"])
    assert result.exit_code == 0
    assert result.stdout.startswith("% diffcheck derivations")
    assert "\\documentclass" not in result.stdout


def test_latex_invalid_file_exits_2_and_writes_the_rest(runner: CliRunner, tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.yaml", INVALID)
    result = runner.invoke(main, ["latex", bad, str(NEURON)])
    assert result.exit_code == 2
    assert "unknown function 'sigmod'" in result.stderr
    assert "\\subsection*{\\raggedright neuron}" in result.stdout


def test_graph_dot_to_stdout(runner: CliRunner) -> None:
    result = runner.invoke(main, ["graph", str(NEURON), "--at", "w0=-0.5,w1=0.4,w2=0.6,w3=0.3"])
    assert result.exit_code == 0
    assert result.stdout.startswith('digraph "neuron" {')
    assert "y = sigmoid\\nvalue 0.475021\\nadjoint -0.524979" in result.stdout


def test_graph_needs_every_free_value(runner: CliRunner) -> None:
    result = runner.invoke(main, ["graph", str(NEURON), "--at", "w0=1"])
    assert result.exit_code == 2
    assert "no value for w1, w2, w3" in result.stderr


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_graph_image_with_dot_beside(runner: CliRunner, tmp_path: Path, suffix: str) -> None:
    require("dot")
    output = tmp_path / f"neuron.{suffix}"
    result = runner.invoke(main, ["graph", "sigmoid(x)", "--at", "x=1", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert output.stat().st_size > 0
    assert output.with_suffix(".dot").read_text(encoding="utf-8").startswith("digraph")


def test_graph_image_without_dot(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    output = tmp_path / "g.svg"
    result = runner.invoke(main, ["graph", "x^2", "--at", "x=1", "-o", str(output)])
    assert result.exit_code == 2
    assert not output.exists() and (tmp_path / "g.dot").exists()
    assert result.stderr == (
        "error: Graphviz's dot is not installed, so no SVG can be drawn (install graphviz, "
        f"or write a .dot file); wrote {tmp_path / 'g.dot'}\n"
    )


def test_graph_refuses_a_file_name_it_cannot_write_in_its_format(
    runner: CliRunner, tmp_path: Path
) -> None:
    output = tmp_path / "g.pdf"
    result = runner.invoke(main, ["graph", "x^2", "--at", "x=1", "-o", str(output)])
    assert result.exit_code == 2
    assert "cannot write a graph as 'g.pdf': name the file .dot, .gv, .svg or .png" in (
        result.stderr
    )
    assert not output.exists()


@pytest.mark.parametrize(
    ("command", "warning"),
    [
        (["derive", "relu(x)*y", "--at", "x=0,y=2"], "warning: x is 0 at this point: the "
         "function may not be differentiable here (the adjoints shown are the formulas' "
         "values at the point, which need not be either side's)\n"),
        (["graph", "max(x, y)", "--at", "x=1,y=1"], "warning: x - y is 0 at this point: the "
         "function may not be differentiable here (the adjoints shown are the formulas' "
         "values at the point, which need not be either side's)\n"),
        (["derive", "log(x)", "--at", "x=-1"],
         "warning: the function is nan at this point: outside its domain\n"),
        (["derive", "1/x", "--at", "x=0"],
         "warning: the function is inf at this point: outside its domain\n"),
        (["derive", "x**2", "--at", "x=1e200"], "warning: float64 overflows at this point: "
         "the function is inf in float64, 1.0e+400 in mpmath (the values shown are float64's)\n"),
        (["graph", "exp(x)/(1 + exp(x))", "--at", "x=800"], "warning: float64 overflows at this "
         "point: the function is nan in float64, 1.0 in mpmath (the values shown are float64's)\n"),
        (["derive", "relu(x)", "--at", "x=1"], ""),
        (["derive", "x*abs(x)", "--at", "x=0"], "warning: x is 0 at this point, yet the "
         "function is differentiable here: both sides give ∂/∂x = 0 (the adjoints shown "
         "are the formulas' values at the point)\n"),
        (["graph", "relu(x) - relu(-x)", "--at", "x=0"], "warning: -x is 0 at this point, "
         "yet the function is differentiable here: both sides give ∂/∂x = 1 (the adjoints "
         "shown are the formulas' values at the point)\n"),
    ],
)  # fmt: skip
def test_a_point_on_a_kink_or_outside_the_domain_is_warned_about(
    runner: CliRunner, command: list[str], warning: str
) -> None:
    result = runner.invoke(main, command)
    assert result.exit_code == 0, result.output
    assert result.stderr == warning


def test_derive_of_an_invalid_case_names_only_that_case_s_errors(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "sel.yaml"
    path.write_text(
        "cases:\n  - name: a\n    function: sigmod(x)\n    domain: {x: [0, 1]}\n"
        "  - name: b\n    function: x\n    domain: {x: [0, 1], y: 2}\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["derive", str(path), "--case", "a"])
    assert result.exit_code == 2
    assert result.stderr == f"{path}:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)\n"


def test_graph_of_an_expression_refuses_a_case_name(runner: CliRunner) -> None:
    result = runner.invoke(main, ["graph", "x^2", "--at", "x=1", "--case", "square"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.endswith(
        "Error: Invalid value for --case: needs a case file, not an expression\n"
    )


@pytest.mark.parametrize("command", [["graph", "x^2", "--at", "x=1"], ["latex", str(NEURON)]])
def test_an_unwritable_output_is_one_line_and_exit_2(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    output = tmp_path / "missing" / "out.dot"
    result = runner.invoke(main, [*command, "-o", str(output)])
    assert result.exit_code == 2
    assert result.stderr == f"{output}: cannot write it: No such file or directory\n"


def test_derive_of_a_constant_has_nothing_to_differentiate(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "3 + 4"])
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: Invalid value for EXPRESSION: the expression has no variables to differentiate\n"
    )


def test_derive_points_a_caret_at_the_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "foo(x)"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "<expression>:1:1: unknown function 'foo' (did you mean 'floor'?)\n  foo(x)\n  ^\n"
    )


def test_graph_without_at_uses_the_middle_of_the_domain_and_says_so(tmp_path) -> None:
    case_file = tmp_path / "mid.yaml"
    case_file.write_text(
        "cases:\n  - name: mid\n    function: sigmoid(w*x)\n    domain: {w: [0, 2], x: 3}\n"
    )
    result = CliRunner().invoke(main, ["graph", str(case_file)])
    assert result.exit_code == 0, result.output
    assert "at w=1, x=3 (the middle of the case's domain)" in result.stderr
    assert "digraph" in result.stdout


@pytest.mark.parametrize(
    ("expression", "line"),
    [("max(x^2, x*y)", "outer, u1 = x**2: ∂/∂u1 max(u1, u2) = heaviside(u1 - u2) = "
      "heaviside(x**2 - x*y)    (max)"),
     ("atan2(x^2, x*y)", "outer, u2 = x*y: ∂/∂u2 atan2(u1, u2) = -u1/(u1**2 + u2**2) = "
      "-x**2/((x**2)**2 + (x*y)**2)    (atan2)")],
)  # fmt: skip
def test_an_outer_derivative_of_several_arguments_is_shown_at_all_of_them(
    expression: str, line: str
) -> None:
    # max(u1, u2)'s derivative in u1 holds u2 too: both are put back, not u1 alone
    result = CliRunner().invoke(main, ["derive", expression, "--steps", "--wrt", "x"])
    assert result.exit_code == 0, result.output
    assert f"    {line}\n" in result.stdout
