"""Array stage: vectors, matrices and tensors for case files of contract version 2.
Takes syntax trees and shapes, gives an IR with its reference derivative; imports only
symbolic and errors.

`build_array_expression` checks shapes and builds the IR (`ir`); `evaluate`/`evaluate_mp`
compute it; `vjp_expressions` is the reference derivative as IR; `check_point` finds kinks
and undefined entries; `oracles` checks the reference; `lower_to_sympy` writes small
arrays entry by entry for the scalar engine.
"""

from .build import build_array_expression
from .evaluate import evaluate, evaluate_mp
from .ir import (
    BroadcastTo,
    Call,
    Cofactor,
    Compare,
    Concatenate,
    Constant,
    Det,
    Einsum,
    Eye,
    Index,
    Inv,
    Node,
    OthersProduct,
    Reduce,
    Reshape,
    Scatter,
    Softmax,
    Solve,
    Variable,
    Where,
    nodes_in_order,
    show,
)
from .lowering import MAX_LOWERED_ENTRIES, entry_symbols, lower_to_sympy
from .oracles import (
    COMPLEX_STEP,
    DirectionalCheck,
    EntryEstimate,
    central_difference_entries,
    central_difference_jvp,
    check_directions,
    complex_step_jvp,
    supports_complex_step,
)
from .points import Flag, PointCheck, check_point
from .reverse import (
    MAX_JACOBIAN_ENTRIES,
    gradient_expressions,
    jacobian_values,
    vjp_expressions,
)

__all__ = [
    "COMPLEX_STEP",
    "MAX_JACOBIAN_ENTRIES",
    "MAX_LOWERED_ENTRIES",
    "BroadcastTo",
    "Call",
    "Cofactor",
    "Compare",
    "Concatenate",
    "Constant",
    "Det",
    "DirectionalCheck",
    "Einsum",
    "EntryEstimate",
    "Eye",
    "Flag",
    "Index",
    "Inv",
    "Node",
    "OthersProduct",
    "PointCheck",
    "Reduce",
    "Reshape",
    "Scatter",
    "Softmax",
    "Solve",
    "Variable",
    "Where",
    "build_array_expression",
    "central_difference_entries",
    "central_difference_jvp",
    "check_directions",
    "check_point",
    "complex_step_jvp",
    "entry_symbols",
    "evaluate",
    "evaluate_mp",
    "gradient_expressions",
    "jacobian_values",
    "lower_to_sympy",
    "nodes_in_order",
    "show",
    "supports_complex_step",
    "vjp_expressions",
]
