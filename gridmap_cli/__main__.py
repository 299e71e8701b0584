"""``python -m gridmap_cli`` runs the ``gridmap`` command."""

import sys

from gridmap_cli.main import main

sys.exit(main())
