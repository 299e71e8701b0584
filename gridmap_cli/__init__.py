"""The ``gridmap`` command, above the library, the service and the maps: one module per
command group (data, coverage, siting, grids and organisation, service and maps, users);
argument parsing, orchestration and terminal printing live here, never in ``gridmap``."""

from gridmap_cli.main import main

__all__ = ["main"]
