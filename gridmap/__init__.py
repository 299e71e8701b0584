"""gridmap: urban community governance on the map.

The library holds the model, storage, import, and analysis code. It knows nothing of
HTTP or of map rendering: ``api`` and ``maps`` import it, never the reverse.
"""

__version__ = "0.1.0"
