"""Settings read from ``GRIDMAP_*`` environment variables.

Nothing is read at import time: ``Settings()`` is built by the command line or the app
factory and passed down.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridmap.model import WALK_HIGHWAYS

DEFAULT_DATABASE_FILE = "gridmap.sqlite"


class Settings(BaseSettings):
    """Configuration of a gridmap installation."""

    model_config = SettingsConfigDict(env_prefix="GRIDMAP_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATABASE_FILE}",
        description="SQLAlchemy URL: sqlite:///file.sqlite (SpatiaLite) or postgresql://… (PostGIS)",
    )
    grid_households_min: int = Field(300, ge=1, description="Target households per grid, lower")
    grid_households_max: int = Field(500, ge=1, description="Target households per grid, upper")
    demo_seed: int = Field(20181201, description="Seed of the demo generator")
    district_margin_m: float = Field(
        5000.0,
        ge=0,
        description="Features farther than this outside the district extent are refused",
    )

    walk_speed_mps: float = Field(1.1, gt=0, description="Walking speed (m/s); 1.1 m/s is 1 km in 15 min")
    elderly_speed_mps: float = Field(0.8, gt=0, description="Walking speed of `--speed elderly` (m/s)")
    walk_highways: list[str] = Field(
        default_factory=lambda: list(WALK_HIGHWAYS),
        description="OSM highway types in the walking network (roads without a type are kept)",
    )
    max_snap_m: float = Field(
        300.0, gt=0, description="Homes and facilities farther from a street stay unattached (m)"
    )
    detour_factor: float = Field(
        1.3, ge=1.0, description="Straight-line distance multiplier when there is no street layer"
    )
    gap_cluster_m: float = Field(
        250.0, gt=0, description="Uncovered homes this close form one service gap (m)"
    )
    default_levels: int = Field(
        6, ge=1, le=200, description="Levels of a building whose data give neither levels, height nor type"
    )
    storey_height_m: float = Field(
        3.0, gt=0, description="Height of one storey, to read OSM height as levels (m)"
    )
    floor_area_per_household_m2: float = Field(
        90.0, gt=0, description="Gross floor area of one home, to estimate households (m²)"
    )
    usable_share: float = Field(
        0.8, gt=0, le=1, description="Share of a residential building's floor area that is homes"
    )
    residents_per_household: float = Field(
        2.6, gt=0, description="Residents of one home, to estimate residents"
    )
    siting_min_homes: int = Field(
        10, ge=0, description="Siting rules out candidates that reach fewer homes than this (0: none)"
    )
    open311_api_keys: list[str] = Field(
        default_factory=list, description="API keys that may file events over Open311 without a sign-in"
    )
    tianditu_key: str | None = Field(None, description="Key of the Tianditu basemap for maps")
    org_catalogue: Path | None = Field(
        None,
        description="A district's additions to the organisation catalogue (kinds, posts, grid kinds; YAML), "
        "read where the catalogue is used (gridmap.orgcatalogue)",
    )
    sliver_m2: float = Field(
        1.0, ge=0, description="Overlaps, holes and parts smaller than this are not reported by validate (m²)"
    )
    sliver_width_m: float = Field(
        0.1, ge=0, description="Nor those thinner than this on average: seams along shared edges (m)"
    )

    tile_cache_tiles: int = Field(
        4096,
        ge=0,
        le=1_000_000,
        description="Encoded tiles the service keeps in memory (0: none anywhere, in memory or in "
        "a folder: every tile is cut anew)",
    )
    tile_cache_dir: Path | None = Field(
        None,
        description="A folder where all the service's processes keep encoded tiles, so that each "
        "tile of a layer version and scope is cut once (none: `gridmap serve --workers N` makes a "
        "temporary one; otherwise each process keeps its own)",
    )
    tile_cache_dir_mb: int = Field(
        1024, ge=1, description="How large that folder may grow before its oldest tiles go (MiB)"
    )
    open_pool_at_start: bool = Field(
        True,
        description="Open all of a service process's PostgreSQL connections when it starts, each "
        "ready for PostGIS, rather than on the first requests that need them (no effect on SpatiaLite)",
    )
    sqlite_busy_timeout_s: float = Field(
        30.0,
        gt=0,
        description="How long the service waits for another writer's lock on a SpatiaLite file (s)",
    )
    sign_in_max_failures: int = Field(
        20, ge=1, description="Wrong passwords in a row that lock an account name for a while"
    )
    sign_in_lock_minutes: float = Field(15.0, gt=0, description="How long a locked account name waits (min)")
    sign_in_max_failures_per_address: int = Field(
        100, ge=1, description="Wrong passwords from one address within that time before it waits too"
    )

    @model_validator(mode="after")
    def _check_grid_range(self) -> Settings:
        if self.grid_households_min > self.grid_households_max:
            msg = (
                f"grid_households_min ({self.grid_households_min}) is larger than "
                f"grid_households_max ({self.grid_households_max})"
            )
            raise ValueError(msg)
        return self

    @property
    def database_path(self) -> Path | None:
        """The SpatiaLite file, when the database is one."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and self.database_url != prefix:
            return Path(self.database_url[len(prefix) :])
        return None
