"""Run stage: case files -> one `CaseResult` per case (derive, sample, compare, decide),
within a time limit per case, in this process or in worker processes. May import `explain`
and the stages below it, never `report`.
"""
