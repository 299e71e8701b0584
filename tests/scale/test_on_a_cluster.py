"""Coverage in parts on a real Dask cluster of two worker processes over one PostGIS: the
same results as one process, a part that fails once sent again, and each part's results in
the database while the run goes on."""

from __future__ import annotations

import contextlib
import os
import re
import socket
from pathlib import Path

import pandas as pd
import pytest
import shapely
from same_run import assert_same_run
from sqlalchemy import func, select
from test_partitioned_coverage import FailingOnce

from gridmap.coverage import CoverageParams, CoverageResult, compute_coverage
from gridmap.scale.cluster import local_cluster
from gridmap.scale.coverage import cut_for, partitioned_coverage, run_params
from gridmap.scale.partitions import Partitioning
from gridmap.scale.siting import sites_by_part, siting_cut
from gridmap.scale.sources import StoreSource, close_engines
from gridmap.siting.proposal import SitingParams
from gridmap.standards import load_checklist
from gridmap.store.engine import make_engine
from gridmap.store.inputs import load_inputs
from gridmap.store.runs import read_run
from gridmap.store.scenarios import list_scenarios, read_scenario
from gridmap.store.tables import coverage_results, coverage_runs
from gridmap_cli import coverage_report, main

pytestmark = [pytest.mark.postgis, pytest.mark.slow]
CHECKLIST = load_checklist()


#: the port a Dask scheduler takes for its HTTP routes unless told otherwise
DASK_HTTP_PORT = 8787


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes (as ``gridmap coverage --workers 2`` starts them), started while
    something else holds Dask's usual HTTP port, as another cluster on the machine would: the
    scheduler then warned, which stopped the start where warnings are errors, as here."""
    from distributed import Client

    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):  # already held by another: the same case
            holder.bind(("127.0.0.1", DASK_HTTP_PORT))
            holder.listen()
        local = local_cluster(2)
    with local, Client(local) as client:
        yield client


@pytest.fixture(scope="module")
def demo_url(demo_copy):
    yield demo_copy("postgis", "cluster")
    close_engines()


PARAMS = run_params(CoverageParams(), CHECKLIST)


@pytest.fixture(scope="module")
def one(demo_url) -> CoverageResult:
    """The demo's coverage in one process."""
    engine = make_engine(demo_url)
    result = compute_coverage(load_inputs(engine), PARAMS, checklist=CHECKLIST)
    engine.dispose()
    return result


def test_the_workers_are_forks_of_one_server_that_imported_their_work(cluster):
    """Each worker a fork of one server process that loaded the parts' work and its compiled
    libraries once (GEOS, SciPy), rather than a new interpreter importing them again."""
    (server,) = set(cluster.run(os.getppid).values())
    assert server != os.getpid()  # spawned, a worker is the child of this process
    assert b"forkserver" in Path(f"/proc/{server}/cmdline").read_bytes()
    loaded = Path(f"/proc/{server}/maps").read_text()
    assert re.search(r"/shapely[^ ]*/lib[^/ ]*\.so", loaded) and "/scipy/" in loaded, loaded[:2000]


def test_parts_on_two_workers_equal_one_process_through_a_failed_part_and_a_killed_worker(
    cluster, demo_url, one, tmp_path, monkeypatch
):
    params = PARAMS
    source = StoreSource(demo_url)
    cut = cut_for(source, params, CHECKLIST)
    flaky = FailingOnce(source, cut.parts[1].reads, tmp_path / "failed")
    killing = FailingOnce(flaky, cut.parts[3].reads, tmp_path / "killed", kill=True)  # a worker dies mid-part
    sent: list[int] = []

    def reduce_ex(self, protocol):  # the cut, each time it is pickled to go to a worker
        sent.append(len(self.parts))
        return object.__reduce_ex__(self, protocol)

    monkeypatch.setattr(Partitioning, "__reduce_ex__", reduce_ex, raising=False)
    parts = partitioned_coverage(killing, cut, params, checklist=CHECKLIST, client=cluster)
    assert (tmp_path / "killed").exists()
    # pickled when submitted and each time the scheduler (here in this process) sends it to a worker,
    # again when the worker that held it died, but not with each part: that was twice a part
    assert len(cut.parts) >= 6 and len(sent) <= 4
    assert_same_run(one, parts)
    report = parts.report["partitions"]["parts"]
    assert [p["key"] for p in report if p["failures"]] in (
        [cut.parts[1].key],
        [cut.parts[1].key, cut.parts[3].key],
    )
    here = f"{socket.gethostname()}:{os.getpid()}"
    # walked by the workers, never here (which of them walks what is the scheduler's choice:
    # while one lies dead with its part, the other may walk all the rest)
    assert report and all(p["process"] != here for p in report)


