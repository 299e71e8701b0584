"""`gridmap needs` (双向认领: file, claim, done, confirm a need) and `gridmap points` (award,
the ledger, rankings, the rules)."""

from __future__ import annotations

from gridmap.errors import InputError
from gridmap.settings import Settings
from gridmap_cli.common import EXIT_OK, open_engine
from gridmap_cli.terminal import print_table
from gridmap_cli.visits import day_of

#: the step each command takes
STEPS = {"claim": "claimed", "done": "done", "confirm": "confirmed", "release": "open", "cancel": "cancelled"}


def cmd_needs(args, settings: Settings) -> int:
    from gridmap.needs import KIND_NAMES, load_need_categories

    if args.action == "categories":
        names = load_need_categories().names
        print_table([(k, v) for k, v in names.items()], ("category", "类别"))
        return EXIT_OK
    engine = open_engine(settings)
    if args.action == "file":
        return _file(engine, args)
    if args.action in STEPS:
        from gridmap.io.needs import move_need

        if not args.need or not args.need.isdigit():
            raise InputError(f"gridmap needs {args.action} NEED_ID …")
        need, awarded = move_need(engine, int(args.need), STEPS[args.action], member_id=args.member,
                                  coop_unit_id=args.unit, offer_id=args.offer, confirmed_by=args.by,
                                  on=day_of(args.on))  # fmt: skip
        print(f"need {args.need} is {need['state']}")
        if awarded:
            capped = f" (asked {awarded.asked}: capped)" if awarded.asked != awarded.points else ""
            print(f"member {need['member_id']} earned {awarded.points} points{capped}")
        return EXIT_OK
    from gridmap.store.layers import read_layer

    needs = read_layer(engine, "needs")
    if args.state_filter:
        needs = needs[needs["state"] == args.state_filter]
    if args.grid:
        grids = read_layer(engine, "grids", columns=["code"])
        needs = needs[needs["grid_id"].isin(grids.index[grids["code"] == args.grid])]
    rows = [(int(i), KIND_NAMES.get(n.kind, n.kind), n.category, n.title, n.state, n.grid_id, n.filed_on)
            for i, n in zip(needs.index, needs.itertuples(), strict=True)]  # fmt: skip
    print_table(rows, ("id", "kind", "category", "title", "state", "grid", "filed"), right=[0, 5])
    return EXIT_OK


def _file(engine, args) -> int:
    from gridmap.io.needs import file_need
    from gridmap.store.layers import read_layer

    if not args.category or not args.title:
        raise InputError("gridmap needs file --category C --title T (--household ID | --compound ID | --grid CODE "
                         "| --lon X --lat Y)")  # fmt: skip
    grid_id = None
    if args.grid:
        grids = read_layer(engine, "grids", columns=["code"])
        found = grids.index[grids["code"] == args.grid]
        if not len(found):
            raise InputError(f"no grid with code {args.grid}")
        grid_id = int(found[0])
    need_id = file_need(engine, kind=args.kind, category=args.category, title=args.title,
                        description=args.description, household_id=args.household, compound_id=args.compound,
                        grid_id=grid_id, lon=args.lon, lat=args.lat, resident_name=args.resident,
                        phone=args.phone, filed_on=day_of(args.on))  # fmt: skip
    need = read_layer(engine, "needs", ids=[need_id]).iloc[0]
    print(f"filed need {need_id} in grid {need['grid_id']} (community {need['community_id']})")
    return EXIT_OK


def _text(value: object) -> str:
    """A cell as text: blank for none, whole numbers without a fraction."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def cmd_points(args, settings: Settings) -> int:
    from gridmap.points import load_points_rules

    rules = load_points_rules()
    if args.action == "rules":
        rows = [(r.id, r.name_zh, r.points, r.cap, r.period) for r in rules.rules.values()]
        title = f"points rules, version {rules.version}; added points stop at {rules.year_cap} a year"
        print_table(rows, ("rule", "项目", "points", "cap", "per"), title=title, right=[2, 3])
        return EXIT_OK
    if args.action == "rank" and args.top < 1:
        raise InputError(f"--top {args.top}: expected 1 or more members per unit")
    engine = open_engine(settings)
    from gridmap.store.layers import read_layer

    if args.action == "award":
        from gridmap.io.needs import award_points

        if args.member is None or not args.rule:
            raise InputError("gridmap points award MEMBER_ID --rule R [--times N] [--on DAY] [--note T]")
        awarded = award_points(
            engine, args.member, args.rule, on=day_of(args.on), times=args.times, note=args.note
        )
        capped = f"; asked {awarded.asked}, cut by the cap" if awarded.asked != awarded.points else ""
        print(
            f"member {args.member}: {awarded.points:+d} points under {args.rule} (entry {awarded.entry_id}{capped})"
        )
        return EXIT_OK
    points = read_layer(engine, "points")
    if args.on:
        import pandas as pd

        points = points[pd.to_datetime(points["earned_on"]) <= pd.Timestamp(day_of(args.on))]
    if args.action == "ledger":
        if args.member is None:
            raise InputError("gridmap points ledger MEMBER_ID")
        from gridmap.io.edits import read_feature

        read_feature(engine, "members", args.member)  # no such member: said, not an empty ledger
        mine = points[points["member_id"] == args.member].sort_values("earned_on")
        rows = [(e.earned_on, e.rule, e.points, e.asked, *(_text(v) for v in (e.source_layer, e.source_id, e.note)))
                for e in mine.itertuples()]  # fmt: skip
        print_table(rows, ("day", "rule", "points", "asked", "for", "id", "note"), right=[2, 3],
                    title=f"member {args.member}: {int(mine['points'].sum()):+d} points")  # fmt: skip
        return EXIT_OK
    from gridmap.points import rankings

    members = read_layer(engine, "members", columns=["name", "org_id", "community_id"])
    communities = read_layer(engine, "communities", columns=["name", "street_id"])
    ranked = rankings(points, members, communities, args.by)
    top = ranked[ranked["rank"] <= args.top]
    rows = [(r.unit_id, r.rank, r.member_id, r.name, r.points) for r in top.itertuples()]
    print_table(rows, (args.by, "rank", "member", "name", "points"), title=f"points ranked by {args.by}",
                right=[1, 4])  # fmt: skip
    return EXIT_OK
