"""Verdicts of every case file, normalised, so that a speed change can show it changed none.

Checks every case of `cases/` and of every case file under `tests/data/` (each case in
this process, as `diffcheck check --jobs 1` does) and writes one JSON line per case:
file, case, status, verdict, evidence, reasons and warnings, and per partial whether it
was proved, at how many points it was checked, at how many the claim and each oracle
fail, and the worst point (index) of the claim and of the counterexample. Timings are
left out: two runs of the same code give the same file byte for byte, so two versions of
the code can be compared with `diff`. A file that cannot be read is recorded as such.

Run: python benchmarks/verdicts.py OUTPUT [FOLDER ...]  (e.g. before.jsonl, then after.jsonl;
diff them); case files below each FOLDER are checked too (such as the suite that
benchmarks/suite.py generates, written out with its `generate`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from diffcheck.cases.loader import InvalidCase, load_case_file
from diffcheck.errors import DiffcheckError
from diffcheck.run.check import CASE_SUFFIXES, CaseResult, Settings, check_case

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("cases", "tests/data")


def case_files(extra: list[str]) -> list[Path]:
    folders = [ROOT / folder for folder in FOLDERS] + [Path(folder) for folder in extra]
    return sorted(
        path.resolve()
        for folder in folders
        for path in folder.rglob("*")
        if path.suffix in CASE_SUFFIXES and path.is_file()
    )


def _worst(discrepancy: Any, among: np.ndarray) -> int | None:
    return None if discrepancy is None else discrepancy.worst(among)


def _partial(result: Any) -> dict[str, Any]:
    claimed = result.claimed
    summary: dict[str, Any] = {
        "proved": result.proved,
        "checked": int(result.checked.sum()),
        "refined_claim_failing": None if claimed is None else int(claimed.failing.sum()),
        "claim_worst": _worst(claimed, result.checked),
        "claim_worst_failing": None if claimed is None else _worst(claimed, claimed.failing),
        "oracles_failing": {name: int(d.failing.sum()) for name, d in result.oracles.items()},
    }
    if result.implemented is not None:
        summary["implementation_failing"] = int(result.implemented.failing.sum())
    return summary


def _comparison(comparison: Any) -> dict[str, Any]:
    if comparison is None:
        return {}
    return {
        "usable": int(comparison.usable.sum()),
        "partials": {result.label: _partial(result) for result in comparison.results},
    }


def summarise(result: CaseResult, file: str) -> dict[str, Any]:
    verdict = result.verdict
    example = None if verdict is None else verdict.counterexample
    entry: dict[str, Any] = {
        "file": file,
        "case": result.name,
        "status": result.status,
        "error_kind": result.error_kind,
        "errors": [str(error) for error in result.errors],
        "verdict": None if verdict is None else verdict.verdict,
        "evidence": None if verdict is None else verdict.evidence,
        "reasons": [] if verdict is None else list(verdict.reasons),
        "warnings": [] if verdict is None else list(verdict.warnings),
        "counterexample": None if example is None else [example.variable, example.point],
        **_comparison(result.comparison),
    }
    for entry_order in result.second_order:
        entry.setdefault("hessian", {})[entry_order.label] = {
            "verdict": entry_order.verdict.verdict,
            **_comparison(entry_order.comparison),
        }
    return entry


def summaries(path: Path) -> list[dict[str, Any]]:
    file = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
    try:
        entries = load_case_file(str(path)).entries
    except DiffcheckError as error:
        return [{"file": file, "unreadable": str(error)}]
    lines = []
    for entry in entries:
        if isinstance(entry, InvalidCase):
            errors = [str(error) for error in entry.errors]
            lines.append({"file": file, "case": entry.name, "invalid": errors})
        else:
            lines.append(summarise(check_case(entry, Settings()), file))
    return lines


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/verdicts.py OUTPUT [FOLDER ...]")
    files = case_files(sys.argv[2:])
    count = 0
    with open(sys.argv[1], "w", encoding="utf-8") as output:
        for path in files:
            for line in summaries(path):
                output.write(json.dumps(line, sort_keys=True, default=str) + "\n")
                count += 1
    print(f"{count} entries from {len(files)} files written to {sys.argv[1]}")


if __name__ == "__main__":
    main()
