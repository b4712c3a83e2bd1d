"""Exports pulled from sites into the district archive (issue 17: "video stays at the edge";
exports are pulled by the hub on request and verified on arrival).

- `POST /api/sites/{site_id}/pulls {export_id}` (pull_export at that site) → 202 `{pull}`, pending;
  audited `hub.pull.request` in the same transaction.
- `GET /api/pulls` → `{pulls: [Pull]}` of the user's sites, newest first.
- `run_pulls(env)`: the worker. For each pending pull it downloads
  `<site url>/api/exports/{export_id}/download` with a hub token for the user who asked (the
  appliance checks and audits `export.download` as that user; a user disabled or moved off the
  site since gets no token), into `<archive>/<site>/export-<id>-pull-<pull>.zip`, then verifies
  it with `vigil verify`'s code (exports/verify.verify_package) pinned to the evidence key the site
  sent at enrolment: `verified`, or `failed` with the reason (a package without a pinned key is
  failed: who signed it would be unchecked). An export the site has not finished (409) is asked
  for again every RETRY_S, for at most GIVE_UP_S. Each outcome is audited `hub.pull`. The site's
  TLS is verified (hub/site_calls.py)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from vigil.core.errors import BadRequestError, ConflictError, VigilError
from vigil.core.hub_permissions import HubAction, hub_decide
from vigil.core.timebase import NS_PER_SECOND, wall_ns_to_iso
from vigil.exports.signing import expected_fingerprint
from vigil.exports.verify import verify_package
from vigil.hub.env import HubEnv
from vigil.hub.http import HubCtx, HubRoute, HubScope
from vigil.hub.site_calls import site_call
from vigil.store import hub_messages, hub_pulls
from vigil.store.hub_pulls import PullRow

log = logging.getLogger(__name__)

POLL_S = 1.0
RETRY_S = 10.0
GIVE_UP_S = 3600.0
CHUNK_BYTES = 1 << 20
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0  # between two chunks


def pull_json(pull: PullRow) -> dict[str, Any]:
    return {"id": pull.id, "site": pull.site, "export_id": pull.export_id, "state": pull.state, "path": pull.path,
            "sha256": pull.sha256, "bytes": pull.bytes, "error": pull.error, "requested_by": pull.requested_by,
            "created_at": wall_ns_to_iso(pull.created_ns),
            "finished_at": None if pull.finished_ns is None else wall_ns_to_iso(pull.finished_ns)}


async def request_pull(ctx: HubCtx) -> web.StreamResponse:
    user = ctx.signed_in
    site = ctx.request.match_info["site_id"]
    ctx.require(HubAction.PULL_EXPORT, site)
    try:
        body = await ctx.request.json()
    except ValueError:
        raise BadRequestError("the body is not JSON") from None
    export_id = body.get("export_id") if isinstance(body, dict) else None
    if type(export_id) is not int or export_id < 1:
        raise BadRequestError("export_id: the appliance's export id (a positive whole number)")
    target = await ctx.env.run(lambda: hub_messages.site_target(ctx.env.db, site))
    if target is None or target.removed or not target.url:
        raise ConflictError(f"site {site} is removed or has no URL")
    pull = await ctx.env.run(lambda: hub_pulls.request_pull(ctx.env.db, user, site, export_id, ctx.now_ns))
    return web.json_response({"pull": pull_json(pull)}, status=202)


async def list_pulls(ctx: HubCtx) -> web.StreamResponse:
    user = ctx.signed_in
    ctx.require(HubAction.VIEW_DISTRICT, None)
    rows = await ctx.env.run(lambda: hub_pulls.pulls(ctx.env.db, user.sites))
    return web.json_response({"pulls": [pull_json(p) for p in rows]})


PULL_ROUTES: list[HubRoute] = [
    HubRoute("POST", "/api/sites/{site_id}/pulls", request_pull, HubAction.PULL_EXPORT, HubScope.SITE),
    HubRoute("GET", "/api/pulls", list_pulls, HubAction.VIEW_DISTRICT, HubScope.DISTRICT),
]


class NotReadyError(Exception):
    """The site has not finished the export yet (409): ask again later."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    path: Path | None
    sha256: str | None
    size: int | None
    error: str | None


