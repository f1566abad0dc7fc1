"""Run stage: points, per-case time limits, finding files, exit codes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from diffcheck.cases.loader import load_case_file
from diffcheck.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Location
from diffcheck.run import check
from diffcheck.run.check import (
    CaseResult,
    Settings,
    check_case,
    check_paths,
    exit_code,
    find_case_files,
    refuted,
    sample_points,
)


def _case(folder: Path, text: str, index: int = 0):
    path = folder / "case.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_case_file(path)
    assert [str(e) for e in loaded.errors] == []
    return loaded.cases[index]


THREE_VARIABLES = """\
cases:
  - name: c
    function: a*b + c
    domain: {a: [-1, 1], b: [10, 20], c: 0.5}
    points:
      - {a: 7, b: 8}
      - {a: 9, b: 10, c: 11}
"""


# ---- sample_points ------------------------------------------------------------------------


def test_sample_points_explicit_points_first(tmp_path: Path) -> None:
    case = _case(tmp_path, THREE_VARIABLES)
    points = sample_points(case, 5, 0)
    assert points.shape == (3, 7)  # one row per variable: a, b, c
    assert points[:, 0].tolist() == [7.0, 8.0, 0.5]  # the fixed value fills the gap
    assert points[:, 1].tolist() == [9.0, 10.0, 11.0]


def test_sample_points_draw_inside_the_domain(tmp_path: Path) -> None:
    points = sample_points(_case(tmp_path, THREE_VARIABLES), 200, 3)[:, 2:]
    assert np.all((-1 <= points[0]) & (points[0] <= 1))
    assert np.all((10 <= points[1]) & (points[1] <= 20))
    assert np.all(points[2] == 0.5)


def test_sample_points_same_seed_same_points(tmp_path: Path) -> None:
    case = _case(tmp_path, THREE_VARIABLES)
    assert np.array_equal(sample_points(case, 16, 42), sample_points(case, 16, 42))
    assert not np.array_equal(sample_points(case, 16, 42), sample_points(case, 16, 43))


def test_sample_points_independent_of_global_random_state(tmp_path: Path) -> None:
    case = _case(tmp_path, THREE_VARIABLES)
    first = sample_points(case, 16, 1)
    np.random.seed(12345)
    np.random.random(10)
    assert np.array_equal(sample_points(case, 16, 1), first)


def test_sample_points_zero_samples_only_explicit(tmp_path: Path) -> None:
    case = _case(tmp_path, THREE_VARIABLES)
    assert sample_points(case, 0, 0).shape == (3, 2)


# ---- check_case -----------------------------------------------------------------------------


def test_check_case_pass_and_fail(tmp_path: Path) -> None:
    text = """\
cases:
  - name: right
    function: x^3
    gradient: {x: 3*x^2}
    domain: {x: [-2, 2]}
  - name: wrong
    function: x^3
    gradient: {x: -3*x^2}
    domain: {x: [-2, 2]}
  - name: wrong-and-expected
    function: x^3
    gradient: {x: -3*x^2}
    domain: {x: [-2, 2]}
    expect: incorrect
"""
    results = [check_case(_case(tmp_path, text, i)) for i in range(3)]
    assert [r.status for r in results] == ["pass", "fail", "pass"]
    assert [r.verdict.verdict for r in results] == ["correct", "incorrect", "incorrect"]
    assert [r.expect for r in results] == ["correct", "correct", "incorrect"]
    assert results[0].verdict.evidence == "proved symbolically; agrees at 64 points"


def test_check_case_settings_override_samples_and_seed(tmp_path: Path) -> None:
    case = _case(tmp_path, THREE_VARIABLES)
    result = check_case(case, Settings(samples=3, seed=9))
    assert result.comparison.points.shape == (3, 5)
    assert np.array_equal(result.comparison.points, sample_points(case, 3, 9))


RUNAWAY = """\
cases:
  - name: runaway
    description: "the symbolic proof alone would take SymPy far longer than the time limit"
    function: (sin(a) + cos(b) + tanh(c) + sigmoid(d))^12
    wrt: [a]
    gradient:
      a: 12*(sin(a) + cos(b) + tanh(c) + sigmoid(d))^11*cos(a)*(1 + 1e-20)
    domain: {a: [0, 1], b: [0, 1], c: [0, 1], d: [0, 1]}
  - name: quick
    function: x^2
    gradient: {x: 2*x}
    domain: {x: [0, 1]}
