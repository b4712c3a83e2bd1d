"""The full-text table over bookmarks and holds (migration 8, store/text_search.py): filled from the
rows an index already has, kept in step by triggers whoever writes, and a bad query refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from vigil.core.errors import BadRequestError
from vigil.core.text_search import ItemKind, fts_match
from vigil.store.db import MIGRATIONS, statements
from vigil.store.holds import BookmarkRow, EvidenceStore
from vigil.store.index import Index
from vigil.store.rows import NewBookmark
from vigil.store.text_search import TextSearch

S = 1_000_000_000
T0 = 1_780_000_000 * S
BOTH = frozenset(ItemKind)
FTS_VERSION = next(i for i, m in enumerate(MIGRATIONS) if "evidence_text" in m)  # this migration's place


def found(index: Index, words: str, kinds: frozenset[ItemKind] = BOTH) -> list[tuple[str, int]]:
    return [(m.kind.value, m.item.id) for m in TextSearch(index).matching(fts_match(words), kinds)]


def bookmark(index: Index, headline: str, description: str = "") -> int:
    return index.add_bookmark(NewBookmark("a", "hs", T0, T0 + S, headline, "user:x", description), T0)


def test_an_index_from_before_the_migration_gets_its_rows_indexed(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:FTS_VERSION]):
        for statement in statements(script):
            conn.execute(statement)
        if number == 0:
            conn.execute("INSERT INTO meta (db_uuid, created_wall_ns) VALUES ('u', 0)")
    conn.execute(f"PRAGMA user_version = {FTS_VERSION}")
    conn.execute("INSERT INTO bookmarks (camera_id, building_id, start_wall_ns, end_wall_ns, headline, description,"
                 " created_by, created_wall_ns) VALUES ('a', 'hs', 0, 1, 'Fire drill', 'north stairs', 'x', 0)")
    conn.execute("INSERT INTO evidence_holds (camera_id, start_wall_ns, end_wall_ns, reason, case_id, created_by,"
                 " created_wall_ns) VALUES ('a', 0, 1, 'fight near the gym', 'PD-2026-0412', 'x', 0)")
    conn.close()
    index = Index.open(path, T0)
    try:
        assert found(index, "fire") == [("bookmark", 1)]
        assert found(index, "stairs") == [("bookmark", 1)]  # the notes too
        assert found(index, "2026-0412") == [("hold", 1)]  # the case id
        assert found(index, "gym") == [("hold", 1)]
    finally:
        index.close()


def test_triggers_keep_the_table_in_step(tmp_path: Path) -> None:
    index = Index.open(tmp_path / "index.sqlite", T0)
    try:
        drill = bookmark(index, "Fire drill", "north stairs")
        door = bookmark(index, "Door propped open")
        hold = index.add_hold("a", T0, T0 + S, "door propped at gym", "user:x", T0, case_id="CASE-7")
        assert sorted(found(index, "door prop")) == [("bookmark", door), ("hold", hold)]
        assert found(index, "door", frozenset({ItemKind.HOLD})) == [("hold", hold)]
        with index.transaction() as c:  # an edit of a headline, of a hold's case id
            c.execute("UPDATE bookmarks SET headline = 'Evacuation drill' WHERE id = ?", (drill,))
            c.execute("UPDATE evidence_holds SET case_id = 'CASE-9' WHERE id = ?", (hold,))
        assert found(index, "fire") == []
        assert found(index, "evacuation") == [("bookmark", drill)]
        assert found(index, "stairs") == [("bookmark", drill)]
        assert found(index, "case-7") == [] and found(index, "case-9") == [("hold", hold)]
        EvidenceStore(index).release_hold(hold, "user:x", T0 + S)  # a released hold is still found
        assert found(index, "case-9") == [("hold", hold)]
        EvidenceStore(index).delete_bookmark(door)
        assert found(index, "door") == [("hold", hold)]
        with index.transaction() as c:
            c.execute("DELETE FROM evidence_holds WHERE id = ?", (hold,))
        assert found(index, "door") == []
        assert index.query("SELECT COUNT(*) FROM evidence_text")[0][0] == 1  # only the drill is left
    finally:
        index.close()


def test_matches_come_with_their_row_and_a_snippet(tmp_path: Path) -> None:
    index = Index.open(tmp_path / "index.sqlite", T0)
    try:
        first = bookmark(index, "Door propped open", "east door by the gym, propped with a chair")
        bookmark(index, "Gym lights left on")
        [match] = TextSearch(index).matching(fts_match("chair"), BOTH)
        assert isinstance(match.item, BookmarkRow) and match.item.id == first
        assert match.item.description == "east door by the gym, propped with a chair"
        assert "\x02chair\x03" in match.snippet
        # a headline holding the word twice ranks above one holding it once
        twice = bookmark(index, "Gym gym")
        assert found(index, "gym")[0] == ("bookmark", twice)
    finally:
        index.close()


@pytest.mark.parametrize(("query", "needle"), [
    ('"door" OR', "syntax error"),
    ('"unclosed', "unterminated string"),
    ("camera: door", "no such column: camera"),
    ("AND door", "syntax error"),
])
def test_a_query_fts5_cannot_read_is_a_bad_request(tmp_path: Path, query: str, needle: str) -> None:
    index = Index.open(tmp_path / "index.sqlite", T0)
    try:
        with pytest.raises(BadRequestError, match=needle) as raised:
            TextSearch(index).matching(fts_match(query), BOTH)
        assert "headline, notes, reason, case_id" in str(raised.value)
    finally:
        index.close()


def test_statements_keep_a_trigger_body_whole() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (x INTEGER);
    CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN
        INSERT INTO u VALUES (new.x);
        INSERT INTO u VALUES (new.x + 1);
    END;
    """
    parts = statements(script)
    assert len(parts) == 2
    assert parts[0].endswith("CREATE TABLE t (x INTEGER);")
    assert parts[1].startswith("CREATE TRIGGER") and parts[1].endswith("END;") and parts[1].count("INSERT INTO u") == 2
