"""The library's types hold: mypy checks gridmap/ as pyproject.toml's [tool.mypy] says, strictly
on the ground floor and the analysis modules, and that strict list is the import contract's."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _floor(index: int) -> set[str]:
    """The modules of one layer of the floors contract, counted from the ground floor (0)."""
    floors = CONFIG["tool"]["importlinter"]["contracts"][0]["layers"]
    return {m.strip() for m in floors[-1 - index].split(":")}


def test_the_strict_modules_are_the_ground_floor_and_the_analysis():
    strict = next(o for o in CONFIG["tool"]["mypy"]["overrides"] if o.get("disallow_untyped_defs"))
    named = {m.removesuffix(".*") for m in strict["module"]}
    assert named == _floor(0) | _floor(1)
    packages = {m.removesuffix(".*") for m in strict["module"] if m.endswith(".*")}
    assert packages == {m for m in named if (ROOT / m.replace(".", "/")).is_dir()}


def test_mypy_passes():
    command = Path(sys.executable).with_name("mypy")
    program = str(command) if command.exists() else shutil.which("mypy")
    assert program, "mypy is a test dependency: pip install -e '.[test]'"
    run = subprocess.run([program], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Success" in run.stdout
