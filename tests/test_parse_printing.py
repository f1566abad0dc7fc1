"""Parsing prints nothing unless it reports an error: a call's arguments are printed for
the message of a call with no real value only. Printing every call of a chain of depth n
prints everything inside it again, n²/2 calls in all (13 of the 21 ms of parsing
sigmoid nested 80 deep)."""

from __future__ import annotations

import pytest
import sympy.printing.str

from diffcheck.errors import ExpressionError
from diffcheck.symbolic.parse import parse_expression


def _printed(monkeypatch: pytest.MonkeyPatch, text: str) -> list[str]:
    """What SymPy printed while parsing `text`."""
    printed: list[str] = []
    sstr = sympy.printing.str.sstr

    def recording(expr: object, **settings: object) -> str:
        printed.append(sstr(expr, **settings))
        return printed[-1]

    monkeypatch.setattr(sympy.printing.str, "sstr", recording)
    try:
        parse_expression(text)
    finally:
        monkeypatch.undo()
    return printed


def test_parsing_a_chain_prints_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _printed(monkeypatch, "sigmoid(" * 20 + "x" + ")" * 20) == []
    assert _printed(monkeypatch, "where(x > 0, tanh(x), x*y) + atan2(y, x)") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [("x*sqrt(-1)", "<expression>:1:3: sqrt(-1) has no finite real value"),
     ("log(x, 1)", "<expression>:1:1: log(x, 1) is undefined: 1/log(1) has no finite real "
                   "value")],
)  # fmt: skip
def test_a_call_without_a_value_still_names_its_arguments(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        parse_expression(text)
    assert str(raised.value) == message
