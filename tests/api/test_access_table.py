"""The access table of the library (gridmap.scope.ACCESS) decides every route: taking a role
out of an action's row refuses that role on each route of the action, and nothing else does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridmap.model import UserRole
from gridmap.scope import ACCESS

ROOT = Path(__file__).resolve().parents[2]

#: action → requests its account may make under it (method, path, body); the account is the
#: admin but for a grid leader's own area. Drawing grids and assigning branches are left to
#: the test that every check names a row of the table.
ROUTES: dict[str, list[tuple[str, str, dict | None]]] = {
    "runs": [("POST", "/coverage/runs", {"categories": ["clinic"], "levels": [15]})],
    "gaps": [("GET", "/coverage/runs/latest/gaps", None), ("GET", "/tiles/gaps/15/25857/13448", None)],
    "circles": [("GET", "/coverage/runs/latest/circles", None)],
    "coverage": [("GET", "/tiles/coverage/15/25857/13448", None)],
    "compound_checks": [("GET", "/coverage/runs/latest/compounds", None)],
    "grid_summaries": [("GET", "/coverage/runs/latest/summary?scope=grid", None)],
    "proposals": [("GET", "/siting/scenarios", None)],
    "organisation_details": [("GET", "/org/missing/grids_with_leader", None)],
    "grid_findings": [("GET", "/grid-map/findings", None)],
    "grid_alignment": [("GET", "/grids/alignment?a=comprehensive&b=comprehensive", None)],
    "grid_map": [("GET", "/maps/grids.html", None)],
    "analysis_maps": [("GET", "/maps/gaps.html", None)],
    "assignment_history": [("GET", "/assignments/history?target_layer=grids&target_id=1", None)],
    "audit_log": [("GET", "/audit", None)],
    "edit_features": [("DELETE", "/collections/facilities/items/999999", None)],
    "assign_people": [("POST", "/assignments/999999/end", {})],
    "my_area": [("GET", "/my-area", None)],
    "need_steps": [("POST", "/needs/999999/steps", {"to": "done"})],
    "award_points": [("POST", "/points", {"member_id": 999999, "rule": "claim_need"})],
    "points_ranking": [("GET", "/points/ranking?by=street", None)],
    "organisation_map": [
        ("GET", "/org/map/branches", None),
        ("GET", "/org/map/sponsored_compounds", None),
        ("GET", "/org/map/central_households", None),
    ],
}


@pytest.mark.parametrize("action", sorted(ROUTES))
def test_taking_a_role_out_of_the_table_refuses_it(client, auth, monkeypatch, action):
    name, role = ("leader", UserRole.GRID_LEADER) if action == "my_area" else ("admin", UserRole.ADMIN)
    for method, path, body in ROUTES[action]:
        before = client.request(method, path, json=body, headers=auth[name])
        assert before.status_code in (200, 202, 404, 428), (action, path, before.status_code, before.text)
        monkeypatch.setitem(ACCESS, action, tuple(r for r in ACCESS[action] if r != role))
        after = client.request(method, path, json=body, headers=auth[name])
        assert after.status_code == 403, (action, path, after.status_code, after.text)
        monkeypatch.undo()


def test_every_row_of_the_table_is_used_and_every_check_names_a_row():
    """No route checks a role list of its own: each require() names an action of the table."""
    source = "\n".join(p.read_text() for p in (ROOT / "api").glob("*.py"))
    named = set(re.findall(r'require\(user, f?"([^"]+)"', source)) | set(
        re.findall(r'may\(user\.role, "([^"]+)"', source)
    )
    named.discard("{layer}")
    tiles = {"coverage", "gaps", "circles", "proposals"}  # tiles name the analysis layer they draw
    assert named | tiles == set(ACCESS), set(ACCESS) ^ (named | tiles)
    assert not re.search(r"require\(user, \*", source), "a route passes its own list of roles"
    assert not re.search(r"require_role\(user, \(", source), "a route passes its own list of roles"
