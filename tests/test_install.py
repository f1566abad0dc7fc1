"""How diffcheck is installed: the distribution's own name (the name diffcheck on PyPI is
an unrelated project), install lines that say it, and a pre-commit example that works as
written, with no placeholder to fill in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from diffcheck.oracles.external import INSTALL

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
DISTRIBUTION = "diffcheck-grad"


def _code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)


def test_the_distribution_has_its_own_name_and_keeps_the_command_and_plugin() -> None:
    assert re.search(r'^name = "([^"]+)"$', PYPROJECT, re.MULTILINE).group(1) == DISTRIBUTION
    assert 'diffcheck = "diffcheck.cli:main"' in PYPROJECT
    assert 'diffcheck = "diffcheck.pytest_plugin"' in PYPROJECT


def _install_targets() -> list[str]:
    """What every `pip install` in the README and in the code's hints installs."""
    lines = re.findall(r"pip install\s+((?:-e\s+)?'[^']+'|\S+)", README)
    lines += [re.search(r"pip install '([^']+)'", hint).group(1) for hint in INSTALL.values()]
    return [line.removeprefix("-e").strip().strip("'`") for line in lines]


def test_every_install_line_names_the_checkout_or_the_distribution() -> None:
    targets = _install_targets()
    assert targets
    extras = set(re.findall(r"^(\w+) = \[", PYPROJECT, re.MULTILINE))
    for target in targets:
        name, _, extra = target.partition("[")
        assert name in (".", DISTRIBUTION), target  # never the unrelated `diffcheck`
        assert not extra or extra.rstrip("]") in extras, target


def test_the_pre_commit_example_works_as_written() -> None:
    (block,) = [text for text in _code_blocks("yaml") if "hooks:" in text]
    assert not re.search(r"<[^>]*>|OWNER|your repo", block, re.IGNORECASE)
    (repo,) = yaml.safe_load(block)["repos"]
    assert repo["repo"] == "local"  # pre-commit needs no rev and no URL for it
    (hook,) = repo["hooks"]
    assert hook["id"] == "diffcheck" and hook["name"]
    assert (hook["entry"], hook["language"]) == ("diffcheck check", "system")
    assert re.search(hook["files"], "gradients/cases/sigmoid.yaml")
    assert not re.search(hook["files"], "gradients/config.yaml")


def test_the_shipped_hook_runs_the_command() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert (hook["id"], hook["entry"], hook["language"]) == (
        "diffcheck",
        "diffcheck check",
        "python",
    )
    assert re.search(hook["files"], "cases/sigmoid.yaml")


@pytest.mark.parametrize("language", ["yaml", "python"])
def test_readme_code_blocks_parse(language: str) -> None:
    blocks = _code_blocks(language)
    assert blocks
    for block in blocks:
        if language == "yaml":
            yaml.safe_load(block)
        else:
            compile(block, "README.md", "exec")
