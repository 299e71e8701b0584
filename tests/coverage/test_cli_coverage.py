"""``gridmap coverage`` on the demo district: the table, kept runs, comparison, output files."""

import pyogrio
import pytest

from gridmap_cli import main


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_coverage_prints_every_category_and_level_and_writes_layers(demo_db, tmp_path, capsys):
    out = tmp_path / "coverage.gpkg"
    code, text, err = _run(capsys, "--db", demo_db, "coverage", "--out", str(out), "--label", "baseline")
    assert code == 0, err
    for words in (
        "养老服务",
        "elderly_care",
        "5分钟 居民覆盖",
        "15分钟 未覆盖居民",
        "walking network: 2,188 nodes",
        "1+6",
    ):
        assert words in text
    assert "kept as coverage run 1" in text
    layers = dict(pyogrio.list_layers(out))
    assert set(layers) == {
        "coverage_summary",
        "coverage_homes",
        "coverage_compounds",
        "service_gaps",
        "service_circles",
        "homes_counted",
    }
    counted = pyogrio.read_dataframe(out, layer="homes_counted")  # what the residents counted hold
    assert len(counted) == 1 and counted["said_zh"].iloc[0].startswith("居民 ")
    assert counted["residents_estimate"].iloc[0] + counted["residents_given"].iloc[0] > 0
    gaps = pyogrio.read_dataframe(out, layer="service_gaps")
    assert len(gaps) > 0 and set(gaps["method"]) == {"network"}
    circles = pyogrio.read_dataframe(out, layer="service_circles")
    assert set(circles["level"]) == {5, 10, 15}


@pytest.mark.slow
def test_coverage_options_csv_runs_and_compare(demo_db, tmp_path, capsys):
    csv = tmp_path / "food.csv"
    args = ["--db", demo_db, "coverage", "--level", "5", "10", "--category", "food", "--speed", "elderly"]
    code, text, err = _run(capsys, *args, "--origin", "compound", "--by", "community", "--out", str(csv))
    assert code == 0, err
    assert "from compounds, walking 0.8 m/s" in text and "5-minute share of residents by community" in text
    assert csv.exists() and (tmp_path / "food_service_gaps.csv").exists()
    code, text, _ = _run(capsys, "--db", demo_db, "coverage", "runs")
    assert code == 0 and "5,10" in text
    code, text, _ = _run(capsys, "--db", demo_db, "coverage", "compare", "1", "2")
    assert code == 0 and "homes newly covered" in text


def test_coverage_bad_input_exits_2(demo_db, capsys):
    code, _, err = _run(capsys, "--db", demo_db, "coverage", "--category", "spa", "--no-save")
    assert code == 2 and "unknown service categories spa" in err
    code, _, err = _run(capsys, "--db", demo_db, "coverage", "--speed", "fast", "--no-save")
    assert code == 2 and "'fast'" in err
    code, _, err = _run(capsys, "--db", demo_db, "coverage", "compare", "1")
    assert code == 2 and "two run ids" in err
    code, _, err = _run(capsys, "--db", demo_db, "coverage", "compare", "98", "99")
    assert code == 2 and "no coverage run 98" in err
    code, _, err = _run(capsys, "--db", demo_db, "coverage", "--out", "x.shp", "--no-save")
    assert code == 2 and "x.shp" in err


def test_coverage_and_siting_over_nobody_are_refused_with_what_to_do(demo_db, capsys):
    from sqlalchemy import text

    from gridmap.store.engine import make_engine

    engine = make_engine(demo_db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE buildings SET households = 0, residents = NULL"))
        kept = conn.execute(text("SELECT count(*) FROM coverage_runs")).scalar_one()
    engine.dispose()
    for command in (["coverage", "--level", "15"], ["site", "--category", "clinic", "--no-save"]):
        code, out, err = _run(capsys, "--db", demo_db, *command)
        assert code == 2, (command, out, err)
        assert "hold no households or residents" in err and "gridmap households estimate" in err
        assert "coverage of" not in out and "%" not in out
    engine = make_engine(demo_db)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM coverage_runs")).scalar_one() == kept
    engine.dispose()
    # what the message says to do gives every home its estimate again, and coverage runs
    assert _run(capsys, "--db", demo_db, "households", "estimate")[0] == 0
    code, out, _ = _run(capsys, "--db", demo_db, "coverage", "--level", "15", "--no-save", "--no-circles")
    assert code == 0 and "residents: 100 % estimated from footprint × levels" in out


def test_analysis_commands_import_with_the_collector_paused_keep_it_all_out_of_full_collections_and_give_it_back(
    demo_db, capsys, monkeypatch
):
    """``gridmap coverage`` and ``gridmap site`` import with the cycle collector paused,
    freeze what their imports made (the collector's full passes over it cost about 100 ms
    each), and unfreeze it when they end, the collector running again."""
    import gc

    frozen: list[tuple[int, bool]] = []
    freeze = gc.freeze
    monkeypatch.setattr(
        gc, "freeze", lambda: (freeze(), frozen.append((gc.get_freeze_count(), gc.isenabled())))
    )
    gc.unfreeze()
    _run(capsys, "--db", demo_db, "coverage", "runs")
    _run(capsys, "--db", demo_db, "site", "scenarios")
    assert len(frozen) == 2 and min(count for count, _ in frozen) > 100_000
    assert not any(enabled for _, enabled in frozen)  # paused while the imports ran
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_a_command_stopped_with_ctrl_c_says_so_and_exits_130(monkeypatch, capsys):
    import importlib

    program = importlib.import_module("gridmap_cli.main")

    def stopped():
        raise KeyboardInterrupt

    monkeypatch.setattr(program, "main", stopped)
    with pytest.raises(SystemExit) as stop:
        program.run()
    assert stop.value.code == 130 and capsys.readouterr().err == "gridmap: stopped (Ctrl-C)\n"


def test_the_program_leaves_what_exists_out_of_the_last_collections_and_exits_with_the_code(monkeypatch):
    """``gridmap`` (``gridmap_cli.main:run``) freezes what exists before the interpreter stops,
    whose last full collections over it would cost about 0.3 s, and exits with main's code."""
    import gc
    import importlib

    program = importlib.import_module("gridmap_cli.main")  # the module, not the function it exports
    monkeypatch.setattr(program, "main", lambda: 3)
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    frozen: list[bool] = []
    with pytest.raises(SystemExit) as stop:
        program.run()
    assert stop.value.code == 3 and frozen == [True]


def test_homes_and_facilities_off_the_streets_are_named_one_by_one(capsys):
    """Homes by kind ("compound 19" is not building 19), facilities by id, counted in words."""
    from gridmap_cli.coverage_report import _print_problems

    _print_problems({"homes_unattached": ["building 2"], "homes_on_islands": ["building 4", "compound 19"],
                     "facilities_unattached": [102, 103]})  # fmt: skip
    assert capsys.readouterr().out.splitlines() == [
        "1 home farther than the snap distance from any street (not covered): building 2",
        "2 homes on streets cut off from the main network: building 4, compound 19",
        "2 facilities farther than the snap distance from any street (not used): facility 102, facility 103",
    ]
