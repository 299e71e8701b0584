"""Location models on hand-checked instances with known optima, against spopt on random
instances, and every class of bad input."""

import numpy as np
import pulp
import pytest
from spopt.locate import LSCP, MCLP

from gridmap.errors import InputError
from gridmap.siting import models
from gridmap.siting.problem import SitingProblem

INF = np.inf
# Six people a..f; S1 reaches a–d (in the middle), S2 reaches a, b, e and S3 c, d, f.
# Greedy takes S1 first and so misses the optimum S2 + S3.
SETS = np.array(
    [
        # S1 S2 S3
        [100, 100, INF],  # a
        [100, 100, INF],  # b
        [100, INF, 100],  # c
        [100, INF, 100],  # d
        [INF, 100, INF],  # e
        [INF, INF, 100],  # f
    ]
)


def _sets(current=None, weight=None) -> SitingProblem:
    w = np.ones(6) if weight is None else weight
    return SitingProblem.from_matrix(SETS, w, threshold=500.0, current=current)


def test_mclp_finds_the_optimum_greedy_misses_and_greedy_reports_a_true_bound():
    exact = models.mclp(_sets(), 2)
    assert exact.status == "optimal" and exact.solver == "highs"
    assert exact.objective == 6 and sorted(exact.chosen) == [1, 2]
    assert list(exact.gains) == [3, 3]
    greedy = models.mclp(_sets(), 2, max_nonzeros=0)
    assert greedy.solver == "greedy" and "exceed the exact-solve limit" in greedy.note
    assert greedy.objective == 5 and list(greedy.chosen) == [0, 1]
    assert greedy.bound == 6  # min(0 + 4 + 3, 4 + 1 + 1)
    assert greedy.gap == pytest.approx(1 / 6)
    one = models.mclp(_sets(), 1)
    assert one.objective == 4 and list(one.chosen) == [0]


def test_lscp_fewest_sites_share_and_greedy_bound():
    exact = models.lscp(_sets())
    assert exact.objective == 2 and sorted(exact.chosen) == [1, 2] and exact.gap == 0
    greedy = models.lscp(_sets(), max_nonzeros=0)
    assert greedy.objective == 3 and greedy.bound == 2  # 6 people need ≥ 2 of gains 4, 3, 3
    half = models.lscp(_sets(), share=0.5)
    assert half.objective == 1 and list(half.chosen) == [0]


def test_existing_stations_reduce_what_is_proposed():
    # a, b and e already within an existing station's circle
    current = np.array([50, 50, INF, INF, 50, INF])
    covering = models.lscp(_sets(current=current))
    assert covering.objective == 1 and list(covering.chosen) == [2]
    maximal = models.mclp(_sets(current=current), 2)
    assert maximal.objective == 3 and maximal.chosen[0] == 2  # S3 reaches c, d, f
    everyone = np.full(6, 10.0)
    nothing = models.lscp(_sets(current=everyone))
    assert nothing.status == "nothing to do" and len(nothing.chosen) == 0
    none_new = models.mclp(_sets(current=everyone), 2)
    assert none_new.objective == 0 and none_new.status == "nothing to do"


def test_spacing_and_capacity():
    spaced = models.mclp(_sets(), 2, spacing=np.array([[1, 2]]))
    assert spaced.objective == 5 and 0 in spaced.chosen
    capped = models.mclp(_sets(), 1, capacity=2)
    assert capped.objective == 2
    capped_greedy = models.mclp(_sets(), 2, capacity=2.5, max_nonzeros=0)
    assert capped_greedy.objective == 5
    cover_capped = models.lscp(_sets(), capacity=2)  # 6 people, 2 each
    assert cover_capped.objective == 3
    with pytest.raises(InputError, match="is infeasible with the spacing rule"):
        models.lscp(_sets(), spacing=np.array([[1, 2]]))  # e and f need both S2 and S3


def _line_problem(current=None):
    # people at 0, 1, 2, 10, 11, 12 km; candidates at 1, 11 and 6 km (metres)
    people = np.array([0, 1, 2, 10, 11, 12]) * 1000.0
    sites = np.array([1, 11, 6]) * 1000.0
    cost = np.abs(people[:, None] - sites[None, :])
    return SitingProblem.from_matrix(cost, np.ones(6), threshold=1500.0, current=current)


