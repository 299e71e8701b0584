"""Items grouped by an integer key, for gathering every item of many keys at once."""

from __future__ import annotations

import numpy as np


class ByKey:
    """Items grouped by their key (``key_of_item``, each in 0 … ``key_count`` − 1): the origins
    or edge ends at a graph node, the home–site pairs of a demand row."""

    def __init__(self, key_of_item: np.ndarray, key_count: int) -> None:
        self.items = np.argsort(key_of_item, kind="stable")
        self.starts = np.searchsorted(key_of_item[self.items], np.arange(key_count + 1))

    def expand(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every item of each of ``keys``: (position in ``keys``, item), in ``keys`` order."""
        count = self.starts[keys + 1] - self.starts[keys]
        rep = np.repeat(np.arange(len(keys)), count)
        pos = self.starts[keys][rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count))
        return rep, self.items[pos]
