"""Import of every format, and every kind of bad input: its error, and no change stored."""

import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridmap.errors import InputError
from gridmap.io.export import export_layer
from gridmap.io.importer import import_layer
from gridmap.store.layers import layer_version, read_layer


def _communities(n=2, **overrides) -> gpd.GeoDataFrame:
    data = {
        "code": [f"510104001{i + 1:03d}" for i in range(n)],
        "name": [f"测试{i + 1}社区" for i in range(n)],
    }
    data.update(overrides)
    geoms = [shapely.box(104.05 + 0.01 * i, 30.65, 104.06 + 0.01 * i, 30.66) for i in range(n)]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=4326)


def _unchanged(engine, layer, before_version):
    assert len(read_layer(engine, layer)) == 0
    assert layer_version(engine, layer) == before_version


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".zip"])
def test_import_gis_formats(district, tmp_path, suffix):
    path = tmp_path / f"communities{suffix}"
    frame = _communities()
    if suffix == ".zip":
        shp = tmp_path / "shp" / "communities.shp"
        shp.parent.mkdir()
        frame.to_file(shp)
        with zipfile.ZipFile(path, "w") as zf:
            for part in shp.parent.iterdir():
                zf.write(part, part.name)
    else:
        frame.to_file(path)
    report = import_layer(district, "communities", path)
    assert report.count == 2
    back = read_layer(district, "communities")
    assert list(back["name"]) == ["测试1社区", "测试2社区"]
    expected = shapely.MultiPolygon([frame.geometry.iloc[0]])
    assert shapely.normalize(back.geometry.iloc[0]).equals_exact(shapely.normalize(expected), 1e-9)


def test_import_csv_points_with_field_map(district, tmp_path):
    path = tmp_path / "fac.csv"
    pd.DataFrame(
        {
            "名称": ["卫生站", "菜市场"],
            "cat": ["clinic", "market;grocery"],
            "lng": [104.06, 104.07],
            "lat": [30.66, 30.67],
        }
    ).to_csv(path, index=False)
    with pytest.raises(InputError, match="no coordinate reference system"):
        import_layer(district, "facilities", path, field_map={"名称": "name", "cat": "categories"})
    import_layer(
        district, "facilities", path, field_map={"名称": "name", "cat": "categories"}, source_crs="EPSG:4326"
    )
    back = read_layer(district, "facilities")
    assert list(back["categories"]) == ["clinic", "market,grocery"]
    assert back.geometry.iloc[1].equals(shapely.Point(104.07, 30.67))


def test_import_csv_wkt_and_parent_codes(district, tmp_path):
    import_layer(district, "communities", _write(tmp_path, _communities()))
    path = tmp_path / "grids.csv"
    pd.DataFrame(
        {
            "code": ["510104001001001"],
            "community_code": ["510104001001"],
            "wkt": [shapely.box(104.05, 30.65, 104.055, 30.655).wkt],
        }
    ).to_csv(path, index=False)
    import_layer(district, "grids", path, source_crs="EPSG:4326")
    grid = read_layer(district, "grids").iloc[0]
    assert grid["community_id"] == read_layer(district, "communities")["id"].iloc[0]


def test_import_cgcs2000_and_gcj02(district, tmp_path):
    frame = gpd.GeoDataFrame(
        {"name": ["站"], "categories": ["clinic"]},
        geometry=[shapely.Point(104.0665, 30.6574)],
        crs="EPSG:4490",
    )
    import_layer(district, "facilities", _write(tmp_path, frame))
    p = read_layer(district, "facilities").geometry.iloc[0]
    assert (round(p.x, 6), round(p.y, 6)) == (104.0665, 30.6574)
    path = tmp_path / "gcj.csv"
    pd.DataFrame({"name": ["站2"], "categories": ["clinic"], "lon": [104.0665], "lat": [30.6574]}).to_csv(
        path, index=False
    )
    import_layer(district, "facilities", path, source_crs="gcj02")
    q = read_layer(district, "facilities").geometry.iloc[1]
    assert 0.002 < abs(q.x - 104.0665) < 0.004  # GCJ-02 shifts Chengdu by a few hundred metres


