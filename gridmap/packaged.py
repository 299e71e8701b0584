"""Lists shipped with the package (``gridmap/data/*.yaml``), read one way.

Each is a versioned YAML file: the life-circle checklist, event categories, care tags, the
organisation catalogue, needs and points rules. A district may add its own entries to some of
them from a file of the same shape (see :mod:`gridmap.orgcatalogue`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gridmap.errors import InputError


def _load(text: str) -> Any:
    """Safe YAML, through libyaml when PyYAML was built with it (about 8× faster)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def packaged_yaml(name: str) -> Any:
    """The parsed content of ``gridmap/data/NAME``."""
    return _load((resources.files("gridmap") / "data" / name).read_text(encoding="utf-8"))


def district_yaml(path: Path) -> Any:
    """The parsed content of a district's own YAML file, or an InputError naming the file and
    what is wrong with it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        return _load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise InputError(f"{path}: is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
