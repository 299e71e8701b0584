"""The life-circle standards checklist, read from a versioned YAML file in the package.

:func:`load_checklist` returns the GB 50180-2018 levels (5, 10, 15 minutes) with the
categories each needs, and the "1+6" service functions. Figures recalled rather than verified
carry ``verified=False`` so that reports can say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gridmap.errors import InputError
from gridmap.model import ServiceCategory
from gridmap.packaged import district_yaml, packaged_yaml

CHECKLIST_FILE = "life_circle_checklist.yaml"


@dataclass(frozen=True)
class Item:
    """One facility a level needs: ``required`` is ▲, otherwise △; radius in metres."""

    category: str
    facility_zh: str
    required: bool
    radius_m: float | None
    radius_verified: bool
    verified: bool
    clause: str


@dataclass(frozen=True)
class Level:
    """A life-circle level: walking minutes, the standard's distance band (m), its items."""

    level: int
    name_zh: str
    minutes: float
    distance_m: tuple[float, float]
    distance_verified: bool
    population: tuple[int, int]
    source: str
    items: tuple[Item, ...]

    @property
    def categories(self) -> list[str]:
        return [i.category for i in self.items]

    @property
    def required(self) -> list[str]:
        return [i.category for i in self.items if i.required]

    def item(self, category: str) -> Item | None:
        return next((i for i in self.items if i.category == category), None)


@dataclass(frozen=True)
class ServiceFunction:
    """One of the "1+6" functions, met by a facility of any of its categories."""

    id: str
    name_zh: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Checklist:
    """The whole checklist: levels by number and the "1+6" service functions."""

    version: int
    standard: str
    levels: dict[int, Level]
    functions: tuple[ServiceFunction, ...]
    functions_level: int
    functions_name_zh: str
    functions_source: str

    def level(self, number: int) -> Level:
        try:
            return self.levels[number]
        except KeyError:
            known = ", ".join(str(n) for n in sorted(self.levels))
            raise InputError(f"life-circle level {number} is not in the checklist; it has {known}") from None


def _item(raw: dict[str, Any], where: str) -> Item:
    category = raw.get("category")
    if category not in set(ServiceCategory):
        raise InputError(f"{where}: category '{category}' is not a service category id")
    radius = raw.get("radius_m")
    return Item(
        category=category,
        facility_zh=str(raw.get("facility_zh", "")),
        required=bool(raw.get("required", False)),
        radius_m=float(radius) if radius is not None else None,
        radius_verified=bool(raw.get("radius_verified", False)),
        verified=bool(raw.get("verified", False)),
        clause=str(raw.get("clause", "")),
    )


def parse_checklist(data: dict[str, Any], name: str = CHECKLIST_FILE) -> Checklist:
    """Build a :class:`Checklist` from parsed YAML; ``name`` is used in error messages."""
    try:
        levels = {}
        for raw in data["levels"]:
            where = f"{name}: level {raw.get('level')}"
            levels[int(raw["level"])] = Level(
                level=int(raw["level"]),
                name_zh=str(raw["name_zh"]),
                minutes=float(raw["minutes"]),
                distance_m=(float(raw["distance_m"][0]), float(raw["distance_m"][1])),
                distance_verified=bool(raw.get("distance_verified", False)),
                population=(int(raw["population"][0]), int(raw["population"][1])),
                source=str(raw.get("source", "")),
                items=tuple(_item(i, where) for i in raw["items"]),
            )
        sf = data["service_functions"]
        functions = []
        for f in sf["functions"]:
            bad = [c for c in f["categories"] if c not in set(ServiceCategory)]
            if bad:
                raise InputError(f"{name}: service function '{f['id']}' names unknown categories {bad}")
            functions.append(ServiceFunction(str(f["id"]), str(f["name_zh"]), tuple(f["categories"])))
        return Checklist(
            version=int(data["version"]),
            standard=str(data["standard"]),
            levels=levels,
            functions=tuple(functions),
            functions_level=int(sf["level"]),
            functions_name_zh=str(sf["name_zh"]),
            functions_source=str(sf.get("source", "")),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InputError(f"{name}: malformed checklist ({type(exc).__name__}: {exc})") from exc


@cache
def _packaged() -> Checklist:
    return parse_checklist(packaged_yaml(CHECKLIST_FILE))


def load_checklist(path: str | Path | None = None) -> Checklist:
    """The packaged checklist, or the one in ``path`` (same YAML form)."""
    if path is None:
        return _packaged()
    path = Path(path)
    return parse_checklist(district_yaml(path), str(path))