"""


def test_check_paths_timeout_is_an_error_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("slow.yaml").write_text(RUNAWAY, encoding="utf-8")
    runaway, quick = check_paths(["slow.yaml"], Settings(timeout=0.5, proof_budget=600))
    assert (runaway.status, runaway.error_kind) == ("error", "timeout")
    assert runaway.message == "slow.yaml:2:5: timed out after 0.5 s (raise it with --timeout)"
    assert runaway.traceback is None
    assert (quick.status, quick.verdict.verdict) == ("pass", "correct")
    assert exit_code([runaway, quick]) == EXIT_FAILED


def test_check_case_logsumexp_with_a_constant_argument(tmp_path: Path) -> None:
    case = _case(
        tmp_path,
        """\
cases:
  - name: softplus-as-logsumexp
    function: logsumexp(0, x)
    gradient: {x: sigmoid(x)}
    domain: {x: [-5, 5]}
""",
    )
    result = check_case(case)
    assert result.message is None, result.message
    assert result.status == "pass"


def test_check_case_atan2_of_constants(tmp_path: Path) -> None:
    case = _case(
        tmp_path,
        """\
cases:
  - name: constant-angle
    function: x*atan2(sigmoid(1) - 1/2, sigmoid(2) - 1/2)
    gradient:
      x: atan2(sigmoid(1) - 1/2, sigmoid(2) - 1/2)
    domain: {x: [-3, 3]}
""",
    )
    result = check_case(case)
    assert (result.status, result.verdict.verdict) == ("pass", "correct")


def test_check_case_overflow_on_the_whole_line(tmp_path: Path) -> None:
    case = _case(
        tmp_path,
        """\
cases:
  - name: sigmoid-overflow
    function: sigmoid(x)
    gradient: {x: exp(x)/(1 + exp(x))^2}
    domain: {x: [-800, 800]}
    points: [{x: 800}]
""",
    )
    result = check_case(case)
    assert result.status == "pass"
    assert any("re-evaluated with mpmath" in warning for warning in result.verdict.warnings)


# ---- files and exit codes -------------------------------------------------------------------


def test_find_case_files_searches_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("b/z.yaml", "b/a.yml", "b/c/d.yaml", "b/notes.txt", "top.yaml"):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text("cases: []\n", encoding="utf-8")
    Path("empty").mkdir()
    names = ["b", "top.yaml", "b/z.yaml", "./b/z.yaml", "b/../top.yaml", "missing.yaml", "empty"]
    files, problems = find_case_files(names)
    assert files == ["b/a.yml", "b/c/d.yaml", "b/z.yaml", "top.yaml"]
    assert [r.message for r in problems] == [
        "missing.yaml:1:1: no such file or folder",
        "empty:1:1: no case files (*.yaml, *.yml) below it",
    ]
    assert all(r.status == "error" and r.error_kind == "invalid" for r in problems)


def test_check_paths_invalid_file_beside_valid_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text("cases:\n  - name: a\n    function: sigmod(x)\n", encoding="utf-8")
    Path("good.yaml").write_text(
        "cases:\n  - name: b\n    function: x^2\n    domain: {x: [0, 1]}\n", encoding="utf-8"
    )
    results = check_paths(["bad.yaml", "good.yaml"])
    assert [(r.name, r.status, r.error_kind) for r in results] == [
        ("a", "error", "invalid"),
        ("b", "pass", None),
    ]
    assert results[0].message == (
        "bad.yaml:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)"
    )
    assert exit_code(results) == EXIT_USAGE


def _result(status: str, kind: str | None = None) -> CaseResult:
    return CaseResult("f.yaml", "n", Location("f.yaml", 1, 1), status, error_kind=kind)


@pytest.mark.parametrize(
    ("results", "code"),
    [
        ([], EXIT_OK),
        ([_result("pass"), _result("pass")], EXIT_OK),
        ([_result("pass"), _result("fail")], EXIT_FAILED),
        ([_result("error", "timeout"), _result("pass")], EXIT_FAILED),
        ([_result("error", "crash")], EXIT_FAILED),
        ([_result("fail"), _result("error", "invalid")], EXIT_USAGE),
        ([_result("error", "invalid"), _result("pass")], EXIT_USAGE),
    ],
)
def test_exit_code(results: list[CaseResult], code: int) -> None:
    assert exit_code(results) == code
    assert (EXIT_OK, EXIT_FAILED, EXIT_USAGE) == (0, 1, 2)


# ---- cheap before dear: the numbers before the proof ----------------------------------------

REFUTED = """\
cases:
  - name: wrong
    function: sin(x)*y
    gradient: {x: cos(x)*y + 1, y: sin(x)}
    domain: {x: [-2, 2], y: [1, 2]}
    hessian: {"x,x": sin(x)*y}
