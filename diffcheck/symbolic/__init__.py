"""Symbolic stage: the rule table (data), the expression grammar (no eval), derivatives,
proofs and printing. Takes expression text, gives SymPy trees and their closed-form partials.
May import `limits` and `errors` only.
"""
