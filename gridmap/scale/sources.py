"""Where the parts of a run read their layers: the database, GeoParquet files, or frames in
memory. Each worker reads only the box of its part, through the source's spatial index, so
no process ever holds a whole province.

A source is sent to the workers as it is (pickled), so it holds only how to read: a
database URL, a folder, or (in tests and on one machine) the frames themselves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely
from pyproj import CRS
from sqlalchemy import Engine, select

from gridmap.crs import STORAGE_CRS, utm_crs_at
from gridmap.errors import InputError
from gridmap.scale.partitions import DEFAULT_TILE_M, BBox, Partitioning, by_district, by_tiles
from gridmap.store.engine import make_engine, reading
from gridmap.store.inputs import INPUT_LAYERS
from gridmap.store.layers import layer_bounds, layer_versions_now, read_layer, select_frame
from gridmap.store.tables import LAYER_TABLES
from gridmap.study_area import CoverageInputs, compounds_lived_in

#: what a part reads within its box; the districts are read once, whole, to cut the run
PART_LAYERS = tuple(name for name in INPUT_LAYERS if name != "districts")
#: the layers a run's extent is taken from: where homes and facilities are
EXTENT_LAYERS = ("buildings", "compounds", "facilities")
#: the layers that name the units figures are summed over
UNIT_LAYERS = ("streets", "communities", "grids")


class LayerSource(Protocol):
    """Reads a run's layers (EPSG:4326, indexed by feature id)."""

    def read(self, bbox: BBox | None, layers: tuple[str, ...] = PART_LAYERS) -> CoverageInputs:
        """The features of ``layers`` whose bounding box meets ``bbox`` (all when None)."""
        ...

    def bounds(self, layer: str) -> BBox | None:
        """The box of one layer's features; None when it has none."""
        ...

    def compounds_lived_in(self) -> np.ndarray:
        """The ids of the compounds that hold a home anywhere (read from the buildings'
        compound and people alone, without their geometry)."""
        ...


def extent(source: LayerSource) -> BBox:
    """The box of the homes and facilities (EPSG:4326)."""
    return _union_box([source.bounds(name) for name in EXTENT_LAYERS])


def cut_of(source: LayerSource, halo_m: float, *, tile_m: float | None = None) -> Partitioning:
    """How a run over ``source`` is cut, each part reading ``halo_m`` metres beyond its area:
    by the source's districts, or in square tiles of ``tile_m`` metres when asked or when there
    are no districts (:data:`~gridmap.scale.partitions.DEFAULT_TILE_M`)."""
    crs = run_crs(source)
    districts = source.read(None, ("districts",)).districts
    if tile_m is not None or districts is None or len(districts) == 0:
        return by_tiles(extent(source), crs, tile_m or DEFAULT_TILE_M, halo_m)
    return by_district(districts, extent(source), crs, halo_m, tile_m=DEFAULT_TILE_M)


