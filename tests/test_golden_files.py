"""Golden JSON is compared as a document: rounding noise in the floats it records (the
errors of finite differences) passes, any other change fails."""

from __future__ import annotations

import json
from typing import Any

import pytest
from golden_files import GOLDEN, compare_golden, same_document


def _noisy(document: Any, factor: float) -> Any:
    """`document` with the errors of every finite-difference oracle times `factor`."""
    if isinstance(document, list):
        return [_noisy(item, factor) for item in document]
    if not isinstance(document, dict):
        return document
    noisy = {key: _noisy(value, factor) for key, value in document.items()}
    if isinstance(noisy.get("finite"), dict):
        noisy["finite"] = {
            key: value * factor if key.endswith("_error") and isinstance(value, float) else value
            for key, value in noisy["finite"].items()
        }
    return noisy


def _report() -> dict:
    return json.loads((GOLDEN / "report.json").read_text(encoding="utf-8"))


def test_golden_json_passes_rounding_noise_in_finite_difference_errors() -> None:
    # another libm rounds exp differently in the last bit: errors of 1e-12 move by 30 %
    noisy = _noisy(_report(), 1.3)
    assert noisy != _report()
    compare_golden("report.json", json.dumps(noisy, indent=2) + "\n", update=False)


@pytest.mark.parametrize(
    ("actual", "expected", "same"),
    [
        (3.568700890355103e-12, 3.6e-12, True),  # rounding noise below FLOAT_ATOL
        (0.13780157364302403, 0.1378015736430241, True),  # the last bits of a value
        (0.25, 0.2501, False),  # a value that changed
        (2.0e-8, 1.0e-8, False),  # a doubled error above the noise
        (1, 1.0, True),  # JSON writes a whole float either way
        (True, 1.0, False),
        ("0.5", 0.5, False),
        ({"a": 1.0}, {"a": 1.0, "b": 2.0}, False),
        ([1.0, 2.0], [1.0], False),
    ],
)
def test_same_document(actual: Any, expected: Any, same: bool) -> None:
    assert same_document(actual, expected) is same


def test_golden_json_fails_on_a_changed_verdict() -> None:
    changed = _report()
    changed["cases"][0]["verdict"] = "incorrect"
    with pytest.raises(AssertionError):
        compare_golden("report.json", json.dumps(changed, indent=2) + "\n", update=False)
