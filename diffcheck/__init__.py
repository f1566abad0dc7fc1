"""diffcheck: tells whether a gradient is right.

Case files state functions and claimed gradients; diffcheck derives the gradient
symbolically, evaluates it against independent oracles and gives each case a verdict.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# names are imported on first use (PEP 562): SymPy and NumPy alone take a third of a
# second, which `diffcheck --help` and `import diffcheck.errors` need not pay
if TYPE_CHECKING:
    from .api import ApiError, GradientCheck, assert_gradient, check_gradient
    from .cases.loader import Case, CaseFile, load_case_file
    from .errors import CaseFileError, DiffcheckError, ExpressionError, Location, RuleError
    from .explain.chain import Derivation, explain_case, explain_expression
    from .explain.steps import Step, explain_steps
    from .run.check import CaseResult, Settings, check_case, check_paths
    from .symbolic.derive import derive_gradient, prove_equal
    from .symbolic.parse import parse_expression
    from .symbolic.rules import RULES

__version__ = "0.1.0"

__all__ = [
    "RULES",
    "ApiError",
    "GradientCheck",
    "Case",
    "CaseFile",
    "CaseFileError",
    "CaseResult",
    "Derivation",
    "DiffcheckError",
    "ExpressionError",
    "Location",
    "RuleError",
    "Settings",
    "Step",
    "__version__",
    "assert_gradient",
    "check_case",
    "check_gradient",
    "check_paths",
    "derive_gradient",
    "explain_case",
    "explain_expression",
    "explain_steps",
    "load_case_file",
    "parse_expression",
    "prove_equal",
]

# public name -> the module defining it, relative to this package
_SOURCES = {
    "ApiError": ".api",
    "GradientCheck": ".api",
    "assert_gradient": ".api",
    "check_gradient": ".api",
    "Case": ".cases.loader",
    "CaseFile": ".cases.loader",
    "load_case_file": ".cases.loader",
    "CaseFileError": ".errors",
    "DiffcheckError": ".errors",
    "ExpressionError": ".errors",
    "Location": ".errors",
    "RuleError": ".errors",
    "Derivation": ".explain.chain",
    "explain_case": ".explain.chain",
    "explain_expression": ".explain.chain",
    "Step": ".explain.steps",
    "explain_steps": ".explain.steps",
    "CaseResult": ".run.check",
    "Settings": ".run.check",
    "check_case": ".run.check",
    "check_paths": ".run.check",
    "derive_gradient": ".symbolic.derive",
    "prove_equal": ".symbolic.derive",
    "parse_expression": ".symbolic.parse",
    "RULES": ".symbolic.rules",
}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(source, __name__), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
