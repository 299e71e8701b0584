"""The 双报到 loop over HTTP: filing a need and moving it along its steps (a grid leader within
their own grids, an admin anywhere), awarding members' points, rankings, and the party
organisation as map layers (branches by form, central households, sponsored compounds).

Needs and points are read like any layer (``/collections/needs/items`` …): residents' names
and phones only within the reader's scope, masked for planners; the public reads neither.
"""

from __future__ import annotations

from typing import Annotated, Literal

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentUser, State, require, require_in_area
from api.geojson import frame_collection, records
from api.schemas import (
    AnswerRoute,
    NeedBody,
    NeedState,
    NeedStepBody,
    PathId,
    PointsBody,
    PointsEntry,
    Ranked,
)
from gridmap.errors import InputError, NotFoundError, Problem
from gridmap.io.needs import award_points, file_need, move_need
from gridmap.model import UserRole
from gridmap.points import rankings
from gridmap.scope import mask_name

router = APIRouter(tags=["needs and points"], route_class=AnswerRoute)
GEOJSON = "application/geo+json"
#: the organisation's map layers, what each holds, and the layers it is drawn from
ORG_MAP_LAYERS = {
    "branches": "compounds and grids with the branch (or group) there: its name, kind and form",
    "central_households": "buildings with party members' central households (党员中心户): how many",
    "sponsored_compounds": "compounds a co-building unit sponsors (包保) now: the units' names",
}


@router.post("/needs", status_code=201, response_model=NeedState, summary="file a need where it belongs")
async def file_need_route(body: NeedBody, app: State, user: CurrentUser) -> dict:
    require(user, "need_steps", what="filing a need")
    if user.role == UserRole.GRID_LEADER:
        places = [(layer, ident) for layer, ident in (("households", body.household_id),
                  ("compounds", body.compound_id), ("grids", body.grid_id)) if ident is not None]  # fmt: skip
        if not places:
            raise InputError([Problem("a grid leader files a need at a household, compound or grid of their area",
                                      field="household_id")])  # fmt: skip
        for layer, ident in places:
            require_in_area(app, user, layer, ident, f"no feature {ident} in layer '{layer}'")
    need_id = await run_in_threadpool(
        file_need, app.engine, kind=body.kind, category=body.category, title=body.title,
        description=body.description, household_id=body.household_id, compound_id=body.compound_id,
        grid_id=body.grid_id, lon=body.lon, lat=body.lat, resident_name=body.resident_name, phone=body.phone,
        filed_on=body.filed_on, user=user.name,
    )  # fmt: skip
    need = app.layers.frame("needs").loc[need_id]
    return {"id": need_id, "state": need["state"], "grid_id": need["grid_id"]}


@router.post(
    "/needs/{need_id}/steps", response_model=NeedState, summary="claim, finish, confirm or cancel a need"
)
async def need_step(need_id: PathId, body: NeedStepBody, app: State, user: CurrentUser) -> dict:
    require(user, "need_steps", what="moving a need")
    if need_id not in app.layers.frame("needs").index:
        raise NotFoundError(f"no need {need_id}")
    require_in_area(app, user, "needs", need_id, f"no need {need_id}")
    if body.member_id is not None:
        require_in_area(app, user, "members", body.member_id, f"no member {body.member_id}")
    need, awarded = await run_in_threadpool(
        move_need, app.engine, need_id, body.to, member_id=body.member_id, coop_unit_id=body.coop_unit_id,
        offer_id=body.offer_id, confirmed_by=body.confirmed_by, on=body.on, user=user.name,
    )  # fmt: skip
    entry = None if awarded is None else {"entry_id": awarded.entry_id, "points": awarded.points,
                                           "asked": awarded.asked}  # fmt: skip
    return {"id": need_id, "state": need["state"], "grid_id": need["grid_id"], "awarded": entry}


@router.post(
    "/points", status_code=201, response_model=PointsEntry, summary="award a member points under a rule"
)
async def points_route(body: PointsBody, app: State, user: CurrentUser) -> dict:
    require(user, "award_points", what="awarding points")
    if body.member_id not in app.layers.frame("members").index:
        raise NotFoundError(f"no member {body.member_id}")
    require_in_area(app, user, "members", body.member_id, f"no member {body.member_id}")
    awarded = await run_in_threadpool(award_points, app.engine, body.member_id, body.rule, on=body.on,
                                      times=body.times, note=body.note, user=user.name)  # fmt: skip
    return {"entry_id": awarded.entry_id, "points": awarded.points, "asked": awarded.asked}