def test_the_command_line_on_a_running_cluster_keeps_each_part_as_it_arrives(
    cluster, demo_url, capsys, monkeypatch
):
    engine = make_engine(demo_url)
    seen: list[tuple[str, int, int]] = []
    said = coverage_report.say

    def say(text: str) -> None:  # between parts, what another reader of the database finds
        if text.startswith("part ") and "walked" in text:
            with engine.connect() as conn:
                run = conn.execute(
                    select(coverage_runs.c.id, coverage_runs.c.method).order_by(coverage_runs.c.id.desc())
                ).first()
                rows = conn.execute(
                    select(func.count()).where(coverage_results.c.run_id == run.id)
                ).scalar_one()
            seen.append((run.method, run.id, rows))
        said(text)

    monkeypatch.setattr(coverage_report, "say", say)
    address = cluster.scheduler.address
    code = main(["--db", demo_url, "coverage", "--cluster", address, "--label", "in parts", "--no-circles"])
    out = capsys.readouterr()
    assert code == 0, out.err
    parts_line = next(line for line in out.out.splitlines() if line.startswith("walked in "))
    count = int(parts_line.split()[2])
    assert count >= 6 and "(0 kept from the last run)" in parts_line
    drawn, total, left = map(int, re.search(r"(\d+) of the (\d+) gaps drawn in the parts; the (\d+) at a part's border",
                                            out.out).groups())  # fmt: skip
    assert drawn + left == total > 0
    assert [m for m, _, _ in seen] == ["running"] * count
    counts = [n for _, _, n in seen]  # a part of the edge may hold no home
    assert counts == sorted(counts) and len(set(counts)) >= 3 and counts[-1] > 0  # growing as parts arrive
    run_id = seen[0][1]
    counted = [line for line in out.out.splitlines() if line.startswith("homes counted: ")]
    assert main(["--db", demo_url, "coverage", "--label", "in one process"]) == 0
    # how much is estimated, said alike: in parts it is read without the buildings' shapes
    assert counted and counted == [line for line in capsys.readouterr().out.splitlines()
                                   if line.startswith("homes counted: ")]  # fmt: skip
    parts, whole = read_run(engine, run_id), read_run(engine, run_id + 1)
    assert parts.method == whole.method == "network"
    assert parts.inputs["homes"] == whole.inputs["homes"]  # and kept alike
    keys = ["home_kind", "feature_id", "category", "level"]
    a = parts.results.drop(columns=["run_id"], errors="ignore").sort_values(keys).reset_index(drop=True)
    b = whole.results.drop(columns=["run_id"], errors="ignore").sort_values(keys).reset_index(drop=True)
    covered = b["covered"].astype(bool)
    pd.testing.assert_frame_equal(a[covered], b[covered])  # every walk counted, alike
    assert a.loc[~covered, "covered"].eq(False).all()
    pd.testing.assert_frame_equal(
        parts.summary.drop(columns=["run_id"], errors="ignore"),
        whole.summary.drop(columns=["run_id"], errors="ignore"),
    )
    engine.dispose()


def test_siting_by_district_on_the_cluster_as_in_one_process(cluster, demo_url):
    """Each district proposes its own sites inside it; the same on the cluster as here."""
    source = StoreSource(demo_url)
    params = SitingParams(categories=("elderly_care",), count=2, min_reach_households=10)
    cut = siting_cut(source, params, CHECKLIST)
    here = sites_by_part(source, cut, params, checklist=CHECKLIST)
    proposed = [p for p in here if p.proposals]
    assert len(proposed) >= 3 and all(len(p.proposals) == 1 for p in proposed)
    for part in proposed:  # each district's own sites, inside it, bringing its residents in
        area = cut.areas[[q.key for q in cut.parts].index(part.key)]
        sites = part.proposals[0].sites.to_crs(4326)
        assert len(sites) == 2 and shapely.covers(area, sites.geometry.values).all(), part.key
        assert part.used["buildings"]["features"] > 0
        assert (part.proposals[0].area_coverage()["residents_new"] > 0).all()
    small = [p for p in here if not p.proposals and p.problem]  # too small for a station: says why
    assert small and all(re.search(r"reaches fewer than 10 households|only \d+ candidates? remains?", p.problem)
                         for p in small)  # fmt: skip
    there = sites_by_part(source, cut, params, checklist=CHECKLIST, client=cluster)
    assert [p.key for p in there] == [p.key for p in here]
    for a, b in zip(here, there, strict=True):
        assert len(a.proposals) == len(b.proposals) and a.problem == b.problem
        for mine, theirs in zip(a.proposals, b.proposals, strict=True):
            assert mine.sites.geometry.geom_equals(theirs.sites.geometry).all()
            assert (
                mine.area_coverage()["residents_new"].tolist()
                == theirs.area_coverage()["residents_new"].tolist()
            )


def test_siting_by_district_without_a_category_proposes_for_each_gap_as_naming_it_would(
    cluster, demo_url, capsys
):
    """Without --category each district proposes for every listed category that leaves some
    of its residents outside the circle, a scenario each; a category's proposal in a district
    is the one that naming the category gives."""
    engine = make_engine(demo_url)
    address = cluster.scheduler.address
    run = ["--db", demo_url, "site", "--cluster", address, "--count", "1", "--level", "5"]
    seen = set(list_scenarios(engine)["id"])
    assert main(run) == 0
    every = list_scenarios(engine)
    every = every[~every["id"].isin(seen)]
    assert every["categories"].nunique() > 1 and (every["categories"].str.count(",") == 0).all()
    out = capsys.readouterr().out
    assert out.startswith("homes counted: ")  # how much is estimated, before the parts
    for row in every.itertuples():  # each for a category that leaves some of its district outside
        area = read_scenario(engine, int(row.id)).coverage.query("scope == 'area'")
        assert (area["share_residents_before"] < 1).all(), row.label
        assert row.label.split()[0] in out
    row = every.sort_values("id").iloc[0]
    seen = set(list_scenarios(engine)["id"])
    assert main([*run, "--category", row["categories"]]) == 0
    named = list_scenarios(engine)
    named = named[~named["id"].isin(seen) & (named["label"] == row["label"])]
    assert len(named) == 1
    mine, theirs = read_scenario(engine, int(row["id"])), read_scenario(engine, int(named["id"].iloc[0]))
    assert mine.sites.geometry.geom_equals(theirs.sites.geometry).all() and len(mine.sites) == 1
    engine.dispose()
