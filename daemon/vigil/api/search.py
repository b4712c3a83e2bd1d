"""Full-text search over bookmarks and evidence holds (services/text_search.py): parse the query
(core/text_search.py), search, answer each match with its snippet and the item as
`GET /api/bookmarks` or `GET /api/holds` shows it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vigil.api.context import Ctx, require_user
from vigil.api.holds import bookmark_json
from vigil.core.text_search import make_text_query, snippet_parts
from vigil.services.holds import HoldRow, hold_json
from vigil.services.text_search import TextMatch, search_evidence


def _match_json(match: TextMatch, now_ns: int) -> dict[str, Any]:
    item = match.item
    return {"kind": match.kind.value, "id": item.id,
            "snippet": [{"text": text, "match": matched} for text, matched in snippet_parts(match.snippet)],
            "item": hold_json(item, now_ns) if isinstance(item, HoldRow) else bookmark_json(item)}


async def search(ctx: Ctx) -> web.StreamResponse:
    require_user(ctx)
    q = ctx.request.query.get("q")
    query = make_text_query(q, ctx.request.query.get("kind"), ctx.request.query.get("limit"))
    result = await search_evidence(ctx.services.env, ctx.caller, query)
    return web.json_response({"q": q, "match": query.match, "truncated": result.truncated,
                              "results": [_match_json(m, ctx.now_ns) for m in result.matches]})

