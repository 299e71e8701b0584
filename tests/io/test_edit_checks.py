"""Checking one edited feature reads the stored features it names, not whole layers, and finds
exactly what checking it against every stored id and code finds: the same problems, the same
references resolved, on each backend. The quick reads of what ties features together (ids,
codes, references) give what the layers read whole give."""

from __future__ import annotations

import pandas as pd
import pytest

from gridmap.io.importer import validation_context
from gridmap.io.validate import validate_frame
from gridmap.model import layer_spec
from gridmap.store.layers import layer_keys, read_columns, read_layer


def _cases(engine) -> list[tuple[str, dict, int | None]]:
    """(layer, values, id of the stored feature updated or None for a new one): references
    that exist and that do not, by id and by code, ids that are not numbers, a code taken by
    another feature and a grid code that does not carry its community's."""
    grids = read_layer(engine, "grids", geometry=False)
    communities = read_layer(engine, "communities", columns=["code"], geometry=False)
    members = read_layer(engine, "members", geometry=False)
    households = read_layer(engine, "households", geometry=False)
    orgs = read_layer(engine, "party_orgs", geometry=False)
    grid, other = grids.iloc[0], grids.iloc[1]
    home = households.iloc[3]
    member = members.iloc[0]
    community = communities.iloc[2]
    base = {"code": grid["code"], "community_id": int(grid["community_id"]), "kind": grid["kind"]}
    kind, org_kind, org = member["kind"], orgs.iloc[1]["kind"], int(orgs.index[0])
    duty = {"person_name": "丁", "role": "grid_leader", "target_layer": "grids", "valid_from": "2026-01-01"}
    return [
        ("households", {"building_id": int(home["building_id"]), "residents": 3}, int(home["id"])),
        ("households", {"building_id": 99_999_999, "linked_member_id": int(member["id"])}, int(home["id"])),
        ("households", {"building_id": "12.0", "linked_member_id": "abc"}, None),
        ("households", {"building_id": str(home["building_id"]), "linked_member_id": 99_999_999}, None),
        ("households", {"building_id": 10**20, "linked_member_id": -(2**63) - 1}, None),  # past any driver
        ("members", {"name": "甲", "kind": kind, "community_code": community["code"]}, None),
        ("members", {"name": "乙", "kind": kind, "community_code": " 0000 "}, int(member["id"])),
        ("members", {"name": "丙", "kind": kind, "org_id": org, "building_id": None}, None),
        ("grids", {**base, "name": "改名"}, int(grid["id"])),
        ("grids", {**base, "code": other["code"]}, int(grid["id"])),  # another grid's code
        ("grids", {**base, "code": "110101001001001", "parent_code": other["code"]}, None),
        ("grids", {**base, "community_id": int(community.name), "parent_id": 99_999_999}, int(grid["id"])),
        ("party_orgs", {"name": "支部", "kind": org_kind, "parent_id": org}, None),
        ("party_orgs", {"name": "支部", "kind": org_kind, "parent_id": -4, "street_code": "x"}, None),
        ("assignments", {**duty, "target_id": int(grid["id"])}, None),
        ("assignments", {**duty, "target_id": 99_999_999, "member_id": 0}, None),
    ]


def _checked(conn, layer: str, frame: pd.DataFrame, own: int | None, rows: pd.DataFrame | None):
    spec = layer_spec(layer)
    ctx = validation_context(conn, layer, mode="append", fix=False, margin_m=5000.0, rows=rows)
    if own is not None:  # as an update of the stored feature checks it
        ctx.ids.get(layer, set()).discard(own)
        if spec.code:
            ctx.codes.discard(str(read_layer(conn, layer, ids=[own], geometry=False)[spec.code].iloc[0]))
    clean, problems, _ = validate_frame(frame, spec, ctx)
    return clean, [(p.severity, p.field, p.message) for p in problems], ctx


def test_one_feature_s_check_reads_what_it_names_and_finds_what_the_whole_layers_find(demo_engine):
    found = 0
    with demo_engine.connect() as conn:
        for layer, values, own in _cases(demo_engine):
            frame = pd.DataFrame([values])
            if own is not None:
                frame.insert(0, "id", [own])
            if layer_spec(layer).geometry:  # the stored shape, as an edit of the attributes sends it
                shape = read_layer(conn, layer, ids=[own] if own is not None else None).geometry.iloc[0]
                frame = frame.assign(geometry=[shape]).set_geometry("geometry", crs=4326)
            whole_clean, whole, _ = _checked(conn, layer, frame, own, None)
            named_clean, named, ctx = _checked(conn, layer, frame, own, frame)
            assert named == whole, (layer, values)
            pd.testing.assert_frame_equal(named_clean, whole_clean)
            found += bool(whole)
            # only the features the row names were read: at most its own, a reference and a code
            assert max(len(ids) for ids in ctx.ids.values()) <= 2, (layer, values, ctx.ids)
    assert found >= 8  # most cases are refused, each for what it names


def test_layer_keys_by_id_and_by_code(demo_engine):
    every = layer_keys(demo_engine, "grids")
    assert [i for i, _ in every] == sorted(i for i, _ in every) and all(c for _, c in every)
    (a, code_a), (b, code_b) = every[0], every[5]
    assert layer_keys(demo_engine, "grids", ids=[a], codes=[code_b]) == [(a, code_a), (b, code_b)]
    assert layer_keys(demo_engine, "grids", ids=[], codes=[]) == []
    assert layer_keys(demo_engine, "households", ids=[1, 99_999_999])[0][1] is None  # a layer without codes


def test_columns_read_straight_from_the_driver_are_those_read_with_the_layer(demo_engine):
    for layer, columns in [("households", ("building_id", "linked_member_id")),
                           ("assignments", ("target_layer", "target_id", "member_id")), ("visits", ())]:  # fmt: skip
        whole = read_layer(demo_engine, layer, columns=columns, geometry=False)
        quick = read_columns(demo_engine, layer, columns)
        pd.testing.assert_frame_equal(quick, whole[quick.columns])
    assert len(quick) and list(quick.columns) == ["id"]
    with pytest.raises(ValueError, match="valid_from"):
        read_columns(demo_engine, "assignments", ("valid_from",))
