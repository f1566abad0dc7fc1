"""Report stage: results and derivations -> text, JSON, JUnit, GitHub annotations, LaTeX
documents, the progress bar and the example case file. The only stage that writes for
people; may import `run` and every stage below it.
"""
