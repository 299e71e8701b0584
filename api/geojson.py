"""GeoJSON text from frames, written directly (geometry by shapely in C, properties by json)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from gridmap.values import json_value

GEOJSON = "application/geo+json"
#: the largest whole number a JSON reader holds exactly in a double
_EXACT = 2**53


def plain(value: Any) -> Any:
    """A cell as JSON: :func:`~gridmap.values.json_value`, and a whole number as a whole number.
    An id or a count in a column with gaps is read as a float (642.0), which clients that
    parse ids as integers refuse."""
    value = json_value(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT:
        return int(value)
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def feature_texts(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> list[str]:
    """One GeoJSON Feature text per row; ``id`` is the index (the feature id)."""
    spatial = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame
    names = [c for c in (columns if columns is not None else frame.columns) if c in frame.columns]
    names = [c for c in names if not (spatial and c == frame.geometry.name)]
    if spatial:
        geoms = shapely.to_geojson(shapely.set_precision(frame.geometry.values, 1e-7), indent=None)
    else:
        geoms = ["null"] * len(frame)
    values = {c: frame[c].tolist() for c in names}
    out = []
    for i, fid in enumerate(frame.index.tolist()):
        props = {c: plain(values[c][i]) for c in names}
        geom = geoms[i] if geoms[i] is not None else "null"
        out.append(
            f'{{"type":"Feature","id":{_dumps(plain(fid))},"geometry":{geom},"properties":{_dumps(props)}}}'
        )
    return out


def collection_text(features: list[str], **members: Any) -> str:
    """A FeatureCollection with extra top-level members (links, numberMatched …)."""
    head = "".join(f"{_dumps(k)}:{_dumps(v)}," for k, v in members.items())
    return f'{{"type":"FeatureCollection",{head}"features":[{",".join(features)}]}}'


def frame_collection(frame: pd.DataFrame, columns: Iterable[str] | None = None, **members: Any) -> str:
    return collection_text(feature_texts(frame, columns), **members)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (no geometry)."""
    names = [c for c in frame.columns if c != "geometry"]
    values = {c: frame[c].tolist() for c in names}
    return [{c: plain(values[c][i]) for c in names} for i in range(len(frame))]