def _write(tmp_path, frame, name="in.gpkg"):
    path = tmp_path / name
    frame.to_file(path)
    return path


def _problems(excinfo) -> list[str]:
    return [str(p) for p in excinfo.value.problems]


def test_invalid_geometry_is_reported_and_fix_repairs_it(district, tmp_path):
    bowtie = shapely.Polygon([(104.05, 30.65), (104.06, 30.66), (104.06, 30.65), (104.05, 30.66)])
    frame = _communities(1).set_geometry([bowtie])
    path = _write(tmp_path, frame)
    with pytest.raises(InputError) as exc:
        import_layer(district, "communities", path)
    assert any(
        "feature 1 (id 510104001001)" in p and "Self-intersection" in p and "geometry" in p
        for p in _problems(exc)
    )
    _unchanged(district, "communities", 0)
    report = import_layer(district, "communities", path, fix=True)
    assert report.count == 1 and "make_valid" in str(report.fixes[0])
    assert read_layer(district, "communities").geometry.iloc[0].is_valid


def test_wrong_geometry_type(district, tmp_path):
    frame = _communities(1).set_geometry([shapely.Point(104.05, 30.65)])
    with pytest.raises(
        InputError, match="geometry is Point but layer 'communities' holds Polygon or MultiPolygon"
    ):
        import_layer(district, "communities", _write(tmp_path, frame))
    _unchanged(district, "communities", 0)


def _facility_csv(tmp_path, **coordinates):
    """A one-facility CSV with the given coordinate columns."""
    path = tmp_path / "f.csv"
    pd.DataFrame({"name": ["x"], "categories": ["clinic"], **coordinates}).to_csv(path, index=False)
    return path


def test_swapped_lon_lat_gets_a_hint(district, tmp_path):
    path = _facility_csv(tmp_path, lon=[30.66], lat=[104.06])
    with pytest.raises(InputError, match="lon/lat look swapped"):
        import_layer(district, "facilities", path, source_crs="wgs84")
    _unchanged(district, "facilities", 0)


def test_undeclared_projected_crs_gets_a_hint(district, tmp_path):
    path = _facility_csv(tmp_path, x=[406000.0], y=[3393000.0])
    with pytest.raises(InputError, match="metres of a projected CRS"):
        import_layer(district, "facilities", path, source_crs="EPSG:4326")


def test_far_outside_the_district(district, tmp_path):
    frame = gpd.GeoDataFrame(
        {"name": ["远"], "categories": ["clinic"]}, geometry=[shapely.Point(104.5, 30.66)], crs=4326
    )
    with pytest.raises(InputError, match=r"km outside the district"):
        import_layer(district, "facilities", _write(tmp_path, frame))
    _unchanged(district, "facilities", 0)


def test_duplicate_codes_in_file_and_in_database(district, tmp_path):
    frame = _communities(2, code=["510104001001", "510104001001"])
    with pytest.raises(InputError) as exc:
        import_layer(district, "communities", _write(tmp_path, frame))
    assert any("feature 2" in p and "duplicate code '510104001001'" in p for p in _problems(exc))
    import_layer(district, "communities", _write(tmp_path, _communities(1), "one.gpkg"))
    version = layer_version(district, "communities")
    again = import_layer(district, "communities", _write(tmp_path, _communities(1), "again.gpkg"))
    assert again.plan.counts["unchanged"] == 1  # a stored code is the same feature (test_merge.py)
    assert len(read_layer(district, "communities")) == 1 and layer_version(district, "communities") == version


def test_unknown_parent(district, tmp_path):
    frame = _communities(1, street_code=["510104099"])
    with pytest.raises(InputError, match="no feature with code '510104099' in layer 'streets'"):
        import_layer(district, "communities", _write(tmp_path, frame))
    _unchanged(district, "communities", 0)


