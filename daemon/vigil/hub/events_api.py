"""The district's events at the hub (contract in the issue-17 brief; design/district.md):

- `GET /api/events?site=&kind=&q=&since=&until=&limit=`: stored site messages, newest first,
  filtered to the user's sites and, below a district admin, to the buildings of their scopes
  (site-wide messages, such as storage warnings, to anyone with the site).
- `GET /api/events/stream`: Server-Sent Events (`event: message`, data = the Event JSON) of each
  message as ingest stores it, filtered like the list. Each client has a bounded queue
  (STREAM_QUEUE events). Drop policy: a client that falls that far behind loses the newest events
  beyond it (the ingest never waits for a browser) and, before the next one it gets, an
  `event: dropped` with `{"dropped": n}` telling it to reload `/api/events`. A comment line every
  HEARTBEAT_S keeps proxies from closing an idle stream; then the session is looked at again, and
  a stream whose session ended (signed out, expired, user disabled) gets `event: ended` and closes.
- `GET /api/search?q=`: door events and incidents from the hub's own store (every word in the
  headline), plus bookmarks and holds from each of the user's sites' own text search
  (`GET <site>/api/search`), called with a hub token for this user (audience = that site, audited
  `hub.token` with purpose "search"), so each appliance shows only what the user may see there.
  Sites that do not answer within SITE_TIMEOUT_S, refuse, or whose bridge is down are listed in
  `unreachable`."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from aiohttp import web

from vigil.core.errors import BadRequestError, VigilError
from vigil.core.hub_events import (
    SEARCHED_KINDS,
    event_json,
    event_visible,
    one_line,
    parse_kind,
    scope_pairs,
    search_words,
)
from vigil.core.hub_permissions import HubAction, HubUser
from vigil.core.timebase import parse_time_ns
from vigil.hub import accounts
from vigil.hub.http import HUB_SESSION_COOKIE, HubCtx, HubRoute, HubScope
from vigil.hub.pulls import PULL_ROUTES
from vigil.hub.site_calls import site_call
from vigil.store import hub_messages
from vigil.store.hub_messages import EventFilter, SiteTarget

log = logging.getLogger(__name__)

STREAM_QUEUE = 256
HEARTBEAT_S = 15.0
SITE_TIMEOUT_S = 3.0
MAX_LIMIT = 500
SITE_RESULTS = 50


def _scopes(user: HubUser) -> frozenset[tuple[str, str]] | None:
    """What of the district's events the user sees: a district admin all, others their buildings'
    (and their sites' site-wide ones, such as storage warnings)."""
    return None if user.sites is None else scope_pairs(user.scopes)


def _time(ctx: HubCtx, name: str) -> int | None:
    text = ctx.request.query.get(name)
    if not text:
        return None
    try:
        return parse_time_ns(text)
    except ValueError as error:
        raise BadRequestError(f"{name}: {error}") from None


def _limit(ctx: HubCtx, default: int = 100) -> int:
    text = ctx.request.query.get("limit")
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequestError(f"limit: a whole number from 1 to {MAX_LIMIT}")
    return int(text)


async def list_events(ctx: HubCtx) -> web.StreamResponse:
    user = ctx.signed_in
    site = ctx.request.query.get("site") or None
    ctx.require(HubAction.VIEW_DISTRICT, site)
    kind = parse_kind(ctx.request.query.get("kind"))
    q = ctx.request.query.get("q")
    words = search_words(q) if q is not None and q.strip() else ()
    f = EventFilter(_scopes(user), site=site, kinds=(kind,) if kind else (), words=words, since_ns=_time(ctx, "since"),
                    until_ns=_time(ctx, "until"), limit=_limit(ctx))
    events = await ctx.env.run(lambda: hub_messages.list_events(ctx.env.db, f))
    return web.json_response({"events": [event_json(e) for e in events]})


KEEPALIVE = b": keepalive\n\n"


async def _session_lasts(ctx: HubCtx) -> bool:
    """Whether the session the stream was opened with still holds (not signed out, expired, or
    its user disabled): looked at on each keepalive, so a stream outlives it by HEARTBEAT_S at most."""
    token = ctx.request.cookies.get(HUB_SESSION_COOKIE, "")
    return bool(token) and await accounts.session_user(ctx.env, token, ctx.env.clock_ns()) is not None


class StreamQueue:
    """One browser's events, bounded: what does not fit is dropped and counted (the drop policy above)."""

    def __init__(self, scopes: frozenset[tuple[str, str]] | None, size: int = STREAM_QUEUE) -> None:
        self.scopes = scopes
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(size)
        self.dropped = 0

    def offer(self, event: dict[str, Any]) -> None:
        """A message listener (hub/ingest.py calls it on the loop for each stored message)."""
        if not event_visible(self.scopes, str(event.get("site")), event.get("building")):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def next_chunk(self, wait_s: float) -> bytes:
        """The next SSE text to send: an event (after an `event: dropped` if some were lost), or a
        keepalive comment after `wait_s` without one."""
        try:
            async with asyncio.timeout(wait_s):
                event = await self.queue.get()
        except TimeoutError:
            return KEEPALIVE
        chunk = b""
        if self.dropped:
            chunk = f"event: dropped\ndata: {json.dumps({'dropped': self.dropped})}\n\n".encode()
            self.dropped = 0
        data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        return chunk + f"event: message\ndata: {data}\n\n".encode()


async def stream_events(ctx: HubCtx) -> web.StreamResponse:
    user = ctx.signed_in
    ctx.require(HubAction.VIEW_DISTRICT, None)
    stream = StreamQueue(_scopes(user))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(ctx.request)
    ctx.env.message_listeners.append(stream.offer)
    try:
        await response.write(b": connected\n\n")
        while True:
            chunk = await stream.next_chunk(HEARTBEAT_S)
            if chunk == KEEPALIVE and not await _session_lasts(ctx):
                await response.write(b"event: ended\ndata: {}\n\n")
                return response
            await response.write(chunk)
    except ConnectionResetError:  # the browser went away
        return response
    finally:
        ctx.env.message_listeners.remove(stream.offer)


def _site_result(site: str, match: Any) -> dict[str, Any] | None:
    """A match of an appliance's `GET /api/search` as a district search result."""
    if not isinstance(match, dict) or not isinstance(match.get("item"), dict):
        return None
    kind, item = match.get("kind"), match["item"]
    if kind == "bookmark":
        line = one_line(item.get("headline"), 200) or "Bookmark"
        return {"site": site, "kind": "bookmark", "at": item.get("start"), "headline": line,
                "building": item.get("building"), "data": item}
    if kind == "hold":
        reason, case = one_line(item.get("reason"), 160), one_line(item.get("case_id"))
        line = f"Hold: {reason}" + (f" (case {case})" if case else "")
        return {"site": site, "kind": "hold", "at": item.get("start"), "headline": line, "building": None,
                "data": item}
    return None


async def _search_site(ctx: HubCtx, user: HubUser, http: aiohttp.ClientSession, target: SiteTarget,
                       q: str) -> list[dict[str, Any]] | None:
    """The site's bookmarks and holds matching `q`, or None when it did not answer."""
    try:
        call = await site_call(ctx.env, user, target.id, ctx.now_ns, "search")
        async with asyncio.timeout(SITE_TIMEOUT_S):
            async with http.get(f"{call.url}/api/search", params={"q": q, "limit": str(SITE_RESULTS)},
                                headers=dict(call.headers), ssl=call.ssl) as answer:
                if answer.status != 200:
                    log.info("hub search: site %s answered %d", target.id, answer.status)
                    return None
                body = await answer.json()
    except (aiohttp.ClientError, TimeoutError, VigilError, ValueError) as error:  # VigilError: no token
        log.info("hub search: site %s did not answer: %s", target.id, type(error).__name__)
        return None
    matches = body.get("results") if isinstance(body, dict) else None
    if not isinstance(matches, list):
        return None
    return [r for r in (_site_result(target.id, m) for m in matches) if r is not None]


async def search(ctx: HubCtx) -> web.StreamResponse:
    user = ctx.signed_in
    ctx.require(HubAction.VIEW_DISTRICT, None)
    q = ctx.request.query.get("q") or ""
    words = search_words(q)
    db = ctx.env.db
    local = await ctx.env.run(lambda: hub_messages.list_events(
        db, EventFilter(_scopes(user), kinds=SEARCHED_KINDS, words=words, limit=100)))
    results: list[dict[str, Any]] = [
        {"site": e.site, "kind": e.kind, "at": event_json(e)["at"], "headline": e.headline, "building": e.building,
         "data": dict(e.data)} for e in local]
    targets = await ctx.env.run(lambda: hub_messages.site_targets(db, user.sites))
    unreachable = sorted(t.id for t in targets if not t.reachable_hint or not t.url)
    callable_targets = [t for t in targets if t.reachable_hint and t.url and ctx.may(HubAction.ISSUE_TOKEN, t.id)]
    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(_search_site(ctx, user, http, t, q) for t in callable_targets))
    for target, answer in zip(callable_targets, answers, strict=True):
        if answer is None:
            unreachable.append(target.id)
        else:
            results += answer
    results.sort(key=lambda r: str(r.get("at") or ""), reverse=True)
    return web.json_response({"results": results, "unreachable": sorted(set(unreachable))})


EVENT_ROUTES: list[HubRoute] = [
    HubRoute("GET", "/api/events", list_events, HubAction.VIEW_DISTRICT, HubScope.DISTRICT),
    HubRoute("GET", "/api/events/stream", stream_events, HubAction.VIEW_DISTRICT, HubScope.DISTRICT),
    HubRoute("GET", "/api/search", search, HubAction.VIEW_DISTRICT, HubScope.DISTRICT),
    *PULL_ROUTES,  # hub/routes.py takes this one list from hub-events
]
