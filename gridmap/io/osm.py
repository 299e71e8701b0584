"""Build gridmap's base layers from a raw OpenStreetMap extract (.osm, .osm.gz, .osm.pbf).

One pass with pyosmium (node locations resolved, areas assembled from closed ways and
multipolygon relations) gives:

* ``roads``: the walkable ways (see :func:`gridmap.io.osm_tags.is_walkable`), kept where their
  consecutive nodes lie inside the network box, split at every node shared by two or more
  walkable ways and at way ends; ``u``/``v`` are OSM node ids, ``length_m`` the geodesic
  length on WGS 84.
* ``buildings``, ``compounds``: areas whose representative point lies in the area of interest.
* ``facilities``: POI nodes and the representative points of POI areas, with their service
  categories; POIs that serve none of our categories are counted but not kept.
* ``entrances``: ``entrance=*`` and ``barrier=gate`` nodes.

All output is EPSG:4326.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
from pyproj import Geod

from gridmap.crs import STORAGE_CRS, metric_crs_for
from gridmap.errors import InputError
from gridmap.households import LEVELS_FROM_TAG
from gridmap.io import osm_tags

OSM_SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf")
_GEOD = Geod(ellps="WGS84")
_EARTH_M_PER_DEG_LAT = 111_320.0

BBox = tuple[float, float, float, float]


@dataclass
class OsmLayers:
    """The layers read from an extract, plus the POI counts by class."""

    roads: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    entrances: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    network_nodes: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def buffer_bbox(bbox: BBox, metres: float) -> BBox:
    """Grow a lon/lat box by ``metres`` on every side (degrees at the box's middle latitude)."""
    west, south, east, north = bbox
    dlat = metres / _EARTH_M_PER_DEG_LAT
    dlon = metres / (_EARTH_M_PER_DEG_LAT * math.cos(math.radians((south + north) / 2)))
    return (west - dlon, south - dlat, east + dlon, north + dlat)


def _in_box(lon: float, lat: float, box: BBox | None) -> bool:
    return box is None or (box[0] <= lon <= box[2] and box[1] <= lat <= box[3])


def _check_path(path: Path) -> None:
    if not path.exists():
        raise InputError(f"file not found: {path}")
    name = path.name.lower()
    if not name.endswith(OSM_SUFFIXES):
        raise InputError(
            f"'{path.name}' is not an OpenStreetMap extract; expected one of {', '.join(OSM_SUFFIXES)}"
        )


def _tags(obj) -> dict[str, str]:
    return {t.k: t.v for t in obj.tags}


def _area_frame(rows: list[dict], columns: list[str]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame(columns=[*columns, "geometry"], geometry="geometry", crs=STORAGE_CRS)
    frame = pd.DataFrame(rows)
    geoms = shapely.from_wkb(frame.pop("wkb").to_numpy())
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=STORAGE_CRS)


def read_osm(path: str | Path, *, bbox: BBox | None = None, network_buffer_m: float = 500.0) -> OsmLayers:
    """Read an extract; ``bbox`` (W, S, E, N, EPSG:4326) limits the area of interest.

    The walking network is kept in ``bbox`` grown by ``network_buffer_m`` metres, so that
    homes near the edge still reach facilities across it.
    """
    path = Path(path)
    _check_path(path)
    net_box = buffer_bbox(bbox, network_buffer_m) if bbox else None
    wkb = osmium.geom.WKBFactory()
    ways: list[tuple[int, dict[str, str], list[int], list[float], list[float]]] = []
    buildings: list[dict] = []
    compounds: list[dict] = []
    pois: list[dict] = []
    entrances: list[dict] = []
    try:
        processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
        for obj in processor:
            if isinstance(obj, osmium.osm.Node):
                if not obj.tags:
                    continue
                tags = _tags(obj)
                lon, lat = obj.location.lon, obj.location.lat
                if not _in_box(lon, lat, bbox):
                    continue
                if osm_tags.is_poi(tags):
                    pois.append({"osm_type": "node", "osm_id": obj.id, "tags": tags, "lon": lon, "lat": lat})
                if "entrance" in tags or tags.get("barrier") == "gate":
                    kind = "gate" if tags.get("barrier") == "gate" else f"entrance:{tags['entrance']}"
                    entrances.append(
                        {
                            "osm_id": obj.id,
                            "kind": kind,
                            "name": tags.get("name"),
                            "lon": lon,
                            "lat": lat,
                        }
                    )
            elif isinstance(obj, osmium.osm.Way):
                if "highway" not in obj.tags:
                    continue
                tags = _tags(obj)
                if not osm_tags.is_walkable(tags):
                    continue
                nodes = obj.nodes
                ways.append(
                    (
                        obj.id,
                        tags,
                        [n.ref for n in nodes],
                        [n.lon for n in nodes],
                        [n.lat for n in nodes],
                    )
                )
            elif isinstance(obj, osmium.osm.Area):
                tags = _tags(obj)
                is_building = tags.get("building", "no") != "no"
                is_compound = osm_tags.is_compound_area(tags)
                is_poi = osm_tags.is_poi(tags)
                if not (is_building or is_compound or is_poi):
                    continue
                try:
                    blob = wkb.create_multipolygon(obj)
                except RuntimeError:
                    continue
                geom = shapely.from_wkb(blob)
                point = geom.point_on_surface()
                if not _in_box(point.x, point.y, bbox):
                    continue
                osm_type = "way" if obj.from_way() else "relation"
                row = {"osm_type": osm_type, "osm_id": obj.orig_id(), "tags": tags}
                if is_building:
                    buildings.append({**row, "wkb": geom.wkb})
                if is_compound:
                    compounds.append({**row, "wkb": geom.wkb})
                if is_poi:
                    pois.append({**row, "lon": point.x, "lat": point.y})
    except RuntimeError as exc:
        raise InputError(f"cannot read the OpenStreetMap file: {exc}", file=str(path)) from None
    roads, node_count = _walk_edges(ways, net_box)
    return OsmLayers(
        roads=roads,
        buildings=_buildings(buildings),
        compounds=_compounds(compounds),
        facilities=_facilities(pois),
        entrances=_points([{**e, "source": "osm"} for e in entrances], ["osm_id", "kind", "name", "source"]),
        pois=_poi_frame(pois),
        network_nodes=node_count,
    )


def _points(rows: list[dict], columns: list[str]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=[*columns, "lon", "lat"])
    geometry = gpd.points_from_xy(frame.pop("lon"), frame.pop("lat"))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=STORAGE_CRS)


