"""The layers an analysis reads, loaded from the database with their version counters."""

from __future__ import annotations

from sqlalchemy import Engine

from gridmap.store.layers import layer_versions_now, read_layer
from gridmap.study_area import CoverageInputs

#: what coverage and siting read
INPUT_LAYERS = (
    "buildings", "facilities", "roads", "compounds", "entrances", "communities", "grids", "streets", "districts"
)  # fmt: skip


def load_inputs(engine: Engine) -> CoverageInputs:
    """Read the layers a coverage or siting run needs (EPSG:4326), with their versions."""
    layers = {name: read_layer(engine, name) for name in INPUT_LAYERS}
    now = layer_versions_now(engine)
    versions = {name: now.get(name, 0) for name in INPUT_LAYERS}
    return CoverageInputs(**layers, versions=versions)
