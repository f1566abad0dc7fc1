"""The command line in CI: --format junit/github, --output, --jobs, no progress bar in
captured output, byte-identical reports, `schema` and `init`."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from diffcheck.cli import main
from diffcheck.report.progress import ProgressBar, wants_progress
from diffcheck.report.scaffold import EXAMPLE

CASES = """\
cases:
  - name: square
    function: x^2
    gradient: {x: 2*x}
    domain: {x: [0, 1]}
  - name: half
    function: x^2
    gradient: {x: x}
    domain: {x: [0, 1]}
  - name: tanh-square
    function: tanh(x)^2
    gradient: {x: 2*tanh(x)*(1 - tanh(x)^2)}
    domain: {x: [-3, 3]}
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


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Case files named relatively from inside tmp_path, as a CI job names them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cases").mkdir()
    for index in range(4):
        (tmp_path / "cases" / f"f{index}.yaml").write_text(CASES, encoding="utf-8")
    (tmp_path / "cases" / "typo.yaml").write_text(INVALID, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("output_format", ["text", "json", "junit", "github"])
def test_jobs_2_equals_serial_byte_for_byte(runner, folder, output_format: str) -> None:
    serial = runner.invoke(main, ["check", "--format", output_format, "cases"])
    workers = runner.invoke(main, ["check", "--format", output_format, "--jobs", "2", "cases"])
    assert serial.exit_code == workers.exit_code == 2
    assert workers.stdout_bytes == serial.stdout_bytes
    assert workers.stderr_bytes == serial.stderr_bytes


@pytest.mark.parametrize("output_format", ["json", "junit"])
def test_reports_are_byte_identical_run_to_run(runner, folder, output_format: str) -> None:
    first = runner.invoke(main, ["check", "--format", output_format, "--seed", "3", "cases"])
    second = runner.invoke(main, ["check", "--format", output_format, "--seed", "3", "cases"])
    assert first.stdout_bytes == second.stdout_bytes


def test_jobs_auto(runner, folder) -> None:
    result = runner.invoke(main, ["check", "--jobs", "auto", "cases/f0.yaml"])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "2 passed, 1 failed"


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_jobs_bad_values_are_usage_errors(runner, folder, value: str) -> None:
    result = runner.invoke(main, ["check", "--jobs", value, "cases"])
    assert result.exit_code == 2
    assert f"Invalid value for '--jobs': {value!r} is not a whole number >= 1 or 'auto'" in (
        result.stderr
    )


def test_junit_on_stdout(runner, folder) -> None:
    result = runner.invoke(main, ["check", "--format", "junit", "cases"])
    root = ET.fromstring(result.stdout_bytes)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("13", "4", "1")
    # as beside JSON, the errors of invalid files also go to standard error
    assert result.stderr == (
        "cases/typo.yaml:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)\n"
    )


def test_github_on_stdout(runner, folder) -> None:
    result = runner.invoke(main, ["check", "--format", "github", "cases/typo.yaml"])
    assert result.exit_code == 2
    assert result.stdout == (
        "::error file=cases/typo.yaml,line=3,col=15,title=diffcheck%3A typo::"
        "cases/typo.yaml:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)\n"
    )


def test_github_prints_nothing_when_every_case_passes(runner, folder) -> None:
    (folder / "ok.yaml").write_text(CASES.split("  - name: half")[0], encoding="utf-8")
    result = runner.invoke(main, ["check", "--format", "github", "ok.yaml"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_output_writes_the_format_and_prints_the_text(runner, folder) -> None:
    text = runner.invoke(main, ["check", "cases"]).stdout
    result = runner.invoke(main, ["check", "--format", "junit", "--output", "r.xml", "cases"])
    assert result.exit_code == 2
    assert result.stdout == text  # the text report, summary line last
    assert result.stderr == ""  # the text report lists the errors itself
    written = (folder / "r.xml").read_bytes()
    assert written.endswith(b"</testsuites>\n")
    assert ET.fromstring(written).get("tests") == "13"
    junit = runner.invoke(main, ["check", "--format", "junit", "cases"]).stdout_bytes
    assert written == junit


def test_output_dash_is_standard_output(runner, folder) -> None:
    result = runner.invoke(main, ["check", "--format", "junit", "--output", "-", "cases"])
    junit = runner.invoke(main, ["check", "--format", "junit", "cases"]).stdout_bytes
    assert result.stdout_bytes == junit and not (folder / "-").exists()


def test_output_in_a_missing_folder_is_a_usage_error(runner, folder) -> None:
    result = runner.invoke(main, ["check", "--output", "no/such/r.xml", "cases/f0.yaml"])
    assert result.exit_code == 2
    assert "Invalid value for --output: no folder to write 'no/such/r.xml' into" in result.stderr
    assert not (folder / "no").exists()


def test_timestamps_add_times_to_junit(runner, folder) -> None:
    result = runner.invoke(main, ["check", "--format", "junit", "--timestamps", "cases/f0.yaml"])
    suite = ET.fromstring(result.stdout_bytes).find("testsuite")
    assert suite.get("timestamp") and suite.get("time")
    assert all(case.get("time") for case in suite)


def test_no_progress_bar_in_captured_output(runner, folder) -> None:
    result = runner.invoke(main, ["check", "--jobs", "2", "cases"])
    assert "\r" not in result.stdout + result.stderr
    assert "cases]" not in result.stderr


def test_progress_only_for_text_on_terminals() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_progress("text", Terminal(), Terminal())
    assert not wants_progress("json", Terminal(), Terminal())
    assert not wants_progress("text", Terminal(), io.StringIO())  # piped output


def test_progress_bar_waits_a_moment_then_draws_and_erases() -> None:
    now = [0.0]
    stream = io.StringIO()
    bar = ProgressBar(stream, delay=0.5, clock=lambda: now[0])
    bar.update(1, 4)
    assert stream.getvalue() == ""  # a quick run leaves no trace
    now[0] = 0.6
    bar.update(2, 4)
    assert stream.getvalue() == "\r[###############...............]  2/4 cases"
    now[0] = 0.65
    bar.update(3, 4)  # too soon to redraw
    assert stream.getvalue().count("\r") == 1
    bar.close()
    assert stream.getvalue().endswith("\r" + " " * len(bar.line()) + "\r")


def test_init_writes_an_example_that_passes_check(runner, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 0
    assert result.stdout == "wrote cases/example.yaml; check it with: diffcheck check cases\n"
    assert (tmp_path / "cases" / "example.yaml").read_text(encoding="utf-8") == EXAMPLE
    checked = runner.invoke(main, ["check", "cases"])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.splitlines()[-1] == "3 passed, 0 failed"


def test_init_into_a_folder(runner, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["init", "specs/gradients"])
    assert result.exit_code == 0
    assert (tmp_path / "specs" / "gradients" / "example.yaml").is_file()


def test_init_never_overwrites(runner, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "example.yaml").write_text("mine\n", encoding="utf-8")
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 2
    assert result.stderr == (
        "cases/example.yaml:1:1: already exists; not overwritten (remove it or pick another DIR)\n"
    )
    assert (tmp_path / "cases" / "example.yaml").read_text(encoding="utf-8") == "mine\n"


def test_init_example_explains_every_case_key() -> None:
    for key in ("name", "description", "function", "where", "wrt", "gradient", "domain",
                "points", "expect", "samples", "seed", "tolerance"):  # fmt: skip
        assert f"{key}:" in EXAMPLE


def test_pre_commit_hook_checks_case_files() -> None:
    repository = Path(__file__).resolve().parent.parent
    (hook,) = yaml.safe_load((repository / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert (hook["id"], hook["entry"], hook["language"]) == (
        "diffcheck",
        "diffcheck check",
        "python",
    )
    files = re.compile(hook["files"])  # pre-commit searches the path relative to the root
    assert files.search("cases/sigmoid.yaml") and files.search("ml/cases/deep/a.yml")
    assert not files.search(".pre-commit-config.yaml")
    assert not files.search("tests/data/valid/a.yaml")


def test_a_file_name_that_is_not_utf8_keeps_the_json_report_valid(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path) + b"/caf\xe9"
    os.mkdir(folder)
    with open(folder + b"/case.yaml", "wb") as file:
        file.write(b"cases:\n  - name: c\n    function: x**2\n    domain: {x: [-1, 1]}\n")
    command = [sys.executable, "-c", "from diffcheck.cli import main; main()", "check",
               os.fsdecode(folder), "--format", "json"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, check=False)
    document = json.loads(result.stdout.decode("utf-8"))  # strict: valid UTF-8 throughout
    assert document["cases"][0]["file"].endswith("caf\ufffd/case.yaml")
