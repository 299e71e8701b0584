"""A committee's ledger of homes (台账): households (and residents) per community, compound or
building, read from a CSV or GIS file and spread over the stored buildings by floor area
(:func:`gridmap.households.spread_ledger`), in one transaction.

A ledger's rows name their unit by code or id (``community_code``, ``compound_id``,
``building_id``) or by name (``community``, ``compound``, with ``community_code`` beside a
compound's name where two compounds share it); Chinese headers (社区, 小区, 户数, 人口) are read
too. Every row that names no stored unit, or a unit twice, or gives no whole number of
households, is refused with its row as a spreadsheet counts it, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gridmap.crs import STORAGE_CRS, metric_crs_for
from gridmap.errors import InputError, Problem
from gridmap.geometry import containing_ids
from gridmap.households import LEDGER_UNITS, PLACEHOLDER_SOURCE, HouseholdParams, LedgerLine, spread_ledger
from gridmap.io.read import read_file
from gridmap.model import layer_spec
from gridmap.store.engine import write_transaction
from gridmap.store.layers import bump_version, insert_rows, lock_layer, read_layer, record_audit, update_rows

#: the headers a ledger may use for each thing it gives
HEADERS: Mapping[str, tuple[str, ...]] = {
    "households": ("households", "户数", "住户数", "hh"),
    "residents": ("residents", "人口", "人数", "常住人口", "population", "pop"),
    "community_code": ("community_code", "社区代码", "社区编码"),
    "community": ("community", "community_name", "社区", "社区名称"),
    "compound_id": ("compound_id",),
    "compound": ("compound", "compound_name", "小区", "小区名称"),
    "building_id": ("building_id", "楼栋编号"),
}
UNIT_LAYERS = {"building": "buildings", "compound": "compounds", "community": "communities"}
#: the most households (or residents) a ledger may give one unit: a building as the buildings
#: layer holds, a compound or a community ten times that (the largest are a few tens of thousands)
_BUILDING_MOST = int(layer_spec("buildings").column("households").maximum or 0)
UNIT_MOST = {"building": _BUILDING_MOST, "compound": 10 * _BUILDING_MOST, "community": 10 * _BUILDING_MOST}
#: the columns that can name a ledger's unit, by what its counts are of
UNIT_COLUMNS = {
    "building": ("building_id",),
    "compound": ("compound_id", "compound"),
    "community": ("community_code", "community"),
}


#: the side (m) of the building that holds a compound's count where none of its buildings is
#: drawn: a marker at the compound's point, not an outline
PLACEHOLDER_SIDE_M = 10.0


@dataclass
class LedgerReport:
    """What a ledger did: a line per unit, the buildings it changed (and, for compounds with
    no building drawn, added to hold their counts), its warnings."""

    by: str
    lines: list[LedgerLine] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    buildings_changed: int = 0
    buildings_added: int = 0
    warnings: list[Problem] = field(default_factory=list)
    dry_run: bool = False


def _headers(frame: pd.DataFrame) -> pd.DataFrame:
    renamed: dict[str, str] = {}
    for column in frame.columns:
        text = str(column).strip()
        for name, aliases in HEADERS.items():
            if text in aliases or text.lower() in aliases:
                renamed[column] = name
    return frame.rename(columns=renamed)


def _whole(value: Any) -> int | None:
    try:
        number = float(str(value).replace(",", "").strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() and number >= 0 else None


def _units(engine: Engine, by: str) -> pd.DataFrame:
    layer = UNIT_LAYERS[by]
    columns = {"community": ["code", "name"], "compound": ["name", "community_id"], "building": ["name"]}[by]
    return read_layer(engine, layer, columns=columns)


def _resolve(frame: pd.DataFrame, units: pd.DataFrame, by: str, engine: Engine, file: str) -> pd.DataFrame:
    """The ledger's rows as unit id, households, residents; InputError naming bad rows."""
    problems: list[Problem] = []

    def bad(message: str, row: int, column: str | None = None) -> None:
        problems.append(Problem(message, file=file, feature=row, field=column))

    if "households" not in frame.columns:
        raise InputError(
            f"the ledger has no households column (households or 户数); it has: "
            f"{', '.join(map(str, frame.columns))}",
            file=file,
        )
    if not any(c in frame.columns for c in UNIT_COLUMNS[by]):
        named = " or ".join(" or ".join(HEADERS[c]) for c in UNIT_COLUMNS[by])
        raise InputError(
            f"the ledger names no {by}: expected a column {named}; it has: {', '.join(map(str, frame.columns))}",
            file=file,
        )
    communities = read_layer(engine, "communities", columns=["code"]) if by == "compound" else None
    most = UNIT_MOST[by]
    rows: list[dict[str, Any]] = []
    seen: dict[int, int] = {}
    for i, record in enumerate(frame.to_dict("records")):
        unit = _unit_of(record, units, by, communities, lambda m, c=None, i=i: bad(m, i, c))
        households = _whole(record.get("households"))
        if households is None:
            bad(f"'{record.get('households')}' is not a whole number of households", i, "households")
        elif households > most:
            bad(f"{households:,} households in one {by}: expected at most {most:,}", i, "households")
            households = None
        residents = record.get("residents")
        if residents is not None and pd.notna(residents):
            residents = _whole(residents)
            if residents is None:
                bad(f"'{record.get('residents')}' is not a whole number of residents", i, "residents")
            elif residents > most:
                bad(f"{residents:,} residents in one {by}: expected at most {most:,}", i, "residents")
        if unit is None or households is None:
            continue
        if unit in seen:
            earlier = Problem("", file=file, feature=seen[unit]).place()
            bad(f"names the same {by} as {earlier}", i)
            continue
        seen[unit] = i
        rows.append({"unit": unit, "households": households, "residents": residents})
    if problems:
        raise InputError(problems)
    return pd.DataFrame(rows, columns=["unit", "households", "residents"])