async def _download(env: HubEnv, http: aiohttp.ClientSession, pull: PullRow) -> Outcome:
    db = env.db
    user = await env.run(lambda: hub_pulls.hub_user_named(db, pull.requested_by))
    if user is None or not hub_decide(user, HubAction.PULL_EXPORT, pull.site).allowed:
        return Outcome(False, None, None, None, f"hub user {pull.requested_by} may no longer pull from {pull.site}")
    target = await env.run(lambda: hub_messages.site_target(db, pull.site))
    if target is None or target.removed:
        return Outcome(False, None, None, None, f"site {pull.site} was removed")
    call = await site_call(env, user, pull.site, env.clock_ns(), "pull")
    directory = env.config.archive / pull.site
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    final = directory / f"export-{pull.export_id}-pull-{pull.id}.zip"
    part = final.with_suffix(".part")
    digest = hashlib.sha256()
    size = 0
    url = f"{call.url}/api/exports/{pull.export_id}/download"
    try:
        async with http.get(url, headers=dict(call.headers), ssl=call.ssl) as answer:
            if answer.status == 409:
                raise NotReadyError(f"site answered 409: {(await answer.text())[:200]}")
            if answer.status != 200:
                return Outcome(False, None, None, None, f"the site answered {answer.status} to the download")
            with part.open("wb") as out:
                async for chunk in answer.content.iter_chunked(CHUNK_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
                    await asyncio.to_thread(out.write, chunk)
        await asyncio.to_thread(part.replace, final)
    finally:
        part.unlink(missing_ok=True)  # a download cut short leaves nothing behind
    if not target.evidence_key:
        return Outcome(False, final, digest.hexdigest(), size,
                       "the site sent no evidence key at enrolment: who signed the package cannot be checked")
    try:
        expected = expected_fingerprint(target.evidence_key)
        verdict = await asyncio.to_thread(verify_package, final, expected)
    except VigilError as error:
        return Outcome(False, final, digest.hexdigest(), size, f"verify: {error}")
    if not verdict.ok:
        return Outcome(False, final, digest.hexdigest(), size,
                       "verify: " + "; ".join(str(p) for p in verdict.problems[:5]))
    return Outcome(True, final, digest.hexdigest(), size, None)


async def pull_once(env: HubEnv, http: aiohttp.ClientSession, pull: PullRow) -> bool:
    """Try one pending pull; True when it finished (verified or failed), False to retry later."""
    try:
        outcome = await _download(env, http, pull)
    except NotReadyError as error:
        if env.clock_ns() - pull.created_ns < round(GIVE_UP_S * NS_PER_SECOND):
            log.info("hub pull %d: export %d at %s not ready yet", pull.id, pull.export_id, pull.site)
            return False
        outcome = Outcome(False, None, None, None, f"gave up after {GIVE_UP_S:g} s: {error}")
    except (aiohttp.ClientError, TimeoutError, OSError, VigilError) as error:
        outcome = Outcome(False, None, None, None, f"download failed: {type(error).__name__}: {error}"[:500])
    now_ns = env.clock_ns()
    await env.run(lambda: hub_pulls.finish_pull(
        env.db, pull, ok=outcome.ok, path=None if outcome.path is None else str(outcome.path),
        sha256=outcome.sha256, size=outcome.size, error=outcome.error, now_ns=now_ns))
    log.info("hub pull %d of export %d from %s: %s", pull.id, pull.export_id, pull.site,
             "verified" if outcome.ok else f"failed: {outcome.error}")
    return True


async def run_pulls(env: HubEnv) -> None:
    """The pull worker until cancelled (hub/app.py's TaskGroup starts it)."""
    retry_at: dict[int, float] = {}  # pull id -> loop time of its next try
    timeout = aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT_S, sock_read=READ_TIMEOUT_S)
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while True:
            for pull in await env.run(lambda: hub_pulls.pending(env.db)):
                if retry_at.get(pull.id, 0.0) > loop.time():
                    continue
                if await pull_once(env, http, pull):
                    retry_at.pop(pull.id, None)
                else:
                    retry_at[pull.id] = loop.time() + RETRY_S
            await asyncio.sleep(POLL_S)
