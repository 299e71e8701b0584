"""README's "Your own district", step by step, on both databases: the raw OSM extract alone
gives plausible, stated estimates; the committee's own files — streets as a CGCS2000 Shapefile
in GBK without .cpg, communities as a GBK CSV in GCJ-02, grids as a Shapefile with cut field
names, stations saved from Excel in GCJ-02, a community ledger — then give figures from them,
and every estimate, merge and suspicion is said."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.crs import wgs84_to_gcj02
from gridmap.store.layers import read_layer
from gridmap_cli import main

DEMO = "fixtures/osm/chengdu-central"


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _to_gcj(geoms):
    return shapely.transform(
        np.asarray(geoms), lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))
    )


def _committee_files(folder, aoi, road_points):
    """The district's own layers as committees keep them (WGS 84 truths, saved as they come)."""
    w, s, e, n = aoi
    mx, my = round((w + e) / 2, 4), round((s + n) / 2, 4)
    gpd.GeoDataFrame(
        {"code": ["510104"], "name": ["锦江区"]}, geometry=[shapely.box(w, s, e, n)], crs=4326
    ).to_file(folder / "district.geojson")
    streets = gpd.GeoDataFrame(
        {"code": ["510104001", "510104002"], "name": ["督院街街道", "春熙路街道"], "dist_code": ["510104"] * 2},
        geometry=[shapely.box(w, s, mx, n), shapely.box(mx, s, e, n)], crs=4326,
    ).to_crs(4490)  # fmt: skip
    streets.to_file(folder / "streets.shp", encoding="gbk", engine="pyogrio")
    (folder / "streets.cpg").unlink(missing_ok=True)  # as ArcGIS on Chinese Windows leaves it
    quads = {"510104001001": (w, my, mx, n), "510104001002": (w, s, mx, my),
             "510104002001": (mx, my, e, n), "510104002002": (mx, s, e, my)}  # fmt: skip
    names = ["东大社区", "和平社区", "春熙社区", "盐市口社区"]
    communities = pd.DataFrame({
        "code": list(quads), "name": names, "street_code": [c[:9] for c in quads],
        "wkt": [g.wkt for g in _to_gcj([shapely.box(*b) for b in quads.values()])],
    })  # fmt: skip
    communities.to_csv(folder / "communities.csv", index=False, encoding="gbk")
    grids = []
    for code, (x0, y0, x1, y1) in quads.items():
        xm = (x0 + x1) / 2
        for i, box in enumerate((shapely.box(x0, y0, xm, y1), shapely.box(xm, y0, x1, y1)), start=1):
            grids.append({"code": f"{code}{i:03d}", "name": f"第{i}网格", "comm_code": code, "geometry": box})
    gpd.GeoDataFrame(grids, crs=4326).to_file(folder / "grids.shp", engine="pyogrio")
    lon, lat = wgs84_to_gcj02(road_points[:, 0], road_points[:, 1])
    stations = pd.DataFrame({"名称": [f"托育点{i + 1}" for i in range(len(lon))], "类别": "childcare",
                             "经度": lon.round(7), "纬度": lat.round(7)})  # fmt: skip
    stations.to_csv(folder / "stations.csv", index=False, encoding="utf-8-sig")  # Excel's "CSV UTF-8"
    pd.DataFrame({"社区代码": list(quads), "户数": [3000, 2500, 4000, 3500]}).to_csv(
        folder / "ledger.csv", index=False, encoding="gbk"
    )


def _area_shares(path) -> pd.Series:
    summary = pd.read_csv(path)
    area = summary[(summary["scope"] == "area") & (summary["level"] == 15)]
    return area.set_index("category")["share_residents"]


