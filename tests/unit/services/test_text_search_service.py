"""services/text_search.py over a real index: each match is shown only to who may see it elsewhere
(a bookmark: its footage; a hold: who may manage it), the best first, cut at the limit."""

from __future__ import annotations

import pytest

from tests.support.service_env import NOW, S, user
from vigil.core.errors import BadRequestError
from vigil.core.holds import BookmarkRequest, HoldRequest
from vigil.core.text_search import make_text_query
from vigil.services import bookmarks, holds
from vigil.services.env import ServiceEnv
from vigil.services.text_search import search_evidence
from vigil.store.rows import NewBookmark

T0 = NOW - 3600 * S


async def _found(env: ServiceEnv, who: str, q: str, kind: str | None = None) -> list[tuple[str, int]]:
    result = await search_evidence(env, user(who), make_text_query(q, kind, None))
    return sorted((m.kind.value, m.item.id) for m in result.matches)


async def test_each_caller_finds_only_what_they_may_see(env: ServiceEnv) -> None:
    district = user("district")
    hs_mark = await bookmarks.create_bookmark(env, district, BookmarkRequest(
        "hs-cam", "hs", T0, T0 + 30 * S, "Gym door propped", "case PD-2026-0412"))
    ms_mark = await bookmarks.create_bookmark(env, district, BookmarkRequest(
        "ms-cam", "ms", T0, T0 + 30 * S, "Gym door propped (ms)", ""))
    [hs_hold] = await holds.create_hold(env, district, HoldRequest(
        ("hs-cam",), ("hs",), T0, T0 + 60 * S, "gym door incident", "PD-2026-0412", None))
    [ms_hold] = await holds.create_hold(env, district, HoldRequest(
        ("ms-cam",), ("ms",), T0, T0 + 60 * S, "gym door incident", "PD-2026-0412", None))
    [all_hold] = await holds.create_hold(env, district, HoldRequest(
        (None,), ("hs", "ms"), T0, T0 + 60 * S, "district-wide gym check", None, None))
    everywhere = env.index.add_bookmark(NewBookmark(None, None, T0, T0 + S, "Gym closed for everyone", "system"), T0)
    entries_before = len(env.audit.entries())

    assert await _found(env, "district", "gym") == sorted([
        ("bookmark", hs_mark.id), ("bookmark", ms_mark.id), ("bookmark", everywhere),
        ("hold", hs_hold.id), ("hold", ms_hold.id), ("hold", all_hold.id)])
    # an admin of hs: hs's bookmarks and the every-building one; the holds they may release
    assert await _found(env, "hs-admin", "gym") == sorted([
        ("bookmark", hs_mark.id), ("bookmark", everywhere), ("hold", hs_hold.id)])
    # a viewer of hs: bookmarks of footage they may watch; no holds (they may not manage any)
    assert await _found(env, "hs-viewer", "gym") == sorted([("bookmark", hs_mark.id), ("bookmark", everywhere)])
    assert await _found(env, "hs-viewer", "2026-0412") == [("bookmark", hs_mark.id)]  # in its notes
    assert await _found(env, "hs-admin", "2026-0412", "hold") == [("hold", hs_hold.id)]
    assert len(env.audit.entries()) == entries_before  # searching changes nothing and is not audited


async def test_best_match_first_and_the_limit(env: ServiceEnv) -> None:
    for n in range(5):
        await bookmarks.create_bookmark(env, user("hs-admin"), BookmarkRequest(
            "hs-cam", "hs", T0 + n * S, T0 + (n + 1) * S, f"Lobby check {n}", ""))
    best = await bookmarks.create_bookmark(env, user("hs-admin"), BookmarkRequest(
        "hs-cam", "hs", T0, T0 + S, "Lobby lobby lobby", ""))
    result = await search_evidence(env, user("hs-viewer"), make_text_query("lobby", None, "3"))
    assert result.truncated and len(result.matches) == 3
    assert result.matches[0].item.id == best.id
    everything = await search_evidence(env, user("hs-viewer"), make_text_query("lobby", None, "6"))
    assert not everything.truncated and len(everything.matches) == 6


async def test_a_bad_query_is_a_bad_request(env: ServiceEnv) -> None:
    with pytest.raises(BadRequestError, match="cannot be read"):
        await search_evidence(env, user("hs-viewer"), make_text_query('gym OR "', None, None))
