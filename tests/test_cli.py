"""The command line through click's CliRunner: exit codes, stdout and stderr kept apart.

click >= 8.2 keeps standard error apart by default (`mix_stderr` is gone): `result.stdout`
is the report, `result.stderr` the diagnostics.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from diffcheck import __version__
from diffcheck.cli import main

PASSING = """\
cases:
  - name: square
    function: x^2
    gradient: {x: 2*x}
    domain: {x: [0, 1]}
"""
FAILING = """\
cases:
  - name: half
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
EVIL = """\
cases:
  - name: evil
    function: __import__('os').system('touch X')
    domain: {x: [0, 1]}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_passing_exits_0(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "ok.yaml", PASSING)
    result = runner.invoke(main, ["check", path])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{path}\n"
        "  PASS  square: correct (proved symbolically; agrees at 64 points)\n"
        "\n"
        "1 passed, 0 failed\n"
    )
    assert result.stderr == ""


def test_check_failing_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", FAILING)
    result = runner.invoke(main, ["check", path])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[1].startswith("  FAIL  half: incorrect, expected correct (counterexample at x=")
    assert f"FAIL half ({path}:2:5): incorrect, expected correct" in lines
    assert "  claimed ∂/∂x = x" in lines
    assert lines[-1] == "0 passed, 1 failed"


def test_check_invalid_file_exits_2_and_still_reports_valid_cases(
    runner: CliRunner, tmp_path: Path
) -> None:
    good = _write(tmp_path, "good.yaml", PASSING)
    bad = _write(tmp_path, "typo.yaml", INVALID)
    result = runner.invoke(main, ["check", good, bad])
    assert result.exit_code == 2
    assert "  PASS  square: correct (proved symbolically; agrees at 64 points)" in result.stdout
    assert (
        f"        {bad}:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)"
        in result.stdout.splitlines()
    )
    assert result.stdout.splitlines()[-1] == "1 passed, 0 failed, 1 error"


def test_check_json_is_the_only_thing_on_stdout(runner: CliRunner, tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yaml", PASSING)
    wrong = _write(tmp_path, "wrong.yaml", FAILING)
    bad = _write(tmp_path, "typo.yaml", INVALID)
    result = runner.invoke(main, ["check", "--format", "json", good, wrong, bad])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["version"] == 1
    assert document["summary"] == {"cases": 3, "passed": 1, "failed": 1, "errors": 1}
    square, half, typo = document["cases"]
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
    assert (square["file"], square["line"], square["name"]) == (good, 2, "square")
    assert (square["verdict"], square["expect"], square["status"]) == ("correct", "correct", "pass")
    assert square["warnings"] == []
    assert {"max_abs_error", "max_rel_error", "worst_point"} <= set(square["variables"]["x"])
    assert square["variables"]["x"]["max_abs_error"] == 0.0
    assert (half["verdict"], half["status"]) == ("incorrect", "fail")
    worst = half["variables"]["x"]["worst_point"]
    assert set(worst) == {"x"} and 0 <= worst["x"] <= 1
    assert half["variables"]["x"]["max_abs_error"] == pytest.approx(worst["x"], rel=1e-12)
    assert (typo["status"], typo["name"]) == ("error", "typo")
    assert typo["message"] == f"{bad}:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)"
    assert result.stderr == f"{bad}:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)\n"


def test_check_runs_nothing_from_a_case_file(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, "evil.yaml", EVIL)
    result = runner.invoke(main, ["check", path])
    assert result.exit_code == 2
    assert f'{path}:3:26: strings are not allowed: unexpected "\'"' in result.stdout
    assert not (tmp_path / "X").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.yaml"]


def test_check_yaml_tag_is_an_invalid_file_not_a_crash(runner: CliRunner, tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yaml", PASSING)
    tagged = _write(tmp_path, "tagged.yaml", PASSING.replace("x^2", "!foo x^2"))
    result = runner.invoke(main, ["check", tagged, good])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2
    assert f"{tagged}:3:15: " in result.stdout
    assert "  PASS  square: correct" in result.stdout


def test_check_missing_path_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    good = _write(tmp_path, "good.yaml", PASSING)
    result = runner.invoke(main, ["check", missing, good])
    assert result.exit_code == 2
    assert f"        {missing}:1:1: no such file or folder" in result.stdout.splitlines()
    assert "  PASS  square: correct (proved symbolically; agrees at 64 points)" in result.stdout


def test_check_without_paths_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 2
    assert "Missing argument 'PATHS...'" in result.stderr
    assert result.stdout == ""


def test_check_folder(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "a.yaml", PASSING)
    _write(tmp_path, "b.yml", PASSING.replace("square", "square-again"))
    result = runner.invoke(main, ["check", "--format", "json", str(tmp_path)])
    assert result.exit_code == 0
    names = [case["name"] for case in json.loads(result.stdout)["cases"]]
    assert sorted(names) == ["square", "square-again"]


def _points(runner: CliRunner, path: str, *options: str) -> tuple[int, dict]:
    result = runner.invoke(main, ["check", "--format", "json", *options, path])
    assert result.exit_code == 1, result.output
    (case,) = json.loads(result.stdout)["cases"]
    return case["points"], case["variables"]["x"]["worst_point"]


def test_check_seed_and_samples_change_the_points(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", FAILING)
    count, default = _points(runner, path)
    assert count == 64
    assert _points(runner, path) == (64, default)  # same seed, same points
    assert _points(runner, path, "--seed", "0") == (64, default)  # the case's own seed is 0
    assert _points(runner, path, "--seed", "1")[1] != default
    assert _points(runner, path, "--samples", "5")[0] == 5


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--samples", "-1"], "Invalid value for '--samples'"),
        (["--samples", "100000001"], "100000001 is not in the range 0<=x<=100000000"),
        (["--seed", "x"], "Invalid value for '--seed'"),
        (["--format", "xml"], "Invalid value for '--format'"),
    ],
)
def test_check_bad_options_are_usage_errors(
    runner: CliRunner, tmp_path: Path, option: list[str], message: str
) -> None:
    result = runner.invoke(main, ["check", *option, _write(tmp_path, "ok.yaml", PASSING)])
    assert result.exit_code == 2
    assert message in result.stderr


def test_check_samples_0_on_a_case_without_points_is_an_error_of_that_case(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = _write(tmp_path, "ok.yaml", PASSING)
    result = runner.invoke(main, ["check", "--samples", "0", path])
    assert result.exit_code == 2
    assert "nothing to check: samples is 0 and the case has no points" in result.stdout
    assert result.stdout.endswith("0 passed, 0 failed, 1 error\n")


def test_derive_prints_each_partial(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "sigmoid(x)*y"])
    assert result.exit_code == 0
    assert result.stdout == "∂/∂x = y*sigmoid(x)*(1 - sigmoid(x))\n∂/∂y = sigmoid(x)\n"


def test_derive_wrt(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "--wrt", "y", "tanh(x*y)"])
    assert result.exit_code == 0
    assert result.stdout == "∂/∂y = x*(1 - tanh(x*y)**2)\n"


def test_derive_parse_error_points_at_the_column(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "x + sigmod(x)"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "<expression>:1:5: unknown function 'sigmod' (did you mean "
        "'sigmoid'?)\n  x + sigmod(x)\n      ^\n"
    )


def test_derive_unknown_wrt_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["derive", "--wrt", "z", "x"])
    assert result.exit_code == 2
    assert (
        "Invalid value for --wrt: 'z' does not appear in the expression (its variables: x)"
    ) in result.stderr


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"diffcheck, version {__version__}\n"
