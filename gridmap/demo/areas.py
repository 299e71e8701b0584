"""Streets and communities of the demo district, drawn over the real compounds.

The extract has district pieces but no street (街道) or community (社区) boundaries. Community
seeds are clusters of households (k-means, seeded) plus filler seeds where nobody lives;
communities are their Voronoi cells inside each district piece, adjusted so that every
compound lies wholly in the community of its representative point. Streets group neighbouring
communities of one district; districts are the union of their streets, so the tree nests
exactly. All geometry here is in the metric CRS of the caller.
"""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.cluster.vq import kmeans2

from gridmap.geometry import containing_ids
from gridmap.gridcode import community_code, reading_order, street_code

HOUSEHOLDS_PER_COMMUNITY = 3500
FILLER_SPACING_M = 1400.0
COMMUNITIES_PER_STREET = 6

# GB/T 2260 codes of Chengdu's central districts.
DISTRICT_CODES = {
    "锦江区": "510104",
    "青羊区": "510105",
    "金牛区": "510106",
    "武侯区": "510107",
    "成华区": "510108",
}


def _seeds(
    points: np.ndarray, weights: np.ndarray, area: shapely.Geometry, rng: np.random.Generator
) -> np.ndarray:
    total = float(weights.sum())
    k = max(1, round(total / HOUSEHOLDS_PER_COMMUNITY))
    if len(points) > k:
        reps = np.repeat(points, np.maximum(1, (weights / 50).astype(int)), axis=0)
        centres, _ = kmeans2(reps, k, seed=rng, minit="++")
    else:
        centres = points.copy()
    minx, miny, maxx, maxy = area.bounds
    filler = []
    for x in np.arange(minx + FILLER_SPACING_M / 2, maxx, FILLER_SPACING_M):
        for y in np.arange(miny + FILLER_SPACING_M / 2, maxy, FILLER_SPACING_M):
            if (
                len(centres)
                and np.min(np.hypot(centres[:, 0] - x, centres[:, 1] - y)) < FILLER_SPACING_M * 0.7
            ):
                continue
            filler.append((x, y))
    return np.vstack([centres, np.array(filler).reshape(-1, 2)]) if filler else centres


