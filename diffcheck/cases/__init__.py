"""Cases stage: YAML case files -> validated `Case` objects, every field with its location,
and the JSON Schema built from the same key tables. May import `arrays`, `symbolic`, `limits`
and `errors`.
"""
