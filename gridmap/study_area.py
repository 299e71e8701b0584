"""Where a coverage or siting run starts: the study area's layers in its metric CRS, its
walking network, the homes and the points walks start from.

The metric CRS is the UTM zone of the roads (else of the buildings); each layer is projected
to it once, when first asked for. Homes are residential buildings, and compounds with no
buildings; a walk may start at the home itself or at its compound's gates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridmap.crs import STORAGE_CRS, metric_crs_for, project_shapes
from gridmap.geometry import containing, second_thread
from gridmap.network.graph import WalkingNetwork, build_network
from gridmap.network.paths import Attachment, attach
from gridmap.walking import WalkingParams

NETWORK = "network"
UNIT_LAYERS = {"street": "streets", "community": "communities", "grid": "grids"}  # homes lie in units


@dataclass
class CoverageInputs:
    """The layers a run reads (GeoDataFrames indexed by feature id, any CRS)."""

    buildings: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame | None = None
    compounds: gpd.GeoDataFrame | None = None
    entrances: gpd.GeoDataFrame | None = None
    communities: gpd.GeoDataFrame | None = None
    grids: gpd.GeoDataFrame | None = None
    streets: gpd.GeoDataFrame | None = None
    districts: gpd.GeoDataFrame | None = None
    versions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_layers(cls, layers: Mapping[str, pd.DataFrame]) -> CoverageInputs:
        """Inputs from frames named by layer; an ``id`` column becomes the index."""
        names = [f.name for f in dataclasses.fields(cls) if f.name != "versions"]
        frames: dict[str, Any] = {}
        for name in names:
            frame = layers.get(name)
            if frame is not None and "id" in frame.columns:
                frame = frame.set_index(frame["id"].to_numpy())
            frames[name] = frame
        return cls(**frames)

    def within(self, area: shapely.Geometry, reach_m: float) -> CoverageInputs:
        """The inputs of one part of the database (a city among several): the buildings and
        compounds whose point lies in ``area`` (EPSG:4326), and the other layers' features within ``reach_m``
        metres of it, so that homes at its edge still reach facilities and streets across it."""
        crs = metric_crs_for(gpd.GeoDataFrame(geometry=[area], crs=4326))
        grown = gpd.GeoSeries([area], crs=4326).to_crs(crs).buffer(reach_m).to_crs(4326).iloc[0]
        frames: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            frame = getattr(self, f.name)
            if f.name == "versions" or frame is None:
                frames[f.name] = frame
                continue
            if f.name in ("buildings", "compounds"):  # homes: each in one part
                points = frame.to_crs(4326).representative_point()
                frames[f.name] = frame[shapely.intersects(area, points.to_numpy())]
            else:
                frames[f.name] = frame[shapely.intersects(grown, frame.to_crs(4326).geometry.to_numpy())]
        return CoverageInputs(**frames)


def method_label(has_network: bool, detour_factor: float) -> str:
    """How distances were measured, as every output states it."""
    if has_network:
        return NETWORK
    return f"straight line × {detour_factor:.2f} detour (no street layer)"


@dataclass
class StudyArea:
    """One run's layers in a metric CRS (metres), with what every walk needs.

    ``network`` is None without a usable street layer (distances are then straight lines
    times the detour factor, as ``method`` says). ``homes`` has one row per home with its
    ``point`` and the ``street_id``, ``community_id`` and ``grid_id`` it lies in; ``origins``
    one row per start point (``home``, ``x``, ``y``, ``from``).
    """

    inputs: CoverageInputs
    crs: CRS
    network: WalkingNetwork | None
    method: str
    homes: gpd.GeoDataFrame = field(init=False)
    origins: pd.DataFrame = field(init=False)
    _shapes: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def shapes(self, name: str) -> np.ndarray:
        """The geometries of input layer ``name`` in the metric CRS, in the layer's row order
        (empty without the layer); projected once. The layer's other columns are in
        ``inputs``."""
        if name not in self._shapes:
            frame = getattr(self.inputs, name)
            self._shapes[name] = (
                project_shapes(np.asarray(frame.geometry.values), frame.crs, self.crs)
                if frame is not None and len(frame)
                else np.zeros(0, dtype=object)
            )
        return self._shapes[name]

    def stored_shapes(self, name: str) -> np.ndarray:
        """The geometries of input layer ``name`` as stored (EPSG:4326), in the layer's row
        order: the layer's own where it is in that CRS."""
        frame = getattr(self.inputs, name)
        if frame is None or len(frame) == 0:
            return np.zeros(0, dtype=object)
        if CRS.from_user_input(frame.crs).equals(STORAGE_CRS):
            return np.asarray(frame.geometry.values)
        return project_shapes(np.asarray(frame.geometry.values), frame.crs, STORAGE_CRS)

    def attach_origins(self, max_snap_m: float) -> Attachment:
        """The start points attached to the network (which must exist)."""
        if self.network is None:
            raise ValueError("the study area has no walking network to attach to")
        xy = self.origins[["x", "y"]].to_numpy()
        points = None
        if (self.origins["from"] == "home").all():  # the homes' own points: reuse them
            points = np.asarray(self.homes["point"].values)[self.origins["home"].to_numpy()]
        return attach(self.network, xy, max_snap_m, points)

    @property
    def facility_xy(self) -> np.ndarray:
        """Facility positions (n × 2 metres), in the facility layer's order."""
        return np.asarray(shapely.get_coordinates(self.shapes("facilities"))).reshape(-1, 2)


