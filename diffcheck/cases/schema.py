"""JSON Schema of case files, built from the loader's own key tables.

Main function: `case_file_schema()`; `render_schema()` gives the JSON text that
`diffcheck schema` prints. Editors with a YAML language server validate and complete
case files with it. The keys come from `cases` (CASE_KEYS, DEFAULT_KEYS, TOP_KEYS,
TOLERANCE_KEYS, EXPECTATIONS, DEFAULTS), so the schema and the loader cannot drift: a key
the loader accepts but this module has no shape for fails loudly when the schema is built.
"""

from __future__ import annotations

import json
from typing import Any

from ..arrays.domains import STRUCTURES
from .array_model import ARRAY_IMPLEMENTATION_KEYS
from .model import (
    CASE_KEYS,
    DEFAULT_KEYS,
    DEFAULTS,
    EXPECTATIONS,
    TOLERANCE_KEYS,
    TOLERANCE_PRESETS,
    TOP_KEYS,
)

__all__ = ["SCHEMA_DIALECT", "case_file_schema", "render_schema"]

# draft-07: the dialect YAML language servers support best
SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"

Schema = dict[str, Any]

# An expression is text in YAML, or a plain number (`2`, `0.5`) that YAML reads as one.
_EXPRESSION: Schema = {
    "type": ["string", "number"],
    "minLength": 1,
    "description": "An expression: numbers, variables, + - * / ** ^, parentheses and "
    "the functions of the rule table (exp, log, sigmoid, tanh, ...).",
}
_NUMBER: Schema = {
    "type": ["number", "string"],
    "minLength": 1,
    "description": "A number, or a constant expression such as -pi/2 or 1e-7.",
}
# a whole number >= 0, or constant text whose value is one ("1e3", "2**10")
_WHOLE_NUMBER: Schema = {
    "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "minLength": 1}]
}
_NAME_LIST: Schema = {"type": "array", "items": {"type": "string"}, "minItems": 1}
_MODULE_ATTRIBUTE: Schema = {
    "type": "string",
    "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$",
    "description": "A Python callable as 'module:attribute', e.g. 'mypackage.model:loss'.",
}


def _domain() -> Schema:
    interval = {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2,
                "description": "[low, high]: uniform random points on the interval."}  # fmt: skip
    structure = {"enum": list(STRUCTURES), "description": "For an array: a structure its "
                 "random points are drawn with."}  # fmt: skip
    value = {"anyOf": [dict(_NUMBER, description="A fixed value at every point."), interval,
                       structure]}  # fmt: skip
    return {
        "type": "object",
        "additionalProperties": value,
        "description": "Where random points are drawn, per variable: [low, high], a number, "
        "or for an array a structure (spd, symmetric, orthogonal, simplex, onehot).",
    }


def _array_shapes() -> dict[str, Schema]:
    """The keys of array cases (contract version 2)."""
    expressions = {"type": "object", "additionalProperties": _EXPRESSION}
    dimension = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}]}
    size = {"type": "integer", "minimum": 1}
    return {
        "shapes": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": dimension},
            "description": "Array variables and their shapes: whole numbers or names "
            "from dims (arithmetic such as 'd + n' too).",
        },
        "dims": {
            "type": "object",
            "additionalProperties": {
                "anyOf": [size, {"type": "array", "items": size, "minItems": 1}]
            },
            "description": "Sizes of named dimensions; a list checks every size.",
        },
        "jacobian": dict(
            expressions,
            description="Claimed Jacobians: the function's shape + the variable's shape.",
        ),
        "vjp": dict(
            expressions,
            description="Claimed vector-Jacobian products for the "
            "cotangent: what a backward pass returns.",
        ),
        "cotangent": {
            "type": "string",
            "minLength": 1,
            "description": "The name of the cotangent in vjp claims; default g.",
        },
    }


def _tolerance() -> Schema:
    bound = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "minLength": 1}]}
    presets = ", ".join(
        f"{name} (rtol {preset['rtol']:g}, atol {preset['atol']:g})"
        for name, preset in TOLERANCE_PRESETS.items()
    )
    # if/then rather than anyOf: an unknown key in the mapping is then reported as such
    return {
        "type": ["object", "string"],
        "properties": {
            key: dict(bound, description=f"Default {DEFAULTS[key]:g}.") for key in TOLERANCE_KEYS
        },
        "additionalProperties": False,
        "if": {"type": "string"},
        "then": {"enum": list(TOLERANCE_PRESETS)},
        "description": "Closeness: |claimed - reference| <= atol + rtol * |reference|. "
        f"{{rtol, atol}}, or a preset: {presets}.",
    }


