"""Reports for CI systems: JUnit XML parsed back with an XML parser, GitHub annotations
checked verbatim, and both the same byte for byte from run to run."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from diffcheck.report.ci import Timings, render_github, render_junit
from diffcheck.report.text import render_failure
from diffcheck.run.check import CaseResult, check_paths

GOOD = """\
cases:
  - name: square
    function: x^2
    gradient: {x: 2*x}
    domain: {x: [0, 1]}
  - name: "half, 100%: wrong"
    function: x^2
    gradient: {x: x}
    domain: {x: [0, 1]}
"""
INVALID = """\
cases:
  - name: typo
    function: sigmod(x)
    domain: {x: [0, 1]}
"""
BROKEN = "cases: [\n"


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[CaseResult]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "typo.yaml").write_text(INVALID, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    return check_paths(["good.yaml", "typo.yaml", "broken.yaml", "missing.yaml"])


def test_junit_parses_back(results: list[CaseResult]) -> None:
    text = render_junit(results)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    assert root.attrib == {
        "name": "diffcheck", "tests": "5", "failures": "1", "errors": "3", "skipped": "0"
    }  # fmt: skip
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == [
        "missing.yaml", "good.yaml", "typo.yaml", "broken.yaml"
    ]  # fmt: skip
    cases = [(c.get("classname"), c.get("name"), c.get("line")) for c in root.iter("testcase")]
    assert cases == [
        ("missing.yaml", "(file)", "1"),
        ("good.yaml", "square", "2"),
        ("good.yaml", "half, 100%: wrong", "6"),
        ("typo.yaml", "typo", "2"),
        ("broken.yaml", "(file)", "2"),
    ]


def test_junit_failure_carries_the_verdict_text(results: list[CaseResult]) -> None:
    root = ET.fromstring(render_junit(results).encode("utf-8"))
    square, half = root.findall("testsuite")[1].findall("testcase")
    assert list(square) == []
    (failure,) = list(half)
    assert failure.tag == "failure"
    assert failure.get("type") == "incorrect"
    assert failure.get("message").startswith("incorrect, expected correct (counterexample at x=")
    assert failure.text == render_failure(results[2])
    assert failure.text.startswith("FAIL half, 100%: wrong (good.yaml:6:5): incorrect")


def test_junit_errors_for_invalid_files(results: list[CaseResult]) -> None:
    root = ET.fromstring(render_junit(results).encode("utf-8"))
    missing, _, typo, broken = (suite.find("testcase") for suite in root.findall("testsuite"))
    assert (missing[0].tag, missing[0].get("type")) == ("error", "invalid")
    assert missing[0].get("message") == "missing.yaml:1:1: no such file or folder"
    assert typo[0].get("message") == (
        "typo.yaml:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)"
    )
    assert typo[0].text == (
        "ERROR typo: invalid\n  typo.yaml:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)"
    )
    assert broken[0].get("message").startswith("broken.yaml:2:1: invalid YAML: ")


def test_junit_has_no_time_unless_asked(results: list[CaseResult]) -> None:
    text = render_junit(results)
    for word in ("time", "timestamp", "hostname"):
        assert f"{word}=" not in text
    timings = Timings("2026-01-02T03:04:05+00:00", 1.5, (0.0, 0.25, 0.5, 0.0, 0.0))
    root = ET.fromstring(render_junit(results, timings).encode("utf-8"))
    assert root.get("time") == "1.500"
    good = root.findall("testsuite")[1]
    assert (good.get("timestamp"), good.get("time")) == ("2026-01-02T03:04:05+00:00", "0.750")
    assert [case.get("time") for case in good] == ["0.250", "0.500"]


def test_junit_replaces_characters_xml_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "ctrl.yaml"
    path.write_text('cases:\n  - name: "bell\\a"\n    function: sigmod(x)\n', encoding="utf-8")
    text = render_junit(check_paths([str(path)]))
    root = ET.fromstring(text.encode("utf-8"))  # would raise on a raw control character
    assert root.find("testsuite/testcase").get("name") == "bell\ufffd"


def test_reports_are_the_same_from_run_to_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    first, second = check_paths(["good.yaml"]), check_paths(["good.yaml"])
    assert render_junit(first) == render_junit(second)
    assert render_github(first) == render_github(second)


def test_github_annotations_verbatim(results: list[CaseResult]) -> None:
    half = results[2]
    details = render_failure(half).replace("%", "%25").replace("\n", "%0A")
    assert render_github(results).splitlines() == [
        "::error file=missing.yaml,line=1,col=1,title=diffcheck%3A (file)::"
        "missing.yaml:1:1: no such file or folder",
        "::error file=good.yaml,line=6,col=5,title=diffcheck%3A half%2C 100%25%3A wrong::"
        + details,
        "::error file=typo.yaml,line=3,col=15,title=diffcheck%3A typo::"
        "typo.yaml:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)",
        "::error file=broken.yaml,line=2,col=1,title=diffcheck%3A (file)::"
        + str(results[4].errors[0]),
    ]
    assert details.startswith("FAIL half, 100%25: wrong (good.yaml:6:5): incorrect, expected")
    assert "%0A  claimed ∂/∂x = x%0A" in details


def test_github_nothing_for_passing_cases(results: list[CaseResult]) -> None:
    assert render_github([results[1]]) == ""


def test_github_escapes_line_breaks_in_properties(tmp_path: Path) -> None:
    folder = tmp_path / "a,b:c%d"
    folder.mkdir()
    path = folder / "x.yaml"
    path.write_text(INVALID, encoding="utf-8")
    (line,) = render_github(check_paths([str(path)])).splitlines()
    escaped = str(path).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert line.startswith(f"::error file={escaped},line=3,col=15,title=diffcheck%3A typo::")
    message = str(path).replace("%", "%25")
    assert line.endswith(f"::{message}:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)")


DEEP_CHAIN = """\
cases:
  - name: deep
    where:
      z1: w*x + b
      h1: sqrt(1 + z1^2)
    function: h1
    wrt: [w]
    gradient: {w: z1/h1}
    domain: {w: [-1, 1], b: [-1, 1], x: [0.5, 1]}
"""


def test_ci_failures_keep_the_names_of_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deep.yaml").write_text(DEEP_CHAIN, encoding="utf-8")
    results = check_paths(["deep.yaml"])
    failure = ET.fromstring(render_junit(results)).find(".//failure")
    assert "  derived ∂/∂w = x*z1/h1\n" in failure.text
    assert "sqrt" not in failure.text and "sqrt" not in render_github(results)
    assert "derived ∂/∂w = x*z1/h1%0A" in render_github(results)
