"""core/text_search.py: a person's words as an FTS5 query, the query's options, snippets."""

from __future__ import annotations

import pytest

from vigil.core.errors import BadRequestError
from vigil.core.text_search import (
    DEFAULT_LIMIT,
    MATCH_END,
    MATCH_START,
    MAX_QUERY_CHARS,
    ItemKind,
    fts_match,
    make_text_query,
    parse_kinds,
    parse_limit,
    snippet_parts,
)


@pytest.mark.parametrize(("text", "match"), [
    ("door", '"door"*'),
    ("  door   propped ", '"door"* "propped"*'),
    ("2026-0412", '"2026-0412"*'),  # a case id: '-' is text, not FTS5 syntax
    ("o'brien gym/2", '"o\'brien"* "gym/2"*'),
    ("and or not", '"and"* "or"* "not"*'),  # operators are upper-case only
])
def test_plain_words_become_quoted_prefixes(text: str, match: str) -> None:
    assert fts_match(text) == match


@pytest.mark.parametrize("text", ['"door propped"', "door OR gym", "case_id: 0412", "gym*", "NEAR(door gym)",
                                  "door NOT drill", "^fire", "(a b)"])
def test_fts5_syntax_is_passed_as_written(text: str) -> None:
    assert fts_match(f"  {text} ") == text


@pytest.mark.parametrize(("text", "needle"), [
    (None, "q is required"), ("", "q is required"), ("   ", "q is required"), (5, "q is required"),
    ("x" * (MAX_QUERY_CHARS + 1), "at most"), ("door\x00", "control"), ("a\nb", "control"),
])
def test_bad_text_is_refused(text: object, needle: str) -> None:
    with pytest.raises(BadRequestError, match=needle):
        fts_match(text)


def test_kinds_and_limit() -> None:
    assert parse_kinds(None) == parse_kinds("") == frozenset(ItemKind)
    assert parse_kinds("hold") == {ItemKind.HOLD}
    assert parse_kinds("bookmark, hold") == frozenset(ItemKind)
    with pytest.raises(BadRequestError, match="kind"):
        parse_kinds("export")
    assert parse_limit(None) == DEFAULT_LIMIT and parse_limit("7") == 7
    for bad in ("0", "201", "-1", "x", "\u00b2"):
        with pytest.raises(BadRequestError, match="limit"):
            parse_limit(bad)
    query = make_text_query("gym", "hold", "3")
    assert (query.match, query.kinds, query.limit) == ('"gym"*', frozenset({ItemKind.HOLD}), 3)


def test_snippet_parts_mark_the_matched_words() -> None:
    s, e = MATCH_START, MATCH_END
    assert snippet_parts(f"{s}Door{e} {s}propped{e} open") == [
        ("Door", True), (" ", False), ("propped", True), (" open", False)]
    assert snippet_parts(f"{s}gym{e}{s}/2{e}…") == [("gym/2", True), ("…", False)]  # adjacent pieces merged
    assert snippet_parts(f"case {s}0412{e}") == [("case ", False), ("0412", True)]
    assert snippet_parts("") == []
    assert snippet_parts(f"{s}{e}plain") == [("plain", False)]