def test_truncated_and_unreadable_files(district, tmp_path):
    good = _write(tmp_path, _communities())
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(InputError, match=r"broken\.gpkg.*cannot read"):
        import_layer(district, "communities", broken)
    text = tmp_path / "notes.geojson"
    text.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(InputError, match="cannot read"):
        import_layer(district, "communities", text)
    with pytest.raises(InputError, match="file not found"):
        import_layer(district, "communities", tmp_path / "missing.gpkg")
    _unchanged(district, "communities", 0)


def test_every_problem_is_listed_by_feature_and_field(district, tmp_path):
    path = tmp_path / "orgs.csv"
    pd.DataFrame(
        {
            "name": ["甲", "", "丙"],
            "kind": ["compound_branch", "branch", "building_group"],
            "founded_on": ["2021-07-01", "2021-13-01", "x"],
        }
    ).to_csv(path, index=False)
    with pytest.raises(InputError) as exc:
        import_layer(district, "party_orgs", path)
    problems = _problems(exc)
    # rows as a spreadsheet numbers them: the header is row 1
    assert any("row 3" in p and "field 'name'" in p and "required" in p for p in problems)
    assert any("row 3" in p and "field 'kind'" in p and "not one of" in p for p in problems)
    assert any("row 3" in p and "field 'founded_on'" in p and "YYYY-MM-DD" in p for p in problems)
    assert any("row 4" in p and "field 'founded_on'" in p for p in problems)
    _unchanged(district, "party_orgs", 0)


def test_problems_come_in_the_files_order_and_a_coordinate_not_a_number_is_said_so(district, tmp_path):
    path = tmp_path / "f.csv"
    pd.DataFrame(
        {"name": list("abc"), "categories": ["clinic", "nosuch", ""], "lon": ["inf", 104.06, 104.06],
         "lat": [30.66] * 3}
    ).to_csv(path, index=False)  # fmt: skip
    with pytest.raises(InputError) as exc:
        import_layer(district, "facilities", path, source_crs="EPSG:4326")
    problems = _problems(exc)
    assert [p.split(", field")[0] for p in problems] == [f"{path}, row {n}" for n in (2, 3, 4)]
    assert problems[0].endswith("a coordinate is not a finite number")  # not "metres of a projected CRS"


def test_missing_crs_is_refused(district, tmp_path):
    path = tmp_path / "nocrs.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x","categories":"clinic"},"geometry":{"type":"Point","coordinates":[104.06,30.66]}}]}'
    )
    report = import_layer(district, "facilities", path)  # GeoJSON is WGS 84 by definition
    assert report.count == 1
    shp = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame(
            {"name": ["x"], "categories": ["clinic"]}, geometry=[shapely.Point(104.06, 30.66)]
        ).to_file(shp)
    with pytest.raises(InputError, match="no coordinate reference system"):
        import_layer(district, "facilities", shp)
    assert len(read_layer(district, "facilities")) == 1


def test_unknown_category_names_the_choices(district, tmp_path):
    frame = gpd.GeoDataFrame(
        {"name": ["x"], "categories": ["clinic,spa"]}, geometry=[shapely.Point(104.06, 30.66)], crs=4326
    )
    with pytest.raises(InputError, match="unknown service category spa; expected some of: "):
        import_layer(district, "facilities", _write(tmp_path, frame))


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".csv"])
def test_export_round_trips(district, tmp_path, suffix):
    import_layer(district, "communities", _write(tmp_path, _communities()))
    out = tmp_path / f"out{suffix}"
    assert export_layer(district, "communities", out) == 2
    back = pd.read_csv(out) if suffix == ".csv" else gpd.read_file(out)
    assert sorted(back["name"]) == ["测试1社区", "测试2社区"]


