"""Random files of every layer, imported into the demo district: each import succeeds or is
refused with gridmap's own error naming the problem, and a refused one writes nothing.

The files are what people bring: a GeoPackage, GeoJSON, a CSV (points in lon/lat or any
geometry as WKT) or a workbook; a column of every kind or none, a required one missing, an
id column for some rows, values out of range or of the wrong kind, empty, broken and
far-away geometries, CRSs declared or not, keys and modes of every sort. Such files once
failed with a ValueError, a TypeError or the database's IntegrityError. 25 small files by
default; GRIDMAP_RELIABILITY=full imports 600 of up to 30 rows on each database.
"""

from __future__ import annotations

import os
import random
import traceback
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridmap.errors import GridmapError
from gridmap.io.importer import import_layer
from gridmap.model import LAYER_SPECS, Column, LayerSpec
from gridmap.store.engine import make_engine
from gridmap.store.layers import layer_versions_now

FULL = os.environ.get("GRIDMAP_RELIABILITY") == "full"
#: the layers a file may be imported into (events, needs and points are filed, not imported)
IMPORTED = [name for name in LAYER_SPECS if name not in ("events", "needs", "points")]
X0, Y0 = 104.06, 30.66  # inside the demo district


def _value(rng: random.Random, column: Column) -> object:
    if rng.random() < 0.12:
        return None
    if rng.random() < 0.08:
        return rng.choice(["", " ", "nan", "测试", "=1+1", "x" * 500, "-1", "1e309", "0x10", "１２", "否"])
    return {
        "int": lambda: rng.choice([0, 1, -1, 7, 12, 2**31, 2**63 - 1, 3.5]),
        "float": lambda: rng.choice([0.0, -1.5, 3, 1e12, float("inf")]),
        "bool": lambda: rng.choice([True, False, 1, 0, "yes", "是"]),
        "date": lambda: rng.choice(["2026-01-01", "2026-13-40", "2026/1/2", "1900-01-01", "昨天"]),
    }.get(
        column.kind,
        lambda: rng.choice(["甲", "社区一", "clinic", "elderly_care,clinic", "resident", "a" * 60]),
    )()


def _geometry(rng: random.Random, kind: str) -> shapely.Geometry | None:
    x, y = X0 + rng.uniform(-0.02, 0.02), Y0 + rng.uniform(-0.02, 0.02)
    odd = rng.random()
    if odd < 0.05:
        return None
    if odd < 0.08:
        return shapely.Point()
    if odd < 0.11:  # a bow tie
        return shapely.Polygon([(x, y), (x + 0.001, y + 0.001), (x + 0.001, y), (x, y + 0.001)])
    if odd < 0.13:  # of another type
        return shapely.Point(x, y) if kind != "POINT" else shapely.LineString([(x, y), (x + 0.001, y)])
    if odd < 0.15:
        return shapely.Point(500, 500)
    if kind == "POINT":
        return shapely.Point(x, y)
    if kind == "LINESTRING":
        return shapely.LineString([(x, y), (x + 0.001, y + rng.uniform(0, 0.001))])
    return shapely.box(x, y, x + 0.002, y + 0.002)


def random_file(rng: random.Random, spec: LayerSpec, folder: Path, n: int) -> tuple[Path, dict]:
    """A file of ``n`` rows for ``spec``'s layer, of a random format and shape, and the
    options of its import."""
    columns = [c for c in spec.columns if c.required or rng.random() < 0.5]
    if columns and rng.random() < 0.1:
        columns.pop(rng.randrange(len(columns)))  # a required one may go
    frame = pd.DataFrame({c.name: [_value(rng, c) for _ in range(n)] for c in columns})
    if rng.random() < 0.25:
        frame["id"] = [rng.choice([1, 2, 3, 50, 10**6, None, -1]) for _ in range(n)]
    if rng.random() < 0.1:
        frame["not_a_field"] = "x"
    suffix = rng.choice([".gpkg", ".geojson", ".csv", ".xlsx"] if spec.geometry else [".csv", ".xlsx"])
    path = folder / f"{spec.name}-{rng.randrange(10**9)}{suffix}"
    options: dict = {}
    shapes = [_geometry(rng, spec.geometry) for _ in range(n)] if spec.geometry else []
    if suffix in (".gpkg", ".geojson"):
        gpd.GeoDataFrame(frame, geometry=shapes, crs=rng.choice([4326, 4326, 4490, 3857, None])).to_file(path)
    else:
        if shapes and spec.geometry == "POINT" and rng.random() < 0.5:
            frame["lon"] = [g.x if isinstance(g, shapely.Point) and not g.is_empty else None for g in shapes]
            frame["lat"] = [g.y if isinstance(g, shapely.Point) and not g.is_empty else None for g in shapes]
        elif shapes:
            frame["wkt"] = [None if g is None else g.wkt for g in shapes]
        frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_excel(path, index=False)
        options["source_crs"] = rng.choice(["EPSG:4326", "EPSG:4326", "gcj02", "EPSG:4490", "bd09"])
    if rng.random() < 0.2:
        options["source_crs"] = rng.choice(["EPSG:4326", "gcj02", "bd09"])
    if rng.random() < 0.15:
        options["key"] = rng.sample(
            [c.name for c in columns] + ["place"], k=min(len(columns) + 1, rng.randint(1, 2))
        )
    if rng.random() < 0.2:
        options["mode"] = rng.choice(["merge", "replace"])
    if rng.random() < 0.15:
        options["orphans"] = rng.choice(["refuse", "unlink"])
    options["fix"] = rng.random() < 0.2
    options["dry_run"] = rng.random() < 0.3
    return path, options


@pytest.mark.parametrize(
    "backend",
    [
        "spatialite",
        pytest.param("postgis", marks=[pytest.mark.postgis, pytest.mark.skipif(not FULL, reason="full run")]),
    ],
)
def test_random_files_import_or_are_refused_and_a_refusal_writes_nothing(demo_copy, backend, tmp_path):
    engine = make_engine(demo_copy(backend, "import_fuzz"))
    rng = random.Random(20261206)
    trials, failures = (600 if FULL else 25), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(trials):
            spec = LAYER_SPECS[rng.choice(IMPORTED)]
            path, options = random_file(
                rng, spec, tmp_path, rng.choice([0, 1, 2, 5, 30] if FULL else [0, 1, 3])
            )
            before = layer_versions_now(engine)
            try:
                import_layer(engine, spec.name, path, **options)
            except GridmapError:
                if layer_versions_now(engine) != before:
                    failures.append(f"{path.name} {options}: refused, but a layer's version moved")
            except Exception:
                failures.append(f"{path.name} {options}:\n{traceback.format_exc(limit=-3)}")
    engine.dispose()
    assert not failures, "\n".join(failures[:5])