def _unit_of(
    record: dict[str, Any], units: pd.DataFrame, by: str, communities: pd.DataFrame | None, bad: Any
) -> int | None:
    """The stored id of the unit a ledger row names (None, with the problem told, if none)."""
    ids = units["id"]
    if by == "building" or (by == "compound" and pd.notna(record.get("compound_id"))):
        column = f"{by}_id"
        value = _whole(record.get(column)) if column in record else None
        if value is None or value not in set(ids):
            bad(f"no {by} with id '{record.get(column)}'", column)
            return None
        return value
    if by == "community" and pd.notna(record.get("community_code")):
        code = str(record["community_code"]).strip()
        found = units.loc[units["code"] == code, "id"]
        if found.empty:
            bad(f"no community with code '{code}'", "community_code")
            return None
        return int(found.iloc[0])
    name = record.get(by)
    if name is None or pd.isna(name):
        bad(f"names no {by}: give {by}_{'code' if by == 'community' else 'id'} or its name ({by})")
        return None
    found = units[units["name"] == str(name).strip()]
    if (
        by == "compound"
        and len(found) > 1
        and communities is not None
        and pd.notna(record.get("community_code"))
    ):
        community = communities.loc[communities["code"] == str(record["community_code"]).strip(), "id"]
        found = found[found["community_id"].isin(community)]
    if len(found) != 1:
        more = " (add community_code to tell them apart)" if len(found) > 1 else ""
        bad(f"{len(found)} stored {by}s are named '{name}'{more}", by)
        return None
    return int(found["id"].iloc[0])


def _unit_of_buildings(conn: Connection, buildings: gpd.GeoDataFrame, by: str) -> pd.Series:
    """Each building's unit id: itself, its compound, or the community its point lies in."""
    if by == "building":
        return pd.Series(buildings["id"].to_numpy(), index=buildings.index)
    if by == "compound":
        return buildings["compound_id"]
    communities = read_layer(conn, "communities", columns=[])
    metric = metric_crs_for(buildings) if len(buildings) else None
    if metric is None or not len(communities):
        return pd.Series(pd.NA, index=buildings.index, dtype="Int64")
    points = buildings.to_crs(metric).representative_point()
    return containing_ids(points, communities.to_crs(metric))


