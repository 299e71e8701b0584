"""Real data that is not the demo: the raw OpenStreetMap extract reaches 3.7 km north of the
demo's study area (Jinniu and Chenghua, around 成都北站), streets, buildings and places the
demo never sees. Imported as a user would (`gridmap import-osm --bbox`), its walks equal a
networkx oracle's, a proposal's sites reach exactly the homes the oracle says and its MCLP
objective equals spopt's; the estimates that real outlines make doubtful — an estate and a
supermarket each drawn as one "residential" or "house" building — are said wherever homes
are counted, as are the compounds mapped without buildings, which count no one; and grids
drawn over real streets tile their community and keep the estate alone."""

from __future__ import annotations

import contextlib
import io
import re

import geopandas as gpd
import numpy as np
import pulp
import pytest
import shapely
from same_run import assert_same_run
from spopt.locate import MCLP
from walk_oracle import WalkOracle, assert_walks_equal

from gridmap.coverage import CoverageParams, compute_coverage
from gridmap.crs import densified_to
from gridmap.gridplan import propose_grids
from gridmap.scale.coverage import cut_for, partitioned_coverage, run_params
from gridmap.scale.sources import StoreSource, close_engines
from gridmap.siting.proposal import SitingParams, propose_sites
from gridmap.standards import load_checklist
from gridmap.store.engine import make_engine
from gridmap.store.inputs import load_inputs
from gridmap.store.layers import read_layer
from gridmap.store.scenarios import read_scenario
from gridmap_cli import main

