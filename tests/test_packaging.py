"""A plain install has what the installed code imports: every package that gridmap, the
command line, the service and the maps import (at load time or inside a function) comes with
a runtime dependency of pyproject.toml, never only with the test extras."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = ("gridmap", "gridmap_cli", "api", "maps")


def _name(requirement: str) -> str:
    return re.split(r"[\s;\[<>=!~(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _runtime_closure() -> set[str]:
    """The runtime dependencies and everything they require in turn (as installed here)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo = [_name(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        todo += [_name(r) for r in requires if "extra ==" not in r]
    return seen


def _imported_top_names() -> dict[str, str]:
    """Top-level module names imported by the installed packages, with one file that does."""
    found: dict[str, str] = {}
    for package in INSTALLED:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_import_of_the_installed_code_is_a_runtime_dependency():
    closure = _runtime_closure()
    providers = md.packages_distributions()
    missing = []
    for name, where in sorted(_imported_top_names().items()):
        if name in sys.stdlib_module_names or name in INSTALLED or name == "__future__":
            continue
        dists = {d.lower().replace("_", "-") for d in providers.get(name, [])}
        if not dists & closure:
            missing.append(f"{name} (imported by {where}; from {', '.join(sorted(dists)) or 'nowhere'})")
    assert missing == [], "not installed by a plain `pip install .`: " + "; ".join(missing)
