"""The web app's files: the page shell (`/`) and its built assets (`/assets/...`, bundled from
daemon/web/ at install time), and the older viewer page's address, which now leads to the app's.
Every datum a page shows comes from the API; the server only serves files here."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from urllib.parse import quote, urlencode

from aiohttp import web

from vigil.api.context import Ctx
from vigil.core.errors import NotFoundError

# The web app: scripts and styles only from this origin, no inline script or style markup, no
# plugins, no framing; `blob:` for video the page assembles (Media Source) and pictures it draws.
APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; media-src 'self' blob:;"
           " connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
           " frame-ancestors 'none'")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": APP_CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml",
               ".woff2": "font/woff2", ".md": "text/plain", ".txt": "text/plain"}


def _static_dir() -> Path:
    return Path(str(resources.files("vigil.api").joinpath("static")))


def static_page(name: str) -> web.Response:
    page = (_static_dir() / name).read_text(encoding="utf-8")
    return web.Response(text=page, content_type="text/html", headers=PAGE_HEADERS)


async def index_page(ctx: Ctx) -> web.StreamResponse:
    """The web app's shell; its router shows the page the URL's #fragment names."""
    return static_page("app.html")


async def live_page(ctx: Ctx) -> web.StreamResponse:
    """/live/{id}[?quality=&relay=], the address of the older viewer page: the app's live page."""
    camera = quote(ctx.request.match_info["camera_id"], safe="")
    query = f"?{urlencode(ctx.request.query)}" if ctx.request.query else ""
    location = f"/#/live/{camera}{query}"
    return web.Response(status=303, text=f"See {location}\n",
                        headers={"Location": location, "Cache-Control": "no-store"})


def asset_path(root: Path, name: str) -> Path:
    """The built file `name` under `root`, refusing anything that would leave it or that is not
    a served kind of file."""
    parts = name.split("/")
    if not name or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise NotFoundError("no such asset")
    path = root.joinpath(*parts)
    if path.suffix not in ASSET_TYPES or not path.is_file():
        raise NotFoundError("no such asset")
    return path


async def asset(ctx: Ctx) -> web.StreamResponse:
    """A built script, style sheet or image. Chunks carry a content hash in their name and are
    cached for good; the entry files are revalidated (ETag) on every load."""
    path = asset_path(_static_dir() / "app", ctx.request.match_info["path"])
    immutable = path.parent.name in ("chunks", "assets")
    return web.FileResponse(path, headers={
        "Content-Type": ASSET_TYPES[path.suffix],
        "Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache",
        "Content-Security-Policy": APP_CSP,
    })


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response: no MIME sniffing; HSTS when served over TLS."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
