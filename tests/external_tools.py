"""Programs some tests need (pdflatex, pdftoppm, Graphviz's dot): skipped with a reason
when missing, unless DIFFCHECK_REQUIRE_LATEX is set (CI sets it), where missing fails."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE = "DIFFCHECK_REQUIRE_LATEX"


def require(*programs: str) -> None:
    """Skip (or, with DIFFCHECK_REQUIRE_LATEX set, fail) unless every program is found."""
    missing = [program for program in programs if shutil.which(program) is None]
    if not missing:
        return
    reason = (f"{', '.join(missing)} not installed (Debian: texlive-latex-base, "
              "texlive-latex-recommended, poppler-utils, graphviz)")  # fmt: skip
    if os.environ.get(REQUIRE):
        pytest.fail(f"{reason}, and {REQUIRE} is set")
    pytest.skip(reason)
