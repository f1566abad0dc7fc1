"""Report stage, the handout as files: entries -> a .tex (with its figures) or a PDF.

`latex_files` gives the LaTeX and, with figures, one picture per scalar case with a
claim (`plot.plot_case`); `write_handout` writes them beside a .tex, or runs pdflatex
twice in a scratch folder for a .pdf. Main function: `write_handout`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..cases.model import Case
from ..errors import DiffcheckError
from .document import Entry, latex_document
from .output import write_output

__all__ = ["PDFLATEX_RUNS", "compile_pdf", "write_handout"]

PDFLATEX_RUNS = 2  # the second run settles what the first laid out (page breaks, refs)
INSTALL_LATEX = "apt-get install texlive-latex-base texlive-latex-recommended"


def _figure_name(entry: Entry) -> str:
    stem = Path(entry.file).stem
    return re.sub(r"[^A-Za-z0-9-]+", "-", f"{stem}-{entry.name}").strip("-") + ".pdf"


def draw_figures(entries: Sequence[Entry], folder: Path) -> dict[tuple[str, str], str]:
    """A picture per scalar case with a claim, into `folder`: (file, case) -> its name."""
    from .plot import plot_case

    folder.mkdir(parents=True, exist_ok=True)
    figures: dict[tuple[str, str], str] = {}
    for entry in entries:
        case = entry.result.case if entry.result is not None else None
        if not isinstance(case, Case) or not case.gradient or entry.name is None:
            continue
        name = _figure_name(entry)
        try:
            plot_case(case, folder / name, next(iter(case.gradient)))
        except DiffcheckError:  # a claim without an interval to sweep: no picture
            continue
        figures[(entry.file, entry.name)] = name
    return figures


def compile_pdf(tex: str, folder: Path) -> bytes:
    """pdflatex `tex` in `folder` (beside its figures) and give the PDF.

    Raises:
        DiffcheckError: pdflatex is missing, or stopped on an error (its first line).
    """
    if shutil.which("pdflatex") is None:
        raise DiffcheckError(f"writing a PDF needs pdflatex ({INSTALL_LATEX}); "
                             "write a .tex file instead")  # fmt: skip
    (folder / "handout.tex").write_text(tex, encoding="utf-8")
    command = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "handout.tex"]
    for _ in range(PDFLATEX_RUNS):
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                              errors="replace", check=False)  # fmt: skip
        if done.returncode != 0:
            log = (folder / "handout.log").read_text(encoding="utf-8", errors="replace")
            errors = [line for line in log.splitlines() if line.startswith("!")]
            raise DiffcheckError(f"pdflatex failed: {errors[0] if errors else 'no PDF'}")
    return (folder / "handout.pdf").read_bytes()


def write_handout(
    entries: Sequence[Entry], output: str | Path, fragment: bool = False, figures: bool = False
) -> list[str]:
    """Write the handout to `output`: FILE.pdf is compiled, anything else is LaTeX (its
    figures in FILE-figures/ beside it).

    Returns:
        The files written, the output last.
    """
    path = Path(output)
    if path.suffix.lower() == ".pdf":
        with tempfile.TemporaryDirectory(prefix="diffcheck-latex-") as scratch:
            folder = Path(scratch)
            shown = draw_figures(entries, folder) if figures else {}
            write_output(path, compile_pdf(latex_document(entries, fragment, shown), folder))
        return [str(path)]
    written: list[str] = []
    shown = {}
    if figures:
        folder = path.with_name(path.stem + "-figures")
        shown = {key: f"{folder.name}/{name}" for key, name in
                 draw_figures(entries, folder).items()}  # fmt: skip
        written += [str(path.parent / name) for name in shown.values()]
    write_output(path, latex_document(entries, fragment, shown))
    return [*written, str(path)]
