"""The hub's page: `GET /` is vigil/api/static/hub/index.html and `GET /hub/{name}` the files
beside it (built from daemon/web/ by the install). Before they are built, a plain 404 says so."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

from vigil.api.pages import ASSET_TYPES, asset_path
from vigil.core.errors import NotFoundError
from vigil.hub.http import HubCtx

# Like the appliance's web app: scripts and styles only from this origin, nothing inline, no framing.
HUB_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self';"
           " font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def hub_static_dir() -> Path:
    return Path(str(resources.files("vigil.api").joinpath("static"))) / "hub"


def _not_built() -> web.Response:
    return web.Response(status=404, text="hub page not built\n", headers={"Cache-Control": "no-store"})


async def index_page(ctx: HubCtx) -> web.StreamResponse:
    page = hub_static_dir() / "index.html"
    if not page.is_file():
        return _not_built()
    return web.Response(text=page.read_text(encoding="utf-8"), content_type="text/html",
                        headers={"Cache-Control": "no-store", "Content-Security-Policy": HUB_CSP})


async def hub_file(ctx: HubCtx) -> web.StreamResponse:
    root = hub_static_dir()
    if not root.is_dir():
        return _not_built()
    try:
        path = asset_path(root, ctx.request.match_info["name"])
    except NotFoundError:
        raise NotFoundError("no such file of the hub page") from None
    return web.FileResponse(path, headers={"Content-Type": ASSET_TYPES[path.suffix], "Cache-Control": "no-cache",
                                           "Content-Security-Policy": HUB_CSP})
