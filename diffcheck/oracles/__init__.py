"""Oracles stage: independent ways to compute a gradient, behind one protocol (`Problem` ->
`Estimate`): the exact reference, reverse mode, finite differences, PyTorch and JAX, and
users' own code. May import `cases`, `arrays`, `symbolic`, `limits` and `errors`.
"""

from .problem import Estimate, Oracle, Problem

__all__ = ["Estimate", "Oracle", "Problem"]
