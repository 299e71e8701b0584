"""Candidate sites for new stations, from several sources, with the rules that exclude some.

Sources (:data:`CANDIDATE_SOURCES`):

- ``given``: points or polygons a user names (vacant lots, idle public rooms); a polygon
  stands at its representative point;
- ``public_buildings``: buildings whose ``use`` is public (:data:`PUBLIC_USES`) or that hold a
  public facility (:data:`PUBLIC_CATEGORIES`);
- ``nodes``: walking-network junctions inside residential compounds, or inside the target
  grids when grids are named.

Rules: a candidate outside the district (the union of ``districts``, else ``streets``, else
``communities``), inside an excluded area (water, say), or nearer than the minimum spacing to
an existing station is dropped, and so is a second candidate at the same spot; each drop is
listed with its reason. All work is in the study area's metric CRS (metres).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike
from pyproj import CRS
from scipy.spatial import cKDTree

from gridmap.choices import CANDIDATE_SOURCES
from gridmap.coverage import facility_table
from gridmap.errors import InputError, Problem
from gridmap.network.graph import WalkingNetwork
from gridmap.study_area import StudyArea

PUBLIC_USES = frozenset(
    {"public", "civic", "government", "community_centre", "school", "kindergarten", "college",
     "university", "hospital", "library", "townhall", "office"}
)  # fmt: skip
PUBLIC_CATEGORIES = frozenset(
    {"party_service_centre", "community_service", "admin_service", "culture", "police", "post_bank"}
)
SAME_SPOT_M = 1.0
MAX_SPACING_M = 10_000.0  # between stations: beyond this no candidate of a district would remain
COMPOUND_EDGE_M = 20.0  # junctions this close to a compound count as inside it
CANDIDATE_COLUMNS = ["source", "source_id", "name"]


@dataclass(frozen=True)
class CandidateRules:
    """Which sources to use and what to exclude. Metres."""

    sources: tuple[str, ...] = CANDIDATE_SOURCES
    grids: tuple[str, ...] = ()  # grid codes: junction candidates only inside these grids
    min_spacing_m: float = 0.0  # between stations, new and existing
    compound_edge_m: float = COMPOUND_EDGE_M

    def check(self) -> None:
        unknown = [s for s in self.sources if s not in CANDIDATE_SOURCES]
        if unknown:
            raise InputError(
                f"unknown candidate sources {', '.join(unknown)}; known: {', '.join(CANDIDATE_SOURCES)}"
            )
        if not 0 <= self.min_spacing_m <= MAX_SPACING_M:  # NaN too
            raise InputError(
                f"the minimum spacing must be 0 to {MAX_SPACING_M:,.0f} metres, not {self.min_spacing_m:g}"
            )


def _frame(source: str, ids: ArrayLike, names: ArrayLike, points: ArrayLike) -> pd.DataFrame:
    """Candidates of one source: ``source``, ``source_id``, ``name`` and point ``geometry``."""
    return pd.DataFrame(
        {
            "source": source,
            "source_id": np.asarray(ids).astype(str).astype(object),
            "name": np.asarray(names, dtype=object),
            "geometry": np.asarray(points, dtype=object),
        }
    )


#: the geometries a file of candidate sites may hold, and one of areas where no station may go
SITE_GEOMETRIES = ("Point", "MultiPoint", "Polygon", "MultiPolygon")
AREA_GEOMETRIES = ("Polygon", "MultiPolygon")


def checked_places(
    frame: gpd.GeoDataFrame, what: str, kinds: tuple[str, ...], *, file: str | None = None
) -> gpd.GeoDataFrame:
    """``frame`` — ``what`` a user gave ("candidate sites", "excluded areas"), in any CRS — once
    every feature's geometry is there, of one of ``kinds`` (``shapely`` type names), and on the
    globe in EPSG:4326; InputError naming each feature that is not, as the file's user counts
    it."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise InputError(f"{what} need a geometry ({' or '.join(kinds)})", file=file)
    if frame.crs is None:
        raise InputError(f"{what} have no coordinate reference system", file=file)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    types = np.array([g.geom_type if g is not None else "" for g in geoms], dtype=object)
    present = geoms.copy()
    present[missing] = None  # an empty geometry has no bounds to transform
    bounds = gpd.GeoSeries(present, crs=frame.crs).to_crs("EPSG:4326").bounds.to_numpy()
    with np.errstate(invalid="ignore"):
        on_globe = (
            np.isfinite(bounds).all(axis=1)
            & (bounds[:, [0, 2]] >= -180).all(axis=1) & (bounds[:, [0, 2]] <= 180).all(axis=1)
            & (bounds[:, [1, 3]] >= -90).all(axis=1) & (bounds[:, [1, 3]] <= 90).all(axis=1)
        )  # fmt: skip
    problems = []
    for i in range(len(geoms)):
        if missing[i]:
            message = "geometry is missing or empty"
        elif types[i] not in kinds:
            message = f"geometry is {types[i]}; {what} are {' or '.join(kinds)}"
        elif not on_globe[i]:
            x, y = shapely.get_coordinates(geoms[i])[0]
            message = (
                f"coordinates ({x:.6g}, {y:.6g}) in {frame.crs.to_string()} fall outside lon −180…180 / "
                "lat −90…90: check the file's CRS"
            )
        else:
            continue
        problems.append(Problem(message, file=file, feature=i, field="geometry"))
    if problems:
        raise InputError(problems)
    return frame


