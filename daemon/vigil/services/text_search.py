"""Full-text search over bookmarks and evidence holds (`GET /api/search`).

Who may: the route needs BOOKMARK (viewers and admins; never links or installers); then each
match is shown only to who may see it elsewhere: a bookmark to who may play back its camera or
building (as `GET /api/bookmarks`), a hold to who may manage it (as `GET /api/holds`). A search
changes nothing and is not audited, like those listings."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.permissions import Action
from vigil.core.text_search import TextQuery
from vigil.services.authorize import denial_or_none
from vigil.services.bookmarks import bookmark_target
from vigil.services.caller import Caller
from vigil.services.env import ServiceEnv
from vigil.services.holds import may_manage
from vigil.store.holds import BookmarkRow
from vigil.store.text_search import TextMatch, TextSearch

__all__ = ["SearchResult", "TextMatch", "search_evidence"]


@dataclass(frozen=True)
class SearchResult:
    matches: list[TextMatch]  # best first, at most the query's limit
    truncated: bool  # more matches the caller may see were left out


def _visible(env: ServiceEnv, caller: Caller, match: TextMatch) -> bool:
    if isinstance(match.item, BookmarkRow):
        return denial_or_none(caller, Action.VIEW_PLAYBACK, bookmark_target(env.config, match.item)) is None
    return may_manage(env.config, caller, match.item)


async def search_evidence(env: ServiceEnv, caller: Caller, query: TextQuery) -> SearchResult:
    """The bookmarks and holds matching the query that the caller may see, best first (a bad
    FTS5 query: BadRequestError)."""
    found = await env.run(lambda: TextSearch(env.index).matching(query.match, query.kinds))
    visible = [m for m in found if _visible(env, caller, m)]
    return SearchResult(visible[:query.limit], len(visible) > query.limit)
