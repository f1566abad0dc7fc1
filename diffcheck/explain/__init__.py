"""Explain stage: derivations for people -- rule-by-rule steps, chains through named
intermediates, the backprop relay at a point and the computational graph. Takes cases and
expressions; may import `compare` and the stages below it.
"""
