"""Compare stage: claims and oracles against the reference at every point, the one closeness
test, the diagnosis of disagreeing oracles and the verdicts. May import `oracles`, `cases`,
`arrays`, `symbolic`, `limits` and `errors`.
"""

from .gradient import (
    FD_RTOL,
    FD_SAFETY,
    MAX_REFINED,
    ORACLES,
    Comparison,
    Discrepancy,
    VariableResult,
    compare_gradient,
    excess,
)

__all__ = [
    "FD_RTOL",
    "FD_SAFETY",
    "MAX_REFINED",
    "ORACLES",
    "Comparison",
    "Discrepancy",
    "VariableResult",
    "compare_gradient",
    "excess",
]
