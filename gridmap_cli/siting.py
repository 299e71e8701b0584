"""``gridmap site``: where new stations would bring the most residents into the circle."""

from __future__ import annotations

from gridmap.errors import InputError
from gridmap.settings import Settings
from gridmap_cli.common import EXIT_OK, chosen_area, in_parts, loading, open_engine
from gridmap_cli.coverage import walking_speed


def site_params(settings: Settings, **options):
    """Siting parameters from the settings, with the command's options on top."""
    from gridmap.siting.proposal import SitingParams

    return SitingParams.from_settings(settings, **options)


def cmd_site(args, settings: Settings) -> int:
    with loading():
        from gridmap.siting.candidates import CandidateRules
        from gridmap_cli import siting_report as report
    engine = open_engine(settings)
    if args.action == "scenarios":
        report.print_scenarios(engine)
        return EXIT_OK
    if args.action == "compare":
        if len(args.scenario_ids) != 2:
            raise InputError("'site compare' needs two scenario ids: A B")
        report.print_comparison(engine, *args.scenario_ids, out=args.out)
        return EXIT_OK
    levels = tuple(sorted(set(args.level))) if args.level else None
    if levels is None:
        levels = (int(args.minutes),) if args.minutes in (5, 10, 15) else (15,)
    params = site_params(
        settings,
        categories=tuple(dict.fromkeys(args.category or ())),
        model=args.model,
        count=args.count,
        levels=levels,
        minutes=args.minutes,
        share=args.share,
        capacity=args.capacity,
        weight=args.weight,
        rules=CandidateRules(
            sources=tuple(s.strip() for s in args.sources.split(",") if s.strip()),
            grids=tuple(args.grid or ()),
            min_spacing_m=args.min_spacing,
        ),
        time_limit_s=args.time_limit,
        speed_mps=walking_speed(args.speed, settings),
        min_reach_households=0 if args.weak_candidates else None,
    )
    if in_parts(args):
        if args.candidates or args.exclude or args.bbox or args.district or args.out:
            raise InputError(
                "siting by district takes no --candidates, --exclude, --bbox, --district or --out"
            )
        report.run_in_parts(
            engine, settings.database_url, params, workers=args.workers, cluster=args.cluster,
            tile_km=args.tile_km, save=not args.no_save, label=args.label,
        )  # fmt: skip
        return EXIT_OK
    report.run_and_print(
        engine, params, candidates=args.candidates, exclude=args.exclude, out=args.out,
        save=not args.no_save, label=args.label, area=chosen_area(engine, args.bbox, args.district),
    )  # fmt: skip
    return EXIT_OK