def _placeholders(compounds: gpd.GeoDataFrame, ledger: pd.DataFrame, unit_of: pd.Series) -> gpd.GeoDataFrame:
    """A building for each compound the ledger counts that has no building at all, to hold its
    count where people are: a square of :data:`PLACEHOLDER_SIDE_M` at the compound's point
    (EPSG:4326), residential, marked ``generated``, named after the compound. Drawn buildings
    take the count over by their floor area (the placeholder has none)."""
    built = set(pd.to_numeric(unit_of, errors="coerce").dropna().astype(int))
    bare = compounds[compounds["id"].isin([int(u) for u in ledger["unit"] if int(u) not in built])]
    if not len(bare):
        return gpd.GeoDataFrame(geometry=[], crs=STORAGE_CRS)
    metric = metric_crs_for(bare)
    points = bare.to_crs(metric).geometry.representative_point()
    squares = gpd.GeoSeries(points.buffer(PLACEHOLDER_SIDE_M / 2, cap_style="square"), crs=metric).to_crs(
        STORAGE_CRS
    )
    names = [
        f"{n}（台账，楼栋未绘）" if isinstance(n, str) and n else "（台账，楼栋未绘）" for n in bare["name"]
    ]
    return gpd.GeoDataFrame(
        {"name": names, "use": "residential", "compound_id": bare["id"].astype(int).to_numpy(),
         "generated": True, "source": PLACEHOLDER_SOURCE},
        geometry=[shapely.MultiPolygon([g]) for g in squares], crs=STORAGE_CRS,
    )  # fmt: skip


def import_ledger(
    engine: Engine,
    path: str | Path,
    *,
    by: str,
    params: HouseholdParams | None = None,
    encoding: str | None = None,
    field_map: Mapping[str, str] | None = None,
    dry_run: bool = False,
    user: str = "cli",
) -> LedgerReport:
    """Spread the ledger at ``path`` (counts per ``by``: building, compound or community)
    over the stored buildings; ``dry_run`` reports and writes nothing."""
    if by not in LEDGER_UNITS:
        raise InputError(f"--by was '{by}'; expected one of: {', '.join(LEDGER_UNITS)}")
    file = str(path)
    frame = _headers(pd.DataFrame(read_file(path, field_map=field_map, encoding=encoding)))
    frame = frame.drop(columns=[c for c in ("geometry",) if c in frame.columns])
    units = _units(engine, by)
    ledger = _resolve(frame, units, by, engine, file)
    report = LedgerReport(by, dry_run=dry_run)
    label_column = "code" if by == "community" else "name"
    report.labels = {
        str(int(i)): f"{v or ''} (id {int(i)})".strip()
        for i, v in zip(units["id"], units[label_column], strict=True)
    }
    opened = engine.connect() if dry_run else write_transaction(engine)
    with opened as conn:
        lock_layer(conn, "buildings")
        buildings = read_layer(conn, "buildings")
        unit_of = _unit_of_buildings(conn, buildings, by)
        held = _placeholders(units, ledger, unit_of) if by == "compound" else None
        if held is not None and len(held):  # the counts of compounds with no building drawn
            report.buildings_added = len(held)
            if dry_run:  # counted in memory, under ids no stored building has
                top = int(buildings.index.max()) if len(buildings) else 0
                added = held.set_axis(range(top + 1, top + 1 + len(held)))
                buildings = gpd.GeoDataFrame(pd.concat([buildings, added]), crs=buildings.crs)
            else:
                insert_rows(conn, "buildings", held)
                buildings = read_layer(conn, "buildings")
            unit_of = _unit_of_buildings(conn, buildings, by)
        changed, report.lines = spread_ledger(buildings, unit_of, ledger, by, params or HouseholdParams())
        report.warnings = [
            Problem(f"{by} {report.labels.get(line.unit, line.unit)}: {line.note}; nothing spread there",
                    file=file, severity="warning")
            for line in report.lines if line.note
        ] + [
            Problem(f"{by} {report.labels.get(line.unit, line.unit)}: {line.doubt}", file=file, severity="warning")
            for line in report.lines if line.doubt
        ]  # fmt: skip
        report.buildings_changed = len(changed)
        if not dry_run and (len(changed) or report.buildings_added):
            rows = changed.assign(id=changed.index)
            update_rows(conn, "buildings", rows, ["households", "residents", "households_from", "estimated"])
            record_audit(
                conn, user=user, action="ledger", layer="buildings", count=len(changed),
                detail={"file": Path(path).name, "by": by, "units": len(ledger), "added": report.buildings_added},
            )  # fmt: skip
            bump_version(conn, "buildings")
    return report
