"""Shapefile field names cut to 10 characters or abbreviated map back to the layer's columns,
the mapping said; a name that could be several columns is refused, nothing written."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pytest
import shapely

from gridmap.errors import InputError
from gridmap.io.fieldnames import shapefile_field_map
from gridmap.io.importer import import_layer
from gridmap.model import layer_spec
from gridmap.store.layers import layer_version, read_layer


def _streets_shapefile(folder, parent_field: str):
    frame = gpd.GeoDataFrame(
        {
            "code": ["510104001", "510104002"],
            "name": ["甲街道", "乙街道"],
            parent_field: ["510104", "510104"],
        },
        geometry=[shapely.box(104.05, 30.65, 104.08, 30.69), shapely.box(104.08, 30.65, 104.11, 30.69)],
        crs=4326,
    )
    path = folder / "streets.shp"
    with warnings.catch_warnings():  # GDAL says when it cuts a name: that is the point here
        warnings.simplefilter("ignore")
        frame.to_file(path, engine="pyogrio", encoding="utf-8")
    return path


@pytest.mark.parametrize("parent_field", ["dist_code", "district_code", "DIST_CODE"])
def test_cut_and_abbreviated_names_keep_the_links(district, tmp_path, parent_field):
    path = _streets_shapefile(tmp_path, parent_field)
    report = import_layer(district, "streets", path)
    streets = read_layer(district, "streets")
    district_id = int(read_layer(district, "districts").index[0])
    assert streets["district_id"].tolist() == [district_id, district_id]
    said = [w.message for w in report.warnings if "Shapefile fields read as columns" in w.message]
    assert len(said) == 1 and "→ district_code" in said[0]


def test_a_name_that_could_be_two_columns_is_refused(district, tmp_path):
    frame = gpd.GeoDataFrame(
        {"code": ["510104001001001"], "name": ["第1网格"], "community_": ["510104001001"]},
        geometry=[shapely.box(104.05, 30.65, 104.06, 30.66)],
        crs=4326,
    )
    path = tmp_path / "grids.shp"
    frame.to_file(path, engine="pyogrio", encoding="utf-8")
    before = layer_version(district, "grids")
    with pytest.raises(InputError) as caught:
        import_layer(district, "grids", path)
    (problem,) = caught.value.problems
    assert problem.field == "community_" and "community_id, community_code" in problem.message
    assert "--field-map community_=COLUMN" in problem.message
    assert len(read_layer(district, "grids")) == 0 and layer_version(district, "grids") == before
    # naming it settles it
    import_layer(district, "communities", _community(tmp_path))
    import_layer(district, "grids", path, field_map={"community_": "community_code"})
    assert read_layer(district, "grids")["community_id"].notna().all()


def _community(folder):
    path = folder / "communities.gpkg"
    gpd.GeoDataFrame(
        {"code": ["510104001001"], "name": ["甲社区"]},
        geometry=[shapely.box(104.05, 30.65, 104.07, 30.67)],
        crs=4326,
    ).to_file(path, engine="pyogrio")
    return path


def test_the_rules_of_the_mapping():
    grids, buildings = layer_spec("grids"), layer_spec("buildings")
    assert shapefile_field_map(["comm_code", "par_code", "HOUSEHOLDS"], grids) == {
        "comm_code": "community_code", "par_code": "parent_code", "HOUSEHOLDS": "households"}  # fmt: skip
    assert shapefile_field_map(["hh", "pop", "compound_i"], buildings) == {
        "hh": "households", "pop": "residents", "compound_i": "compound_id"}  # fmt: skip
    assert shapefile_field_map(["name", "code", "note_text"], grids) == {}  # unknown stays unknown
    with pytest.raises(InputError, match="could each be column 'households'"):
        shapefile_field_map(["hh", "hhs"], buildings)
