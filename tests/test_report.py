"""Report stage: golden text and JSON reports of a small fixed case file, compared exactly.

The input is tests/data/report/; the tests change into that folder and name the files
relatively, so no path of this machine reaches the golden files. After an intended change
of the report, rewrite them with `pytest --update-golden` and review the diff.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from golden_files import compare_golden

from diffcheck.errors import DiffcheckError, Location
from diffcheck.report import text as text_report
from diffcheck.report.text import (
    JSON_VERSION,
    diagnostics,
    render_failure,
    render_json,
    render_text,
    summary,
)
from diffcheck.run.check import CaseResult, check_paths

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
INPUT = HERE / "data" / "report"
FILES = ["report.yaml", "invalid.yaml"]


@pytest.fixture
def results(monkeypatch: pytest.MonkeyPatch) -> list[CaseResult]:
    monkeypatch.chdir(INPUT)
    return check_paths(FILES)


def test_render_text_golden(results: list[CaseResult], update_golden: bool) -> None:
    compare_golden("report.txt", render_text(results) + "\n", update_golden)


def test_render_json_golden(results: list[CaseResult], update_golden: bool) -> None:
    compare_golden("report.json", render_json(results) + "\n", update_golden)


def test_golden_files_hold_no_absolute_path() -> None:
    for path in GOLDEN.iterdir():
        text = path.read_text(encoding="utf-8")
        assert str(HERE.parent) not in text, path.name
        assert tempfile.gettempdir() not in text, path.name


def test_render_json_follows_the_contract(results: list[CaseResult]) -> None:
    document = json.loads(render_json(results))
    assert document["version"] == JSON_VERSION == 1
    assert (
        document["summary"]
        == summary(results)
        == {"cases": 7, "passed": 4, "failed": 2, "errors": 1}
    )
    for entry in document["cases"]:
        assert {
            "file",
            "line",
            "name",
            "verdict",
            "expect",
            "status",
            "warnings",
            "variables",
        } <= set(entry)
        assert entry["status"] in ("pass", "fail", "error")
        if entry["status"] == "error":
            assert entry["message"]
        for variable in entry["variables"].values():
            assert {"max_abs_error", "max_rel_error", "worst_point"} <= set(variable)


def test_render_json_has_no_nan_or_infinity(results: list[CaseResult]) -> None:
    text = render_json(results)
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the JSON report"))


def test_diagnostics_lists_errors_then_tracebacks() -> None:
    where = Location("a.yaml", 3, 7)
    invalid = CaseResult(
        "a.yaml",
        "a",
        where,
        "error",
        errors=(DiffcheckError("bad key", where),),
        error_kind="invalid",
    )
    crash = CaseResult(
        "a.yaml",
        "b",
        where,
        "error",
        errors=(DiffcheckError("internal error: KeyError: 'x'", where),),
        error_kind="crash",
        traceback="Traceback ...\nKeyError: 'x'\n",
    )
    assert diagnostics([invalid, crash]) == [
        "a.yaml:3:7: bad key",
        "a.yaml:3:7: internal error: KeyError: 'x'",
        "Traceback ...\nKeyError: 'x'",
    ]
    assert diagnostics([invalid, crash], errors=False) == ["Traceback ...\nKeyError: 'x'"]


def test_render_text_empty_run() -> None:
    assert render_text([]) == "\n0 passed, 0 failed"


# ---- failure messages keep the names of `where` ------------------------------------------

DEEP_CHAIN = """\
cases:
  - name: deep-soft-chain
    where:
      z1: w1*x + b1
      h1: sqrt(1 + z1^2)
      z2: w2*h1 + b2
      h2: sqrt(1 + z2^2)
    function: (h2 - t)^2 / 2
    wrt: [w1]
    gradient:
      w1: (h2 - t)*z2/h2*w2*z1/h1*x*2
    domain: {w1: [-1, 1], w2: [-1, 1], b1: [-1, 1], b2: [-1, 1], x: [-1, 1], t: 1}
"""


@pytest.fixture
def deep_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CaseResult:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deep.yaml").write_text(DEEP_CHAIN, encoding="utf-8")
    (result,) = check_paths(["deep.yaml"])
    assert result.status == "fail"
    return result


def test_failure_writes_the_derived_partial_with_where_names(deep_chain: CaseResult) -> None:
    lines = render_failure(deep_chain).splitlines()
    # 1/sqrt(1 + z1**2) is 1/h1: the reciprocal of an intermediate keeps its name too
    assert "  derived ∂/∂w1 = w2*x*z1*z2*(h2 - t)/(h1*h2)" in lines
    assert "  claimed ∂/∂w1 = (h2 - t)*z2/h2*w2*z1/h1*x*2" in lines
    assert "sqrt" not in render_failure(deep_chain)


def test_failure_names_a_formula_too_long_for_a_message(
    deep_chain: CaseResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(text_report, "MAX_DERIVED_CHARS", 20)
    lines = render_failure(deep_chain).splitlines()
    assert lines[1] == (
        "  derived ∂/∂w1: 27 characters even with the names of 'where'; "
        "diffcheck derive deep.yaml --case deep-soft-chain writes it step by step"
    )


def test_inconclusive_verdict_does_not_call_the_claim_wrong(deep_chain: CaseResult) -> None:
    doubted = replace(deep_chain, verdict=replace(deep_chain.verdict, verdict="inconclusive"))
    text = render_failure(doubted)
    assert "wrong at" not in text
    line = next(line for line in text.splitlines() if "disagrees" in line)
    assert line.startswith("    claimed ")
    assert " disagrees with the derivation's " in line
    assert line.endswith("; the verdict is inconclusive, so either may be the wrong one")
    assert "    wrong at " in render_failure(deep_chain)
