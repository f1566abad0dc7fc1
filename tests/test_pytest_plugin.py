"""The pytest plugin through pytester: opt-in collection, one item per case, the command
line's failure text, invalid files as one failing item, -k, -x and pytest-xdist."""

from __future__ import annotations

import importlib.metadata

import pytest
from click.testing import CliRunner

from diffcheck.cli import main
from diffcheck.pytest_plugin import glob_to_regex

pytest_plugins = ["pytester"]

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
  - name: fine
    function: x
    domain: {x: [0, 1]}
  - name: typo
    function: sigmod(x)
    domain: {x: [0, 1]}
    tolerence: 1
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with its own test, its case files under cases/ and a YAML elsewhere."""
    pytester.makepyfile(test_own="def test_own():\n    assert True\n")
    pytester.mkdir("cases")
    (pytester.path / "cases" / "gradients.yaml").write_text(CASES, encoding="utf-8")
    (pytester.path / "cases" / "typo.yaml").write_text(INVALID, encoding="utf-8")
    pytester.mkdir("config")
    (pytester.path / "config" / "settings.yaml").write_text("not: a case file\n")
    return pytester


def test_plugin_is_registered_under_pytest11() -> None:
    entry_points = importlib.metadata.entry_points(group="pytest11")
    assert "diffcheck.pytest_plugin" in {e.value for e in entry_points if e.name == "diffcheck"}


def test_nothing_is_collected_without_opting_in(project: pytest.Pytester) -> None:
    result = project.runpytest()
    result.assert_outcomes(passed=1)


def test_flag_collects_one_item_per_case(project: pytest.Pytester) -> None:
    result = project.runpytest("--diffcheck", "-v")
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(
        [
            "cases/gradients.yaml::square PASSED*",
            "cases/gradients.yaml::half FAILED*",
            "cases/gradients.yaml::tanh-square PASSED*",
            "cases/typo.yaml::fine PASSED*",
            "cases/typo.yaml::invalid-file FAILED*",
            "test_own.py::test_own PASSED*",
        ]
    )


def test_failure_shows_the_command_line_text(project: pytest.Pytester) -> None:
    result = project.runpytest("--diffcheck", "cases/gradients.yaml")
    result.assert_outcomes(passed=2, failed=1)
    cli = CliRunner().invoke(main, ["check", "cases/gradients.yaml"]).stdout.splitlines()
    start = cli.index("FAIL half (cases/gradients.yaml:7:5): incorrect, expected correct")
    block = cli[start : cli.index("", start)]
    assert len(block) >= 4 and "  claimed ∂/∂x = x" in block
    lines = result.stdout.lines
    first = lines.index(block[0])
    assert lines[first : first + len(block)] == block
    assert "case: half" in lines[first - 1]  # the section title comes from reportinfo


def test_invalid_file_is_one_failing_item_with_locations(project: pytest.Pytester) -> None:
    result = project.runpytest("--diffcheck", "cases/typo.yaml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*invalid case file*",
            "cases/typo.yaml:6:15: unknown function 'sigmod' (did you mean 'sigmoid'?)",
            "cases/typo.yaml:8:5: unknown key 'tolerence' in a case (did you mean 'tolerance'?)",
        ]
    )


def test_unreadable_yaml_is_one_failing_item(project: pytest.Pytester) -> None:
    (project.path / "cases" / "broken.yaml").write_text("cases: [\n", encoding="utf-8")
    result = project.runpytest("--diffcheck", "cases/broken.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["cases/broken.yaml:2:1: invalid YAML: *"])


def test_keyword_selects_cases(project: pytest.Pytester) -> None:
    result = project.runpytest("--diffcheck", "-k", "square and not tanh")
    result.assert_outcomes(passed=1)


def test_exitfirst_stops_at_the_first_failing_case(project: pytest.Pytester) -> None:
    result = project.runpytest("--diffcheck", "-x", "cases/gradients.yaml")
    result.assert_outcomes(passed=1, failed=1)


def test_reportinfo_points_at_the_case_line(project: pytest.Pytester) -> None:
    items = project.inline_genitems("--diffcheck", "cases/gradients.yaml")[0]
    infos = [item.reportinfo() for item in items]
    path = project.path / "cases" / "gradients.yaml"
    assert infos == [(path, 1, "case: square"), (path, 6, "case: half"),
                     (path, 11, "case: tanh-square")]  # fmt: skip
    assert [item.location[1] + 1 for item in items] == [2, 7, 12]


def test_ini_patterns_turn_collection_on(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\ndiffcheck_cases =\n    cases/gradients.yaml\n    specs/**/*.yml\n")
    (project.path / "specs" / "deep").mkdir(parents=True)
    (project.path / "specs" / "deep" / "more.yml").write_text(CASES, encoding="utf-8")
    result = project.runpytest("-q")
    result.assert_outcomes(passed=5, failed=2)  # typo.yaml is not named by the patterns


def test_pyproject_patterns_as_the_readme_shows(project: pytest.Pytester) -> None:
    project.makepyprojecttoml(
        '[tool.pytest.ini_options]\ntestpaths = [".", "cases"]\n'
        'diffcheck_cases = ["cases/**/*.yaml"]\n'
    )
    result = project.runpytest("-q")
    result.assert_outcomes(passed=4, failed=2)


def test_flag_collects_a_file_named_on_the_command_line(project: pytest.Pytester) -> None:
    (project.path / "config" / "one.yaml").write_text(CASES, encoding="utf-8")
    # without the flag, pytest finds nothing in it ("not found" since pytest 8)
    ret = project.runpytest("config/one.yaml").ret
    assert ret in (pytest.ExitCode.NO_TESTS_COLLECTED, pytest.ExitCode.USAGE_ERROR)
    result = project.runpytest("--diffcheck", "config/one.yaml")
    result.assert_outcomes(passed=2, failed=1)


def test_xdist_runs_cases_in_workers(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (the test extra has it)")
    result = project.runpytest_subprocess("--diffcheck", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(["*FAIL half (cases/gradients.yaml:7:5): incorrect*"])


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("cases/**/*.yaml", "cases/a.yaml", True),
        ("cases/**/*.yaml", "cases/x/y/a.yaml", True),
        ("cases/**/*.yaml", "other/cases/a.yaml", False),
        ("cases/*.yaml", "cases/x/a.yaml", False),
        ("**/*.yml", "a.yml", True),
        ("cases/[!_]*.yaml", "cases/_draft.yaml", False),
        ("cases/[!_]*.yaml", "cases/final.yaml", True),
        ("cases/a?.yaml", "cases/ab.yaml", True),
        ("cases.d/*.yaml", "casesxd/a.yaml", False),
    ],
)
def test_glob_to_regex(pattern: str, path: str, matches: bool) -> None:
    assert bool(glob_to_regex(pattern).fullmatch(path)) is matches


# ---- rootdir, subfolders and what pytest walks -------------------------------------------

CASES_INI = "[pytest]\ndiffcheck_cases = cases/**/*.yaml\n"


def test_cases_are_read_from_a_subfolder_too(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makeini(CASES_INI)
    monkeypatch.chdir(project.path / "cases")
    result = project.runpytest("-v")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "gradients.yaml::square PASSED*",
            "gradients.yaml::half FAILED*",
            "*FAIL half (cases/gradients.yaml:7:5): incorrect*",
            "cases/typo.yaml:6:15: unknown function 'sigmod' (did you mean 'sigmoid'?)",
        ]
    )


@pytest.mark.parametrize(
    ("ini", "where", "collects"),
    [
        ("testpaths = tests\n", ".", "tests (testpaths)"),
        ("", "tests", "tests (the current directory)"),
    ],
)
def test_cases_outside_the_collected_paths_are_named_in_a_warning(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ini: str, where: str, collects: str
) -> None:
    project.makeini(CASES_INI + ini)
    (project.path / "tests").mkdir()
    (project.path / "test_own.py").rename(project.path / "tests" / "test_own.py")
    monkeypatch.chdir(project.path / where)
    result = project.runpytest("-W", "always::pytest.PytestConfigWarning")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*PytestConfigWarning: diffcheck_cases (cases/**/*.yaml) names case files that "
            "pytest does not collect (such as cases/gradients.yaml): it collects from "
            f"{collects}; add their folder to testpaths, or name it on the command line"
        ]
    )


def test_patterns_naming_no_file_are_named_in_a_warning(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\ndiffcheck_cases = specs/*.yaml\n")
    result = project.runpytest()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [f"*PytestConfigWarning: diffcheck_cases (specs/*.yaml) names no file below the rootdir "
         f"{project.path}"]
    )  # fmt: skip


def test_one_of_several_patterns_naming_no_file_is_named_in_a_warning(
    project: pytest.Pytester,
) -> None:
    project.makeini("[pytest]\ndiffcheck_cases =\n    cases/**/*.yaml\n    nothere/*.yaml\n")
    result = project.runpytest("-W", "always::pytest.PytestConfigWarning")
    result.stdout.fnmatch_lines(
        ["*PytestConfigWarning: diffcheck_cases (cases/**/*.yaml, nothere/*.yaml): the pattern "
         f"'nothere/*.yaml' names no file below the rootdir {project.path}"]
    )  # fmt: skip


def test_no_warning_when_the_cases_are_collected_or_tests_are_named(
    project: pytest.Pytester,
) -> None:
    project.makeini(CASES_INI + "testpaths = . cases\n")
    project.runpytest().assert_outcomes(passed=4, failed=2)
    project.makeini(CASES_INI + "testpaths = tests\n")
    project.runpytest("test_own.py").assert_outcomes(passed=1)


# ---- diffcheck_seed and diffcheck_samples: --seed and --samples ---------------------------

ONE_POINT = """\
cases:
  - name: abs-claim
    function: x^2
    gradient: {x: 2*abs(x)}   # right for x >= 0 only
    domain: {x: [-1, 1]}
    samples: 1
    seed: 0                   # its one random point is x = 0.27
"""


@pytest.mark.parametrize(
    ("options", "passed"),
    [
        ("", True),
        ("diffcheck_seed = 2\n", False),  # x = -0.48
        ("diffcheck_samples = 20\n", False),
        ("diffcheck_seed = 4\n", True),  # x = 0.89
    ],
)
def test_seed_and_samples_ini_options_change_the_points(
    pytester: pytest.Pytester, options: str, passed: bool
) -> None:
    pytester.mkdir("cases")
    (pytester.path / "cases" / "one.yaml").write_text(ONE_POINT, encoding="utf-8")
    pytester.makeini(CASES_INI + options)
    result = pytester.runpytest()
    result.assert_outcomes(passed=int(passed), failed=int(not passed))


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("diffcheck_seed = -1",
         "ERROR: diffcheck_seed (the ini option for --seed) must be a whole number >= 0, "
         "got '-1'"),
        ("diffcheck_samples = 1e9",
         "ERROR: diffcheck_samples (the ini option for --samples) must be a whole number >= 0 "
         "and at most 100_000_000, got '1e9'"),
    ],
)  # fmt: skip
def test_invalid_seed_or_samples_is_a_usage_error(
    pytester: pytest.Pytester, option: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{option}\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
