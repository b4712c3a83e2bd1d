"""The one parser of outside JSON (core.json_text): depth bounded without recursion, strict."""

from __future__ import annotations

import pytest

from vigil.core.json_text import MAX_DEPTH, JsonTextError, nesting_depth, parse_json


def test_depth_ignores_brackets_inside_strings() -> None:
    assert nesting_depth('{"a": [1, {"b": "[[[{{{"}], "c": "\\"]]]"}') == 3
    assert nesting_depth("7") == 0 and nesting_depth("[[[") == 3 and nesting_depth("]]][") == 0


@pytest.mark.parametrize("text", ["[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a":' * 100_000,
                                  "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)])
def test_deep_documents_are_refused_without_recursion(text: str) -> None:
    with pytest.raises(JsonTextError, match="levels"):
        parse_json(text)


def test_what_strict_json_refuses() -> None:
    assert parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) == parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert parse_json('{"a": [1, 2.5, "x", null]}') == {"a": [1, 2.5, "x", None]}
    for text, words in (("NaN", "NaN is not JSON"), ('{"a": -Infinity}', "-Infinity"), ("{", "Expecting"),
                        ("9" * 5000, "digits")):
        with pytest.raises(JsonTextError, match=words):
            parse_json(text)


def test_lone_surrogates_are_not_text() -> None:
    assert parse_json('"\\ud83d\\ude00"') == "\U0001F600"  # a pair is a character
    for text in ('{"name": "\\ud800"}', '["x", {"\\uDFFF": 1}]', '"a\\udc00b"'):
        with pytest.raises(JsonTextError, match="surrogate"):
            parse_json(text)


def test_a_peers_lone_surrogates_can_be_replaced_instead() -> None:
    value = parse_json('{"name": "Pat\\ud800?", "\\udc01": ["\\ud83d\\ude00"]}', replace_lone_surrogates=True)
    assert value == {"name": "Pat\ufffd?", "\ufffd": ["\U0001F600"]}
