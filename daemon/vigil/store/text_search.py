"""Full-text search over bookmarks and evidence holds: the FTS5 table `evidence_text` (migration 8
in store/db.py) holds a bookmark's headline and notes (rowid 2*id) and a hold's reason and case id
(rowid 2*id+1); triggers on both tables keep it in step, so every writer (the API, the CLI, the
door worker, the export worker) is covered without knowing it exists.

What a person's words mean as a query is core.text_search's; this module checks a query, runs it
and returns the matching rows, best first. Who may see which row is the service's decision."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, fields

from vigil.core.errors import BadRequestError
from vigil.core.text_search import COLUMNS, MATCH_END, MATCH_START, ItemKind
from vigil.store.holds import BookmarkRow, HoldRow
from vigil.store.index import Index

SNIPPET_TOKENS = 12  # words of context in a snippet
_BOOKMARK_COLUMNS = ", ".join(f"b.{f.name}" for f in fields(BookmarkRow))
_HOLD_COLUMNS = ", ".join(f"h.{f.name}" for f in fields(HoldRow))
_SNIPPET = f"snippet(evidence_text, -1, '{MATCH_START}', '{MATCH_END}', '…', {SNIPPET_TOKENS})"


@dataclass(frozen=True)
class TextMatch:
    item: BookmarkRow | HoldRow
    snippet: str  # the best-matching column's words, matches between MATCH_START and MATCH_END
    rank: float  # FTS5's bm25 rank: lower is a better match

    @property
    def kind(self) -> ItemKind:
        return ItemKind.BOOKMARK if isinstance(self.item, BookmarkRow) else ItemKind.HOLD


def check_match(match: str) -> None:
    """400 for a query FTS5 cannot run (a syntax error, an unknown column), found on an empty
    in-memory table of the same columns: an error there is the query's, never the index's."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE t USING fts5({', '.join(COLUMNS)})")
        conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (match,)).fetchall()
    except sqlite3.OperationalError as error:
        raise BadRequestError(f"the search query cannot be read ({error}); columns are "
                              f"{', '.join(COLUMNS)}, or leave out quotes and operators to search for words") from None
    finally:
        conn.close()


class TextSearch:
    def __init__(self, index: Index) -> None:
        self.index = index

    def matching(self, match: str, kinds: Collection[ItemKind]) -> list[TextMatch]:
        """Every bookmark and hold (of the kinds asked) matching the FTS5 query, best first."""
        check_match(match)
        found: list[TextMatch] = []
        if ItemKind.BOOKMARK in kinds:
            rows = self.index.query(
                f"SELECT {_BOOKMARK_COLUMNS}, {_SNIPPET} AS snippet, evidence_text.rank AS rank"  # noqa: S608
                " FROM evidence_text JOIN bookmarks b ON b.id = evidence_text.rowid / 2"
                " WHERE evidence_text MATCH ? AND evidence_text.rowid % 2 = 0", (match,))
            found += [TextMatch(_bookmark(r), r["snippet"], r["rank"]) for r in rows]
        if ItemKind.HOLD in kinds:
            rows = self.index.query(
                f"SELECT {_HOLD_COLUMNS}, {_SNIPPET} AS snippet, evidence_text.rank AS rank"  # noqa: S608
                " FROM evidence_text JOIN evidence_holds h ON h.id = evidence_text.rowid / 2"
                " WHERE evidence_text MATCH ? AND evidence_text.rowid % 2 = 1", (match,))
            found += [TextMatch(_hold(r), r["snippet"], r["rank"]) for r in rows]
        return sorted(found, key=lambda m: (m.rank, m.kind.value, m.item.id))


def _bookmark(row: sqlite3.Row) -> BookmarkRow:
    return BookmarkRow(**{f.name: row[f.name] for f in fields(BookmarkRow)})


def _hold(row: sqlite3.Row) -> HoldRow:
    return HoldRow(**{f.name: row[f.name] for f in fields(HoldRow)})