def test_pmedian_known_optima():
    two = models.pmedian(_line_problem(), 2, cutoff_m=20_000)
    assert sorted(two.chosen) == [0, 1] and two.objective == pytest.approx(4000.0)
    assert two.status == "optimal"
    one = models.pmedian(_line_problem(), 1, cutoff_m=20_000)
    assert list(one.chosen) == [2] and one.objective == pytest.approx(30_000.0)
    # an existing station at 11 km: the best single new site is at 1 km
    current = np.abs(np.array([0, 1, 2, 10, 11, 12]) * 1000.0 - 11_000.0)
    with_existing = models.pmedian(_line_problem(current=current), 1, cutoff_m=20_000)
    assert list(with_existing.chosen) == [0] and with_existing.objective == pytest.approx(4000.0)
    greedy = models.pmedian(_line_problem(), 2, cutoff_m=20_000, max_nonzeros=0)
    assert greedy.objective >= two.objective and greedy.bound <= two.objective


def test_greedy_gains_kept_up_to_date_equal_gains_summed_afresh():
    rng = np.random.default_rng(7)
    cost = rng.uniform(0, 3000, (300, 60))
    problem = SitingProblem.from_matrix(cost, rng.integers(1, 50, 300).astype(float), threshold=700.0)
    pairs = np.flatnonzero(problem.cover_pairs())
    kept = models._Greedy(problem, pairs, np.ones(len(pairs)), problem.weight, None, None)
    for _ in range(8):
        g = kept.gains()
        fresh = np.bincount(kept.col, weights=kept.remaining[kept.row], minlength=kept.m)
        assert np.array_equal(g, fresh)
        kept.take(int(np.argmax(np.where(kept.blocked, -1.0, g))))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PuLP on its bundled CBC
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mclp_and_lscp_objectives_equal_spopt(seed):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 3000, (150, 2))
    sites = rng.uniform(0, 3000, (40, 2))
    cost = np.linalg.norm(demand[:, None] - sites[None], axis=2)
    weight = rng.integers(1, 200, len(demand)).astype(float)
    problem = SitingProblem.from_matrix(cost, weight, threshold=600.0)
    solver = pulp.PULP_CBC_CMD(msg=False)
    for k in (2, 5):
        ours = models.mclp(problem, k)
        theirs = MCLP.from_cost_matrix(cost, weight, 600.0, p_facilities=k).solve(solver)
        assert ours.objective == pytest.approx(pulp.value(theirs.problem.objective))
    radius = float(np.max(np.min(cost, axis=1))) + 1.0  # every demand point within reach
    wide = SitingProblem.from_matrix(cost, weight, threshold=radius)
    ours = models.lscp(wide)
    theirs = LSCP.from_cost_matrix(cost, radius).solve(solver)
    assert ours.objective == pytest.approx(pulp.value(theirs.problem.objective))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: models.mclp(SitingProblem.from_matrix(np.zeros((3, 0)), np.ones(3), 500.0), 1),
            "no candidate",
        ),
        (lambda: SitingProblem.from_matrix(np.array([[1.0, np.nan]]), np.ones(1), 500.0), "missing (NaN)"),
        (lambda: models.mclp(_sets(), 4), "only 3 candidates"),
        (lambda: models.mclp(_sets(), 0), "at least 1"),
        (lambda: models.pmedian(_sets(), 2.5), "whole number"),
        (lambda: models.lscp(_sets(), share=1.5), "at most 1"),
        (lambda: models.lscp(_sets(), share=0), "above 0"),
        (lambda: models.mclp(_sets(), 1, capacity=-3), "capacity"),
        (lambda: _sets(weight=np.array([1, 1, -1, 1, 1, 1.0])), "negative"),
        (lambda: _sets(weight=np.array([1, 1, np.nan, 1, 1, 1.0])), "missing"),
        (lambda: SitingProblem.from_matrix(np.ones(4), np.ones(4), 500.0), "2-dimensional"),
        (lambda: SitingProblem.from_matrix(SETS, np.ones(5), 500.0), "6 current distances"),
        (lambda: models.solve("pcenter", _sets()), "not one of"),
    ],
)
def test_bad_inputs_name_the_problem(make, message):
    with pytest.raises(InputError, match=None) as err:
        make()
    assert message in str(err.value)


def test_lscp_refuses_when_someone_is_out_of_reach():
    cost = SETS.copy()
    cost[5] = INF  # f is beyond every candidate
    problem = SitingProblem.from_matrix(cost, np.ones(6), threshold=500.0)
    with pytest.raises(InputError) as err:
        models.lscp(problem)
    assert "1 people in 1 home is beyond the reach of every candidate site" in str(err.value)
    assert "at most 83.3% can be covered" in str(err.value)
    assert models.lscp(problem, share=0.8).objective == 2
