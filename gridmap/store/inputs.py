"""The layers an analysis reads, loaded from the database with their version counters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine

from gridmap.households import HOUSEHOLD_COLUMNS, LEVEL_COLUMNS, HomeOrigins, home_origins
from gridmap.store.layers import layer_versions_now, read_layer

if TYPE_CHECKING:  # with the walking network and SciPy: loaded by what reads a run's inputs
    from gridmap.study_area import CoverageInputs

#: what coverage and siting read
INPUT_LAYERS = (
    "buildings", "facilities", "roads", "compounds", "entrances", "communities", "grids", "streets", "districts"
)  # fmt: skip


def load_inputs(engine: Engine) -> CoverageInputs:
    """Read the layers a coverage or siting run needs (EPSG:4326), with their versions."""
    from gridmap.study_area import CoverageInputs

    layers = {name: read_layer(engine, name) for name in INPUT_LAYERS}
    now = layer_versions_now(engine)
    versions = {name: now.get(name, 0) for name in INPUT_LAYERS}
    return CoverageInputs(**layers, versions=versions)


def stored_home_origins(engine: Engine) -> HomeOrigins:
    """:func:`~gridmap.households.home_origins` of the stored buildings and compounds, read
    without their shapes, as a province's can be read whole (runs in parts)."""
    homes = [*HOUSEHOLD_COLUMNS, *LEVEL_COLUMNS, "floor_area_m2", "compound_id"]
    return home_origins(
        read_layer(engine, "buildings", columns=homes, geometry=False),
        read_layer(engine, "compounds", columns=[], geometry=False),
    )
