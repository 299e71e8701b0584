"""``gridmap coverage``: the 15-minute service circle of the stored layers."""

from __future__ import annotations

from pathlib import Path

from gridmap.errors import InputError
from gridmap.settings import Settings
from gridmap_cli.common import EXIT_OK, chosen_area, in_parts, loading, open_engine


def walking_speed(text: str | None, settings: Settings) -> float:
    if text is None:
        return settings.walk_speed_mps
    if text == "elderly":
        return settings.elderly_speed_mps
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--speed '{text}' is not a number of metres per second or 'elderly'") from None


def coverage_params(settings: Settings, levels=None, **options):
    """Coverage parameters from the settings, with the command's options on top."""
    from gridmap.coverage import CoverageParams

    return CoverageParams.from_settings(settings, levels=levels, **options)


def cmd_coverage(args, settings: Settings) -> int:
    with loading():
        from gridmap_cli import coverage_report
    engine = open_engine(settings)
    if args.action == "runs":
        coverage_report.print_runs(engine)
        return EXIT_OK
    if args.action == "compare":
        if len(args.run_ids) != 2:
            raise InputError("'coverage compare' needs two run ids: BEFORE AFTER")
        coverage_report.print_comparison(engine, *args.run_ids, out=args.out)
        return EXIT_OK
    params = coverage_params(
        settings,
        levels=tuple(sorted(set(args.level))) if args.level else None,
        categories=tuple(dict.fromkeys(args.category)) if args.category else None,
        speed_mps=walking_speed(args.speed, settings),
        origin=args.origin,
        measure=args.measure,
        circles=not args.no_circles,
    )
    parts = None
    if in_parts(args, also=("--parts-cache",)):
        parts = coverage_report.InParts(
            workers=args.workers, cluster=args.cluster, tile_km=args.tile_km,
            cache=_cache_folder(args.parts_cache) if args.parts_cache else None,
        )  # fmt: skip
    coverage_report.run_and_print(
        engine, params, by=args.by, out=args.out, save=not args.no_save, label=args.label,
        area=chosen_area(engine, args.bbox, args.district), parts=parts, database_url=settings.database_url,
    )  # fmt: skip
    return EXIT_OK


def _cache_folder(text: str) -> Path:
    """The folder ``--parts-cache`` names, made now: one that cannot be is said before any part
    walks (each part would fail writing to it, and be sent again)."""
    folder = Path(text)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--parts-cache {text}: cannot make the folder: {exc.strerror}") from None
    return folder
