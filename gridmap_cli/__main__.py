"""``python -m gridmap_cli`` runs the ``gridmap`` command."""

from gridmap_cli.main import run

run()
