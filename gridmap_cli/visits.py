"""`gridmap visits`: households due for a visit (四必访), logging a visit, and the figures."""

from __future__ import annotations

import datetime as dt

from gridmap.errors import InputError
from gridmap.settings import Settings
from gridmap_cli.common import EXIT_OK, open_engine
from gridmap_cli.terminal import percent, print_table


def day_of(text: str | None) -> dt.date:
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"'{text}' is not a day as YYYY-MM-DD") from None


def cmd_visits(args, settings: Settings) -> int:
    from gridmap.care import care_figures, load_care_tags, visits_due
    from gridmap.store.layers import read_layer

    engine = open_engine(settings)
    day = day_of(args.on)
    if args.action == "log":
        from gridmap.io.edits import create_feature

        if not args.household or not args.household.isdigit():
            raise InputError("gridmap visits log HOUSEHOLD_ID [--on DAY] [--by NAME] [--kind K] [--note T]")
        values = {"household_id": int(args.household), "visited_on": day, "visitor": args.by,
                  "kind": args.kind, "note": args.note}  # fmt: skip
        visit_id, _ = create_feature(engine, "visits", values, user=args.by or "cli")
        print(f"logged visit {visit_id} to household {args.household} on {day}")
        return EXIT_OK
    households = read_layer(engine, "households", columns=["building_id", "care_tags"])
    visits = read_layer(engine, "visits", columns=["household_id", "visited_on"])
    if args.grid:
        from gridmap.scope import AREA_INPUTS, grid_leader_area

        grids = read_layer(engine, "grids", columns=["code"])
        chosen = tuple(int(i) for i in grids.index[grids["code"].isin(args.grid)])
        if not chosen:
            raise InputError(f"no grid with code {', '.join(args.grid)}")
        area = grid_leader_area({n: read_layer(engine, n) for n in AREA_INPUTS}, chosen)
        households = households[households.index.isin(area.ids.get("households", frozenset()))]
    if args.action == "report":
        figures = care_figures(households, visits, day)
        names = load_care_tags().tags
        print(f"{figures['tagged']:,} households tagged for care; visited within their interval: "
              f"{figures['visited_in_time']:,} ({percent(figures['share_in_time'])}); overdue: {figures['overdue']:,}; "
              f"visits logged: {figures['visits']:,}")  # fmt: skip
        print_table([(t, names[t].name_zh, n) for t, n in sorted(figures["per_tag"].items())],
                    ("tag", "类别", "households"), right=[2])  # fmt: skip
        return EXIT_OK
    due = visits_due(households, visits, day)
    rows = [(r.household_id, r.building_id, r.tags, r.interval_days, r.last_visit or "never", r.due_on, r.overdue_days)
            for r in due.itertuples()]  # fmt: skip
    print_table(rows, ("household", "building", "tags", "every (days)", "last visit", "due", "days late"),
                title=f"households due for a visit on {day}", right=[0, 1, 3, 6])  # fmt: skip
    return EXIT_OK