SOURCE = "fixtures/osm/chengdu-central/osm_source.osm.gz"
#: north of the demo's study area (which ends at 30.6948), to the extract's edge (EPSG:4326)
NORTH = "104.0421,30.6948,104.1296,30.7279"
CATEGORIES = ("food", "sports", "grocery", "park")
ESTATE = "龙湖·北城天街2期"  # one outline of 65,706 m² tagged building=residential
SHOP = "沃尔玛交大路店"  # a supermarket of 16,149 m² tagged building=house

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The area imported from the raw extract: the database's URL, what the import printed
    and what it warned."""
    url = f"sqlite:///{tmp_path_factory.mktemp('north') / 'north.sqlite'}"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["--db", url, "import-osm", SOURCE, "--bbox", NORTH]) == 0
    return url, out.getvalue(), err.getvalue()


@pytest.fixture()
def north(imported):
    return imported[0]


def _run(capsys, url, *args):
    code = main(["--db", url, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_import_and_every_count_of_homes_say_which_estimates_are_doubtful(imported, capsys):
    north, out, err = imported
    assert "households of new buildings estimated" in out
    assert "2 of these buildings have a footprint over 5,000 m²" in err
    assert f"{ESTATE} (OSM 469499549): 65,706 m², 3,504 households" in err and SHOP in err
    code, out, _ = _run(capsys, north, "validate")
    assert code == 0  # a warning, not an error
    assert "building_homes_doubtful" in out and ESTATE in out
    code, out, _ = _run(capsys, north, "households")
    assert "90 % of them estimated in 2 buildings of a footprint over 5,000 m²" in out
    assert ESTATE in out and SHOP in out and "73 of the 75 compounds are mapped without buildings" in out
    code, out, _ = _run(capsys, north, "coverage", "--category", "food", "--no-save", "--no-circles")
    assert code == 0 and "90 % of them estimated in 2 buildings" in out
    assert "73 of the 75 compounds are mapped without buildings of homes and count no one" in out
    # most compounds here are mapped without buildings: their gaps are said to hold no one known
    assert re.search(r"service gaps \(\d+ of them hold no one known: compounds mapped without buildings", out)
    assert "1 home on streets cut off from the main network: compound 19" in out


def test_a_run_in_parts_over_real_streets_is_the_run_in_one_process(north):
    """Cut into 2 km squares across its streets: every walk, figure and gap as one process
    has them, the gaps inside a square drawn there and those across a border where all are
    gathered, and the homes on streets cut off named alike."""
    checklist = load_checklist()
    params = run_params(CoverageParams(categories=CATEGORIES, levels=(5, 15), circles=False), checklist)
    one = compute_coverage(load_inputs(make_engine(north)), params, checklist=checklist)
    source = StoreSource(north)
    came = []
    try:
        parts = partitioned_coverage(source, cut_for(source, params, checklist, tile_m=2000.0), params,
                                     checklist=checklist, on_part=lambda p: p.walks and came.append(p.walks))  # fmt: skip
    finally:
        close_engines()
    assert_same_run(one, parts)
    drawn = sum(len(w.gaps_drawn) for w in came if w.gaps_drawn is not None)
    assert 0 < drawn < len(parts.gaps)
    assert parts.report["homes_on_islands"] == one.report["homes_on_islands"] != []


def test_walks_equal_networkx_on_streets_the_demo_never_sees(north, capsys):
    inputs = load_inputs(make_engine(north))
    assert inputs.roads.total_bounds[3] > 30.725  # the extract's northern streets
    res = compute_coverage(
        inputs, CoverageParams(categories=CATEGORIES, levels=(15,), circles=False, gaps=False)
    )
    reached = assert_walks_equal(inputs, res, CATEGORIES, seed=5)
    assert reached >= len(CATEGORIES) * min(40, len(res.homes)) * 0.8


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PuLP on its bundled CBC
def test_a_proposal_reaches_the_homes_the_oracle_says_and_its_mclp_equals_spopt(north, capsys):
    engine = make_engine(north)
    inputs = load_inputs(engine)
    proposal = propose_sites(
        inputs, SitingParams(categories=("elderly_care",), count=2, min_reach_households=10)
    )
    # the estate's one building is reason enough for a site: counted in households, not buildings
    assert ESTATE in proposal.site_homes.merge(inputs.buildings[["name"]], left_on="feature_id",
                                               right_index=True)["name"].tolist()  # fmt: skip
    # and the proposal says those residents are a doubtful estimate
    assert 9_110 in proposal.sites["residents_doubtful"].tolist()
    code, out, _ = _run(capsys, north, "site", "--category", "elderly_care", "--count", "2")
    assert code == 0 and "of them doubtful" in out
    kept = read_scenario(engine, int(re.search(r"kept as siting scenario (\d+)", out).group(1)))
    assert 9_110 in kept.sites["residents_doubtful"].tolist()  # as the service answers it
    # the first site's homes newly within 15 minutes are those the oracle finds within 990 m
    crs = proposal.report["crs"]
    oracle = WalkOracle(inputs.roads, crs)
    site = shapely.get_coordinates(proposal.sites.to_crs(crs).geometry.values)[0]
    homes = inputs.buildings[inputs.buildings["households"] > 0].to_crs(crs)
    within = {
        int(i) for i, p in zip(homes.index, shapely.get_coordinates(homes.representative_point().values), strict=True)
        if oracle.nearest(p, [oracle.snap(site)]) <= 990.0 + 0.1
    }  # fmt: skip
    first = proposal.site_homes[proposal.site_homes["rank"] == 1]
    assert set(first["feature_id"].astype(int)) == within and within
    # the same matrix to spopt: the same objective
    problem = proposal.problem
    cost = np.full((problem.n_rows, problem.n_candidates), np.inf)
    cost[problem.row, problem.col] = problem.dist
    open_ = (problem.current > problem.threshold) & (problem.weight > 0)
    theirs = MCLP.from_cost_matrix(cost[open_], problem.weight[open_], 990.0, p_facilities=2)
    theirs.solve(pulp.PULP_CBC_CMD(msg=False))
    assert proposal.solution.objective == pytest.approx(pulp.value(theirs.problem.objective))


def test_grids_drawn_here_tile_the_community_and_keep_the_estate_alone(north):
    """A community drawn over the west of the area, around the estate: its grids tile it, hold
    every home once, and the one building over the maximum stands alone, the rest (student
    flats and the supermarket) in one grid rather than cut into pieces a grid leader could not
    work."""
    engine = make_engine(north)
    buildings, compounds, roads = (read_layer(engine, n) for n in ("buildings", "compounds", "roads"))
    community = gpd.GeoDataFrame({"code": ["510106001002"], "name": ["北站西社区"]},
                                 geometry=[shapely.box(104.0421, 30.703, 104.07, 30.72)], crs=4326)  # fmt: skip
    plan = propose_grids(community, buildings.assign(id=buildings.index), compounds=compounds.assign(id=compounds.index),
                         roads=roads, households=(300, 500))  # fmt: skip
    metric = plan.grids.estimate_utm_crs()  # outlines followed edge for edge, as stored
    grids, whole = densified_to(plan.grids, metric), densified_to(community, metric).geometry.iloc[0]
    assert shapely.union_all(grids.geometry.values).symmetric_difference(whole).area < 1.0  # m²
    assert (
        sum(a.intersection(b).area for i, a in enumerate(grids.geometry) for b in grids.geometry[i + 1 :])
        < 1.0
    )
    inside = buildings[buildings.representative_point().within(community.geometry.iloc[0])]
    assert plan.grids["households"].sum() == inside["households"].sum()
    assert sorted(plan.grids["households"]) == [506, 3504]