def draw_communities(
    districts_m: gpd.GeoDataFrame,
    compounds_m: gpd.GeoDataFrame,
    buildings_m: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Community polygons with ``district`` (name) and the compounds carved whole into them."""
    centroids = buildings_m.geometry.centroid
    cells = []
    for name, piece in zip(districts_m["name"], districts_m.geometry, strict=True):
        inside = centroids.within(piece).to_numpy()
        pts = np.column_stack([centroids.x.to_numpy()[inside], centroids.y.to_numpy()[inside]])
        weights = buildings_m["households"].to_numpy()[inside].astype(float)
        seeds = _seeds(pts, weights, piece, rng) if len(pts) else np.empty((0, 2))
        points = [shapely.Point(xy) for xy in seeds if piece.contains(shapely.Point(xy))]
        if not points:
            points = [piece.representative_point()]
        regions = shapely.voronoi_polygons(shapely.MultiPoint(points), extend_to=piece)
        for region in regions.geoms:
            cell = region.intersection(piece)
            if not cell.is_empty and cell.area > 1000:
                cells.append({"district": name, "geometry": cell})
    comm = gpd.GeoDataFrame(cells, geometry="geometry", crs=districts_m.crs)
    # every compound whole in the community of its representative point
    owner = containing_ids(compounds_m.representative_point(), comm.assign(id=comm.index)).fillna(-1)
    all_compounds = shapely.union_all(compounds_m.geometry.values)
    geoms = []
    for idx, cell in zip(comm.index, comm.geometry, strict=True):
        mine = compounds_m.geometry[owner == idx]
        shape = cell.difference(all_compounds)
        if len(mine):
            shape = shapely.union_all([shape, *mine.values])
        geoms.append(_drop_slivers(shape))
    comm = comm.set_geometry(geoms)
    return comm[~comm.geometry.is_empty].reset_index(drop=True)


def _drop_slivers(geom: shapely.Geometry, min_area_m2: float = 500.0) -> shapely.Geometry:
    parts = [p for p in getattr(geom, "geoms", [geom]) if p.geom_type == "Polygon" and p.area >= min_area_m2]
    if not parts:
        return shapely.Polygon()
    return shapely.MultiPolygon(parts)


def _road_name(area: shapely.Geometry, roads_m: gpd.GeoDataFrame, used: set[str]) -> str | None:
    near = roads_m[roads_m.intersects(area) & roads_m["name"].notna()]
    if near.empty:
        return None
    lengths = near.assign(len_m=near.geometry.intersection(area).length).groupby("name")["len_m"].sum()
    for name in lengths.sort_values(ascending=False).index:
        short = str(name).split("(")[0].strip()
        if short and short not in used and not short.endswith(("高架", "立交", "隧道")):
            return short
    return None


def name_and_code(
    communities_m: gpd.GeoDataFrame,
    roads_m: gpd.GeoDataFrame,
    places_m: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Group communities into streets, then name and code districts, streets and communities.

    Community names come from a ``…社区`` place point inside, else from the longest named road;
    street names from the main road. Codes follow DB11 numbering (see gridmap.gridcode).
    """
    comm = communities_m.copy()
    comm["street_key"] = ""
    for district, group in comm.groupby("district"):
        cx = group.geometry.centroid
        pts = np.column_stack([cx.x, cx.y])
        k = max(1, int(np.ceil(len(group) / COMMUNITIES_PER_STREET)))
        labels = kmeans2(pts, k, seed=rng, minit="++")[1] if len(group) > k else np.arange(len(group))
        for label in np.unique(labels):
            comm.loc[group.index[labels == label], "street_key"] = f"{district}/{label}"
    used: set[str] = set()
    districts = (
        comm.dissolve(by="district", as_index=False)[["district", "geometry"]]
        .rename(columns={"district": "name"})
        .assign(code=lambda d: d["name"].map(DISTRICT_CODES))
    )
    streets = comm.dissolve(by="street_key", as_index=False)[["street_key", "district", "geometry"]]
    for district, group in streets.groupby("district"):
        c = group.geometry.centroid
        order = reading_order(c.x.to_numpy(), c.y.to_numpy(), row_height=2500.0)
        for seq, idx in enumerate(group.index[order], start=1):
            road = _road_name(streets.geometry[idx], roads_m, used) or f"第{seq}"
            used.add(road)
            streets.loc[idx, "name"] = f"{road}街道"
            streets.loc[idx, "code"] = street_code(DISTRICT_CODES[district], seq)
    place_names = places_m[places_m["name"].fillna("").str.endswith("社区")]
    taken: Counter[str] = Counter()
    for key, group in comm.groupby("street_key"):
        c = group.geometry.centroid
        order = reading_order(c.x.to_numpy(), c.y.to_numpy(), row_height=1200.0)
        code = streets.loc[streets["street_key"] == key, "code"].iloc[0]
        for seq, idx in enumerate(group.index[order], start=1):
            geom = comm.geometry[idx]
            inside = place_names[place_names.within(geom)]["name"].tolist()
            found = next((n for n in inside if not taken[n]), None)
            if found is None:
                named_road = _road_name(geom, roads_m, used)
                name = (
                    f"{named_road}社区"
                    if named_road
                    else f"{streets.loc[streets['street_key'] == key, 'name'].iloc[0][:-2]}{seq}社区"
                )
                used.add(named_road or "")
            else:
                name = found
            taken[name] += 1
            comm.loc[idx, "name"] = name
            comm.loc[idx, "code"] = community_code(code, seq)
    comm = comm.merge(
        streets[["street_key", "code"]].rename(columns={"code": "street_code"}), on="street_key"
    )
    streets = streets.merge(
        districts[["name", "code"]].rename(columns={"name": "district", "code": "district_code"}),
        on="district",
    )
    return (
        districts[["code", "name", "geometry"]],
        streets[["code", "name", "district_code", "geometry"]],
        pd.DataFrame(comm[["code", "name", "street_code", "geometry"]]).pipe(gpd.GeoDataFrame, crs=comm.crs),
    )