def prepare_area(inputs: CoverageInputs, walking: WalkingParams, crs: CRS | None = None) -> StudyArea:
    """Choose the metric CRS (unless given: a part of a larger run measures in the whole
    run's CRS), build the walking network from the roads of the walkable types, and place the
    homes and their start points (at ``walking.origin``)."""
    roads = inputs.roads if inputs.roads is not None and len(inputs.roads) else None
    if crs is None:
        crs = metric_crs_for(roads if roads is not None else inputs.buildings)
    area = StudyArea(inputs, crs, None, method_label(False, walking.detour_factor))
    with second_thread("homes") as start:  # the homes placed while the network is built
        homes = start(partial(_homes, area))
        network = build_network(roads, highways=walking.highways, crs=crs) if roads is not None else None
        area.homes = homes.result()
    if network is not None and network.edge_count > 0:
        area.network, area.method = network, method_label(True, walking.detour_factor)
    area.origins = _origins(area, walking.origin)
    return area


def from_inputs(area: StudyArea, inputs: CoverageInputs) -> StudyArea:
    """``area``, which several analyses of the same ``inputs`` share; ValueError when it was
    prepared from other inputs."""
    if area.inputs is not inputs:
        raise ValueError("the study area given was prepared from other inputs")
    return area


def people(buildings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Households and residents of each building (0 where unknown); a building is a home
    when either is above 0."""
    households = pd.to_numeric(buildings.get("households"), errors="coerce").fillna(0).to_numpy(np.int64)
    residents = pd.to_numeric(buildings.get("residents"), errors="coerce").fillna(0).to_numpy(np.int64)
    return households, residents


def compounds_lived_in(buildings: pd.DataFrame) -> np.ndarray:
    """The ids of the compounds that hold a home (a building of theirs, by ``compound_id``,
    with households or residents), sorted. The others are homes themselves."""
    if len(buildings) == 0 or "compound_id" not in buildings.columns:
        return np.zeros(0, dtype=np.int64)
    households, residents = people(buildings)
    linked = pd.to_numeric(buildings["compound_id"], errors="coerce")[(households > 0) | (residents > 0)]
    return np.unique(linked.dropna().to_numpy(np.int64))


def _homes(area: StudyArea) -> gpd.GeoDataFrame:
    """Residential buildings, and compounds with no buildings, as homes in the metric CRS
    (``stored``: their shapes as stored, EPSG:4326)."""
    b = area.inputs.buildings
    households, residents = people(b)
    lived_in = (households > 0) | (residents > 0)
    compound = pd.array(b.get("compound_id", pd.Series(pd.NA, index=b.index)), dtype="Int64")[lived_in]
    n_buildings = int(lived_in.sum())
    kind = np.full(n_buildings, "building", dtype=object)
    feature = np.asarray(b.index, dtype=np.int64)[lived_in]
    hh, rs = households[lived_in], residents[lived_in]
    shapes = area.shapes("buildings")[lived_in] if len(b) else np.zeros(0, dtype=object)
    stored = area.stored_shapes("buildings")[lived_in] if len(b) else np.zeros(0, dtype=object)
    comps = area.inputs.compounds
    if comps is not None and len(comps):
        bare = ~comps.index.isin(compound.dropna().to_numpy(np.int64))  # the compounds of the homes above
        if bare.any():
            ids = np.asarray(comps.index, dtype=np.int64)[bare]
            kind = np.concatenate([kind, np.full(len(ids), "compound", dtype=object)])
            feature = np.concatenate([feature, ids])
            compound = pd.array(np.concatenate([compound, pd.array(ids, dtype="Int64")]), dtype="Int64")
            hh, rs = (
                np.concatenate([hh, np.zeros(len(ids), np.int64)]),
                np.concatenate([rs, np.zeros(len(ids), np.int64)]),
            )
            shapes = np.concatenate([shapes, area.shapes("compounds")[bare]])
            stored = np.concatenate([stored, area.stored_shapes("compounds")[bare]])
    points = shapely.point_on_surface(shapes)
    columns = {
        "kind": kind,
        "feature_id": feature,
        "compound_id": compound,
        "households": hh,
        "residents": rs,
        "geometry": gpd.GeoSeries(shapes, crs=area.crs),
        "point": gpd.GeoSeries(points, crs=area.crs),
        "stored": gpd.GeoSeries(stored, crs=STORAGE_CRS),  # the shape as stored, for the results
    }
    for scope, name in UNIT_LAYERS.items():
        ids = pd.array([pd.NA] * len(shapes), dtype="Int64")
        layer = getattr(area.inputs, name)
        if layer is not None and len(layer):
            inside = containing(points, area.shapes(name))
            ids[inside >= 0] = np.asarray(layer.index, dtype=np.int64)[inside[inside >= 0]]
        columns[f"{scope}_id"] = ids
    return gpd.GeoDataFrame(columns, geometry="geometry", crs=area.crs)


def _origins(area: StudyArea, mode: str) -> pd.DataFrame:
    """Points walks start from: (home index, x, y). A home may start from several points (its
    compound's gates) and takes the best of them."""
    homes = area.homes
    xy = shapely.get_coordinates(homes["point"].values).reshape(-1, 2)
    own = pd.DataFrame({"home": np.arange(len(homes)), "x": xy[:, 0], "y": xy[:, 1], "from": "home"})
    if mode == "building":
        return own
    comp = homes["compound_id"]
    in_compound = comp.notna().to_numpy()
    parts = [own[~in_compound]]
    gates = area.inputs.entrances
    gate_xy = pd.DataFrame(columns=["compound_id", "x", "y"])
    if gates is not None and len(gates) and "compound_id" in gates.columns:
        linked = gates["compound_id"].notna().to_numpy()
        xy = shapely.get_coordinates(area.shapes("entrances")[linked]).reshape(-1, 2)
        gate_xy = pd.DataFrame(
            {"compound_id": gates["compound_id"][linked].astype(int).to_numpy(), "x": xy[:, 0], "y": xy[:, 1]}
        )
    homes_in = pd.DataFrame(
        {"home": np.flatnonzero(in_compound), "compound_id": comp[in_compound].astype(int)}
    )
    by_gate = homes_in.merge(gate_xy, on="compound_id", how="inner")
    parts.append(by_gate.assign(**{"from": "gate"})[["home", "x", "y", "from"]])
    no_gate = homes_in[~homes_in["compound_id"].isin(gate_xy["compound_id"])]
    if len(no_gate):
        comps = area.inputs.compounds
        if comps is not None and len(comps):
            centre = gpd.GeoSeries(area.shapes("compounds"), index=comps.index).representative_point()
            cx = no_gate["compound_id"].map(centre.x)
            cy = no_gate["compound_id"].map(centre.y)
            known = cx.notna().to_numpy()
            parts.append(
                pd.DataFrame(
                    {"home": no_gate["home"][known], "x": cx[known], "y": cy[known], "from": "compound"}
                )
            )
            parts.append(own.iloc[no_gate["home"][~known]])
        else:
            parts.append(own.iloc[no_gate["home"]])
    return pd.concat(parts, ignore_index=True)
