"""The minimal web page: sign in, see your cameras' status and latest pictures. Plain JS."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from vigil.api.context import Ctx

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:;"
                               " style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline';"
                               " frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def static_page(name: str) -> web.Response:
    page = resources.files("vigil.api").joinpath(f"static/{name}").read_text(encoding="utf-8")
    return web.Response(text=page, content_type="text/html", headers=PAGE_HEADERS)


async def index_page(ctx: Ctx) -> web.StreamResponse:
    return static_page("index.html")


async def live_page(ctx: Ctx) -> web.StreamResponse:
    """One camera (/live/{id}) or, from a responder link, every camera the link names."""
    return static_page("live.html")


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response: no MIME sniffing; HSTS when served over TLS."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
