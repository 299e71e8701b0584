"""`gridmap events`: file grid events, move them along their steps, escalate what waits
unclaimed (吹哨), and the figures districts report (响应率, 办结率, 满意率)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from gridmap.errors import InputError
from gridmap.settings import Settings
from gridmap_cli.common import EXIT_OK, open_engine
from gridmap_cli.terminal import percent, print_table

UNIT_LAYERS = {"grid": "grids", "community": "communities", "street": "streets"}


def _when(text: str | None, what: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{what} '{text}' is not a date or time as YYYY-MM-DD[THH:MM]") from None


def cmd_events(args, settings: Settings) -> int:
    engine = open_engine(settings)
    now = _when(args.now, "--now")
    if args.action == "categories":
        return _categories()
    if args.action == "file":
        return _file(engine, args, now)
    if args.action == "move":
        return _move(engine, args, now)
    if args.action == "escalate":
        from gridmap.io.events import escalate_due

        moved = escalate_due(engine, now=now)
        print(f"escalated {len(moved)} event(s) left unclaimed past their deadline" +
              (f": {', '.join(map(str, moved))}" if moved else ""))  # fmt: skip
        return EXIT_OK
    if args.action == "list":
        return _list(engine, args)
    if args.action == "import":
        return _import(engine, args)
    return _report(engine, args, now)


def _categories() -> int:
    from gridmap.events import load_catalogue

    catalogue = load_catalogue()
    rows = [(c.id, c.name_zh, c.department, f"{c.report_hours:g}", f"{c.deadline_hours:g}", "yes" if c.residents else "no")
            for c in catalogue.categories.values()]  # fmt: skip
    print_table(rows, ("category", "类别", "department", "report (h)", "deadline (h)", "residents file"),
                title=f"event catalogue v{catalogue.version}", right=[3, 4])  # fmt: skip
    return EXIT_OK


def _file(engine, args, now) -> int:
    from gridmap.io.events import file_event

    if args.lon is None or args.lat is None or not args.category:
        raise InputError("gridmap events file needs --lon, --lat and --category")
    filed = file_event(
        engine, lon=args.lon, lat=args.lat, category=args.category, description=args.description,
        source=args.source, reporter=args.reporter, phone=args.phone, now=now,
    )  # fmt: skip
    from gridmap.store.layers import read_layer

    p = filed.placement
    whom = p.assignee or "nobody in office: it escalates when its claim deadline passes"
    code = read_layer(engine, "grids", columns=["code"], ids=[p.grid_id])["code"]
    grid = f"{code.iloc[0]} (id {p.grid_id})" if len(code) else str(p.grid_id)
    print(f"filed event {filed.event_id} ({filed.category}) in grid {grid}, for {whom}; "
          f"due {filed.due_at:%Y-%m-%d %H:%M} UTC; department {filed.department}")  # fmt: skip
    return EXIT_OK


def _move(engine, args, now) -> int:
    from gridmap.io.events import move_event

    if args.target is None or not args.target.isdigit() or not args.state:
        raise InputError("gridmap events move ID STATE [--note TEXT] [--rating 1-5]")
    event_id = int(args.target)
    event = move_event(engine, event_id, args.state, by=args.as_, note=args.note, rating=args.rating,
                       assignee=args.assignee, now=now)  # fmt: skip
    print(f"event {event_id} is {event['state']} at the {event['level']} level"
          + (f", with {event['assignee']}" if event["assignee"] else ""))  # fmt: skip
    return EXIT_OK


def _list(engine, args) -> int:
    from gridmap.store.layers import read_layer

    events = read_layer(engine, "events")
    if args.state_filter:
        events = events[events["state"] == args.state_filter]
    rows = [(int(e.id), e.category, e.state, e.level, e.grid_id, e.assignee or "", f"{e.due_at:%Y-%m-%d %H:%M}")
            for e in events.sort_values("due_at").itertuples()]  # fmt: skip
    print_table(rows, ("id", "category", "state", "level", "grid", "with", "due (UTC)"), right=[0, 4])
    return EXIT_OK


def _report(engine, args, now) -> int:
    import pandas as pd

    from gridmap.events import FIGURES, event_figures
    from gridmap.io.export import REPORT_SUFFIXES
    from gridmap.store.layers import read_layer

    if args.out and Path(args.out).suffix.lower() not in REPORT_SUFFIXES:
        raise InputError(f"--out '{args.out}': expected a {' or '.join(REPORT_SUFFIXES)} file")
    start, end = _when(args.start, "--from"), _when(args.end, "--to")
    events = read_layer(engine, "events")
    column = f"{args.by}_id"
    figures = event_figures(events, by=column, start=start, end=end, now=now)
    units = read_layer(engine, UNIT_LAYERS[args.by], columns=["code", "name"])
    names = {int(i): (c or "", n if isinstance(n, str) else "")  # a drawn grid may have no name yet
             for i, c, n in zip(units["id"], units["code"], units["name"], strict=True)}  # fmt: skip
    figures.insert(
        1,
        "code",
        [names.get(int(u), ("", ""))[0] if u != "all" and pd.notna(u) else "" for u in figures["unit"]],
    )
    figures.insert(
        2,
        "name",
        [names.get(int(u), ("", ""))[1] if u != "all" and pd.notna(u) else "(all)" for u in figures["unit"]],
    )
    span = f"filed {start or 'from the first'} to {end or 'now'}"
    rows = [(r.code, r.name, r.filed, percent(r.response_rate), percent(r.closure_rate),
             percent(r.satisfaction_rate), r.median_hours_to_close if r.median_hours_to_close is not None else "—",
             r.overdue_now, r.escalated) for r in figures.itertuples()]  # fmt: skip
    print_table(rows, ("code", args.by, "filed", "响应率", "办结率", "满意率", "median h", "overdue", "escalated"),
                title=f"events by {args.by}, {span}", right=[2, 3, 4, 5, 6, 7, 8])  # fmt: skip
    places = places_of(events, start, end)
    if len(places):
        rows = [(p.category, p.count, f"{p.first_filed:%Y-%m-%d}", f"{p.last_filed:%Y-%m-%d}",
                 f"{p.lon:.5f},{p.lat:.5f}", " ".join(map(str, p.event_ids[:8])))
                for p in places.head(10).itertuples()]  # fmt: skip
        title = f"{len(places)} places where events come back (within 50 m and 30 days)"
        print_table(
            rows, ("category", "events", "first", "last", "where (lon,lat)", "ids"), title=title, right=[1]
        )
    if args.out:
        by_category = event_figures(events, by="category", start=start, end=end, now=now)
        by_source = event_figures(events, by="source", start=start, end=end, now=now)
        named = {k: f"{k} {v}" for k, v in FIGURES.items()}
        if args.out.lower().endswith(".xlsx"):
            from gridmap.io.export import write_workbook

            write_workbook({f"by {args.by}": figures.rename(columns=named), "by category": by_category.rename(columns=named),
                            "by source": by_source.rename(columns=named)}, args.out)  # fmt: skip
        elif args.out.lower().endswith(".gpkg"):  # the units' outlines with their figures, for a map
            import geopandas as gpd

            from gridmap.io.export import write_frames

            per_unit = figures[figures["unit"] != "all"]
            shapes = units.geometry.reindex([int(u) for u in per_unit["unit"]]).to_numpy()
            mapped = gpd.GeoDataFrame(per_unit.reset_index(drop=True), geometry=list(shapes), crs=units.crs)
            write_frames({f"events_by_{args.by}": mapped, "events_by_category": by_category,
                          "events_by_source": by_source}, args.out)  # fmt: skip
        else:
            from gridmap.io.export import write_csv

            write_csv(figures, args.out)
        print(f"wrote {args.out}")
    return EXIT_OK


def _import(engine, args) -> int:
    from gridmap.io.hotline import import_hotline, read_category_map

    if not args.target:
        raise InputError("gridmap events import FILE [--source-crs CRS] [--category-map FILE]")
    mapping = read_category_map(args.category_map) if args.category_map else None
    report = import_hotline(engine, args.target, source_crs=args.source_crs, category_map=mapping,
                            encoding=args.encoding, dry_run=args.dry_run)  # fmt: skip
    count = sum(report.by_grid.values())
    head = "dry run, nothing written: would file" if report.dry_run else "filed"
    print(f"{head} {count} hotline event(s) in {len(report.by_grid)} grid(s); "
          f"{report.already} ticket(s) were already there")  # fmt: skip
    return EXIT_OK


def places_of(events, start, end):
    """Repeat places (:func:`gridmap.events.repeat_places`) of the events filed in the range,
    with each place's mean lon/lat (EPSG:4326)."""
    import pandas as pd

    from gridmap.crs import metric_crs_for
    from gridmap.events import repeat_places

    filed = pd.to_datetime(events["filed_at"])
    keep = pd.Series(True, index=events.index)
    if start:
        keep &= filed >= pd.Timestamp(start)
    if end:
        keep &= filed < pd.Timestamp(end)
    chosen = events[keep.to_numpy()]
    if not len(chosen):
        return pd.DataFrame()
    metric = chosen.to_crs(metric_crs_for(chosen))
    xy = metric.geometry.get_coordinates().to_numpy()
    places = repeat_places(chosen, xy)
    places["lon"] = [chosen.loc[ids].geometry.x.mean() for ids in places["event_ids"]]
    places["lat"] = [chosen.loc[ids].geometry.y.mean() for ids in places["event_ids"]]
    return places