def _walk_edges(ways, box: BBox | None) -> tuple[gpd.GeoDataFrame, int]:
    """Split walkable ways (clipped to ``box``) into junction-to-junction edges."""
    runs: list[tuple[int, dict[str, str], list[int], list[float], list[float]]] = []
    for way_id, tags, refs, lons, lats in ways:
        current: list[int] = []
        for i, (lon, lat) in enumerate(zip(lons, lats, strict=True)):
            if _in_box(lon, lat, box):
                current.append(i)
                continue
            if len(current) >= 2:
                runs.append((way_id, tags, *(_take(seq, current) for seq in (refs, lons, lats))))
            current = []
        if len(current) >= 2:
            runs.append((way_id, tags, *(_take(seq, current) for seq in (refs, lons, lats))))
    use: Counter[int] = Counter()
    for _, _, refs, _, _ in runs:
        use.update(set(refs))
    rows: list[dict] = []
    coords: list[np.ndarray] = []
    for way_id, tags, refs, lons, lats in runs:
        start = 0
        last = len(refs) - 1
        for i in range(1, last + 1):
            if i == last or use[refs[i]] >= 2:
                xy = np.column_stack([lons[start : i + 1], lats[start : i + 1]])
                rows.append(
                    {
                        "u": refs[start],
                        "v": refs[i],
                        "highway": tags.get("highway"),
                        "name": tags.get("name"),
                        "osm_way_id": way_id,
                        "source": "osm",
                    }
                )
                coords.append(xy)
                start = i
    lines = [shapely.LineString(xy) for xy in coords]
    frame = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["u", "v", "highway", "name", "osm_way_id", "source"]),
        geometry=lines,
        crs=STORAGE_CRS,
    )
    frame["length_m"] = [_geodesic_length(xy) for xy in coords]
    nodes = set(frame["u"]).union(frame["v"]) if len(frame) else set()
    return frame, len(nodes)


