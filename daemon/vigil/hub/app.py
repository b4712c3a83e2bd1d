"""The hub's HTTPS server: `build_app(env)` (every route of hub/routes.py behind its HubAction,
the session cookie and, on unsafe methods, the X-CSRF-Token header; errors as problem+json;
denials audited) and `run_hub(config_path)`, the `vigil hub run` daemon: the server, and the
ingest and pull workers when installed, in one TaskGroup until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import hmac
import importlib
import importlib.util
import logging
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path

from aiohttp import web

from vigil.api.problems import problem_middleware
from vigil.core.errors import AuthenticationError, PermissionDeniedError
from vigil.core.hub_permissions import hub_decide
from vigil.core.ratelimit import LoginThrottle
from vigil.hub import accounts
from vigil.hub.api import ENROL_THROTTLE, THROTTLE, enrol_throttle
from vigil.hub.audit import audit
from vigil.hub.boot import close_hub, open_hub
from vigil.hub.broker_conf import write_acl
from vigil.hub.config import load_hub_config
from vigil.hub.env import HubEnv
from vigil.hub.http import HUB_ENV, HUB_SESSION_COOKIE, HubCtx, HubRoute, HubScope
from vigil.hub.keys import server_context
from vigil.hub.pages import API_CSP
from vigil.hub.routes import HUB_ROUTES
from vigil.store.hub_sites import active_site_ids
from vigil.system.sd_notify import Notifier

log = logging.getLogger(__name__)

Worker = Callable[[HubEnv], Coroutine[object, object, None]]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY_BYTES = 1 << 20


async def _denied(ctx: HubCtx, route: HubRoute, reason: str) -> PermissionDeniedError:
    site = ctx.request.match_info.get("site_id")
    await audit(ctx.env, ctx.now_ns, ctx.actor, "hub.denied", f"site:{site}" if site else "hub", "denied",
                {"route": f"{route.method} {route.path}", "reason": reason})
    return PermissionDeniedError(reason)


async def _signed_in_ctx(request: web.Request, env: HubEnv, route: HubRoute, now_ns: int) -> HubCtx:
    token = request.cookies.get(HUB_SESSION_COOKIE, "")
    if not token or not (token.isascii() and token.isprintable()):
        raise AuthenticationError("sign in at the hub first")
    session = await accounts.session_user(env, token, now_ns)
    if session is None:
        raise AuthenticationError("the hub session ended: sign in again")
    ctx = HubCtx(request, env, session.user, now_ns, session.csrf_token)
    # The cookie rides along with any cross-site request; the CSRF token only with ours.
    supplied = request.headers.get("X-CSRF-Token", "")
    if request.method not in SAFE_METHODS and (
            not supplied.isascii() or not hmac.compare_digest(supplied, session.csrf_token)):
        raise await _denied(ctx, route, "missing or wrong X-CSRF-Token header")
    assert route.action is not None
    site = request.match_info.get("site_id") if route.scope is HubScope.SITE else None
    decision = hub_decide(session.user, route.action, site)
    if not decision.allowed:
        raise await _denied(ctx, route, f"not allowed: {decision.reason}")
    return ctx


def _endpoint(route: HubRoute) -> Callable[[web.Request], Coroutine[object, object, web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        env = request.app[HUB_ENV]
        now_ns = env.clock_ns()
        if route.scope is HubScope.NONE:
            ctx = HubCtx(request, env, None, now_ns)
        else:
            ctx = await _signed_in_ctx(request, env, route, now_ns)
        return await route.handler(ctx)

    return endpoint


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", API_CSP)
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
    if request.secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


def build_app(env: HubEnv) -> web.Application:
    app = web.Application(middlewares=[problem_middleware], client_max_size=MAX_BODY_BYTES)
    app[HUB_ENV] = env
    app[THROTTLE] = LoginThrottle()
    app[ENROL_THROTTLE] = enrol_throttle()
    app.on_response_prepare.append(_security_headers)
    for route in HUB_ROUTES:
        if route.action is None and route.scope is not HubScope.NONE:
            raise ValueError(f"{route.method} {route.path}: a signed-in route names its HubAction")
        app.router.add_route(route.method, route.path, _endpoint(route))
    return app


def _worker(module: str, name: str) -> Worker | None:
    """A worker of another part of the hub (hub.ingest, hub.pulls), when it is installed."""
    if importlib.util.find_spec(module) is None:
        return None
    worker: Worker = getattr(importlib.import_module(module), name)
    return worker


async def serve(env: HubEnv, stop: asyncio.Event, notifier: Notifier | None = None) -> None:
    """The server and the workers until `stop` is set."""
    write_acl(env.config, await env.run(lambda: active_site_ids(env.db)))  # the broker's ACL follows the database
    runner = web.AppRunner(build_app(env), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, env.config.listen_host, env.config.port, ssl_context=server_context(env.keys),
                           shutdown_timeout=5)
        await site.start()
        log.info("hub %s serving https on %s:%d", env.config.hub_id, env.config.listen_host, env.config.port)
        workers = [w for w in (_worker("vigil.hub.ingest", "run_ingest"), _worker("vigil.hub.pulls", "run_pulls"))
                   if w is not None]
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(worker(env)) for worker in workers]
            if notifier is not None:
                notifier.ready(f"hub {env.config.hub_id} serving on port {env.config.port}")
            await stop.wait()
            log.info("hub stopping")
            for task in tasks:
                task.cancel()
    finally:
        await runner.cleanup()


async def _run(config_path: Path) -> None:
    config = load_hub_config(config_path)
    env = await asyncio.to_thread(open_hub, config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    notifier = Notifier()
    try:
        await serve(env, stop, notifier)
    finally:
        notifier.stopping("hub stopping")
        notifier.close()
        close_hub(env)


def run_hub(config_path: Path) -> None:
    """`vigil hub run --config FILE`: until SIGTERM or SIGINT."""
    asyncio.run(_run(config_path))