def _shapes() -> dict[str, Schema]:
    """The shape of every key a case (or `defaults:`) may hold, by key."""
    expressions = {"type": "object", "additionalProperties": _EXPRESSION}
    return {
        "name": {"type": ["string", "number"], "minLength": 1,
                 "description": "Required, unique in the file."},
        "description": {"type": ["string", "number"], "description": "Free text."},
        "function": dict(_EXPRESSION, description="Required: the function to differentiate."),
        "where": dict(expressions, description="Named intermediates, defined in order."),
        "wrt": {"anyOf": [{"type": "string"}, dict(_NAME_LIST, uniqueItems=True)],
                "description": "The variables to differentiate by; default: every free "
                "variable, sorted."},
        "gradient": dict(expressions, description="The claimed partial derivatives, by "
                         "variable of wrt."),
        "domain": _domain(),
        "points": {"type": "array", "items": {"type": "object", "additionalProperties": {
                       "anyOf": [_NUMBER, {"type": "array"}]}},
                   "description": "Explicit points (variable: value, nested lists for an "
                   "array), checked too."},
        "samples": dict(_WHOLE_NUMBER, description=f"Random points per case; default "
                        f"{DEFAULTS['samples']}."),
        "seed": dict(_WHOLE_NUMBER, description=f"Seed of the random points; default "
                     f"{DEFAULTS['seed']}."),
        "tolerance": _tolerance(),
        "expect": {"enum": list(EXPECTATIONS), "description": "The verdict the case expects; "
                   f"default {EXPECTATIONS[0]}."},
        "implementation": {
            "type": "object",
            # the array keys are a superset of the scalar ones (vjp: array cases only)
            "properties": {key: _MODULE_ATTRIBUTE for key in ARRAY_IMPLEMENTATION_KEYS},
            "additionalProperties": False,
            "minProperties": 1,
            "description": "Python code to check against the case: its function and "
            "gradient, or (array cases) its vjp, a backward pass given the cotangent.",
        },
        **_array_shapes(),
        "hessian": {
            "type": "object",
            "propertyNames": {"pattern": r"^\s*[^,\s]+\s*,\s*[^,\s]+\s*$"},
            "additionalProperties": _EXPRESSION,
            "description": "Claimed second partial derivatives, keyed 'x,y'.",
        },
    }  # fmt: skip


def _object(keys: tuple[str, ...], shapes: dict[str, Schema], **extra: Any) -> Schema:
    missing = [key for key in keys if key not in shapes]
    if missing:  # the loader learnt a key the schema does not know: keep them in step
        raise KeyError(f"no schema shape for case file key(s): {', '.join(missing)}")
    return {"type": "object", "properties": {key: shapes[key] for key in keys},
            "additionalProperties": False, **extra}  # fmt: skip


def case_file_schema() -> Schema:
    """The JSON Schema (draft-07) of a case file.

    Returns:
        A fresh dict; every mapping the loader checks for unknown keys has
        `additionalProperties: false`.

    Raises:
        KeyError: a key of the loader's tables has no shape here.
    """
    shapes = _shapes()
    case = _object(CASE_KEYS, shapes, required=["name", "function"])
    defaults = _object(DEFAULT_KEYS, shapes,
                       description="Merged into every case of the file.")  # fmt: skip
    top = {
        "defaults": defaults,
        "cases": {"type": "array", "items": case, "minItems": 1,
                  "description": "The cases of the file, each checked on its own."},
    }  # fmt: skip
    schema = _object(TOP_KEYS, top, required=["cases"])
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "diffcheck case file",
        "description": "Functions, the variables to differentiate and the claimed gradients "
        "that diffcheck checks.",
        **schema,
    }


def render_schema() -> str:
    """The schema as indented JSON text, the same on every run."""
    return json.dumps(case_file_schema(), indent=2, ensure_ascii=False)
