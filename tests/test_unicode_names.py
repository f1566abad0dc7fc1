"""A name is the same name however Unicode spells it: ŷ typed as y and a combining hat
(as pasted from a PDF) is the ŷ of one character, in expressions and in YAML keys alike."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from diffcheck.cases.loader import load_case_file
from diffcheck.run.check import Settings, check_case

COMPOSED = "\u0177"  # ŷ, one character
DECOMPOSED = "y\u0302"  # y and a combining circumflex


def test_a_decomposed_name_is_the_composed_one(tmp_path: Path) -> None:
    assert unicodedata.normalize("NFC", DECOMPOSED) == COMPOSED
    path = tmp_path / "cases.yaml"
    path.write_text(
        "cases:\n"
        f"  - name: keys-decomposed\n    function: ({COMPOSED} - t)^2/2\n    wrt: [{DECOMPOSED}]\n"
        f"    gradient:\n      {DECOMPOSED}: {DECOMPOSED} - t\n"
        f"    domain: {{{DECOMPOSED}: [0, 1], t: 1}}\n    samples: 4\n"
        f"  - name: both-decomposed\n    function: ({DECOMPOSED} - t)^2/2\n"
        f"    gradient:\n      {DECOMPOSED}: 2*({DECOMPOSED} - t)\n"
        f"    domain: {{{DECOMPOSED}: [0, 1], t: 1}}\n    samples: 4\n    expect: incorrect\n",
        encoding="utf-8",
    )
    loaded = load_case_file(path)
    assert [str(error) for error in loaded.errors] == []
    for case in loaded.cases:
        assert case.variables == ("t", COMPOSED)
        assert check_case(case, Settings()).status == "pass"
    assert loaded.cases[0].wrt == (COMPOSED,)