"""


def test_a_claim_the_numbers_refute_is_not_sent_to_the_prover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[str] = []
    original = check.prove_equal

    def counting(claim, derived, budget):
        tried.append(str(claim))
        return original(claim, derived, budget)

    monkeypatch.setattr(check, "prove_equal", counting)
    result = check_case(_case(tmp_path, REFUTED))
    assert result.verdict.verdict == "incorrect"
    assert tried == ["sin(x)"]  # ∂/∂y only: ∂/∂x and the Hessian entry are refuted
    proved = {r.name: r.proved for r in result.comparison.results}
    assert proved == {"x": False, "y": True}
    (entry,) = result.second_order
    assert entry.comparison.results[0].proved is False
    assert entry.verdict.verdict == "incorrect"


def test_refuted_needs_a_failure_nothing_doubts(tmp_path: Path) -> None:
    result = check_case(_case(tmp_path, REFUTED))
    by_name = {r.name: r for r in result.comparison.results}
    assert refuted(by_name["x"]) and not refuted(by_name["y"])
    unclaimed = replace(by_name["y"], claimed=None)
    assert not refuted(unclaimed)


def test_the_oracles_doubts_are_sought_only_where_a_claim_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a claim failing nowhere is not refuted, whatever the oracles say: their doubts
    # (a pass over every point) are not worked out for it
    result = check_case(_case(tmp_path, REFUTED))
    by_name = {r.name: r for r in result.comparison.results}
    asked: list[str] = []
    original = check.doubted

    def recording(result):
        asked.append(result.name)
        return original(result)

    monkeypatch.setattr(check, "doubted", recording)
    assert not by_name["y"].claimed.failing.any()
    assert refuted(by_name["x"]) and not refuted(by_name["y"])
    assert asked == ["x"]


@pytest.mark.parametrize(
    ("function", "claim"), [("x", "x/x"), ("x^2", "2*x^2/x"), ("x", "exp(log(x))/x")]
)
def test_a_claim_is_evaluated_as_written_so_0_over_0_at_a_point_is_wrong(
    tmp_path: Path, function: str, claim: str
) -> None:
    # SymPy simplifies x/x to 1 as it parses; the claim as written cannot be evaluated at
    # 0, where the derivative exists: the contract calls it wrong there
    text = (f"cases:\n  - name: c\n    function: {function}\n    gradient: {{x: '{claim}'}}\n"
            "    domain: {x: [0.5, 1]}\n    points: [{x: 0}]\n")  # fmt: skip
    result = check_case(_case(tmp_path, text), Settings())
    assert result.verdict.verdict == "incorrect"
    assert "counterexample at x=0" in result.verdict.evidence
    assert "claimed nan" in result.verdict.evidence


def test_samples_0_from_the_command_line_on_a_case_without_points(tmp_path: Path) -> None:
    # an array case gets the scalar case's reason, not "every point was on a kink"
    path = tmp_path / "cases.yaml"
    path.write_text("cases:\n  - name: a\n    shapes: {z: [3]}\n    function: sum(z**2)\n"
                    "    domain: {z: [-1, 1]}\n  - name: s\n    function: z**2\n"
                    "    domain: {z: [-1, 1]}\n", encoding="utf-8")  # fmt: skip
    for case in load_case_file(path).cases:
        result = check_case(case, Settings(samples=0))
        assert (result.status, result.message) == (
            "error", f"{path}:{case.location.line}:5: nothing to check: samples is 0 and the "
            "case has no points")  # fmt: skip
