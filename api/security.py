"""Security headers on every response: no content sniffing, no framing, no referrer, and a
content security policy — the strictest (nothing loads) for data, and for the web map and
the API documentation only this service's own scripts, plus the basemap tile hosts."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the raster basemaps the web map may show (see api/static/app.js)
BASEMAP_HOSTS = "https://tile.openstreetmap.org https://*.tianditu.gov.cn"
#: pages: our scripts and styles only; MapLibre runs its worker from a blob and may inline styles
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src blob:; "
    "style-src 'self' 'unsafe-inline'; "
    f"img-src 'self' data: blob: {BASEMAP_HOSTS}; connect-src 'self' {BASEMAP_HOSTS}; "
    "font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: data and downloads: nothing in them may run or load anything
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
#: the pages that are HTML to look at in the browser
PAGES = ("/", "/docs")

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    """Adds the headers above to every HTTP response (unless a route set its own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = PAGE_POLICY if scope.get("path") in PAGES else DATA_POLICY

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", policy)
            await send(message)

        await self.app(scope, receive, add)
