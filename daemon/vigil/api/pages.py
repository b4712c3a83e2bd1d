"""The minimal web page: sign in, see your cameras' status and latest pictures. Plain JS."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from vigil.api.context import Ctx


async def index_page(ctx: Ctx) -> web.StreamResponse:
    page = resources.files("vigil.api").joinpath("static/index.html").read_text(encoding="utf-8")
    return web.Response(text=page, content_type="text/html", headers={
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; style-src 'self' 'unsafe-inline';"
                                   " script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        "X-Frame-Options": "DENY",
    })
