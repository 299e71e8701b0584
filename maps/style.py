"""Colours, marks and classes the maps share, so every map reads the same."""

from __future__ import annotations

import math
from dataclasses import dataclass

# ColorBrewer qualitative "Set3" and "Paired" colours, for communities side by side.
COMMUNITY_PALETTE = (
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5",
    "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f", "#a6cee3", "#b2df8a", "#fb9a99", "#cab2d6",
)  # fmt: skip

BRANCH_COLOURS = {"own": "#1a9850", "joint": "#4575b4", "none": "#d73027"}

CATEGORY_COLOURS = {
    "party_service_centre": "#c0392b", "community_service": "#e67e22", "elderly_care": "#8e44ad",
    "childcare": "#e84393", "kindergarten": "#fd79a8", "primary_school": "#2980b9",
    "middle_school": "#1f618d", "clinic": "#16a085", "hospital": "#0e6655", "pharmacy": "#48c9b0",
    "market": "#d35400", "grocery": "#f39c12", "food": "#b9770e", "culture": "#6c3483",
    "sports": "#27ae60", "park": "#229954", "admin_service": "#7f8c8d", "police": "#34495e",
    "post_bank": "#5d6d7e", "toilets": "#95a5a6", "waste": "#6e2c00",
}  # fmt: skip

#: One Chinese character per category, drawn in the facility's disc.
CATEGORY_MARKS = {
    "party_service_centre": "党", "community_service": "社", "elderly_care": "老", "childcare": "托",
    "kindergarten": "幼", "primary_school": "小", "middle_school": "中", "clinic": "医",
    "hospital": "院", "pharmacy": "药", "market": "菜", "grocery": "超", "food": "食",
    "culture": "文", "sports": "体", "park": "园", "admin_service": "政", "police": "警",
    "post_bank": "邮", "toilets": "厕", "waste": "废",
}  # fmt: skip


@dataclass(frozen=True)
class MinuteClass:
    key: str
    label: str
    upper: float  # minutes, inclusive
    colour: str


MINUTE_CLASSES = (
    MinuteClass("m5", "≤ 5 分钟", 5, "#1a9850"),
    MinuteClass("m10", "5–10 分钟", 10, "#91cf60"),
    MinuteClass("m15", "10–15 分钟", 15, "#fee08b"),
    MinuteClass("m30", "15–30 分钟", 30, "#fc8d59"),
    MinuteClass("over", "> 30 分钟", math.inf, "#d73027"),
    MinuteClass("none", "无可达设施", math.nan, "#7f7f7f"),
)


def minute_class(minutes: float) -> str:
    """The key of the class a walk of ``minutes`` falls in ("none" when not reachable)."""
    if minutes is None or not math.isfinite(minutes):
        return "none"
    return next(c.key for c in MINUTE_CLASSES if minutes <= c.upper)


def community_colour(community_id) -> str:
    """A colour per community id, the same on every map."""
    try:
        return COMMUNITY_PALETTE[int(community_id) % len(COMMUNITY_PALETTE)]
    except (TypeError, ValueError):
        return "#eeeeee"


#: CSS of the marks, legends and tables the maps draw themselves.
MAP_CSS = """
.gm-icon { background: none; border: none; }
.gm-mark { width: 20px; height: 20px; border-radius: 10px; color: #fff; font: bold 12px/20px sans-serif;
  text-align: center; border: 1px solid #fff; box-shadow: 0 0 2px #000; }
.gm-site { width: 26px; height: 26px; border-radius: 13px; background: #111; color: #ffd400;
  font: bold 14px/26px sans-serif; text-align: center; border: 2px solid #ffd400; }
.gm-panel { background: rgba(255,255,255,0.92); padding: 6px 8px; font: 12px/1.4 sans-serif;
  border-radius: 4px; box-shadow: 0 0 4px rgba(0,0,0,0.3); max-width: 360px; }
.gm-panel h4 { margin: 0 0 4px; font-size: 13px; }
.gm-panel table { border-collapse: collapse; }
.gm-panel td, .gm-panel th { padding: 1px 5px; text-align: right; }
.gm-panel td:first-child, .gm-panel th:first-child { text-align: left; }
.gm-note { max-width: 300px; margin-top: 4px; color: #555; }
.gm-swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: middle; }
"""