@pytest.mark.slow
def test_your_own_district_from_a_raw_extract_and_the_committees_files(engine, tmp_path, capsys):
    db = ["--db", engine.url.render_as_string(hide_password=False)]
    stats = json.loads((Path(DEMO) / "stats.json").read_text(encoding="utf-8"))
    aoi = ",".join(str(v) for v in stats["aoi_bbox"])

    # 1. the raw extract: every building gets homes, stated as estimates
    code, out, _ = _run(capsys, *db, "import-osm", f"{DEMO}/osm_source.osm.gz", "--bbox", aoi)
    assert code == 0 and "buildings" in out and "households of new buildings estimated" in out
    code, out, _ = _run(capsys, *db, "coverage", "--category", "grocery", "childcare", "--level", "15",
                        "--no-save", "--no-circles", "--out", str(tmp_path / "before.csv"))  # fmt: skip
    assert code == 0 and "100 % estimated from footprint × levels" in out
    before = _area_shares(tmp_path / "before.csv")
    assert (
        0.5 < before["grocery"] < 1.0 and before["childcare"] == 0.0
    )  # plausible: OSM maps no childcare here

    # 2. the committee's files, in the encodings and coordinate systems they come in
    roads = read_layer(engine, "roads")
    picked = roads.geometry.to_numpy()[np.linspace(0, len(roads) - 1, 12).astype(int)]
    points = shapely.get_coordinates(shapely.line_interpolate_point(picked, 0.5, normalized=True))
    _committee_files(tmp_path, stats["aoi_bbox"], points)
    steps = [
        ("districts", "district.geojson"),
        ("streets", "streets.shp"),
        ("communities", "communities.csv", "--source-crs", "gcj02"),
        ("grids", "grids.shp"),
        ("facilities", "stations.csv", "--source-crs", "gcj02", "--field-map", "名称=name,类别=categories"),
    ]
    said = ""
    for layer, name, *options in steps:
        code, out, err = _run(capsys, *db, "import", layer, str(tmp_path / name), *options)
        assert code == 0, (layer, err)
        assert f"imported {layer}: " in out and "added" in out
        said += out + err
    assert "detected from its bytes" in said  # the streets' and communities' GBK
    assert "dist_code → district_code" in said and "comm_code → community_code" in said
    assert "looks like" not in said  # everything declared as it is
    streets = read_layer(engine, "streets")
    assert sorted(streets["name"]) == ["春熙路街道", "督院街街道"]
    # the same stations declared as WGS 84 would have been named as GCJ-02
    code, out, err = _run(capsys, *db, "import", "facilities", str(tmp_path / "stations.csv"), "--dry-run",
                          "--source-crs", "EPSG:4326", "--field-map", "名称=name,类别=categories")  # fmt: skip
    assert code == 0 and "looks like GCJ-02" in err and "would change facilities: 12 added" in out
    # importing a file again changes nothing
    code, out, _ = _run(capsys, *db, "import", "streets", str(tmp_path / "streets.shp"))
    assert "0 added, 0 updated, 0 removed, 2 unchanged" in out

    # 3. the committee's counts
    code, out, err = _run(
        capsys, *db, "households", "ledger", str(tmp_path / "ledger.csv"), "--by", "community"
    )
    assert code == 0 and "盐市口社区" not in err and "510104002002" in out
    b = read_layer(engine, "buildings")
    assert b.loc[b["households_from"] == "ledger", "households"].sum() == 13000

    # 4. figures from them, with what is estimated said
    code, out, _ = _run(capsys, *db, "validate")
    assert code in (0, 1) and "from committees' ledgers" in out
    assert "grid_outside_community" not in out and "grid_overlap" not in out
    code, out, _ = _run(capsys, *db, "coverage", "--category", "grocery", "childcare", "--level", "15", "--by",
                        "community", "--no-save", "--no-circles", "--out", str(tmp_path / "after.csv"))  # fmt: skip
    assert code == 0 and "from committees' ledgers" in out and "盐市口社区" in out
    after = _area_shares(tmp_path / "after.csv")
    assert after["childcare"] > 0.05  # the stations, placed where they are
    code, out, _ = _run(capsys, *db, "site", "--category", "childcare", "--count", "2", "--no-save",
                        "--district", "510104")  # fmt: skip
    assert code == 0 and "rank" in out
