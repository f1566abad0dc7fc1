"""diffcheck: tells whether a gradient is right.

Case files state functions and claimed gradients; diffcheck derives the gradient
symbolically, evaluates it against independent oracles and gives each case a verdict.
"""

from .api import GradientCheck, assert_gradient, check_gradient
from .cases import Case, CaseFile, load_case_file
from .chain import Derivation, explain_case, explain_expression
from .check import CaseResult, Settings, check_case, check_paths
from .errors import CaseFileError, DiffcheckError, ExpressionError, Location, RuleError
from .explain import Step, explain_steps
from .parse import parse_expression
from .rules import RULES
from .symbolic import derive_gradient, prove_equal

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
