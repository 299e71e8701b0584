"""The floors of the house hold: import-linter checks the contracts in pyproject.toml
(layers, what the library and its analysis may not import, no cycles)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold():
    command = Path(sys.executable).with_name("lint-imports")
    program = str(command) if command.exists() else shutil.which("lint-imports")
    run = subprocess.run([program, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout
