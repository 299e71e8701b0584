"""How OpenStreetMap tags become gridmap layers: walkable ways, compounds, POI classes, categories.

Walkability follows the OSMnx "walk" network type. POI classes (``service_type``) follow the
demo extract's SOURCE.md, so that ``import-osm`` reproduces its recorded counts; each class
then maps to zero or more service categories of DESIGN §7.
"""

from __future__ import annotations

from collections.abc import Mapping

EXCLUDED_HIGHWAYS = frozenset(
    {
        "motorway", "motorway_link", "cycleway", "bus_guideway", "raceway", "construction",
        "proposed", "planned", "abandoned", "razed", "platform", "elevator", "no", "motor",
    }
)  # fmt: skip
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
COMPOUND_PLACES = frozenset({"neighbourhood", "quarter", "suburb", "city_block", "hamlet"})
POI_KEYS = ("amenity", "shop", "leisure", "healthcare", "social_facility")
POI_OFFICES = frozenset({"government", "administrative"})


def is_walkable(tags: Mapping[str, str], excluded: frozenset[str] = EXCLUDED_HIGHWAYS) -> bool:
    """Whether a ``highway=*`` way can be walked."""
    highway = tags.get("highway")
    if highway is None or highway in excluded:
        return False
    if tags.get("area") == "yes" or tags.get("foot") == "no" or tags.get("service") == "private":
        return False
    return not (tags.get("access") == "private" and tags.get("foot") not in FOOT_ALLOWED)


def is_compound_area(tags: Mapping[str, str]) -> bool:
    """Residential areas that stand for compounds (小区) in Chinese OSM."""
    if tags.get("building") not in (None, "no"):
        return False
    return (
        tags.get("landuse") == "residential" or "residential" in tags or tags.get("place") in COMPOUND_PLACES
    )


def is_poi(tags: Mapping[str, str]) -> bool:
    """Whether an object is a point of interest that may be a facility."""
    return any(k in tags for k in POI_KEYS) or tags.get("office") in POI_OFFICES


_AMENITY_CLASS = {
    "clinic": "clinic", "doctors": "clinic", "dentist": "clinic",
    "hospital": "hospital", "pharmacy": "pharmacy",
    "kindergarten": "kindergarten", "childcare": "kindergarten",
    "school": "school", "university": "higher_education", "college": "higher_education",
    "nursing_home": "elderly_care", "social_facility": "social_facility",
    "community_centre": "community_centre", "marketplace": "market", "police": "police",
    "townhall": "government", "courthouse": "government", "library": "library",
    "post_office": "post_office", "bank": "bank", "atm": "bank",
    "restaurant": "food", "fast_food": "food", "cafe": "food", "bar": "food", "pub": "food",
    "ice_cream": "food", "food_court": "food", "biergarten": "food",
    "arts_centre": "culture", "theatre": "culture", "cinema": "culture",
    "toilets": "toilets", "place_of_worship": "religion",
}  # fmt: skip
_SHOP_CLASS = {
    "supermarket": "grocery", "convenience": "grocery", "greengrocer": "grocery",
    "butcher": "grocery", "seafood": "grocery", "bakery": "grocery", "deli": "grocery",
    "dairy": "grocery", "farm": "grocery", "frozen_food": "grocery",
    "mall": "mall", "department_store": "mall",
}  # fmt: skip
_LEISURE_CLASS = {
    "park": "park", "garden": "park", "playground": "park", "nature_reserve": "park",
    "pitch": "sports", "sports_centre": "sports", "fitness_centre": "sports",
    "fitness_station": "sports", "swimming_pool": "sports", "stadium": "sports",
    "track": "sports", "sports_hall": "sports",
}  # fmt: skip


def service_type(tags: Mapping[str, str]) -> str:
    """The POI class of an object's tags (see the module docstring)."""
    amenity = tags.get("amenity")
    if "healthcare" in tags and amenity not in ("hospital", "pharmacy"):
        return "clinic"
    if amenity == "social_facility" or "social_facility" in tags:
        target = tags.get("social_facility:for", "")
        if "senior" in target or tags.get("social_facility") in ("nursing_home", "assisted_living"):
            return "elderly_care"
        return "social_facility"
    if amenity in _AMENITY_CLASS:
        return _AMENITY_CLASS[amenity]
    if tags.get("office") in POI_OFFICES:
        return "government"
    shop = tags.get("shop")
    if shop in _SHOP_CLASS:
        return _SHOP_CLASS[shop]
    leisure = tags.get("leisure")
    if leisure in _LEISURE_CLASS:
        return _LEISURE_CLASS[leisure]
    if amenity:
        return "other_amenity"
    if shop:
        return "other_shop"
    return "other_leisure"


_CLASS_CATEGORIES: dict[str, tuple[str, ...]] = {
    "clinic": ("clinic",),
    "hospital": ("hospital",),
    "pharmacy": ("pharmacy",),
    "kindergarten": ("kindergarten",),
    "elderly_care": ("elderly_care",),
    "social_facility": ("community_service",),
    "community_centre": ("community_service", "culture"),
    "market": ("market",),
    "grocery": ("grocery",),
    "mall": ("grocery",),
    "police": ("police",),
    "government": ("admin_service",),
    "library": ("culture",),
    "culture": ("culture",),
    "post_office": ("post_bank",),
    "bank": ("post_bank",),
    "food": ("food",),
    "park": ("park",),
    "sports": ("sports",),
    "toilets": ("toilets",),
}
_WASTE_AMENITIES = frozenset({"recycling", "waste_disposal", "waste_transfer_station"})


def categories_for(tags: Mapping[str, str], poi_class: str) -> tuple[str, ...]:
    """Service categories a POI serves; empty when none of ours applies."""
    if poi_class == "school":
        name = tags.get("name", "")
        isced = tags.get("isced:level", "")
        primary = "小学" in name or "1" in isced.split(";")
        middle = "中学" in name or "初中" in name or "2" in isced.split(";")
        if "九年" in name or "实验学校" in name:
            primary = middle = True
        if not (primary or middle):
            primary = True
        return tuple(c for c, ok in (("primary_school", primary), ("middle_school", middle)) if ok)
    if tags.get("amenity") == "childcare":
        return ("childcare",)
    if tags.get("amenity") in _WASTE_AMENITIES:
        return ("waste",)
    return _CLASS_CATEGORIES.get(poi_class, ())
