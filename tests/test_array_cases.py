"""Array cases end to end: the contract's examples, the shipped array cases, and reports.

The contract's array examples are read verbatim from `shared/CASES.md` beside the
repository. The shipped files `cases/arrays-*.yaml` get their expected verdicts, and each
mistake is reported at the right variable with the pattern of its slip. The reports of a
wrong array claim carry `shape`, `worst_index` and `wrong_entries` in JSON and a map of the
wrong entries of a matrix in text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sympy as sp
from click.testing import CliRunner

from diffcheck.cases.loader import load_case_file
from diffcheck.cli import main
from diffcheck.report.latex import escape_text, latex_expression
from diffcheck.run.check import CaseResult, Settings, check_case, check_paths

REPO = Path(__file__).resolve().parents[1]
CASES_MD = Path(__file__).resolve().parents[2] / "shared" / "CASES.md"
ARRAY_FILES = sorted((REPO / "cases").glob("arrays-*.yaml"))
MISTAKES = REPO / "cases" / "arrays-mistakes.yaml"
FAILING = Path(__file__).parent / "data" / "arrays" / "failing.yaml"
# verdicts never depend on a proof; skipping the proofs keeps the tests quick
NO_PROOFS = Settings(proof_budget=0.0)


def _write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _json(args: list[str]) -> dict:
    result = CliRunner().invoke(main, ["check", "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def _by_name(document: dict) -> dict[str, dict]:
    return {case["name"]: case for case in document["cases"]}


# ---- the contract's array examples, verbatim -----------------------------------------------


def _contract_array_block() -> str:
    """The first ```yaml block under the contract's "Arrays" heading."""
    if not CASES_MD.is_file():
        pytest.skip(f"the shared contract is not beside the repository ({CASES_MD})")
    text = CASES_MD.read_text(encoding="utf-8")
    heading = re.search(r"^# Arrays\b.*$", text, flags=re.MULTILINE)
    assert heading is not None, "CASES.md has no '# Arrays' heading"
    block = re.search(r"^```yaml\n(.*?)^```", text[heading.end() :], re.MULTILINE | re.DOTALL)
    assert block is not None, "no yaml block under the Arrays heading"
    return block.group(1)


def test_contract_array_examples_check_as_their_comments_say(tmp_path: Path) -> None:
    path = _write(tmp_path, "contract.yaml", _contract_array_block())
    result = CliRunner().invoke(main, ["check", "--format", "json", path])
    assert result.exit_code == 0, result.output
    cases = _by_name(json.loads(result.stdout))
    assert list(cases) == ["linear-layer-mse", "softmax-jacobian", "softmax-vjp"]
    for case in cases.values():
        assert (case["verdict"], case["status"]) == ("correct", "pass"), case["name"]
    linear = cases["linear-layer-mse"]
    assert linear["points"] == 9  # the explicit point and `samples: 8`
    assert {name: entry["shape"] for name, entry in linear["variables"].items()} == {
        "W": [4, 3],
        "b": [4],
    }
    assert linear["variables"]["b"]["worst_point"]["b"] == [0.0] * 4  # `b: 0` fills b
    jacobian = cases["softmax-jacobian"]["variables"]["z"]
    assert (jacobian["claim"], jacobian["shape"]) == ("jacobian", [5, 5])
    vjp = cases["softmax-vjp"]["variables"]["z"]
    assert (vjp["claim"], vjp["shape"]) == ("vjp", [8, 5])
    assert len(vjp["worst_point"]["g"]) == 8  # the cotangent g has the function's shape


# ---- the shipped array cases ---------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> dict[str, CaseResult]:
    results = check_paths([str(path) for path in ARRAY_FILES], NO_PROOFS)
    return {f"{Path(r.file).name}::{r.name}": r for r in results}


def test_array_case_files_are_shipped_and_valid() -> None:
    assert [path.name for path in ARRAY_FILES] == [
        "arrays-layers.yaml",
        "arrays-matrix-cookbook.yaml",
        "arrays-mistakes.yaml",
        "arrays-seeds.yaml",
    ]
    for path in ARRAY_FILES:
        loaded = load_case_file(path)
        assert [str(error) for error in loaded.errors] == []
        assert all(case.description for case in loaded.cases), path.name


def test_every_shipped_array_case_gets_its_expected_verdict(shipped) -> None:
    wrong = {name: (r.status, r.verdict and r.verdict.verdict, r.expect, r.message)
             for name, r in shipped.items() if r.status != "pass"}  # fmt: skip
    assert wrong == {}
    assert all(r.verdict.verdict == r.expect for r in shipped.values())
    assert sum(r.expect == "incorrect" for r in shipped.values()) == len(MISTAKE_REPORTS)


# case -> (the claim named first, the entries wrong at the worst point, the pattern or None)
MISTAKE_REPORTS = {
    "missing-transpose": ("∂f/∂W", "6 of 9", "the claim is the reference transposed"),
    "missing-1-over-N": ("∂f/∂w", "3 of 3", "the claim is 8 × the reference"),
    "bias-averaged-twice": ("∂f/∂b", "2 of 2", "the claim is 1/8 × the reference"),
    "cross-entropy-targets-not-on-simplex": ("∂f/∂z", "5 of 5", None),
    "softmax-jacobian-without-outer-product": ("jacobian z", "16 of 16", None),
    "logdet-symmetric-gradient": ("∂f/∂A", "6 of 9", "wrong everywhere off the diagonal"),
    "residual-sign-flipped": ("∂f/∂W", "12 of 12", "the claim is -1 × the reference"),
    "weight-decay-on-the-bias": ("∂f/∂w", "1 of 5", None),
    "weight-decay-on-the-bias-column": ("∂f/∂W", "3 of 12", "wrong only in column 3"),
    "jacobian-transposed": ("jacobian x", "6 of 9", "the claim is the reference transposed"),
    "layer-norm-sigma-held-constant": ("vjp x", "15 of 15", None),
    "attention-scale-forgotten": ("vjp Q", "48 of 48", "the claim is 4 × the reference"),
}


@pytest.mark.parametrize("name", sorted(MISTAKE_REPORTS))
def test_mistake_names_the_wrong_variable_and_its_pattern(shipped, name: str) -> None:
    result = shipped[f"arrays-mistakes.yaml::{name}"]
    label, count, pattern = MISTAKE_REPORTS[name]
    (reason,) = result.verdict.reasons
    variable = label.split("∂")[-1].split(" ")[-1]
    entry = "∂f[" if label.startswith("jacobian") else f"{variable}["
    assert reason.startswith(f"{label}: {entry}"), reason
    parts = reason.split("; ")
    assert parts[1].startswith(f"{count} entries wrong there, wrong at 64 of 64 points"), reason
    if pattern is not None:
        assert parts[2] == pattern, reason
    else:
        assert not any(part.startswith(("the claim is", "wrong ")) for part in parts[2:]), reason


def test_one_entry_mistake_names_that_entry(shipped) -> None:
    (reason,) = shipped["arrays-mistakes.yaml::weight-decay-on-the-bias"].verdict.reasons
    assert re.match(r"∂f/∂w: w\[0\] at point \d+ \(n=5\): expected 0, claimed ", reason), reason


def test_seed_neuron_is_checked_at_the_articles_point() -> None:
    (case,) = [c for c in load_case_file(REPO / "cases" / "arrays-seeds.yaml").cases
               if c.name == "neuron-weight-vector"]  # fmt: skip
    (point,) = case.points
    assert float(point["w"] @ point["x"] + point["b"]) == pytest.approx(-0.1)
    assert check_case(case, NO_PROOFS).status == "pass"


# ---- reports of a wrong array claim --------------------------------------------------------


@pytest.fixture(scope="module")
def failing_json() -> dict[str, dict]:
    return _by_name(_json([str(FAILING)]))


def test_json_carries_shape_worst_index_and_wrong_entries(failing_json) -> None:
    case = failing_json["missing-transpose"]
    assert (case["verdict"], case["status"]) == ("incorrect", "fail")
    entry = case["variables"]["W"]
    assert (entry["claim"], entry["shape"], entry["entries"]) == ("gradient", [3, 3], 9)
    assert entry["wrong_entries"] == 6  # a transpose leaves the diagonal right
    row, column = entry["worst_index"]
    assert row != column and entry["worst_entry"] == f"W[{row}, {column}]"
    assert entry["pattern"] == "the claim is the reference transposed"
    point = entry["worst_point"]
    assert [len(point["W"]), len(point["W"][0]), len(point["x"]), len(point["y"])] == [3] * 4
    assert entry["sizes"] == {"n": 3}


def test_json_of_a_wrong_vector_claim(failing_json) -> None:
    entry = failing_json["missing-1-over-N"]["variables"]["w"]
    assert (entry["shape"], entry["wrong_entries"], len(entry["worst_index"])) == ([3], 3, 1)
    assert entry["pattern"] == "the claim is 8 × the reference"
    assert entry["claimed"] == pytest.approx(8 * entry["expected"])


@pytest.fixture(scope="module")
def failing_text() -> str:
    result = CliRunner().invoke(main, ["check", str(FAILING)])
    assert result.exit_code == 1, result.output
    return result.stdout


def test_text_report_maps_the_wrong_entries_of_a_matrix(failing_text: str) -> None:
    transposed = (
        "    wrong entries of ∂f/∂W (x):\n"
        "      . x x\n"
        "      x . x\n"
        "      x x .\n"
    )  # fmt: skip
    bias_column = (
        "    wrong entries of ∂f/∂W (x):\n"
        "      . . . x\n"
        "      . . . x\n"
        "      . . . x\n"
    )  # fmt: skip
    assert transposed in failing_text
    assert bias_column in failing_text
    assert "wrong entries of ∂f/∂w" not in failing_text  # a vector gets no map


def test_text_report_names_the_worst_entry_and_the_pattern(failing_text: str) -> None:
    lines = failing_text.splitlines()
    (summary,) = [line for line in lines if line.startswith("  FAIL  missing-transpose:")]
    assert re.match(
        r"  FAIL  missing-transpose: incorrect, expected correct \(∂f/∂W: W\[\d, \d\] at point "
        r"\d+ \(n=3\): expected -?[\d.e-]+, claimed -?[\d.e-]+; 6 of 9 entries wrong there, "
        r"wrong at 64 of 64 points; the claim is the reference transposed; central "
        r"differences agree with the expected value\)$",
        summary,
    ), summary
    assert any(re.match(r"  ∂f/∂W, point \d+ \(n=3\): W=\[\[", line) for line in lines)
    assert "; the claim is 8 × the reference;" in failing_text
    assert "; wrong only in column 3;" in failing_text


# ---- the array expression language ---------------------------------------------------------

LANGUAGE = Path(__file__).parent / "data" / "arrays" / "language.yaml"
# the functions of the contract's array language, as the README lists them
FUNCTIONS = (
    "sum mean prod max min logsumexp norm softmax log_softmax outer dot diag trace transpose "
    "reshape eye ones zeros inv det logdet solve stack concatenate einsum"
).split()


def _readme_section(title: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index(f"### {title}\n")
    return readme[start : readme.index("\n#", start + 1)]


def test_every_function_the_readme_lists_is_checked_in_use() -> None:
    listed = _readme_section("The array expression language")
    used = LANGUAGE.read_text(encoding="utf-8")
    for name in FUNCTIONS:
        assert re.search(rf"`[^`]*\b{name}\b", listed), name
        assert f"{name}(" in used, name
    for form in ("@", ".T", "[:, 0:d]", "[:, -1]", "newaxis", "keepdims=true", "keepdims=false",
                 "axis=[0, 2]", "^"):  # fmt: skip
        assert form in used, form


def test_array_language_cases_are_correct() -> None:
    results = check_paths([str(LANGUAGE)], NO_PROOFS)
    assert len(results) == 15
    assert {r.name: (r.status, r.message) for r in results if r.status != "pass"} == {}


# ---- worker processes ----------------------------------------------------------------------


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_jobs_2_gives_the_report_of_jobs_1_for_array_and_scalar_files(
    output_format: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    paths = ["cases/arrays-mistakes.yaml", "cases/sigmoid.yaml", "cases/arrays-seeds.yaml"]
    options = ["check", "--format", output_format, "--proof-budget", "0", *paths]
    serial = CliRunner().invoke(main, [*options, "--jobs", "1"])
    workers = CliRunner().invoke(main, [*options, "--jobs", "2"])
    assert serial.exit_code == workers.exit_code == 0, serial.output
    assert workers.stdout == serial.stdout
    assert "arrays-mistakes.yaml" in serial.stdout and "sigmoid.yaml" in serial.stdout


# ---- known bugs: each test states the behaviour the contract asks for ----------------------


def _check_one(tmp_path: Path, text: str) -> CaseResult:
    (case,) = load_case_file(_write(tmp_path, "case.yaml", text)).cases
    return check_case(case, NO_PROOFS)


def test_function_overflowing_float64_is_evaluated_in_mpmath(tmp_path: Path) -> None:
    result = _check_one(tmp_path, """\
cases:
  - name: softplus-overflows
    shapes: {x: [3]}
    function: sum(log(1 + exp(x)))
    gradient:
      x: sigmoid(x)
    domain: {x: [700, 800]}
""")  # fmt: skip
    assert result.verdict.verdict == "correct", result.verdict.reasons


def test_claim_wrong_only_by_an_overflowing_intermediate_is_correct(tmp_path: Path) -> None:
    result = _check_one(tmp_path, """\
cases:
  - name: sigmoid-written-with-overflow
    shapes: {x: [3]}
    function: sum(softplus(x))
    gradient:
      x: exp(x)/(1 + exp(x))**2 * (1 + exp(x))
    domain: {x: [700, 800]}
""")  # fmt: skip
    assert result.verdict.verdict == "correct", result.verdict.reasons


def test_rounding_noise_of_a_zero_gradient_is_no_conflict(tmp_path: Path) -> None:
    result = _check_one(tmp_path, """\
cases:
  - name: cancelling-terms
    shapes: {x: [3]}
    function: sum((x + 0.1)**2 - x**2 - 0.2*x)
    domain: {x: [-1.0e6, 1.0e6]}
""")  # fmt: skip
    assert result.verdict.verdict == "correct", result.verdict.reasons


def test_wrong_jacobian_entry_is_not_named_as_an_entry_of_the_variable(shipped) -> None:
    result = shipped["arrays-mistakes.yaml::softmax-jacobian-without-outer-product"]
    (reason,) = result.verdict.reasons
    assert not re.match(r"jacobian z: z\[\d+, \d+\]", reason), reason
    assert re.match(r"jacobian z: ∂f\[\d\]/∂z\[\d\] at point", reason), reason


def test_lambda_is_written_as_lambda_in_latex() -> None:
    assert escape_text("weight decay λ, Λ") == r"weight decay $\lambda$, $\Lambda$"
    assert latex_expression(sp.Symbol("λ")) == r"\lambda"


# ---- the README's array report is real output ----------------------------------------------


def test_readme_failure_report_is_the_real_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    case = re.search(r"```yaml\n# layer.yaml\n(.*?)```", readme, re.DOTALL)
    shown = re.search(r"\$ diffcheck check layer.yaml\n(.*?)```", readme, re.DOTALL)
    assert case is not None and shown is not None
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "layer.yaml", case.group(1))
    result = CliRunner().invoke(main, ["check", "layer.yaml"])
    assert result.exit_code == 1
    assert result.stdout == shown.group(1)
