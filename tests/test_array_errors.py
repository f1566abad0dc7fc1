"""Invalid array cases: each mistake is one FILE:LINE:COLUMN error, exit status 2, and the
valid cases of the same file are still checked and reported.

tests/data/arrays/errors.yaml holds one mistake per case between two valid cases; its
sibling errors.err holds every expected message, in the order of the cases. Each test
changes into that folder, so a message reads `errors.yaml:LINE:COLUMN: message`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from diffcheck.cases.loader import load_case_file
from diffcheck.cli import main
from diffcheck.errors import EXIT_USAGE

DATA = Path(__file__).parent / "data" / "arrays"
EXPECTED = (DATA / "errors.err").read_text(encoding="utf-8").splitlines()
# the invalid cases of errors.yaml, in order: one message each, the line of errors.err
INVALID = (
    "matmul-shapes-do-not-fit",
    "transpose-of-a-vector",
    "gradient-of-an-array-function",
    "spd-on-a-non-square-matrix",
    "over-the-size-budget",
    "claim-of-the-wrong-shape",
    "jacobian-of-the-wrong-shape",
    "unknown-structure",
    "dimension-missing-from-dims",
    "point-of-the-wrong-shape",
    "shapes-fit-at-one-size-only",
)


@pytest.fixture
def in_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)


def test_every_error_of_the_file_is_collected(in_data: None) -> None:
    loaded = load_case_file("errors.yaml")
    assert [str(error) for error in loaded.errors] == EXPECTED
    assert [case.name for case in loaded.cases] == ["valid-before", "valid-after"]


def test_messages_name_shapes_dims_and_the_fix() -> None:
    shape_error, vector_t, gradient, spd, budget, claim, jacobian, structure, dims, point, \
        sweep = EXPECTED  # fmt: skip
    assert shape_error == (
        "errors.yaml:14:21: shapes do not fit for @: W has shape [m, n] = [4, 3], "
        "b has shape [m] = [4]"
    )
    assert vector_t == (
        "errors.yaml:20:20: `.T` on a vector is an error: NumPy returns the vector unchanged; "
        "use outer(...) or x[:, newaxis] (x has shape [n] = [3])"
    )
    assert gradient == (
        "errors.yaml:27:7: gradient claims need a scalar function, but the function has shape "
        "[3]: use vjp (what a backward pass returns) or jacobian"
    )
    assert spd == (
        "errors.yaml:33:17: spd needs a square matrix, or a stack of square matrices; "
        "A has shape [2, 3]"
    )
    assert budget == (
        "errors.yaml:36:14: 'A' has shape [5000, 5000] at n=5000: 25_000_000 entries, above "
        "the budget of 16_777_216 per array"
    )
    assert claim == (
        "errors.yaml:46:10: the claimed gradient of 'W' has shape [3, 4], but it must have W's "
        "shape, [m, n] = [4, 3]; a claim is never broadcast"
    )
    assert jacobian == (
        "errors.yaml:54:10: the claimed jacobian of 'x' has shape [3, 4], but it must have the "
        "function's shape + x's shape, [4, 3]; a claim is never broadcast"
    )
    assert structure == (
        "errors.yaml:60:17: unknown structure 'sdp' (did you mean 'spd'?); a domain is "
        "[low, high], a number, or one of spd, symmetric, orthogonal, simplex, onehot"
    )
    assert dims == "errors.yaml:63:21: 'k' in the shape of 'W' is not in dims; add it under dims"
    assert point == (
        "errors.yaml:73:9: point 1: 'x' has shape [2], which does not fit its declared shape [3]"
    )
    assert sweep == (
        "errors.yaml:78:23: shapes do not fit for @: the left operand has shape [4, 3], x has "
        "shape [n] = [4] (at m=3, n=4)"
    )


def test_text_report_lists_the_errors_and_checks_the_valid_cases(in_data: None) -> None:
    result = CliRunner().invoke(main, ["check", "--proof-budget", "0", "errors.yaml"])
    assert result.exit_code == EXIT_USAGE == 2
    lines = result.stdout.splitlines()
    assert lines[0] == "errors.yaml"
    assert lines[1].startswith("  PASS  valid-before: correct (")
    assert [line for line in lines if line.startswith("  ERROR ")] == [
        f"  ERROR {name}: invalid" for name in INVALID
    ]
    assert [line.strip() for line in lines if line.startswith("        errors.yaml:")] == EXPECTED
    assert any(line.startswith("  PASS  valid-after: incorrect (") for line in lines)
    assert lines[-1] == f"2 passed, 0 failed, {len(INVALID)} errors"


def test_json_report_gives_each_case_its_error(in_data: None) -> None:
    result = CliRunner().invoke(main, ["check", "--format", "json", "--proof-budget", "0",
                                       "errors.yaml"])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.splitlines() == EXPECTED
    document = json.loads(result.stdout)
    assert document["summary"] == {"cases": 13, "passed": 2, "failed": 0, "errors": 11}
    statuses = {case["name"]: case["status"] for case in document["cases"]}
    assert statuses["valid-before"] == statuses["valid-after"] == "pass"
    messages = {case["name"]: case.get("message") for case in document["cases"]}
    assert [messages[name] for name in INVALID] == EXPECTED


@pytest.mark.parametrize(("name", "line"), list(zip(INVALID, EXPECTED, strict=True)))
def test_each_error_points_into_its_own_case(in_data: None, name: str, line: str) -> None:
    (entry,) = [e for e in load_case_file("errors.yaml").entries if e.name == name]
    (error,) = entry.errors
    assert str(error) == line
    assert entry.location.line < error.location.line
