"""Golden files: exact expected output under tests/golden/, rewritten only on request.

`pytest --update-golden` rewrites them from the current output (review the diff after);
CI never passes it, so there a difference fails the test. JSON files are compared as
documents: their floats need only be close (`FLOAT_RTOL`, `FLOAT_ATOL`), since the errors
of finite differences they record are rounding noise that a NumPy or libm upgrade moves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).parent / "golden"
# six digits, or 1e-9 absolute: the reports' finite-difference errors (1e-13 to 1e-9) are
# rounding noise; every value a report states is far above that, or exactly 0
FLOAT_RTOL = 1e-6
FLOAT_ATOL = 1e-9


def same_document(actual: Any, expected: Any) -> bool:
    """Equal JSON documents, floats within FLOAT_RTOL or FLOAT_ATOL of each other.

    >>> same_document({"error": 3.5687e-12, "n": [1, "a"]}, {"error": 3.61e-12, "n": [1, "a"]})
    True
    >>> same_document({"value": 0.25}, {"value": 0.2501})
    False
    """
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return not isinstance(actual, bool) and math.isclose(
            actual, expected, rel_tol=FLOAT_RTOL, abs_tol=FLOAT_ATOL
        )
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(
            same_document(actual[key], expected[key]) for key in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(
            same_document(a, e) for a, e in zip(actual, expected, strict=True)
        )
    return type(actual) is type(expected) and actual == expected


def compare_golden(name: str, text: str, update: bool) -> None:
    """Assert that `text` is the golden file `name`, or rewrite it when `update`."""
    path = GOLDEN / name
    if update:
        path.write_text(text, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"no golden file {name}: run pytest --update-golden and review it")
    expected = path.read_text(encoding="utf-8")
    if name.endswith(".json") and same_document(json.loads(text), json.loads(expected)):
        return
    assert text == expected