@router.get("/points/ranking", response_model=list[Ranked], summary="members' points ranked per branch, "
            "community or street")  # fmt: skip
def ranking(
    app: State,
    user: CurrentUser,
    by: Annotated[Literal["branch", "community", "street"], Query(description="ranked within")] = "community",
) -> list[dict]:
    require(user, "points_ranking", what="the points ranking")
    members = app.layers.frame("members")
    points = app.layers.frame("points")
    area = app.layers.area(user)
    if area is not None:  # a grid leader ranks the members of their area
        members = members[members.index.isin(area.ids.get("members", frozenset()))]
    ranked = rankings(points, members, app.layers.frame("communities"), by)
    if user.role == UserRole.PLANNER:
        ranked["name"] = ranked["name"].map(mask_name)
    return records(ranked)


@router.get(
    "/org/map/{layer}",
    summary="the party organisation as a map layer: branches by form, central households, sponsored "
    "compounds (GeoJSON)",
)
def org_map(layer: str, app: State, user: CurrentUser) -> Response:
    require(user, "organisation_map", what="the organisation's map layers")
    if layer not in ORG_MAP_LAYERS:
        raise NotFoundError(f"there is no organisation layer {layer!r}; layers: {', '.join(ORG_MAP_LAYERS)}")
    area = app.layers.area(user)
    frame = app.layers.derived(("org map", layer), ORG_MAP_INPUTS, lambda frames: _org_layer(layer, frames))
    if area is not None:
        source = "buildings" if layer == "central_households" else None
        keep = [
            (source or f["source"], i) for i, f in zip(frame.index, frame.to_dict("records"), strict=True)
        ]
        frame = frame[[int(i) in area.ids.get(src, frozenset()) for src, i in keep]]
    columns = [c for c in frame.columns if c != "geometry"]
    return Response(frame_collection(frame, columns, layer=layer), media_type=GEOJSON)


ORG_MAP_INPUTS = ("compounds", "grids", "buildings", "party_orgs", "members", "sponsorships", "coop_units")


def _org_layer(layer: str, frames: dict[str, pd.DataFrame]) -> gpd.GeoDataFrame:
    orgs = frames["party_orgs"]
    if layer == "branches":
        parts = []
        for source in ("compounds", "grids"):
            features = frames[source]
            held = features[features["branch_id"].notna()]
            branch = orgs.reindex(held["branch_id"].astype(int))
            parts.append(gpd.GeoDataFrame({"source": source, "feature_name": held.get("name", held.get("code")),
                                           "branch_id": held["branch_id"].astype(int).to_numpy(),
                                           "branch": branch["name"].to_numpy(), "kind": branch["kind"].to_numpy(),
                                           "form": branch["form"].to_numpy()},
                                          geometry=held.geometry.to_numpy(), crs=held.crs, index=held.index))  # fmt: skip
        return gpd.GeoDataFrame(pd.concat(parts), crs=parts[0].crs)
    if layer == "central_households":
        members = frames["members"]
        central = members[members["central_household"].fillna(False).astype(bool)]
        counts = central.groupby("building_id").size()
        buildings = frames["buildings"]
        held = buildings[buildings.index.isin(counts.index)]
        return gpd.GeoDataFrame({"name": held["name"], "central_households": counts.reindex(held.index).to_numpy()},
                                geometry=held.geometry.representative_point(), crs=held.crs)  # fmt: skip
    sponsorships = frames["sponsorships"]
    current = sponsorships[(sponsorships["target_layer"] == "compounds") & sponsorships["valid_to"].isna()]
    units = frames["coop_units"]["name"]
    names = (
        current.assign(unit=current["coop_unit_id"].map(units)).groupby("target_id")["unit"].agg("、".join)
    )
    compounds = frames["compounds"]
    held = compounds[compounds.index.isin(names.index)]
    return gpd.GeoDataFrame({"source": "compounds", "name": held["name"], "units": names.reindex(held.index)},
                            geometry=held.geometry, crs=held.crs)  # fmt: skip