def test_a_spreadsheet_keeps_text_that_looks_like_a_formula_as_text(tmp_path):
    """A compound named '=HYPERLINK(…)' by whoever may edit it became a formula in the district's
    report, run by whoever opened it."""
    import openpyxl

    from gridmap.io.export import write_workbook

    names = ['=HYPERLINK("http://example.invalid","点我")', "=1+1", "锦华苑"]
    write_workbook({"compounds": pd.DataFrame({"name": names})}, tmp_path / "report.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "report.xlsx")["compounds"]
    assert [(c.value, c.data_type) for (c,) in sheet.iter_rows(min_row=2)] == [(n, "s") for n in names]


def test_footprints_without_names_merge_with_the_stored_ones_by_place(district, tmp_path):
    """A surveyor's footprints carry no names: importing them where buildings were stored once
    failed ("zip() argument 2 is shorter than argument 1"); each now matches the stored
    building at its place, and a new one is added."""
    boxes = [shapely.box(104.05 + i * 0.001, 30.65, 104.0503 + i * 0.001, 30.6503) for i in range(3)]
    named = gpd.GeoDataFrame({"name": ["1号楼", "2号楼"], "levels": [6, 6]}, geometry=boxes[:2], crs=4326)
    import_layer(district, "buildings", _write(tmp_path, named, "named.gpkg"))
    surveyed = gpd.GeoDataFrame({"levels": [6, 18, 3]}, geometry=boxes, crs=4326)
    report = import_layer(district, "buildings", _write(tmp_path, surveyed, "surveyed.gpkg"))
    assert report.plan.matched_on == ("place",)
    assert report.plan.counts == {"added": 1, "updated": 1, "removed": 0, "unchanged": 1}
    stored = read_layer(district, "buildings").sort_values("levels")
    assert stored["levels"].tolist() == [3, 6, 18] and stored["name"].tolist()[1:] == ["1号楼", "2号楼"]


def test_a_new_row_may_not_take_a_stored_features_id(district, tmp_path):
    """Matched on another key than the id, a row that matches nothing is new; the id it gives,
    if a stored feature has it, once reached the database as an IntegrityError."""
    first = gpd.GeoDataFrame({"name": ["甲站"], "categories": ["clinic"]}, geometry=[shapely.Point(104.06, 30.66)],
                             crs=4326)  # fmt: skip
    import_layer(district, "facilities", _write(tmp_path, first, "first.gpkg"))
    (taken,) = read_layer(district, "facilities", columns=[]).index
    other = gpd.GeoDataFrame({"id": [int(taken)], "name": ["乙站"], "categories": ["market"]},
                             geometry=[shapely.Point(104.07, 30.66)], crs=4326)  # fmt: skip
    for mode in ("merge", "replace"):
        with pytest.raises(InputError) as excinfo:
            import_layer(
                district, "facilities", _write(tmp_path, other, "other.gpkg"), key=["name"], mode=mode
            )
        assert _problems(excinfo) == [
            f"{tmp_path / 'other.gpkg'}, feature 1, field 'id': id {taken} is a stored feature's, but the row "
            "matches none on name; leave its id out to add it as a new feature, or match on the id (no --key)"
        ]
    assert read_layer(district, "facilities")["name"].tolist() == ["甲站"]


def test_rows_without_an_id_beside_rows_with_one_are_added_and_numbered(district, tmp_path):
    """A file whose id column is filled for some rows only: once the rows without one failed
    with a TypeError as they were written; now they are added, the database numbering them."""
    first = gpd.GeoDataFrame({"name": ["甲站"], "categories": ["clinic"]}, geometry=[shapely.Point(104.06, 30.66)],
                             crs=4326)  # fmt: skip
    import_layer(district, "facilities", _write(tmp_path, first, "first.gpkg"))
    (stored,) = read_layer(district, "facilities", columns=[]).index
    mixed = gpd.GeoDataFrame({"id": [int(stored), None], "name": ["甲站", "乙站"], "categories": ["market", "clinic"]},
                             geometry=[shapely.Point(104.06, 30.66), shapely.Point(104.07, 30.66)], crs=4326)  # fmt: skip
    report = import_layer(district, "facilities", _write(tmp_path, mixed, "mixed.gpkg"))
    assert report.plan.counts == {"added": 1, "updated": 1, "removed": 0, "unchanged": 0}
    back = read_layer(district, "facilities").sort_index()
    assert back["name"].tolist() == ["甲站", "乙站"] and back.loc[stored, "categories"] == "market"


def test_grids_without_a_code_column_are_told_so(district, tmp_path):
    """A grids file without codes but with kinds once failed inside the code check with a
    ValueError; it is told that the required field is missing."""
    grids = gpd.GeoDataFrame({"name": ["一网格"], "kind": ["party"]},
                             geometry=[shapely.box(104.05, 30.65, 104.055, 30.655)], crs=4326)  # fmt: skip
    with pytest.raises(InputError, match="field 'code': required field 'code' is missing"):
        import_layer(district, "grids", _write(tmp_path, grids))


def test_outlines_whose_parent_column_is_empty_import(district, tmp_path):
    """Communities exported before any street was stored carry an empty street_id column:
    importing them again once failed with a TypeError while looking for an offset."""
    frame = gpd.GeoDataFrame(
        {"name": ["甲社区", "乙社区"], "code": ["510104001001", "510104001002"], "street_id": [None, None]},
        geometry=[shapely.box(104.05 + i * 0.01, 30.65, 104.055 + i * 0.01, 30.655) for i in range(2)],
        crs=4326,
    )
    import_layer(district, "communities", _write(tmp_path, frame))
    assert sorted(read_layer(district, "communities")["name"]) == ["乙社区", "甲社区"]


def test_a_csv_keeps_text_that_looks_like_a_formula_as_text_and_reads_back_as_it_was(district, tmp_path):
    """A community named '=HYPERLINK(…)' (or '+86 …', '@SUM(…)', '-2+3') became a formula in
    the CSV export, run by whoever opened it in Excel or WPS; and Excel read the export's
    Chinese as GBK. Now such text stands behind an apostrophe in a UTF-8 file with its
    byte-order mark, and importing the export gives every name back as it was."""
    names = [
        '=HYPERLINK("http://example.invalid","点我")',
        "+86 138 0000 0000",
        "@SUM(1)",
        "-2+3",
        "'=1+1",  # as typed: its own apostrophe comes back too
        "-",
        "锦华社区",
    ]
    frame = gpd.GeoDataFrame(
        {"name": names, "code": [f"5101040010{i:02d}" for i in range(len(names))]},
        geometry=[
            shapely.box(104.05 + i * 0.01, 30.65, 104.055 + i * 0.01, 30.655) for i in range(len(names))
        ],
        crs=4326,
    )
    import_layer(district, "communities", _write(tmp_path, frame))
    out = tmp_path / "communities.csv"
    export_layer(district, "communities", out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel's "CSV UTF-8"
    cells = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("code")["name"]
    shown = [cells[f"5101040010{i:02d}"] for i in range(len(names))]
    assert shown == [f"'{n}" for n in names[:5]] + names[5:]  # a lone "-" is no formula
    assert not any(c[:1] in ("=", "+", "-", "@") and len(c) > 1 for c in shown)

    import_layer(district, "communities", out, source_crs="EPSG:4326", mode="replace")
    back = read_layer(district, "communities").set_index("code")["name"]
    assert [back[f"5101040010{i:02d}"] for i in range(len(names))] == names


@pytest.mark.parametrize("suffix", [".gpkg", ".csv"])
def test_whole_numbers_with_gaps_export_as_whole_numbers(district, tmp_path, suffix):
    """An OSM id known for one building of two was read as floats: a CSV gave '120.0', a
    GeoPackage a real field."""
    frame = gpd.GeoDataFrame(
        {"name": ["甲楼", "乙楼"], "osm_id": [120, None]},
        geometry=[
            shapely.box(104.05, 30.65, 104.0503, 30.6503),
            shapely.box(104.051, 30.65, 104.0513, 30.6503),
        ],
        crs=4326,
    )
    import_layer(district, "buildings", _write(tmp_path, frame))
    out = tmp_path / f"out{suffix}"
    export_layer(district, "buildings", out)
    if suffix == ".csv":
        back = pd.read_csv(out, dtype=str, keep_default_na=False)
        assert back["osm_id"].tolist() == ["120", ""]
    else:
        import pyogrio

        info = pyogrio.read_info(out)
        kinds = dict(zip(info["fields"], info["dtypes"], strict=True))
        assert kinds["osm_id"] == "int64", kinds
