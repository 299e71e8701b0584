"""Shared by the commands: exit codes, the argument parser's class, settings and engines."""

from __future__ import annotations

import argparse
import sys

from gridmap.settings import Settings

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 as well; keep its message
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"gridmap: error: {message}\n")


def bbox_arg(text: str) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not W,S,E,N in degrees (EPSG:4326)") from None
    if not (west < east and south < north):
        raise argparse.ArgumentTypeError(f"'{text}': expected west < east and south < north")
    return west, south, east, north


def settings_of(args: argparse.Namespace) -> Settings:
    return Settings(database_url=args.db) if args.db else Settings()


OPENED: list = []  # engines a command opened, closed when it ends


def open_engine(settings: Settings):
    from gridmap.store.engine import make_engine

    engine = make_engine(settings.database_url)
    OPENED.append(engine)
    return engine
