"""Scaffolding: a commented example case file for a project that starts using diffcheck.

Main function: `write_example(folder)`, behind `diffcheck init [DIR]`: it writes
DIR/example.yaml and never overwrites a file. The example passes `diffcheck check`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DiffcheckError, Location

__all__ = ["EXAMPLE", "EXAMPLE_NAME", "write_example"]

EXAMPLE_NAME = "example.yaml"

EXAMPLE = """\
# A diffcheck case file: functions, the variables to differentiate, and the gradients
# you derived by hand. Check it with `diffcheck check cases/`, or with pytest and
# `--diffcheck`. Every key is listed in `diffcheck schema` (a JSON Schema for editors).
# Unknown keys are errors, so a typo such as `tolerence:` is never silently ignored.

defaults:                    # optional: merged into every case of this file
  samples: 64                # random points per case, drawn from `domain`
  seed: 0                    # same seed, same points, same report
  tolerance: {rtol: 1.0e-7, atol: 1.0e-12}   # close means |a - b| <= atol + rtol*|b|

cases:
  - name: sigmoid-closed-form                # required, unique in the file
    description: "σ'(x) = σ(x)(1 − σ(x))"    # optional, free text
    function: 1/(1 + exp(-x))                # required: the function to differentiate
    wrt: [x]                                 # optional: default every variable, sorted
    gradient:                                # optional: your claimed partial derivatives
      x: sigmoid(x)*(1 - sigmoid(x))
    domain:                                  # where random points are drawn
      x: [-30, 30]                           # [low, high], or one number: a fixed value
    points:                                  # optional: explicit points, checked too
      - {x: 0}
    expect: correct                          # correct (the default) or incorrect

  - name: neuron-squared-error
    where:                                   # named intermediates, in order: a chain
      z: w*x + b
      y: sigmoid(z)
    function: (y - t)^2 / 2                  # ^ and ** both mean power
    wrt: [w, b]
    gradient:                                # may use the names from `where`
      w: (y - t)*y*(1 - y)*x
      b: (y - t)*y*(1 - y)
    domain: {w: [-1, 1], b: [-1, 1], x: [-2, 2], t: 1}

  - name: a-known-mistake                    # a wrong claim, kept as a regression test:
    function: tanh(x)^2                      # the chain rule's inner factor is missing
    gradient:
      x: 2*tanh(x)
    domain:
      x: [-3, 3]
    expect: incorrect                        # passes because diffcheck finds it wrong
"""


def write_example(folder: str | Path) -> Path:
    """Write the example case file into `folder` (created if missing).

    Args:
        folder: where example.yaml goes.

    Returns:
        The path written.

    Raises:
        DiffcheckError: the file already exists, or the folder cannot be written.
    """
    target = Path(folder) / EXAMPLE_NAME
    where = Location(str(target), 1, 1)
    if target.exists():
        raise DiffcheckError("already exists; not overwritten (remove it or pick another DIR)",
                             where)  # fmt: skip
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as stream:  # "x": never clobber a file
            stream.write(EXAMPLE)
    except OSError as error:
        raise DiffcheckError(f"cannot write it: {error.strerror or error}", where) from error
    return target