def _take(seq: list, index: list[int]) -> list:
    return [seq[i] for i in index]


def _geodesic_length(xy: np.ndarray) -> float:
    """Length in metres of a lon/lat polyline on the WGS 84 ellipsoid."""
    return float(_GEOD.line_length(xy[:, 0], xy[:, 1]))


def _int_or_none(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return max(1, round(float(text.split(";")[0])))
    except ValueError:
        return None


def _buildings(rows: list[dict]) -> gpd.GeoDataFrame:
    out = []
    for r in rows:
        tags = r["tags"]
        out.append(
            {
                "osm_id": r["osm_id"],
                "name": tags.get("name"),
                "use": tags.get("building"),
                "levels": _int_or_none(tags.get("building:levels")),
                "levels_from": LEVELS_FROM_TAG if _int_or_none(tags.get("building:levels")) else None,
                "height": _metres(tags.get("height")),
                "source": "osm",
                "wkb": r["wkb"],
            }
        )
    return _area_frame(out, ["osm_id", "name", "use", "levels", "levels_from", "height", "source"])


def _metres(text: str | None) -> float | None:
    """An OSM ``height`` in metres ("18", "18 m", "18.5"); None when it is not one."""
    if not text:
        return None
    try:
        value = float(text.strip().removesuffix("m").strip())
    except ValueError:
        return None
    return value if 0 < value < 1000 else None


def _compounds(rows: list[dict]) -> gpd.GeoDataFrame:
    out = [
        {"osm_id": r["osm_id"], "name": r["tags"].get("name"), "source": "osm", "wkb": r["wkb"]} for r in rows
    ]
    return _area_frame(out, ["osm_id", "name", "source"])


def _poi_frame(rows: list[dict]) -> gpd.GeoDataFrame:
    records = []
    for r in rows:
        tags = r["tags"]
        cls = osm_tags.service_type(tags)
        records.append(
            {
                "osm_type": r["osm_type"],
                "osm_id": r["osm_id"],
                "service_type": cls,
                "categories": ",".join(osm_tags.categories_for(tags, cls)),
                "name": tags.get("name"),
                "kind": next((f"{k}={tags[k]}" for k in (*osm_tags.POI_KEYS, "office") if k in tags), None),
                "opening_hours": tags.get("opening_hours"),
                "lon": r["lon"],
                "lat": r["lat"],
            }
        )
    columns = ["osm_type", "osm_id", "service_type", "categories", "name", "kind", "opening_hours"]
    return _points(records, columns)


def _facilities(rows: list[dict]) -> gpd.GeoDataFrame:
    pois = _poi_frame(rows)
    kept = pois[pois["categories"] != ""].copy()
    kept["source"] = "osm"
    return kept[["osm_id", "name", "kind", "categories", "opening_hours", "source", "geometry"]].reset_index(
        drop=True
    )


def link_entrances(
    entrances: gpd.GeoDataFrame, compounds: gpd.GeoDataFrame, *, max_m: float = 30.0
) -> pd.Series:
    """For each entrance, the ``id`` of the compound within ``max_m`` metres (NA when none)."""
    if len(entrances) == 0 or len(compounds) == 0:
        return pd.Series(pd.NA, index=entrances.index, dtype="Int64")
    metric = metric_crs_for(entrances)
    joined = gpd.sjoin_nearest(
        entrances[["geometry"]].to_crs(metric),
        compounds[["id", "geometry"]].to_crs(metric),
        max_distance=max_m,
        how="left",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["id"].reindex(entrances.index).astype("Int64")
