"""Build the demo district: real OpenStreetMap base layers with a seeded governance layer on top.

The base layers come from the extract in ``fixtures/osm/chengdu-central`` through the same
``import-osm`` reader users run. On top, a generator seeded by ``Settings.demo_seed`` draws
streets, communities and grids, fills compounds without mapped buildings, estimates
households, and adds party organisations, members, households, co-building units and leader
assignments. The same seed gives the same database.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, delete, insert

from gridmap.crs import STORAGE_CRS, metric_crs_for
from gridmap.demo import areas, grids, housing, partywork, people
from gridmap.demo.events import demo_care, demo_events
from gridmap.errors import InputError
from gridmap.geometry import containing_ids
from gridmap.io.osm import link_entrances, read_osm
from gridmap.model import LAYERS
from gridmap.settings import Settings
from gridmap.store.engine import write_transaction
from gridmap.store.layers import bump_version, insert_rows, record_audit
from gridmap.store.schema import init_db
from gridmap.store.tables import LAYER_TABLES, event_history

DEMO_AREA = "chengdu-central"
_STAGES = ("housing", "areas", "facilities", "organisation", "people", "assignments", "events", "care",
           "party_work")  # fmt: skip


def fixtures_dir() -> Path:
    """The folder of the demo extract: in a source checkout, else where a plain install put
    it (``share/gridmap/osm`` under the environment's prefix)."""
    checkout = Path(__file__).resolve().parents[2] / "fixtures" / "osm" / DEMO_AREA
    installed = Path(sys.prefix) / "share" / "gridmap" / "osm" / DEMO_AREA
    return checkout if checkout.exists() or not installed.exists() else installed


def _rng(seed: int, stage: str) -> np.random.Generator:
    """One independent stream per stage, so changing one stage leaves the others' draws."""
    return np.random.default_rng([seed, _STAGES.index(stage)])


@dataclass
class DemoData:
    """Every layer of the demo district, in EPSG:4326 (tables for the non-spatial ones)."""

    layers: dict[str, pd.DataFrame]
    #: the chains of states of the demo's events (rows of ``event_history``)
    event_history: pd.DataFrame | None = None

    def counts(self) -> dict[str, int]:
        """Features per layer, every layer named (0 for those the demo does not fill)."""
        return {name: len(self.layers[name]) if name in self.layers else 0 for name in LAYERS}


def _with_ids(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def generate(source: Path | None = None, *, seed: int, max_households: int = 500) -> DemoData:
    """Generate the demo district from the extract in ``source`` (default: the fixtures)."""
    source = source or fixtures_dir()
    osm_file = source / "osm_source.osm.gz"
    boundaries = source / "boundaries.gpkg"
    for path in (osm_file, boundaries):
        if not path.exists():
            raise InputError(f"the demo data is missing: {path} (a source checkout has it in fixtures/)")
    study_area = gpd.read_file(boundaries, layer="study_area")
    bbox = tuple(float(v) for v in study_area.total_bounds)
    osm = read_osm(osm_file, bbox=bbox)  # type: ignore[arg-type]
    metric = metric_crs_for(study_area)

    # housing: compounds, real and generated buildings, households
    rng = _rng(seed, "housing")
    compounds = _with_ids(housing.describe_compounds(osm.compounds, rng)).to_crs(metric)
    real = osm.buildings.to_crs(metric)
    real["compound_id"] = containing_ids(real.representative_point(), compounds)
    made = housing.generate_buildings(compounds, real, rng)
    buildings = pd.concat([real.assign(generated=False), made], ignore_index=True)
    buildings = _with_ids(housing.estimate_households(gpd.GeoDataFrame(buildings, crs=metric), rng))

    # areas: communities, streets, districts; grids
    rng = _rng(seed, "areas")
    pieces = gpd.read_file(boundaries, layer="admin_areas_in_study_area").to_crs(metric)
    pieces["name"] = pieces["name"].str.split(" ").str[0]  # "成华区 (Chenghua)" → "成华区"
    places = pd.concat(
        [
            gpd.read_file(boundaries, layer="place_points"),
            gpd.read_file(source / "residential.gpkg", layer="neighbourhood_points"),
        ]
    ).to_crs(metric)
    roads = osm.roads.to_crs(metric)
    drawn = areas.draw_communities(pieces, compounds, buildings, rng)
    districts, streets, communities = areas.name_and_code(drawn, roads, places, rng)
    districts, streets, communities = _with_ids(districts), _with_ids(streets), _with_ids(communities)
    streets["district_id"] = streets["district_code"].map(districts.set_index("code")["id"])
    communities["street_id"] = communities["street_code"].map(streets.set_index("code")["id"])
    compounds["community_id"] = containing_ids(compounds.representative_point(), communities)
    buildings["community_id"] = containing_ids(buildings.representative_point(), communities)
    grid_frame = _with_ids(grids.draw_grids(communities, buildings, compounds, max_households=max_households))
    comm_names = communities.set_index("id")["name"]
    grid_frame["name"] = [
        f"{comm_names[c]}第{int(code[-3:])}网格"
        for c, code in zip(grid_frame["community_id"], grid_frame["code"], strict=True)
    ]
    grid_frame["level"] = 1
    grid_frame["kind"] = "comprehensive"

    # facilities: OSM POIs plus generated party-mass service centres and stations
    rng = _rng(seed, "facilities")
    facilities = _facilities(osm.facilities.to_crs(metric), communities, compounds, buildings, roads, rng)

    # organisation and people
    rng = _rng(seed, "organisation")
    comp_names = compounds.set_index("id")["name"]
    buildings["label"] = [
        f"{comp_names.get(c, '')}{i}栋" if pd.notna(c) else (n if isinstance(n, str) else f"{i}号楼")
        for i, c, n in zip(buildings["id"], buildings["compound_id"], buildings["name"], strict=True)
    ]
    buildings["name"] = buildings["name"].where(buildings["name"].notna(), buildings["label"])
    orgs, branch_of, group_of = people.party_orgs(streets, communities, compounds, buildings, rng)
    compounds["branch_id"] = branch_of.reindex(compounds["id"]).to_numpy()
    buildings["party_group_id"] = group_of.reindex(buildings["id"]).to_numpy()
    pois = osm.pois.to_crs(metric)
    pois["community_id"] = containing_ids(pois.geometry, communities)
    units = people.coop_units(pois, rng)
    rng = _rng(seed, "people")
    members, households = people.members_and_households(
        buildings, compounds, orgs, branch_of, group_of, units, rng
    )
    rng = _rng(seed, "assignments")
    duties = people.assignments(grid_frame, buildings, compounds, orgs, members, rng)
    rng = _rng(seed, "events")
    events, event_steps = demo_events(grid_frame, buildings, communities, duties, rng)
    rng = _rng(seed, "care")
    households = (
        households.set_index(households["id"].to_numpy()) if "id" in households.columns else households
    )
    care_tags, visits = demo_care(households, rng)
    households["care_tags"] = care_tags.to_numpy()
    visits = _with_ids(visits)

    rng = _rng(seed, "party_work")
    orgs, grid_branch, branch_of = partywork.organisation(orgs, compounds, grid_frame, members, units, rng)
    grid_frame["branch_id"] = grid_branch.reindex(grid_frame["id"]).to_numpy()
    compounds["branch_id"] = branch_of.reindex(compounds["id"]).to_numpy()
    members, units = partywork.registrations(members, units, rng)
    duties = partywork.posts(duties, orgs, compounds, communities, rng)
    sponsorships = partywork.sponsorships(units, compounds, rng)
    grid_of_building = pd.Series(
        containing_ids(buildings.representative_point(), grid_frame[["id", "geometry"]]).to_numpy(),
        index=buildings["id"].to_numpy(),
    )
    needs, offers, points = partywork.needs_offers_points(
        households, buildings, members, units, grid_of_building, communities.set_index("id")["street_id"], rng
    )

    roads = _with_ids(osm.roads)
    entrances = _with_ids(osm.entrances)
    entrances["compound_id"] = link_entrances(entrances, compounds)
    layers = {
        "districts": districts,
        "streets": streets,
        "communities": communities,
        "grids": grid_frame,
        "compounds": compounds,
        "buildings": buildings,
        "facilities": facilities,
        "roads": roads,
        "entrances": entrances,
        "party_orgs": orgs,
        "members": members,
        "households": households,
        "assignments": duties,
        "coop_units": units,
        "events": events,
        "visits": visits,
        "sponsorships": sponsorships,
        "needs": needs,
        "offers": offers,
        "points": points,
    }
    out = {}
    for name, frame in layers.items():
        if isinstance(frame, gpd.GeoDataFrame):
            frame = _valid(frame.to_crs(STORAGE_CRS))
        out[name] = frame
    return DemoData(out, event_steps)


def _valid(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Polygons repaired where reprojection left them self-touching (a vertex landing on an
    edge), keeping their polygonal parts."""
    geoms = frame.geometry.values
    bad = ~shapely.is_valid(geoms)
    if not bad.any():
        return frame
    fixed = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    out = frame.copy()
    out.loc[bad, out.geometry.name] = fixed
    return out


def _facilities(
    osm_facilities: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """OSM facilities plus one party-mass service centre per community (on its street
    nearest the community's middle) and party stations in large compounds."""
    rows = []
    road_lines = roads.geometry.values
    tree = shapely.STRtree(road_lines)
    for name, geom in zip(communities["name"], communities.geometry, strict=True):
        middle = geom.representative_point()
        nearest = road_lines[tree.nearest(middle)]
        spot = nearest.interpolate(nearest.project(middle))
        if not geom.contains(spot):
            spot = middle
        categories = ["party_service_centre", "community_service", "admin_service", "culture"]
        if rng.random() < 0.5:
            categories.append("elderly_care")  # 日间照料中心 in the same building
        rows.append(
            {
                "name": f"{name}党群服务中心",
                "kind": "党群服务中心",
                "categories": ",".join(categories),
                "capacity": int(rng.integers(300, 1200)),
                "opening_hours": "Mo-Su 09:00-18:00",
                "source": "generated",
                "geometry": spot,
            }
        )
    hh = buildings.groupby("compound_id")["households"].sum()
    for comp_id, name, geom in zip(compounds["id"], compounds["name"], compounds.geometry, strict=True):
        if hh.get(comp_id, 0) >= 800 and rng.random() < 0.4:
            rows.append(
                {
                    "name": f"{name}党建驿站",
                    "kind": "党建驿站",
                    "categories": "party_service_centre",
                    "capacity": int(rng.integers(50, 200)),
                    "opening_hours": "Mo-Fr 09:00-17:30",
                    "source": "generated",
                    "geometry": geom.representative_point(),
                }
            )
    made = gpd.GeoDataFrame(rows, geometry="geometry", crs=communities.crs)
    facilities = _with_ids(
        gpd.GeoDataFrame(pd.concat([osm_facilities, made], ignore_index=True), crs=communities.crs)
    )
    facilities["community_id"] = containing_ids(facilities.geometry, communities)
    return facilities


def write_demo(engine: Engine, data: DemoData, *, user: str = "demo") -> None:
    """Replace every layer of the database with the demo data, in one transaction."""
    init_db(engine)
    with write_transaction(engine) as conn:
        for name in LAYERS:
            conn.execute(delete(LAYER_TABLES[name]))
        conn.execute(delete(event_history))
        for name in LAYERS:
            frame = data.layers.get(name)  # the demo has no events yet
            count = insert_rows(conn, name, frame) if frame is not None else 0
            record_audit(conn, user=user, action="demo build", layer=name, count=count)
            bump_version(conn, name)
        if data.event_history is not None and len(data.event_history):
            rows = (
                data.event_history.astype(object).where(data.event_history.notna(), None).to_dict("records")
            )
            conn.execute(insert(event_history), rows)


def build_demo(
    engine: Engine, settings: Settings, *, source: Path | None = None
) -> tuple[dict[str, int], float]:
    """Generate and write the demo district; returns the layer counts and the seconds taken."""
    started = time.perf_counter()
    data = generate(source, seed=settings.demo_seed, max_households=settings.grid_households_max)
    write_demo(engine, data)
    return data.counts(), time.perf_counter() - started
