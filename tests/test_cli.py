"""The command line: exit codes and messages (DESIGN §7)."""

import argparse
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gridmap.errors import SettingsError
from gridmap_cli import main
from gridmap_cli.parser import build_parser


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_db_init_import_export(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    assert _run(capsys, "--db", db, "db", "init")[0] == 0
    csv = tmp_path / "f.csv"
    pd.DataFrame({"name": ["卫生站"], "categories": ["clinic"], "lon": [104.06], "lat": [30.66]}).to_csv(
        csv, index=False
    )
    code, out, _ = _run(capsys, "--db", db, "import", "facilities", str(csv), "--source-crs", "EPSG:4326")
    assert code == 0 and "imported facilities: 1 added, 0 updated, 0 removed, 0 unchanged" in out
    pd.DataFrame(
        {"name": ["卫生站"], "categories": ["clinic,pharmacy"], "lon": [104.06], "lat": [30.66]}
    ).to_csv(csv, index=False)
    code, out, _ = _run(capsys, "--db", db, "import", "facilities", str(csv), "--source-crs", "EPSG:4326",
                        "--dry-run")  # fmt: skip
    assert code == 0 and "dry run, nothing written: would change facilities: 0 added, 1 updated" in out
    code, out, _ = _run(capsys, "--db", db, "import", "facilities", str(csv), "--source-crs", "EPSG:4326",
                        "--replace", "--key", "name")  # fmt: skip
    assert code == 0 and "1 updated, 0 removed, 0 unchanged (matched on name)" in out
    code, out, _ = _run(capsys, "--db", db, "export", "facilities", str(tmp_path / "f.gpkg"))
    assert code == 0 and (tmp_path / "f.gpkg").exists()
    code, out, _ = _run(capsys, "--db", db, "layers")
    assert "facilities" in out and "设施" in out


def test_bad_input_exits_2_and_names_the_file(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    _run(capsys, "--db", db, "db", "init")
    code, _, err = _run(capsys, "--db", db, "import", "facilities", str(tmp_path / "nope.gpkg"))
    assert code == 2 and "file not found" in err and "nope.gpkg" in err


def test_unknown_layer_is_usage_error(capsys):
    try:
        main(["import", "parks", "x.gpkg"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "invalid choice: 'parks'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["events", "escalate", "999"],
            "ID|FILE goes with 'events move' or 'events import', not 'events escalate'",
        ),
        (["events", "list", "--from", "2026-01-01"], "--from goes with 'events report', not 'events list'"),
        (["events", "file", "--note", "x"], "--note goes with 'events move', not 'events file'"),
        (["map", "grids", "--out", "m.html", "--grid", "X"], "--grid goes with 'map area', not 'map grids'"),
        (
            ["map", "gaps", "--out", "m.html", "--count", "2"],
            "--count goes with 'map siting', not 'map gaps'",
        ),
        (["households", "estimate", "--out", "e.csv"], "--out goes with 'households show'"),
        (["coverage", "runs", "--level", "5"], "--level goes with 'coverage run', not 'coverage runs'"),
        (["coverage", "runs", "1", "2"], "RUN goes with 'coverage compare', not 'coverage runs'"),
        (["coverage", "compare", "1", "2", "--workers", "2"], "--workers goes with 'coverage run'"),
        (["site", "scenarios", "--count", "3"], "--count goes with 'site propose', not 'site scenarios'"),
        (["user", "list", "--password", "x"], "--password goes with 'user add' or 'user password'"),
        (
            ["grids", "propose", "--tolerance", "3"],
            "--tolerance goes with 'grids align', not 'grids propose'",
        ),
        (["points", "rank", "5"], "MEMBER_ID goes with 'points award' or 'points ledger'"),
        (["needs", "list", "--member", "3"], "--member goes with 'needs claim', not 'needs list'"),
        (["visits", "log", "1", "--grid", "X"], "--grid goes with 'visits due' or 'visits report'"),
        (["visits", "due", "5"], "HOUSEHOLD_ID goes with 'visits log', not 'visits due'"),
        (["events", "list", "--state-is", "open"], "argument --state-is: invalid choice: 'open'"),  # a need's
        (
            ["needs", "list", "--state-is", "closed"],
            "argument --state-is: invalid choice: 'closed'",
        ),  # an event's
    ],
)
def test_an_option_the_action_does_not_take_is_refused_not_left_unread(capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_options_parse_with_the_actions_that_take_them():
    parse = build_parser().parse_args
    assert parse(["events", "move", "3", "closed", "--rating", "5", "--now", "2026-12-01T10:00"]).rating == 5
    assert parse(["events", "report", "--from", "2026-01-01", "--by", "street"]).start == "2026-01-01"
    assert parse(["coverage", "compare", "1", "2", "--out", "c.csv"]).run_ids == [1, 2]
    assert parse(["coverage", "--level", "5", "--workers", "2"]).workers == 2
    assert parse(["map", "area", "--grid", "X", "--out", "m.html"]).grid == "X"
    assert parse(["points", "ledger", "4", "--on", "2026-01-01"]).member == 4
    # an option left at its default is not "given": `--by grid` is what a list gets anyway
    assert parse(["events", "list", "--by", "grid"]).by == "grid"


def test_each_option_names_actions_its_command_has_and_says_them_in_its_help():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    marked = 0
    for name, command in commands.items():
        by_dest = {a.dest: a for a in command._actions}
        for dest, (_, choice, actions) in command.taken_by.items():
            assert set(actions) <= set(by_dest[choice].choices), (name, dest, actions)
            assert by_dest[dest].help.startswith(", ".join(actions) + ":"), (name, dest)
            marked += 1
    assert marked > 80


def test_an_area_off_the_globe_or_without_buildings_is_named(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    _run(capsys, "--db", db, "db", "init")
    with pytest.raises(SystemExit) as stop:
        main(["--db", db, "coverage", "--bbox", "200,0,210,10"])
    assert stop.value.code == 2 and "within -180…180" in capsys.readouterr().err
    for command in (
        ["coverage"],
        ["coverage", "--bbox", "104,30,104.1,30.1"],
        ["site", "--category", "clinic"],
    ):
        code, _, err = _run(capsys, "--db", db, *command)
        assert code == 2 and "there are no buildings" in err and "nothing was computed or kept" in err


def test_bad_database_url(capsys):
    code, _, err = _run(capsys, "--db", "mysql://x/y", "layers")
    assert code == 2 and "unsupported database URL" in err


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", [["layers"], ["coverage"], ["db", "init"], ["serve", "--port", "8765"]])
def test_a_server_that_cannot_be_reached_is_named_without_its_password(capsys, command):
    url = f"postgresql://planner:pw-sekrit@127.0.0.1:{_closed_port()}/gridmap"
    code, out, err = _run(capsys, "--db", url, *command)
    assert code == 2 and out == ""
    assert f"cannot use the database at postgresql://planner:***@127.0.0.1:{url.split(':')[-1]}" in err
    assert "Connection refused" in err and "pw-sekrit" not in err and "Traceback" not in err


def test_an_address_that_cannot_be_served_is_said_before_anything_starts(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = _run(capsys, "--db", db, "serve", "--port", str(port))
        assert code == 2 and f"cannot serve at 127.0.0.1:{port}: Address already in use" in err
        # the demo says so before it spends minutes building
        code, _, err = _run(capsys, "--db", db, "demo", "--port", str(port))
        assert code == 2 and "another server listens there" in err
        assert not (tmp_path / "g.sqlite").exists()
    for option, message in ((["--port", "70000"], "--port 70000: expected 1 to 65535"),
                            (["--host", "no-such-host.invalid"], "--host no-such-host.invalid: cannot be resolved")):  # fmt: skip
        code, _, err = _run(capsys, "--db", db, "serve", *option)
        assert code == 2 and message in err and "Traceback" not in err
    code, _, err = _run(capsys, "--db", db, "serve", "--workers", "100000")  # uvicorn would start them all
    assert code == 2 and "--workers 100000: expected 1 to" in err and "processes on this machine" in err


def test_the_service_runs_on_python_s_own_event_loop(tmp_path, capsys, monkeypatch):
    """One process or several, on asyncio's loop: on uvloop a busy process took new
    connections from the kernel's queue at some 40 a second, and of 200 clients connecting
    at once the last waited seconds for a first answer (bench/scale.py, docs/scale.md)."""
    import uvicorn

    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    assert _run(capsys, "--db", db, "db", "init")[0] == 0
    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(options))
    for name in ("GRIDMAP_DATABASE_URL", "GRIDMAP_TILE_CACHE_DIR"):  # what serving in processes sets
        monkeypatch.setenv(name, db if name == "GRIDMAP_DATABASE_URL" else str(tmp_path / "tiles"))
    for workers in ("1", "2"):
        assert _run(capsys, "--db", db, "serve", "--port", str(_closed_port()), "--workers", workers)[0] == 0
    assert [options["loop"] for options in started] == ["asyncio", "asyncio"]
    assert started[1]["workers"] == 2


def test_a_change_another_writer_beat_to_the_database_is_one_line_not_a_traceback(
    tmp_path, capsys, monkeypatch
):
    from sqlalchemy.exc import IntegrityError

    import gridmap.io.edits

    def beaten(*args, **kwargs):
        raise IntegrityError("INSERT INTO visits …", {}, Exception("UNIQUE constraint failed: visits.id"))

    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    _run(capsys, "--db", db, "db", "init")
    monkeypatch.setattr(gridmap.io.edits, "create_feature", beaten)
    code, _, err = _run(capsys, "--db", db, "visits", "log", "1")
    assert code == 2 and "Traceback" not in err
    assert "the change conflicts with what the database at sqlite:///" in err
    assert "(UNIQUE constraint failed: visits.id); nothing was written: try again" in err


def test_a_database_without_its_tables_or_folder_says_what_to_do(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'new.sqlite'}"
    for command, table in (
        (["layers"], "districts"),
        (["user", "list"], "users"),
        (["events", "list"], "events"),
    ):
        code, out, err = _run(capsys, "--db", db, *command)
        assert code == 2 and out == "" and f"has no table '{table}'" in err and "run 'gridmap db init'" in err
    code, _, err = _run(capsys, "--db", db, "serve", "--port", "8765")
    assert code == 2 and "is at schema none" in err and "gridmap db upgrade" in err
    (tmp_path / "a-file").write_text("")
    code, _, err = _run(capsys, "--db", f"sqlite:///{tmp_path / 'a-file' / 'g.sqlite'}", "layers")
    assert (
        code == 2 and f"cannot make the folder {tmp_path / 'a-file'} " in err and "a file of that name" in err
    )
    code, _, err = _run(capsys, "--db", f"sqlite:///{tmp_path / 'a-file' / 'sub' / 'g.sqlite'}", "layers")
    assert (
        code == 2
        and f"cannot make the folder {tmp_path / 'a-file' / 'sub'} " in err
        and "Not a directory" in err
    )


@pytest.mark.postgis
def test_postgis_without_the_database_or_its_tables_says_so(postgis_url, capsys):
    from fresh_db import copy_database
    from sqlalchemy.engine import make_url

    missing = make_url(postgis_url).set(database="no_such_db", password="pw-sekrit")
    code, _, err = _run(capsys, "--db", missing.render_as_string(hide_password=False), "layers")
    assert code == 2 and 'database "no_such_db" does not exist' in err and "pw-sekrit" not in err
    empty = copy_database(postgis_url, "cli_empty", empty=True)
    code, _, err = _run(capsys, "--db", empty, "layers")
    assert code == 2 and "has no table 'districts'" in err and "run 'gridmap db init'" in err


def test_an_output_that_cannot_be_written_says_where_and_why(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    _run(capsys, "--db", db, "db", "init")
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder.gpkg").mkdir()
    for out, why in (
        (tmp_path / "a-file" / "x.gpkg", f"cannot use '{tmp_path / 'a-file'}'"),
        (tmp_path / "a-folder.gpkg", "Is a directory"),
        (Path("/proc/gridmap-x.geojson"), "cannot write '/proc/gridmap-x.geojson': Failed to create GeoJSON"),
    ):
        code, _, err = _run(capsys, "--db", db, "export", "facilities", str(out))
        assert code == 2 and why in err, err
    code, _, err = _run(capsys, "--db", db, "events", "report", "--out", str(tmp_path / "a-file" / "r.xlsx"))
    assert code == 2 and f"cannot use '{tmp_path / 'a-file'}" in err
    cache = tmp_path / "a-file" / "parts"  # said before any part walks, or a cluster starts
    code, _, err = _run(capsys, "--db", db, "coverage", "--workers", "1", "--parts-cache", str(cache))
    assert code == 2 and f"--parts-cache {cache}: cannot make the folder" in err


def test_a_database_url_is_printed_without_its_password(tmp_path, capsys):
    from gridmap.settings import Settings, shown_url

    assert "sekrit" not in repr(Settings(database_url="postgresql://u:sekrit@h/db"))
    assert shown_url("postgresql+psycopg://u:sek/rit@h:5432/db?sslmode=require") == (
        "postgresql+psycopg://u:***@h:5432/db?sslmode=require"
    )  # the password ends at the first @, as SQLAlchemy reads it
    assert shown_url("postgresql://u@h/db") == "postgresql://u@h/db"
    code, _, err = _run(capsys, "--db", "postgresql:/u:sekrit@h", "layers")  # a URL that cannot be read
    assert code == 2 and "cannot parse database URL 'postgresql:/u:***@h'" in err


def test_a_file_given_for_a_database_url_is_refused_at_once_with_the_url_to_give(tmp_path):
    """Before the command loads what it needs: in the time `gridmap --help` takes."""
    path = tmp_path / "district.sqlite"
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "gridmap_cli", "--db", str(path), "coverage"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    timed = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    said = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("import time:"))
    assert done.returncode == 2
    wanted = f"cannot parse database URL '{path}'; expected sqlite:///FILE or postgresql://…"
    assert f"{wanted} (for that file: sqlite:///{path})" in said
    loaded = {line.split("|")[-1].strip() for line in timed}
    assert not loaded & {"pandas", "sqlalchemy", "geopandas", "scipy"}
    assert not path.exists()


#: what no command needs before it runs: the parser (and so ``gridmap --help``) starts without them
HEAVY = ("pandas", "geopandas", "numpy", "scipy", "shapely", "sqlalchemy", "pydantic", "pyproj", "rich",
         "fastapi", "dask", "distributed", "pyarrow")  # fmt: skip


def test_the_command_line_starts_without_heavy_libraries():
    probe = (
        "import sys\n"
        "from gridmap_cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "try:\n    main(['coverage', '--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-500:]


def test_the_service_and_coverage_start_without_what_only_some_requests_need(tmp_path):
    """The service imports folium when a map is first asked for, and SciPy and HiGHS when a
    run, a scenario or a grid drawing first starts (a fifth of a second of each process's
    start); a coverage run imports neither ``scipy.ndimage`` nor ``scipy.spatial`` (straight
    lines only) nor pydantic (its settings are a plain table): each cost a tenth of a second
    or more at start; nor, off a terminal, rich's progress bars. Neither imports GeoAlchemy2
    (with the dialects of four databases, a tenth of a second) nor, as the service checks the
    database's schema revision on starting, Alembic, which only the schema's migrations and
    comparisons need; nor does the command line on SpatiaLite import the dialect of
    PostgreSQL."""
    from gridmap.store.engine import make_engine
    from gridmap.store.schema import init_db

    url = f"sqlite:///{tmp_path / 'g.sqlite'}"
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    started = (
        f"from gridmap.settings import Settings\napi.main.served_engine(Settings(database_url={url!r}))\n"
    )
    coverage = ("scipy.ndimage", "scipy.spatial", "pydantic", "pydantic_settings", "rich.progress", "geoalchemy2",
                "alembic", "sqlalchemy.dialects.postgresql")  # fmt: skip
    service = ("folium", "branca", "scipy", "highspy", "geoalchemy2", "alembic")
    for module, then, unwanted in (
        ("api.main", started, service),
        ("gridmap_cli.coverage_report", "", coverage),
    ):
        probe = f"import sys, {module}\n{then}print(sorted(m for m in {unwanted!r} if m in sys.modules))\n"
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        assert done.stdout.strip().splitlines()[-1] == "[]", (module, done.stdout[-500:])


def test_progress_bars_are_drawn_on_a_terminal_and_nowhere_else(monkeypatch):
    import io

    from rich.console import Console

    from gridmap_cli import terminal

    with terminal.progress_bar() as update:
        assert update is None  # a file or a pipe
    screen = io.StringIO()
    monkeypatch.setattr(terminal, "_err", Console(file=screen, force_terminal=True, width=80))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with terminal.progress_bar() as update:
        update("distances", 3, 12)
        update("distances", 12, 12)
    assert "distances" in screen.getvalue() and "12/12" in screen.getvalue()


def test_settings_that_do_not_fit_exit_2_naming_each_variable_and_what_it_expects(
    tmp_path, monkeypatch, capsys
):
    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    monkeypatch.setenv("GRIDMAP_WALK_SPEED_MPS", "-1")
    monkeypatch.setenv("GRIDMAP_DEFAULT_LEVELS", "2.5")
    monkeypatch.setenv("GRIDMAP_OPEN_POOL_AT_START", "maybe")
    monkeypatch.setenv("GRIDMAP_OPEN311_API_KEYS", '["k-secret-1"')
    code, out, err = _run(capsys, "--db", db, "layers")
    assert code == 2 and out == ""
    assert "GRIDMAP_WALK_SPEED_MPS='-1': expected a number greater than 0" in err
    assert "GRIDMAP_DEFAULT_LEVELS='2.5': expected a whole number" in err
    assert "GRIDMAP_OPEN_POOL_AT_START='maybe': expected true or false" in err
    assert (
        "GRIDMAP_OPEN311_API_KEYS: expected a JSON list" in err and "k-secret-1" not in err
    )  # a key stays unsaid
    assert not (tmp_path / "g.sqlite").exists()  # nothing was opened


def test_settings_read_from_the_environment_as_their_table_says(monkeypatch):
    from gridmap.settings import Settings

    monkeypatch.setenv("GRIDMAP_WALK_HIGHWAYS", "footway, path")
    monkeypatch.setenv("GRIDMAP_OPEN311_API_KEYS", '["k-1", "k-2"]')
    monkeypatch.setenv("GRIDMAP_OPEN_POOL_AT_START", "off")
    monkeypatch.setenv("GRIDMAP_TIANDITU_KEY", "")
    monkeypatch.setenv("GRIDMAP_TILE_CACHE_TILES", "16")
    settings = Settings(tile_cache_tiles=8)  # a value given beats the environment
    assert settings.walk_highways == ["footway", "path"] and settings.open311_api_keys == ["k-1", "k-2"]
    assert settings.open_pool_at_start is False and settings.tianditu_key is None
    assert settings.tile_cache_tiles == 8 and Settings().tile_cache_tiles == 16
    assert "k-1" not in repr(settings)  # nor in the settings' printed form
    monkeypatch.setenv("GRIDMAP_GRID_HOUSEHOLDS_MIN", "600")
    with pytest.raises(SettingsError, match="GRIDMAP_GRID_HOUSEHOLDS_MIN \\(600\\) is larger than"):
        Settings()
    with pytest.raises(TypeError, match="no setting walk_speed"):
        Settings(walk_speed=1.0)


def test_a_table_wider_than_the_terminal_cuts_its_widest_text_and_keeps_every_column(capsys):
    """A long finding once squeezed the severity, kind and count columns out of `validate`'s
    table altogether; now the widest text is cut, CJK counted as two columns."""
    from rich.cells import cell_len

    from gridmap_cli.terminal import print_table

    print_table([("warning", "building_homes_doubtful", "龙湖·北城天街" * 40, 2)],
                ("severity", "kind", "first of them", "findings"), right=[3])  # fmt: skip
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["severity", "kind", "first", "of", "them", "findings"]
    assert row.split()[:2] == ["warning", "building_homes_doubtful"] and row.split()[-1] == "2"
    assert "…" in row and 190 <= cell_len(row.rstrip()) <= 200  # cut to the terminal's 200 columns


def test_a_table_lines_up_chinese_text_and_never_cuts_a_number(capsys):
    """Each cell starts (or, for numbers, ends) at its column's place counted in terminal
    columns, a Chinese character as two; a share with no mark keeps its digits under those
    with one; a table of numbers wider than the terminal keeps every figure whole (they were
    once cut to "45.…") and is not folded."""
    from rich.cells import cell_len

    from gridmap_cli.terminal import print_table

    print_table([("market", "菜市场", "8.7%  ", "98,185"), ("community_service", "社区服务站", "37.4% ▲", "100,011")],
                ("category", "类别", "5分钟 居民覆盖", "未覆盖"), right=[2, 3])  # fmt: skip
    header, *rows = capsys.readouterr().out.splitlines()
    ends = [cell_len(header[: header.index(h) + len(h)]) for h in ("5分钟 居民覆盖", "未覆盖")]
    name_at = cell_len("community_service  ")
    for row, name, share, left_out in zip(rows, ("菜市场", "社区服务站"), ("8.7%", "37.4%"), ("98,185", "100,011"),
                                          strict=True):  # fmt: skip
        assert cell_len(row[: row.index(name)]) == name_at
        assert cell_len(row[: row.index(share) + len(share)]) == ends[0] - 2  # the marks' place after it
        assert cell_len(row[: row.index(left_out) + len(left_out)]) == ends[1]
    wide = [f"{100 * (i % 7) / 7:.1f}%" for i in range(40)]
    print_table([["510104001001", "一环路东一段社区", *wide]], ["code", "name", *(f"c{i}" for i in range(40))],
                right=range(2, 42))  # fmt: skip
    header, row = capsys.readouterr().out.splitlines()
    assert row.split()[-40:] == wide and cell_len(row) > 200  # whole, on one line


def test_a_table_prints_names_as_written(capsys):
    """A name is data, not markup: "[b]" and ":smile:" in an imported name once vanished or
    turned into an emoji on the way to the terminal."""
    from gridmap_cli.terminal import print_table, say

    print_table([("[b]龙湖[/b] :smile:", 1)], ("name", "n"), right=[1])
    say("building 12 of [b]龙湖[/b] :smile:")
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("[b]龙湖[/b] :smile:  ") and lines[2] == "building 12 of [b]龙湖[/b] :smile:"
