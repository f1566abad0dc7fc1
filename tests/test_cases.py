"""Loading case files: data-driven over tests/data/{valid,invalid}.

Convention: each test changes into the data folder and loads the file by its bare name,
so a message reads `NAME.yaml:LINE:COLUMN: message` on every machine.

- valid/NAME.yaml loads with no error; valid/NAME.json holds, per case, the fields below.
- invalid/NAME.yaml has a sibling NAME.err holding every expected error line, in order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sympy as sp

from diffcheck.cases.loader import (
    DEFAULTS,
    Case,
    Interval,
    InvalidCase,
    Tolerance,
    load_case_file,
)
from diffcheck.errors import CaseFileError, CaseTimeout, Location
from diffcheck.symbolic.derive import format_expression

DATA = Path(__file__).parent / "data"
VALID = sorted(p.name for p in (DATA / "valid").glob("*.yaml"))
INVALID = sorted(p.name for p in (DATA / "invalid").glob("*.yaml"))


def _summary(case: Case) -> dict:
    """The fields a valid/NAME.json states, in JSON types."""
    return {
        "name": case.name,
        "line": case.location.line,
        "column": case.location.column,
        "description": case.description,
        "function": case.function.text,
        "function_at": [case.function.location.line, case.function.location.column],
        "resolved": format_expression(case.resolve(case.function.expr)),
        "where": [[name, expression.text] for name, expression in case.where],
        "wrt": list(case.wrt),
        "gradient": {name: claim.text for name, claim in case.gradient.items()},
        "variables": list(case.variables),
        "domain": {name: [value.low, value.high] if isinstance(value, Interval) else value
                   for name, value in case.domain.items()},
        "points": [dict(point) for point in case.points],
        "samples": case.samples,
        "seed": case.seed,
        "tolerance": {"rtol": case.tolerance.rtol, "atol": case.tolerance.atol},
        "expect": case.expect,
    }  # fmt: skip


def test_data_folders_are_not_empty() -> None:
    assert VALID and INVALID


@pytest.mark.parametrize("name", VALID)
def test_load_case_file_valid(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA / "valid")
    expected = json.loads(Path(name).with_suffix(".json").read_text(encoding="utf-8"))
    loaded = load_case_file(name)
    assert [str(error) for error in loaded.errors] == []
    assert loaded.path == name
    assert all(isinstance(entry, Case) for entry in loaded.entries)
    assert [_summary(case) for case in loaded.cases] == expected


@pytest.mark.parametrize("name", INVALID)
def test_load_case_file_invalid(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA / "invalid")
    expected = Path(name).with_suffix(".err").read_text(encoding="utf-8").splitlines()
    loaded = load_case_file(name)
    assert [str(error) for error in loaded.errors] == expected


@pytest.mark.parametrize("name", INVALID)
def test_load_case_file_invalid_errors_carry_a_location(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(DATA / "invalid")
    loaded = load_case_file(name)
    for entry in loaded.entries:
        if isinstance(entry, InvalidCase):
            assert entry.errors
            assert entry.file == name
            assert all(
                error.location is not None and error.location.file == name for error in entry.errors
            )


# ---- file-level problems written on the fly ----------------------------------------------


def _write(folder: Path, name: str, text: str | bytes) -> str:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return name


def _messages(path: str) -> list[str]:
    return [str(error) for error in load_case_file(path).errors]


def test_load_case_file_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _messages("nowhere.yaml") == [
        "nowhere.yaml:1:1: cannot read the file: No such file or directory"
    ]


def test_load_case_file_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = _write(tmp_path, "binary.yaml", b"\xff\xfe")
    assert _messages(name) == [
        "binary.yaml:1:1: cannot read the file: 'utf-8' codec can't decode byte 0xff in "
        "position 0: invalid start byte"
    ]


def test_load_case_file_keeps_the_path_as_given(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("cases:\n  - name: a\n    function: sigmod(x)\n", encoding="utf-8")
    (error,) = load_case_file(path).errors
    assert str(error) == f"{path}:3:15: unknown function 'sigmod' (did you mean 'sigmoid'?)"


def test_load_case_file_yaml_tag_is_an_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = _write(
        tmp_path,
        "tags.yaml",
        (
            "cases:\n"
            "  - name: tagged\n"
            "    function: !foo x\n"
            "    domain: {x: [0, 1]}\n"
            "  - name: fine\n"
            "    function: x\n"
            "    domain: {x: [0, 1]}\n"
        ),
    )
    loaded = load_case_file(name)  # must not raise yaml's ConstructorError
    assert [case.name for case in loaded.cases] == ["fine"]
    assert [(e.location.line, e.location.column) for e in loaded.errors] == [(3, 15)]
    assert all(isinstance(error, CaseFileError) for error in loaded.errors)


def test_load_case_file_too_deeply_nested_yaml_is_an_error_at_its_deepest_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = _write(tmp_path, "deep.yaml", "cases: " + "[" * 3000 + "]" * 3000 + "\n")
    loaded = load_case_file(name)  # PyYAML's composer recurses per level
    assert loaded.cases == ()
    assert [str(error) for error in loaded.errors] == [
        "deep.yaml:1:1007: invalid YAML: nested more than 1000 levels deep, too deep to read"
    ]


def test_load_case_file_python_tag_executes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = _write(
        tmp_path,
        "evil.yaml",
        ("cases:\n  - name: evil\n    function: !!python/object/apply:os.system ['touch PWNED']\n"),
    )
    try:
        load_case_file(name)
    finally:
        assert not (tmp_path / "PWNED").exists()


def test_a_crash_while_reading_one_case_loses_that_case_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from diffcheck.cases import builder as case_builder

    def broken_hessian(self: object, wrt: tuple[str, ...]) -> dict:
        if "y" in wrt:
            raise ZeroDivisionError("a bug")
        return {}

    monkeypatch.setattr(case_builder._CaseBuilder, "hessian", broken_hessian)
    monkeypatch.chdir(tmp_path)
    text = (
        "cases:\n"
        "  - name: hit\n"
        "    function: y\n"
        "    domain: {y: [0, 1]}\n"
        "  - name: spared\n"
        "    function: x\n"
        "    domain: {x: [0, 1]}\n"
    )
    loaded = load_case_file(_write(tmp_path, "crash.yaml", text))
    assert [case.name for case in loaded.cases] == ["spared"]
    assert [str(error) for error in loaded.errors] == [
        "crash.yaml:2:5: internal error reading the case: ZeroDivisionError: a bug"
    ]


def test_load_case_file_expression_executes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = _write(
        tmp_path,
        "evil.yaml",
        (
            "cases:\n"
            "  - name: evil\n"
            "    function: __import__('os').system('touch PWNED')\n"
            "    domain: {x: [0, 1]}\n"
        ),
    )
    assert _messages(name) == ['evil.yaml:3:26: strings are not allowed: unexpected "\'"']
    assert sorted(os.listdir(tmp_path)) == ["evil.yaml"]


# ---- the values a case carries -----------------------------------------------------------


def test_load_case_file_defaults_table() -> None:
    assert dict(DEFAULTS) == {"samples": 64, "seed": 0, "rtol": 1e-7, "atol": 1e-12}


def test_load_case_file_applies_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = _write(
        tmp_path, "a.yaml", "cases:\n  - name: a\n    function: x\n    domain: {x: [0, 1]}\n"
    )
    (case,) = load_case_file(name).cases
    assert (case.samples, case.seed, case.expect) == (64, 0, "correct")
    assert case.tolerance == Tolerance(rtol=1e-7, atol=1e-12)
    assert case.wrt == ("x",) and case.gradient == {} and case.points == ()


def test_load_case_file_records_locations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA / "valid")
    case = load_case_file("expression-styles.yaml").cases[0]
    assert case.location == Location("expression-styles.yaml", 3, 5)
    assert case.gradient["w"].location == Location("expression-styles.yaml", 17, 10)
    assert dict(case.where)["s"].location == Location("expression-styles.yaml", 11, 10)


def test_case_resolve_substitutes_intermediates_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA / "valid")
    case = load_case_file("cases-md-example.yaml").cases[1]
    w0, w1, w2, w3, x1, x2, x3, t = sp.symbols("w0 w1 w2 w3 x1 x2 x3 t")
    y = case.resolve(sp.Symbol("y"))
    assert y.func.__name__ == "sigmoid"
    assert y.args == (w0 + w1 * x1 + w2 * x2 + w3 * x3,)
    assert case.resolve(case.gradient["w1"].expr) == (y - t) * y * (1 - y) * x1


def test_case_file_splits_cases_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA / "invalid")
    loaded = load_case_file("case-not-mapping.yaml")
    assert [case.name for case in loaded.cases] == ["fine"]
    assert len(loaded.entries) == 3
    assert len(loaded.errors) == 2


# ---- tolerance presets --------------------------------------------------------------------


def test_load_case_file_tolerance_presets_in_defaults_and_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = (
        "defaults: {tolerance: float32}\n"
        "cases:\n"
        "  - {name: single, function: x^2, domain: {x: [0, 1]}}\n"
        "  - {name: double, function: x^2, domain: {x: [0, 1]}, tolerance: float64}\n"
        "  - {name: mixed, function: x^2, domain: {x: [0, 1]}, tolerance: {rtol: 1.0e-3}}\n"
    )
    single, double, mixed = load_case_file(_write(tmp_path, "presets.yaml", text)).cases
    assert single.tolerance == Tolerance(rtol=1.3e-6, atol=1e-5)
    assert double.tolerance == Tolerance(rtol=DEFAULTS["rtol"], atol=DEFAULTS["atol"])
    assert mixed.tolerance == Tolerance(rtol=1e-3, atol=1e-5)  # atol from the preset


def test_load_case_file_unknown_tolerance_preset_suggests_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = "cases:\n  - {name: a, function: x^2, domain: {x: [0, 1]}, tolerance: float23}\n"
    assert _messages(_write(tmp_path, "typo.yaml", text)) == [
        "typo.yaml:2:62: tolerance must be a mapping {rtol: ..., atol: ...} or one of: "
        "float64, float32; got 'float23' (did you mean 'float32'?)"
    ]


# ---- reading a case within the time limit -------------------------------------------------


def _slow_case(terms: int) -> str:
    """A case whose reading takes seconds: a sum of `terms` terms (20 000: about 10 s). A
    long where chain no longer does: its intermediates are written out only when asked."""
    function = " + ".join(f"sin({i}*x)" for i in range(1, terms))
    return f"  - name: runaway\n    function: {function}\n    domain: {{x: [-1, 1]}}\n"


def test_load_case_file_a_case_whose_reading_runs_away_times_out_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = "cases:\n" + _slow_case(20_000) + "  - {name: square, function: x^2, domain: {x: 1}}\n"
    loaded = load_case_file(_write(tmp_path, "slow.yaml", text), timeout=0.5)
    assert [case.name for case in loaded.cases] == ["square"]
    (entry, _) = loaded.entries
    assert isinstance(entry, InvalidCase) and entry.name == "runaway"
    assert [str(error) for error in entry.errors] == [
        "slow.yaml:2:5: timed out while reading the case, after 0.5 s (raise it with --timeout)"
    ]
    assert isinstance(entry.errors[0], CaseTimeout)


def test_an_inline_mapping_split_at_an_expression_comma_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = (
        "cases:\n"
        "  - name: split\n"
        "    function: atan2(y, x)\n"
        "    gradient: {x: -y / (x**2 + y**2), y: max(x, y)}\n"
        "    domain: {x: [1, 2], y: [1, 2]}\n"
        "  - name: quoted\n"
        "    function: x * y\n"
        "    gradient: {x: 'max(y, y)', y: x}\n"
        "    domain: {x: [1, 2], y: [1, 2]}\n"
    )
    loaded = load_case_file(_write(tmp_path, "inline.yaml", text))
    assert [str(error) for error in loaded.errors] == [
        "inline.yaml:4:42: gradient is written inline ({...}), where a comma ends an entry: "
        "'max(x' is a fragment of an expression that contains a comma; write one entry per "
        "line, or quote each expression"
    ]
    assert [case.name for case in loaded.cases] == ["quoted"]


def test_yaml_merge_keys_share_settings_and_own_keys_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = (
        "cases:\n"
        "  - name: first\n"
        "    function: x**2\n"
        "    domain: &unit {x: [-1, 1]}\n"
        "  - name: merged\n"
        "    <<: [{domain: *unit, samples: 16}, {samples: 4, seed: 5}]\n"
        "    samples: 8\n"
        "    function: x**3\n"
        "  - name: bad-merge\n"
        "    <<: 3\n"
        "    function: x\n"
        "    domain: {x: [0, 1]}\n"
    )
    loaded = load_case_file(_write(tmp_path, "merge.yaml", text))
    merged = next(case for case in loaded.cases if case.name == "merged")
    assert (merged.samples, merged.seed) == (8, 5)  # own key first, then the first merged
    assert (merged.domain["x"].low, merged.domain["x"].high) == (-1.0, 1.0)
    assert "merge.yaml:10:9: '<<' merges a mapping (such as *defaults) or a list of them" in [
        str(error) for error in loaded.errors
    ]
