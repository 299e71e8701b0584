"""``gridmap site`` on the demo district: the table, every category with a gap, kept
scenarios, comparison, output files and bad input."""

import pyogrio
import pytest

from gridmap_cli import main


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_site_prints_sites_with_before_and_after_and_writes_layers(demo_db, tmp_path, capsys):
    out = tmp_path / "elderly.gpkg"
    args = ["--db", demo_db, "site", "--category", "elderly_care", "--count", "3", "--minutes", "15"]
    code, text, err = _run(capsys, *args, "--out", str(out))
    assert code == 0, err
    for words in ("MCLP for elderly_care (养老服务)", "circle 15 min = 990 m", "proposed sites in order of choice",
                  "nearest station", "before", "after", "highs: optimal", "kept as siting scenario 1"):  # fmt: skip
        assert words in text
    layers = dict(pyogrio.list_layers(out))
    assert {"siting_sites", "siting_site_homes", "siting_coverage", "siting_candidates"} <= set(layers)
    sites = pyogrio.read_dataframe(out, layer="siting_sites")
    assert sites["rank"].tolist() == [1, 2, 3] and (sites["residents_new"] > 0).all()
    assert sites.crs.to_epsg() == 4326


@pytest.mark.slow
def test_site_for_every_gap_scenarios_and_compare(demo_db, tmp_path, capsys, monkeypatch):
    import gridmap.study_area

    built = []  # the walking network is built once: the gaps found and every proposal share it
    real = gridmap.study_area.build_network
    monkeypatch.setattr(gridmap.study_area, "build_network", lambda *a, **k: built.append(1) or real(*a, **k))
    code, text, err = _run(capsys, "--db", demo_db, "site", "--count", "2", "--no-save")
    assert code == 0, err
    assert "categories with residents outside the circle:" in text
    assert text.count("proposed sites in order of choice") >= 10
    assert "kept as siting scenario" not in text
    assert len(built) == 1
    lots = tmp_path / "lots.csv"
    lots.write_text("name,lon,lat\n空置用房,104.0770,30.6700\n闲置地块,104.0650,30.6620\n", encoding="utf-8")
    args = ["--db", demo_db, "site", "--category", "clinic", "--model", "lscp", "--share", "0.6"]
    code, text, err = _run(capsys, *args, "--candidates", str(lots), "--label", "lscp 60%")
    assert code == 0, err
    assert "2 given" in text and "LSCP for clinic" in text
    code, text, err = _run(capsys, "--db", demo_db, "site", "--category", "clinic", "--model", "pmedian")
    assert code == 0, err
    code, text, _ = _run(capsys, "--db", demo_db, "site", "scenarios")
    assert "lscp 60%" in text and "pmedian" in text
    code, text, err = _run(capsys, "--db", demo_db, "site", "compare", "2", "3")
    assert code == 0, err
    assert "siting scenario 2 against scenario 3" in text and "metres apart" in text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--category", "elderly_care", "--count", "0"], "at least 1"),
        (["--category", "nope"], "unknown service categories nope"),
        (["--category", "clinic", "--model", "lscp", "--count", "2"], "give --share instead of --count"),
        (["--category", "clinic", "--out", "x.txt"], "expected a .gpkg or .csv file"),
        (["--category", "clinic", "--candidates", "missing.gpkg"], "file not found: missing.gpkg"),
        (["--category", "clinic", "--sources", "roofs"], "unknown candidate sources roofs"),
        (["--category", "clinic", "--model", "lscp"], "covering 100% is infeasible"),
        (["compare", "1"], "needs two scenario ids"),
        (["compare", "98", "99"], "there is no siting scenario 98"),
    ],
)
def test_site_bad_input_exits_2_with_a_message(demo_db, capsys, args, message):
    code, _, err = _run(capsys, "--db", demo_db, "site", *args)
    assert code == 2
    assert message in err


def test_the_solver_prints_nothing_of_its_own():
    """HiGHS writes its banner to the process's standard output (below Python) the first time
    a solver is made: a script reading `gridmap site` read it amid the tables. A process of
    its own, since the banner comes once a process."""
    import subprocess
    import sys

    solve = (
        "import numpy as np; from gridmap.siting import models; from gridmap.siting.problem import SitingProblem; "
        "p = SitingProblem.from_matrix(np.array([[100.0, np.inf], [np.inf, 100.0]]), np.ones(2), 500.0); "
        "print('chosen', list(models.mclp(p, 1, max_nonzeros=10**6).chosen))"
    )
    done = subprocess.run([sys.executable, "-c", solve], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("chosen") and "HiGHS" not in done.stdout
