"""Load an OpenStreetMap extract into the base layers, as a merge over the area it covers.

An import stands for one area (its ``--bbox``, else the extent of what the extract holds)
and one source name (``osm`` unless given). It replaces only what an earlier import of that
source brought into that area: features elsewhere — a second city in the same database —
and features of other sources stay. Features are matched by their OSM id and updated in
place, so their ids and everything pointing at them stay; values set on a building by hand
or from a ledger (households, residents, levels) are kept; the street network of the area is
replaced whole (nothing refers to road segments). Buildings get households estimated from
footprint × levels (:mod:`gridmap.households`). Like a file import, a removal that would
leave links pointing at nothing is refused unless ``orphans`` is ``unlink``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gridmap.crs import STORAGE_CRS
from gridmap.errors import InputError
from gridmap.geometry import containing_ids
from gridmap.households import HouseholdParams
from gridmap.io.merge import MergePlan, apply_plan, check_orphans, plan_merge, with_homes
from gridmap.io.osm import BBox, OsmLayers, link_entrances, read_osm
from gridmap.model import layer_spec
from gridmap.store.engine import write_transaction
from gridmap.store.layers import lock_layer, read_layer

#: the layers an OSM import writes, in the order it writes them (compounds before what links to them)
OSM_LAYERS = ("roads", "compounds", "buildings", "facilities", "entrances")
#: the farthest the walking network may reach beyond the box (m): a district's own walks are
#: within a few kilometres
MAX_NETWORK_BUFFER_M = 20_000.0
OSM_KEY = ("osm_id",)
ROAD_KEY = ("osm_way_id", "u", "v")
DEFAULT_SOURCE = "osm"
EDGE_DEG = 1e-6  # about 0.1 m


@dataclass
class OsmImportReport:
    """What an OSM import did per layer, over which area."""

    area: shapely.Geometry
    source: str
    plans: dict[str, MergePlan] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def counts(self) -> dict[str, int]:
        """Features of each layer that the import brought (added, updated or unchanged)."""
        return {name: p.counts["added"] + p.counts["updated"] + p.unchanged for name, p in self.plans.items()}


def import_area(layers: OsmLayers, bbox: BBox | None) -> shapely.Geometry:
    """The area an import stands for (EPSG:4326): ``bbox``, else the extent of what it read."""
    if bbox is not None:
        return shapely.box(*bbox)
    frames = [layers.buildings, layers.compounds, layers.facilities, layers.entrances]
    bounds = [f.total_bounds for f in frames if len(f)]
    if not bounds:
        return shapely.box(*layers.roads.total_bounds) if len(layers.roads) else shapely.Polygon()
    return shapely.box(
        min(b[0] for b in bounds),
        min(b[1] for b in bounds),
        max(b[2] for b in bounds),
        max(b[3] for b in bounds),
    )


def _stored_here(conn: Connection, layer: str, source: str, area: shapely.Geometry) -> gpd.GeoDataFrame:
    """What an earlier import of ``source`` brought into ``area`` (a point of each feature inside)."""
    stored = read_layer(conn, layer, where={"source": source})
    if not len(stored):
        return stored
    inside = shapely.contains_xy(
        area, *shapely.get_coordinates(stored.geometry.representative_point().values).T
    )
    return stored[inside]


def _unique(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """One row per key (an extract may hold a feature twice, say as a way and a relation)."""
    return frame[~frame.duplicated(subset=list(key), keep="first")].reset_index(drop=True)


def import_osm(
    engine: Engine,
    path: str | Path,
    *,
    bbox: BBox | None = None,
    network_buffer_m: float = 500.0,
    source: str = DEFAULT_SOURCE,
    orphans: str = "refuse",
    households: HouseholdParams | None = None,
    dry_run: bool = False,
    user: str = "cli",
) -> OsmImportReport:
    """Merge the extract at ``path`` into the base layers in one transaction (see the module
    docstring); ``dry_run`` plans and writes nothing. InputError for a name of the import
    that is empty or too long, a network buffer outside 0 to :data:`MAX_NETWORK_BUFFER_M`,
    and a box the extract holds nothing in."""
    source = source.strip()
    limit = layer_spec("roads").column("source").max_length
    if not source or len(source) > limit or not source.isprintable():
        raise InputError(f"--source {source!r}: expected a name of 1 to {limit} characters (default: osm)")
    if not 0 <= network_buffer_m <= MAX_NETWORK_BUFFER_M:  # NaN too
        raise InputError(
            f"--network-buffer {network_buffer_m:g}: expected 0 to {MAX_NETWORK_BUFFER_M:,.0f} metres"
        )
    layers = read_osm(path, bbox=bbox, network_buffer_m=network_buffer_m)
    if bbox is not None and all(len(getattr(layers, name)) == 0 for name in OSM_LAYERS):
        raise InputError(
            f"the extract holds no roads, buildings, compounds, facilities or entrances in --bbox "
            f"{','.join(f'{v:g}' for v in bbox)}; nothing was imported",
            file=str(path),
        )
    area = import_area(layers, bbox)
    # the network reaches beyond the area; its box grown by a hair, for the vertices on its edge
    road_area = (
        shapely.box(*layers.roads.total_bounds).buffer(EDGE_DEG).union(area) if len(layers.roads) else area
    )
    report = OsmImportReport(area, source, dry_run=dry_run)
    detail = {"file": Path(path).name, "bbox": bbox, "source": source}
    opened = engine.connect() if dry_run else write_transaction(engine)
    with opened as conn:
        for name in OSM_LAYERS:
            lock_layer(conn, name)
        compounds = gpd.GeoDataFrame({"id": []}, geometry=[], crs=STORAGE_CRS)  # read after their own step
        for name in OSM_LAYERS:
            frame = getattr(layers, name).copy()
            frame["source"] = source
            here = road_area if name == "roads" else area
            stored = _stored_here(conn, name, source, here)
            if name == "buildings":
                frame["compound_id"] = containing_ids(frame.representative_point(), compounds)
            if name == "entrances":
                frame["compound_id"] = link_entrances(frame, compounds)
            plan = _plan(stored, frame, name, households or HouseholdParams())
            check_orphans(conn, plan, stored, orphans)
            report.plans[name] = plan
            if not dry_run and plan.changes_anything:
                apply_plan(conn, plan, user=user, detail=detail, action="import-osm")
            if name == "compounds":  # as written: what buildings and entrances link to
                compounds = _stored_here(conn, "compounds", source, area)
    return report


def _plan(
    stored: gpd.GeoDataFrame, frame: gpd.GeoDataFrame, name: str, households: HouseholdParams
) -> MergePlan:
    spec = layer_spec(name)
    if name == "roads":  # split at junctions: one segment per way and pair of nodes
        return plan_merge(stored, _unique(frame, ROAD_KEY), spec, replace=True, key=ROAD_KEY)
    frame = _unique(frame, OSM_KEY)
    prepare = None
    if name == "buildings":
        height = frame.pop("height") if "height" in frame.columns else None
        prepare = with_homes(households, height)
    plan = plan_merge(stored, frame, spec, replace=True, key=OSM_KEY, prepare=prepare)
    plan.other_sources = {}
    return plan
