"""``gridmap map grids|coverage|gaps|siting|area``: composed maps from the stored layers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import folium
import pandas as pd
from sqlalchemy import Engine

from gridmap.coverage import CoverageParams, compute_coverage
from gridmap.errors import InputError
from gridmap.households import home_origins
from gridmap.store.inputs import load_inputs
from gridmap.store.layers import read_layer
from maps import compose

MAPS = ("grids", "coverage", "gaps", "siting", "area")
#: the stored layers the grid map and a grid leader's area map draw
GRID_LAYERS = (
    "grids",
    "communities",
    "compounds",
    "party_orgs",
    "assignments",
    "facilities",
    "roads",
    "buildings",
)
AREA_LAYERS = ("grids", "communities", "buildings", "assignments", "members", "facilities", "roads")


def _layers(engine: Engine, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """The stored layers, indexed by feature id as :func:`read_layer` gives them."""
    return {name: read_layer(engine, name) for name in names}


def build_map(
    kind: str,
    engine: Engine,
    *,
    coverage: CoverageParams,
    category: str | None = None,
    level: int = 15,
    grid: str | None = None,
    scenario: int | None = None,
    count: int = 3,
    basemap: str = "none",
    tianditu_key: str | None = None,
) -> folium.Map:
    """The ``kind`` map of the stored layers (coverage and proposals computed as needed)."""
    options = {"basemap": basemap, "tianditu_key": tianditu_key}
    if kind == "grids":
        return compose.grid_map(_layers(engine, GRID_LAYERS), **options)
    if kind == "area":
        if not grid:
            raise InputError("'map area' needs --grid CODE (the grid leader's grid)")
        return compose.area_map(_layers(engine, AREA_LAYERS), grid, **options)
    inputs = load_inputs(engine)
    options["counted"] = home_origins(inputs.buildings, inputs.compounds).said_zh()
    if kind == "coverage":
        if not category:
            raise InputError("'map coverage' needs --category C")
        params = replace(coverage, categories=(category,), levels=(level,), gaps=False)
        result = compute_coverage(inputs, params)
        return compose.coverage_map(
            result.homes, result.summary, category, level, facilities=inputs.facilities,
            circles=result.circles, roads=inputs.roads, **options,
        )  # fmt: skip
    if kind == "gaps":
        params = replace(
            coverage, categories=(category,) if category else None, levels=(level,), circles=False
        )
        result = compute_coverage(inputs, params)
        return compose.gap_map(
            result.gaps,
            facilities=inputs.facilities,
            roads=inputs.roads,
            buildings=inputs.buildings,
            **options,
        )
    if kind == "siting":
        return _siting(engine, inputs, coverage, category, level, scenario, count, options)
    raise InputError(f"unknown map '{kind}'; one of {', '.join(MAPS)}")


def _siting(engine, inputs, coverage, category, level, scenario, count, options) -> folium.Map:
    from gridmap.siting.proposal import SitingParams, propose_sites
    from gridmap.store.scenarios import read_scenario

    if scenario is not None:
        stored = read_scenario(engine, scenario)
        sites, newly, table = stored.sites, stored.site_homes, stored.coverage
        categories, levels = stored.categories, stored.levels
    else:
        if not category:
            raise InputError("'map siting' needs --category C or --scenario ID")
        # the walking of the installation, as coverage has it
        params = SitingParams(categories=(category,), levels=(level,), count=count, walking=coverage.walking)
        proposal = propose_sites(inputs, params)
        sites, newly, table = proposal.sites, proposal.site_homes, proposal.coverage
        categories, levels = [category], [level]
    params = replace(coverage, categories=tuple(categories), levels=tuple(levels), gaps=False, circles=False)
    result = compute_coverage(inputs, params)
    before = pd.Series(False, index=result.homes.index)
    for c in categories:
        for lv in levels:
            before |= pd.Series(result.covered(c, lv), index=result.homes.index)
    if "category_zh" not in table.columns:
        table = table.assign(category_zh=table["category"])
    return compose.siting_map(
        sites, result.homes, newly, table, covered_before=before, facilities=inputs.facilities,
        categories=list(categories), roads=inputs.roads, **options,
    )  # fmt: skip


def write_map(m: folium.Map, out: str | Path, *, offline: bool) -> Path:
    return compose.write_html(m, out, offline=offline)
