"""What a full-text search over bookmarks and evidence holds means (pure).

The index keeps one SQLite FTS5 table over both (store/text_search.py): a bookmark's headline and
notes, a hold's reason and case id. A person's words become an FTS5 query here:

- plain words (`door propped`, `2026-0412`) match items holding every word as a prefix of one of
  their words, in any column: each word is quoted (so `-`, `.` or `/` in a case id are text, not
  syntax) and given a prefix star;
- a query written in FTS5's own syntax (quotes, `*`, `(`, `)`, `:` column filters, `^`, `+`,
  or the operators AND, OR, NOT, NEAR) is passed as written; a malformed one is refused with 400
  (store/text_search.py checks it against an empty table of the same columns).

A snippet comes back with its matched words between two control characters; `snippet_parts`
splits it into (text, matched) pairs so that no page has to render markup from the index."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from vigil.core.errors import BadRequestError

MAX_QUERY_CHARS = 200
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
COLUMNS = ("headline", "notes", "reason", "case_id")  # the FTS5 table's columns, in order
MATCH_START, MATCH_END = "\x02", "\x03"  # what snippet() puts around a matched word
_SYNTAX_CHARS = frozenset('"*():^+')
_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})


class ItemKind(enum.Enum):
    BOOKMARK = "bookmark"
    HOLD = "hold"


@dataclass(frozen=True)
class TextQuery:
    match: str  # the FTS5 query
    kinds: frozenset[ItemKind]
    limit: int


def is_fts_syntax(text: str) -> bool:
    """Whether the text uses FTS5's query syntax (then it is passed as written)."""
    return any(ch in _SYNTAX_CHARS for ch in text) or any(word in _OPERATORS for word in text.split())


def fts_match(text: object) -> str:
    """A person's search text as an FTS5 query (see the module's description)."""
    if not isinstance(text, str) or not text.strip():
        raise BadRequestError("q is required: the words to search for")
    if len(text) > MAX_QUERY_CHARS:
        raise BadRequestError(f"q must be at most {MAX_QUERY_CHARS} characters")
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in text):
        raise BadRequestError("q must not contain control characters")
    if is_fts_syntax(text):
        return text.strip()
    return " ".join(f'"{word}"*' for word in text.split())


def parse_kinds(text: str | None) -> frozenset[ItemKind]:
    """`bookmark`, `hold`, or both comma-separated; None or empty: both."""
    if not text:
        return frozenset(ItemKind)
    try:
        return frozenset(ItemKind(part.strip()) for part in text.split(","))
    except ValueError:
        raise BadRequestError("kind must be bookmark, hold, or both separated by a comma") from None


def parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequestError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(text)


def make_text_query(q: object, kind: str | None, limit: str | None) -> TextQuery:
    return TextQuery(fts_match(q), parse_kinds(kind), parse_limit(limit))


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """snippet() text -> [(text, matched)], adjacent pieces of the same kind merged, none empty."""
    parts: list[tuple[str, bool]] = []
    matched = False
    piece = ""
    for ch in snippet:
        if ch in (MATCH_START, MATCH_END):
            if piece:
                parts.append((piece, matched))
            piece, matched = "", ch == MATCH_START
        else:
            piece += ch
    if piece:
        parts.append((piece, matched))
    merged: list[tuple[str, bool]] = []
    for text, is_match in parts:
        if merged and merged[-1][1] == is_match:
            merged[-1] = (merged[-1][0] + text, is_match)
        else:
            merged.append((text, is_match))
    return merged
