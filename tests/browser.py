"""Headless Debian Chromium driven by Playwright, cut off from every network but the one
origin a test allows; screenshots go to tests/artefacts/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTEFACTS = Path(__file__).resolve().parent / "artefacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


def playwright():
    """``sync_playwright()``; skipped without Chromium, except in CI where that fails."""
    sync = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is required in CI")
        pytest.skip("Debian's chromium is not installed")
    return sync.sync_playwright()


def launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def offline(page, allowed: Callable[[str], bool]) -> tuple[list[str], list[str]]:
    """Abort every request ``allowed`` refuses; returns (refused urls, console errors)."""
    refused: list[str] = []
    errors: list[str] = []

    def route(r) -> None:
        if allowed(r.request.url):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return refused, errors


def screenshot(page, name: str) -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    path = ARTEFACTS / name
    page.screenshot(path=str(path))
    return path


def sign_in(page, base: str, name: str, password: str) -> None:
    """Open the web map at ``base`` and sign in as ``name`` (the panel opened on a phone)."""
    page.goto(f"{base}/")
    page.wait_for_function("() => window.gridmap !== undefined")
    page.evaluate("gridmap.ready")
    if page.is_hidden("#signin"):  # the phone layout starts with the panel closed
        page.click("#toggle")
    page.fill("#signin input[name=name]", name)
    page.fill("#signin input[name=password]", password)
    page.click("#signin button")
    page.wait_for_function(  # signed in; a grid leader's area shown
        "() => gridmap.state.user && (!['grid_leader', 'grid_worker'].includes(gridmap.state.user.role) || gridmap.state.area !== undefined)"
    )


def new_page(chromium, viewport: dict[str, int]):
    """A page of ``viewport`` (CSS pixels) drawn at half the device pixels: the map's software
    WebGL then rasterises a quarter as much, while clicks, layout and every size the tests
    read stay in CSS pixels. Screenshots come out at half resolution."""
    return chromium.new_page(viewport=viewport, device_scale_factor=0.5)
