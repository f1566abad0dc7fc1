"""Golden files: exact expected output under tests/golden/, rewritten only on request.

`pytest --update-golden` rewrites them from the current output (review the diff after);
CI never passes it, so there a difference fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


def compare_golden(name: str, text: str, update: bool) -> None:
    """Assert that `text` is the golden file `name`, or rewrite it when `update`."""
    path = GOLDEN / name
    if update:
        path.write_text(text, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"no golden file {name}: run pytest --update-golden and review it")
    assert text == path.read_text(encoding="utf-8")
