"""Map size and opening time: the demo district's maps, written offline, opened in headless
Debian Chromium.

    python bench/map_pages.py [--opens 3] [--kinds grids coverage gaps siting]

Prints each map's file size and the time from navigation until every layer is drawn
(Leaflet's load event, measured in the page), best of three (``--opens``). Targets: the coverage map
under 5 MB and open in under 3 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import demo_file, machine_load, tests_helper  # noqa: E402

KINDS = {
    "grids": {},
    "coverage": {"category": "elderly_care"},
    "gaps": {},
    "siting": {"category": "elderly_care"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS, help="the maps written")
    parser.add_argument("--opens", type=int, default=3, help="times each map is opened (the best counts)")
    parser.add_argument(
        "--demo-file", type=Path, help="a SpatiaLite demo database to copy instead of building one"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from gridmap.coverage import CoverageParams
    from gridmap.store.engine import make_engine
    from maps.cli import build_map, write_map

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(demo_file(Path(tmp), args.demo_file))
        with sync_playwright() as p:
            helper = tests_helper("browser")
            print(f"maps of the demo, each opened {args.opens} times ({machine_load()})")
            browser = p.chromium.launch(executable_path=helper.CHROMIUM, args=helper.CHROMIUM_ARGS)
            for kind in args.kinds:
                options = KINDS[kind]
                start = time.perf_counter()
                m = build_map(kind, engine, coverage=CoverageParams(), **options)
                path = write_map(m, Path(tmp) / f"{kind}.html", offline=True)
                built = time.perf_counter() - start
                times = []
                for _ in range(args.opens):
                    page = browser.new_page(viewport={"width": 1200, "height": 900})
                    page.goto(path.as_uri(), wait_until="load")
                    times.append(
                        page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
                    )
                    page.close()
                size = path.stat().st_size / 1e6
                target = " (targets: < 5 MB, < 3 s)" if kind == "coverage" else ""
                print(
                    f"{kind:9s} {size:5.2f} MB, opens in {min(times):.2f} s (built in {built:.2f} s){target}"
                )
            browser.close()
            print(f"after: {machine_load()}")


if __name__ == "__main__":
    main()