def given_candidates(frame: gpd.GeoDataFrame, metric: CRS, *, file: str | None = None) -> pd.DataFrame:
    """User-given sites (points or polygons, any CRS) as candidate points in ``metric``."""
    geoms = checked_places(frame, "candidate sites", SITE_GEOMETRIES, file=file).geometry.values
    points = gpd.GeoSeries(geoms, crs=frame.crs).representative_point().to_crs(metric)
    ids = frame["id"] if "id" in frame.columns else pd.Series(np.arange(len(frame)))
    names = frame["name"].fillna("") if "name" in frame.columns else [""] * len(frame)
    return _frame("given", ids, names, points.values)


def public_building_candidates(area: StudyArea) -> pd.DataFrame:
    """Buildings with a public use or holding a public facility, at their representative point
    (in the area's metric CRS)."""
    buildings, facilities = area.inputs.buildings, area.inputs.facilities
    if buildings is None or len(buildings) == 0:
        return _frame("public_buildings", [], [], [])
    geoms = area.shapes("buildings")
    use = buildings["use"].to_numpy(dtype=object) if "use" in buildings.columns else np.zeros(0)
    public = np.isin(use, list(PUBLIC_USES)) if len(use) else np.zeros(len(geoms), dtype=bool)
    if facilities is not None and len(facilities):
        serving = np.unique(facility_table(facilities, PUBLIC_CATEGORIES)["pos"].to_numpy(dtype=np.int64))
        if len(serving):
            pts = area.shapes("facilities")[serving]
            public[np.unique(shapely.STRtree(geoms).query(pts, predicate="within")[1])] = True
    chosen = np.flatnonzero(public)
    names = (
        buildings["name"].to_numpy(dtype=object)[chosen]
        if "name" in buildings.columns
        else [""] * len(chosen)
    )
    return _frame(
        "public_buildings",
        np.asarray(buildings.index)[chosen],
        pd.Series(names, dtype=object).fillna(""),
        shapely.point_on_surface(geoms[chosen]),
    )


def node_candidates(
    network: WalkingNetwork | None,
    areas: pd.DataFrame | None,
    shapes: np.ndarray,
    edge_m: float = COMPOUND_EDGE_M,
) -> pd.DataFrame:
    """Network junctions inside (or within ``edge_m`` of) ``areas`` (compounds or target
    grids, their ``shapes`` in the network's CRS), named after the area they lie in."""
    if network is None or areas is None or len(areas) == 0 or network.node_count == 0:
        return _frame("nodes", [], [], [])
    if edge_m > 0:
        shapes = shapely.buffer(shapes, edge_m, quad_segs=2)
    points = shapely.points(network.node_xy)
    node_idx, area_idx = shapely.STRtree(shapes).query(points, predicate="intersects")
    node_idx, first = np.unique(node_idx, return_index=True)
    names = areas["name"].fillna("").astype(str).to_numpy() if "name" in areas.columns else None
    labels = names[area_idx[first]] if names is not None else [""] * len(node_idx)
    return _frame("nodes", node_idx, labels, points[node_idx])


def district_outline(layers: Sequence[np.ndarray]) -> shapely.Geometry | None:
    """The union of the first non-empty array of shapes among ``layers``, or None."""
    for shapes in layers:
        if len(shapes):
            return shapely.union_all(shapes)
    return None


def apply_rules(
    candidates: gpd.GeoDataFrame,
    *,
    outline: shapely.Geometry | None,
    exclude: gpd.GeoDataFrame | None,
    existing_xy: np.ndarray,
    min_spacing_m: float,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Drop candidates by rule: (kept candidates, dropped ones with a ``reason``); the first
    rule that drops a candidate gives its reason."""
    n = len(candidates)
    reason = np.full(n, "", dtype=object)
    free = np.ones(n, dtype=bool)

    def drop(mask: np.ndarray, why: str) -> None:
        hit = mask & free
        reason[hit] = why
        free[hit] = False

    xy = shapely.get_coordinates(candidates.geometry.values).reshape(-1, 2)
    if outline is not None and n:
        shapely.prepare(outline)
        drop(~shapely.contains_xy(outline, xy[:, 0], xy[:, 1]), "outside the district")
    if exclude is not None and len(exclude):
        shapes = exclude.geometry.to_crs(candidates.crs).values
        hit = np.unique(shapely.STRtree(shapes).query(candidates.geometry.values, predicate="intersects")[0])
        drop(np.isin(np.arange(n), hit), "in an excluded area")
    if min_spacing_m > 0 and len(existing_xy) and n:
        d, _ = cKDTree(existing_xy).query(xy, distance_upper_bound=min_spacing_m)
        drop(np.isfinite(d), f"within {min_spacing_m:g} m of an existing station")
    if n:
        pairs = cKDTree(xy).query_pairs(SAME_SPOT_M, output_type="ndarray")
        pairs = pairs[free[pairs[:, 0]] & free[pairs[:, 1]]]
        drop(np.isin(np.arange(n), pairs.max(axis=1) if len(pairs) else []), "same spot as another candidate")
    dropped = pd.DataFrame(candidates[CANDIDATE_COLUMNS].to_numpy()[~free], columns=CANDIDATE_COLUMNS)
    dropped["reason"] = pd.Series(reason[~free], dtype=object)
    return candidates[free].reset_index(drop=True), dropped


def spacing_pairs(candidates: gpd.GeoDataFrame, min_spacing_m: float) -> np.ndarray:
    """Candidate pairs (m × 2) closer than ``min_spacing_m`` straight-line metres."""
    if min_spacing_m <= 0 or len(candidates) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    xy = shapely.get_coordinates(candidates.geometry.values).reshape(-1, 2)
    pairs: np.ndarray = cKDTree(xy).query_pairs(min_spacing_m, output_type="ndarray")
    return pairs.astype(np.int64)
