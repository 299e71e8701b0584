"""Shapefile field names back to the layer's columns. A DBF keeps at most 10 characters of a
name, so ``community_code`` arrives as ``community_`` (GDAL cuts it) or ``communit_1`` (GDAL
numbers a second cut to the same text), or as an abbreviation a person chose (``comm_code``,
``dist_code``, ``hh``).

A file field maps to a column when it is that column cut to 10 characters, cut and numbered,
a name of :data:`ABBREVIATIONS`, or, part by part between underscores, a shortening of it
(``comm_code`` → ``community_code``: ``comm`` begins ``community``, ``code`` is ``code``). A
field that could be more than one column is refused rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gridmap.errors import InputError, Problem
from gridmap.model import LayerSpec

DBF_NAME_LENGTH = 10
#: abbreviations that no rule finds: file field → column
ABBREVIATIONS = {"hh": "households", "hhs": "households", "pop": "residents", "res": "residents"}


def accepted_names(spec: LayerSpec) -> list[str]:
    """What a file of ``spec``'s layer may name a field: its columns, the code columns of its
    references, and ``id``."""
    codes = [r.code_column for r in spec.references if r.code_column]
    return list(dict.fromkeys([*spec.column_names, *codes, "id"]))


def _could_be(field: str, name: str) -> bool:
    if field == name[:DBF_NAME_LENGTH] and len(name) > DBF_NAME_LENGTH:
        return True
    numbered = re.fullmatch(r"(.+)_(\d+)", field)
    if numbered and len(name) > DBF_NAME_LENGTH and name.startswith(numbered.group(1)):
        return len(field) == DBF_NAME_LENGTH
    if ABBREVIATIONS.get(field) == name:
        return True
    parts, full = field.split("_"), name.split("_")
    return (
        len(parts) == len(full) > 1
        and all(p and f.startswith(p) for p, f in zip(parts, full, strict=True))
        and field != name
    )


def shapefile_field_map(
    columns: Iterable[str], spec: LayerSpec, *, file: str | None = None
) -> dict[str, str]:
    """File field → column for the fields of a Shapefile that name no column as they are.

    Raises InputError naming each field that could be several columns."""
    present = [str(c) for c in columns]
    accepted = accepted_names(spec)
    out: dict[str, str] = {}
    problems = []
    for field in present:
        lowered = field.lower()
        if field in accepted or field == "geometry":
            continue
        if lowered in accepted:  # DBF names are often in capitals
            if lowered not in present:
                out[field] = lowered
            continue
        candidates = [n for n in accepted if n not in present and _could_be(lowered, n)]
        if len(candidates) > 1:
            problems.append(Problem(
                f"field '{field}' could be any of {', '.join(candidates)} (Shapefile names are cut to "
                f"{DBF_NAME_LENGTH} characters); say which with --field-map {field}=COLUMN",
                file=file, field=field,
            ))  # fmt: skip
        elif candidates:
            out[field] = candidates[0]
    taken: dict[str, list[str]] = {}
    for field, column in out.items():
        taken.setdefault(column, []).append(field)
    for column, fields in taken.items():
        if len(fields) > 1:
            problems.append(Problem(
                f"fields {', '.join(fields)} could each be column '{column}'; say which with --field-map",
                file=file, field=fields[0],
            ))  # fmt: skip
    if problems:
        raise InputError(problems)
    return out
