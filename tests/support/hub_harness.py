"""The hub's route modules served over real HTTP without hub-core's sign-in: each request's user
is named by the `X-Test-User` header (tests only; hub/app.py's session and CSRF checks are
hub-core's and tested there). Errors go through the appliance's problem middleware, as at the hub."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

from vigil.api.problems import problem_middleware
from vigil.core.hub_permissions import HubUser
from vigil.hub.env import HubEnv
from vigil.hub.http import HubCtx, HubRoute

USER_HEADER = "X-Test-User"


def _handler(route: HubRoute, env: HubEnv, users: Mapping[str, HubUser]
             ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        user = users.get(request.headers.get(USER_HEADER, ""))
        return await route.handler(HubCtx(request, env, user, time.time_ns()))
    return handle


@asynccontextmanager
async def hub_server(env: HubEnv, routes: Sequence[HubRoute], users: Mapping[str, HubUser]) -> AsyncIterator[str]:
    """The routes on a loopback port; yields the base URL."""
    app = web.Application(middlewares=[problem_middleware])
    for route in routes:
        app.router.add_route(route.method, route.path, _handler(route, env, users))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
