"""diffcheck: tells whether a gradient is right.

Case files state functions and claimed gradients; diffcheck derives the gradient
symbolically, evaluates it against independent oracles and gives each case a verdict.
"""

from .api import GradientCheck, assert_gradient, check_gradient
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
