"""Grid codes in the Beijing DB11 unit-grid form, and their reading order.

A code has 15 digits: 6-digit administrative code (GB/T 2260, the district) + 3-digit street
+ 3-digit community + 3-digit sequence. Streets take 001–099 as in the statistical division
codes. Units are numbered west → east, then north → south: in rows from the north, each row
from the west.
"""

from __future__ import annotations

import re

import numpy as np

GRID_CODE = re.compile(r"^(\d{6})(\d{3})(\d{3})(\d{3})$")


def street_code(district_code: str, street_seq: int) -> str:
    """9-digit street code: district code + 3-digit street number (001–099)."""
    if not 1 <= street_seq <= 99:
        raise ValueError(f"street number {street_seq} is outside 1–99")
    return f"{district_code}{street_seq:03d}"


def community_code(street: str, community_seq: int) -> str:
    """12-digit community code: street code + 3-digit community number."""
    if not 1 <= community_seq <= 999:
        raise ValueError(f"community number {community_seq} is outside 1–999")
    return f"{street}{community_seq:03d}"


def grid_code(community: str, grid_seq: int) -> str:
    """15-digit grid code: community code + 3-digit sequence."""
    if not 1 <= grid_seq <= 999:
        raise ValueError(f"grid number {grid_seq} is outside 1–999")
    return f"{community}{grid_seq:03d}"


def parse_grid_code(code: str) -> tuple[str, str, str, str] | None:
    """(district, street, community, sequence) parts of a valid code, else None."""
    match = GRID_CODE.match(code)
    if not match or match.group(2) == "000" or match.group(3) == "000" or match.group(4) == "000":
        return None
    return match.group(1), match.group(2), match.group(3), match.group(4)


def reading_order(x: np.ndarray, y: np.ndarray, *, row_height: float) -> np.ndarray:
    """Indices that put points in reading order: rows of ``row_height`` from the north, each
    row west → east. ``x``/``y`` are in a projected CRS in metres, y to the north."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) == 0:
        return np.array([], dtype=int)
    rows = np.floor((y.max() - y) / max(row_height, 1e-9)).astype(int)
    # x to the centimetre, so that two units one above the other go north first, whatever
    # rounding their outlines went through
    return np.lexsort((-y, np.round(x, 2), rows))
