"""A party branch's form (单独, 联合, 兼合式, 临时) is kept apart from how many compounds it
serves: the migration carries stored branches over, and assigning compounds never rewrites it."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import text

from gridmap.io.assign import assign_branch
from gridmap.store.engine import make_engine
from gridmap.store.layers import read_layer, write_layer
from gridmap.store.schema import upgrade_db


def test_the_migration_carries_stored_branches_over(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade_db(engine, "0010")  # the schema before branch forms
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO party_orgs (id, name, kind, joint) VALUES "
            "(1, '社区党委', 'community_committee', 0), (2, '锦华苑等小区联合党支部', 'compound_branch', 1), "
            "(3, '锦华苑党支部', 'compound_branch', 0)"
        ))  # fmt: skip
        conn.execute(text("INSERT INTO members (id, name, kind, org_id) VALUES (1, '王芳', 'resident', 2)"))
    upgrade_db(engine)
    orgs = read_layer(engine, "party_orgs").set_index("id")
    assert pd.isna(orgs.loc[1, "form"])  # a committee has no branch form
    assert orgs.loc[[2, 3], "form"].tolist() == ["joint", "single"]
    assert read_layer(engine, "members").iloc[0]["org_id"] == 2  # nothing else moved
    engine.dispose()


def test_an_embedded_branch_serving_one_compound_stays_embedded(engine):
    write_layer(engine, "party_orgs", pd.DataFrame({
        "name": ["宝龙国际兼合式党支部", "联合党支部"], "kind": ["compound_branch"] * 2,
        "form": ["embedded", "joint"],
    }))  # fmt: skip
    write_layer(engine, "compounds", gpd.GeoDataFrame(
        {"name": ["宝龙国际", "甲小区", "乙小区"]},
        geometry=[shapely.box(104.05 + i * 0.01, 30.65, 104.055 + i * 0.01, 30.655) for i in range(3)], crs=4326,
    ))  # fmt: skip
    assign_branch(engine, [1], 1, user="t")
    assign_branch(engine, [2, 3], 2, user="t")
    orgs = read_layer(engine, "party_orgs").set_index("id")
    assert (orgs.loc[1, "form"], bool(orgs.loc[1, "joint"])) == ("embedded", False)
    assert (orgs.loc[2, "form"], bool(orgs.loc[2, "joint"])) == ("joint", True)
    assign_branch(engine, [3], 1, user="t")  # the embedded branch now serves two: still embedded
    orgs = read_layer(engine, "party_orgs").set_index("id")
    assert (orgs.loc[1, "form"], bool(orgs.loc[1, "joint"])) == ("embedded", True)
