"""Report stage for `derive` on array cases: an `ArrayDerivation` -> text and JSON (and
Markdown, through `matrix_markdown`).

The text gives the function and its intermediates, the δ recursion when asked (one line a
step: the expression, its shape, the rule, its norm at the point), then each variable's
derivative in matrix notation with whether `check` verified it as a claim.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..explain.backprop import DeltaStep
from ..run.array_derive import ArrayDerivation
from .lines import format_number
from .matrix_markdown import render_array_markdown

__all__ = ["JSON_VERSION", "render_array_derivation", "render_array_json", "render_array_text"]

JSON_VERSION = 1


def render_array_derivation(derivation: ArrayDerivation, output_format: str) -> str:
    """`text`, `json`, or `markdown` (LaTeX in $$...$$)."""
    if output_format == "json":
        return render_array_json(derivation)
    if output_format == "markdown":
        return render_array_markdown(derivation)
    return render_array_text(derivation)


def _is_gradient(derivation: ArrayDerivation) -> bool:
    return derivation.output == "L"


def _whole(derivation: ArrayDerivation, name: str) -> str:
    """∂L/∂W for a gradient, vjp W for an array-valued function."""
    return f"∂L/∂{name}" if _is_gradient(derivation) else f"vjp {name}"


def _step_lhs(derivation: ArrayDerivation, step: DeltaStep) -> str:
    if step.variable:
        return _whole(derivation, step.target)
    if step.direct and _is_gradient(derivation):
        return f"δ_{step.target} = ∂L/∂{step.target}"
    return f"δ_{step.target}"


def _step_text(derivation: ArrayDerivation, step: DeltaStep) -> str:
    label = _step_lhs(derivation, step)
    body = step.text if step.text is not None else f"? ({step.problem})"
    line = f"  {label} = {body}   {step.shape}   ({'; '.join(step.rules)})"
    if derivation.norms is not None:
        name = _whole(derivation, step.target) if step.variable else step.label
        line += f"   ‖{name}‖ = {format_number(derivation.norms[step.label])}"
    return line


def _steps_text(derivation: ArrayDerivation) -> list[str]:
    chain = derivation.chain
    if chain is None:
        return []
    if _is_gradient(derivation):
        head = "backpropagation, from L back: δ_u = ∂L/∂u"
    else:
        head = f"backpropagation, from f back: δ_u = the VJP for u with cotangent " \
               f"{derivation.case.cotangent}"  # fmt: skip
    if derivation.norms is not None:
        head += f"; norms at {derivation.point_source}"
    return ["", head + ":", *(_step_text(derivation, step) for step in chain.steps)]


def render_array_text(derivation: ArrayDerivation) -> str:
    """The function, the δ recursion (if computed), then `∂L/∂W = ...  (verified)`."""
    case = derivation.case
    lines = [f"{derivation.output} = {case.function.text}"]
    if case.where:
        lines.append("where")
        lines.extend(f"  {name} = {text.text}" for name, text in case.where)
    lines.extend(_steps_text(derivation))
    lines.append("")
    notes: list[str] = []
    for name, derivative in derivation.derivatives.items():
        check = derivation.verifications[name]
        status = "verified" if check.verified else f"not verified: {check.message}"
        text = derivative.text if derivative.text is not None else "?"
        lines.append(f"{_whole(derivation, name)} = {text}  ({status})")
        notes.extend(note for note in derivative.notes if note not in notes)
    lines.extend(f"  note: {note}" for note in notes)
    return "\n".join(lines)


def _number(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else value


def _step_json(derivation: ArrayDerivation, step: DeltaStep) -> dict[str, Any]:
    norm = None if derivation.norms is None else _number(derivation.norms[step.label])
    return {"target": step.target, "variable": step.variable,
            "label": _whole(derivation, step.target) if step.variable else step.label,
            "expression": step.text, "problem": step.problem, "shape": step.shape,
            "rules": list(step.rules), "direct": step.direct, "norm": norm}  # fmt: skip


def render_array_json(derivation: ArrayDerivation) -> str:
    """The derivation as data: a `derivative` text and `verified` per variable, the
    steps (when computed) and the point they were evaluated at."""
    case = derivation.case
    gradient = _is_gradient(derivation)
    document: dict[str, Any] = {
        "version": JSON_VERSION, "file": case.file, "case": case.name,
        "output": derivation.output, "kind": "gradient" if gradient else "vjp",
        "cotangent": None if gradient else case.cotangent,
        "function": case.function.text,
        "intermediates": [{"name": name, "expression": text.text} for name, text in case.where],
    }  # fmt: skip
    document["variables"] = {
        name: {"derivative": d.text, "verified": derivation.verifications[name].verified,
               "message": derivation.verifications[name].message, "notes": list(d.notes)}
        for name, d in derivation.derivatives.items()
    }  # fmt: skip
    chain = derivation.chain
    document["steps"] = None if chain is None else [_step_json(derivation, s) for s in chain.steps]
    document["point"] = None
    if derivation.point is not None:
        values = {name: np.asarray(value).tolist() for name, value in derivation.point.items()}
        document["point"] = {"source": derivation.point_source, "values": values}
    return json.dumps(document, indent=2, ensure_ascii=False)
