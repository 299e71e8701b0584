"""A hand-built street plan for siting tests (UTM 48N metres): homes along one street, clinics,
a district, and candidate lots given by x position."""

import geopandas as gpd
from shapely.geometry import LineString, Point, box

from gridmap.coverage import CoverageInputs
from gridmap.siting.candidates import CandidateRules
from gridmap.siting.proposal import SitingParams

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0
# 1.1 m/s: 15 min = 990 m. A 3 km street along y = 0; homes 10 m north of it.


def pt(x, y=0.0):
    return Point(X0 + x, Y0 + y)


def plan_inputs(home_x=(0, 200, 2000, 2200), clinics=(0,), districts=True, roads=True):
    buildings = gpd.GeoDataFrame(
        {"households": 100, "residents": 250, "use": ["residential"] * (len(home_x) - 1) + ["civic"]},
        geometry=[box(X0 + x - 5, Y0 + 10, X0 + x + 5, Y0 + 20) for x in home_x],
        index=range(1, len(home_x) + 1),
        crs=UTM,
    )
    facilities = gpd.GeoDataFrame(
        {"categories": "clinic", "name": [f"clinic {i}" for i in range(len(clinics))]},
        geometry=[pt(x) for x in clinics],
        index=range(101, 101 + len(clinics)),
        crs=UTM,
    )
    street = gpd.GeoDataFrame(
        {"highway": ["residential"]}, geometry=[LineString([(X0 - 500, Y0), (X0 + 3000, Y0)])], crs=UTM
    )
    district = gpd.GeoDataFrame(
        {"name": ["d"]}, geometry=[box(X0 - 600, Y0 - 500, X0 + 2500, Y0 + 500)], crs=UTM
    )
    return CoverageInputs(
        buildings=buildings,
        facilities=facilities,
        roads=street if roads else None,
        districts=district if districts else None,
    )


def given_lots(xs, names=None):
    return gpd.GeoDataFrame(
        {"name": names or [f"lot {x}" for x in xs]}, geometry=[pt(x, -10) for x in xs], crs=UTM
    )


def site_params(**kw):
    kw.setdefault("categories", ("clinic",))
    kw.setdefault("rules", CandidateRules(sources=("given",)))
    kw.setdefault("count", 1)
    return SitingParams(**kw)
