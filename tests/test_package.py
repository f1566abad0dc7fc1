"""The package's public names: every one in __all__ imports, from the module that
defines it, on first use (PEP 562), so `import diffcheck` alone stays light."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import diffcheck

INIT = Path(diffcheck.__file__)
PUBLIC = [name for name in diffcheck.__all__ if name != "__version__"]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_is_the_object_of_its_module(name: str) -> None:
    module = importlib.import_module(diffcheck._SOURCES[name], "diffcheck")
    assert getattr(diffcheck, name) is getattr(module, name)


def test_every_public_name_has_a_source_and_no_other() -> None:
    assert sorted(diffcheck._SOURCES) == sorted(PUBLIC)


def test_type_checking_imports_match_the_sources() -> None:
    # the imports type checkers read must name the same modules as the lazy table
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If))
    imported = {alias.name: "." * node.level + (node.module or "")
                for node in block.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}  # fmt: skip
    assert imported == diffcheck._SOURCES


def test_star_import_and_dir_give_every_public_name() -> None:
    probe = "from diffcheck import *\nprint(' '.join(sorted(dir())))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert set(diffcheck.__all__) <= set(done.stdout.split())
    assert set(diffcheck.__all__) <= set(dir(diffcheck))


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError) as error:
        diffcheck.check_gradients  # noqa: B018
    assert str(error.value) == "module 'diffcheck' has no attribute 'check_gradients'"


def test_import_is_light_until_a_name_is_used() -> None:
    probe = (
        "import sys, diffcheck\n"
        "print(diffcheck.__version__, 'sympy' in sys.modules, 'numpy' in sys.modules)\n"
        "from diffcheck import check_gradient\n"
        "print(check_gradient.__module__, 'sympy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert done.stdout == f"{diffcheck.__version__} False False\ndiffcheck.api True\n"