def run_crs(source: LayerSource) -> CRS:
    """The metric CRS a run in one process would measure in: the UTM zone of the middle of
    the roads (else of the buildings)."""
    box = source.bounds("roads") or source.bounds("buildings")
    if box is None:
        raise InputError("there are no roads and no buildings: no metric CRS to measure in")
    return utm_crs_at((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)


@dataclass
class StoreSource:
    """The layers of a database (SpatiaLite or PostGIS), by URL; each process opens its own
    engine once."""

    url: str

    def _engine(self) -> Engine:
        engine = _ENGINES.get(self.url)
        if engine is None:
            engine = _ENGINES[self.url] = make_engine(self.url)
        return engine

    def read(self, bbox: BBox | None, layers: tuple[str, ...] = PART_LAYERS) -> CoverageInputs:
        engine = self._engine()
        inputs = _inputs({name: read_layer(engine, name, bbox=bbox) for name in layers})
        now = layer_versions_now(engine)
        inputs.versions = {name: now.get(name, 0) for name in layers}
        return inputs

    def bounds(self, layer: str) -> BBox | None:
        return layer_bounds(self._engine(), layer)

    def compounds_lived_in(self) -> np.ndarray:
        table = LAYER_TABLES["buildings"]
        query = select(table.c.compound_id, table.c.households, table.c.residents).where(
            table.c.compound_id.is_not(None)
        )
        with reading(self._engine()) as conn:  # one statement: no transaction around it
            return compounds_lived_in(select_frame(conn, query))


_ENGINES: dict[str, Engine] = {}  # this process's engine of each URL


def close_engines() -> None:
    """Close the engines this process opened for :class:`StoreSource` reads."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


@dataclass
class FrameSource:
    """Layers held in memory (EPSG:4326): for tests, and runs that fit one machine."""

    inputs: CoverageInputs

    def read(self, bbox: BBox | None, layers: tuple[str, ...] = PART_LAYERS) -> CoverageInputs:
        frames = {}
        for name in layers:
            frame = getattr(self.inputs, name)
            if frame is not None and bbox is not None:
                frame = frame.iloc[np.sort(frame.sindex.query(shapely.box(*bbox)))]
            frames[name] = frame
        return _inputs(frames)

    def bounds(self, layer: str) -> BBox | None:
        return _bounds(getattr(self.inputs, layer))

    def compounds_lived_in(self) -> np.ndarray:
        return compounds_lived_in(self.inputs.buildings)


@dataclass
class ParquetSource:
    """A folder of GeoParquet files, one per layer (``buildings.parquet`` …, EPSG:4326, with a
    bounding-box column), as :func:`write_parquet` leaves them; a missing file is an empty
    layer. The folder must be reachable by every worker."""

    folder: Path

    def read(self, bbox: BBox | None, layers: tuple[str, ...] = PART_LAYERS) -> CoverageInputs:
        frames = {}
        for name in layers:
            path = Path(self.folder) / f"{name}.parquet"
            frames[name] = (
                gpd.read_parquet(path, bbox=bbox).sort_index() if path.exists() else None
            )  # by id, as stored
        return _inputs(frames)

    def compounds_lived_in(self) -> np.ndarray:
        path = Path(self.folder) / "buildings.parquet"
        if not path.exists():
            return np.zeros(0, dtype=np.int64)
        present = set(pq.read_schema(path).names)
        return compounds_lived_in(
            pd.read_parquet(
                path, columns=[c for c in ("compound_id", "households", "residents") if c in present]
            )
        )

    def bounds(self, layer: str) -> BBox | None:
        path = Path(self.folder) / f"{layer}.parquet"
        if not path.exists():
            return None
        box = pd.read_parquet(path, columns=["bbox"])["bbox"]  # the boxes alone, not the geometries
        if len(box) == 0:
            return None
        corners = pd.DataFrame(box.tolist())
        return (corners["xmin"].min(), corners["ymin"].min(), corners["xmax"].max(), corners["ymax"].max())


def write_parquet(inputs: CoverageInputs, folder: Path) -> ParquetSource:
    """Write every layer of ``inputs`` to ``folder`` as GeoParquet (EPSG:4326, sorted by the
    west edge of each feature into row groups of 20,000, with a bounding-box column, so that a
    read by box opens the row groups of its strip)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (*PART_LAYERS, "districts"):
        frame = getattr(inputs, name)
        if frame is None:
            continue
        frame = frame.to_crs(STORAGE_CRS)
        order = np.argsort(shapely.bounds(frame.geometry.to_numpy())[:, 0], kind="stable")
        frame.iloc[order].to_parquet(
            folder / f"{name}.parquet", write_covering_bbox=True, row_group_size=20_000
        )
    return ParquetSource(folder)


def inputs_digest(inputs: CoverageInputs) -> str:
    """A fingerprint of every feature a part read (ids, attributes and geometry): equal
    digests, equal inputs."""
    h = hashlib.sha256()
    for name in PART_LAYERS:
        frame = getattr(inputs, name)
        h.update(name.encode())
        if frame is None or len(frame) == 0:
            continue
        plain = pd.DataFrame(frame.drop(columns=frame.geometry.name)).sort_index()
        h.update(pd.util.hash_pandas_object(plain.astype(str), index=True).to_numpy().tobytes())
        h.update(b"".join(shapely.to_wkb(frame.geometry.loc[plain.index].to_numpy())))
    return h.hexdigest()[:20]


def _inputs(frames: dict[str, gpd.GeoDataFrame | None]) -> CoverageInputs:
    """Inputs of the layers read; those a run always has are empty when not read."""
    empty = gpd.GeoDataFrame(geometry=[], crs=STORAGE_CRS)
    buildings, facilities = frames.pop("buildings", None), frames.pop("facilities", None)
    return CoverageInputs(
        buildings=empty if buildings is None else buildings,
        facilities=empty if facilities is None else facilities,
        **frames,  # type: ignore[arg-type]
    )


def _bounds(frame: gpd.GeoDataFrame | None) -> BBox | None:
    if frame is None or len(frame) == 0:
        return None
    west, south, east, north = frame.to_crs(STORAGE_CRS).total_bounds
    return (float(west), float(south), float(east), float(north))


def _union_box(boxes: list[BBox | None]) -> BBox:
    found = [b for b in boxes if b is not None]
    if not found:
        raise InputError("there are no buildings, compounds or facilities: nothing to cut into parts")
    return (
        min(b[0] for b in found),
        min(b[1] for b in found),
        max(b[2] for b in found),
        max(b[3] for b in found),
    )
