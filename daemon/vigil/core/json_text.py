"""The one parser of JSON text that comes from outside the appliance (API and webhook bodies, MQTT
messages, OnGuard answers, export manifests being verified). Pure.

Python's `json` recurses once per nesting level, so a body of 100,000 `[` ends in RecursionError
(a 500, or a dead adapter task) before any validation runs. `parse_json` first measures the
nesting depth with a linear scan that does not recurse and refuses anything deeper than
`MAX_DEPTH` (no document vigil takes nests more than a few levels; a vendor's raw record a few
more). It also refuses what strict JSON does not allow (NaN, Infinity), numbers too long to
convert, and strings holding a lone UTF-16 surrogate (`"\\ud800"`: valid JSON syntax, but not text;
SQLite and every UTF-8 encoder refuse it later, as a 500). Every failure is a `JsonTextError`, a
ValueError whose message is fit for the client."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64

_KEPT = b'[]{}"'
_DROPPED = bytes(b for b in range(256) if b not in _KEPT)
_SURROGATE = re.compile("[\ud800-\udfff]")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JsonTextError(ValueError):
    """The text is not a JSON document vigil takes (malformed, too deep, NaN, ...)."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (brackets inside strings do not count);
    for malformed text, the deepest run of unclosed brackets. Linear, no recursion, mostly in C:
    escaped backslashes and quotes are dropped (pairs from the left, as JSON reads them), then
    every byte but brackets and quotes, then what is between quotes."""
    data = text.replace("\\\\", "").replace('\\"', "").encode("utf-8", "surrogatepass").translate(None, _DROPPED)
    brackets = b"".join(data.split(b'"')[::2])  # outside strings (an unterminated one is malformed anyway)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets), initial=0))


def _reject_constant(constant: str) -> None:
    raise JsonTextError(f"{constant} is not JSON")


def parse_json(text: str, max_depth: int = MAX_DEPTH, *, replace_lone_surrogates: bool = False) -> Any:
    """The value of a JSON document, or JsonTextError saying why not. With
    `replace_lone_surrogates`, a lone surrogate becomes U+FFFD instead (for a peer's answer, where
    refusing the whole document would refuse every record in it for one bad character)."""
    depth = 0 if text.count("[") + text.count("{") <= max_depth else nesting_depth(text)
    if depth > max_depth:
        raise JsonTextError(f"nested {depth} levels deep; at most {max_depth} are accepted")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except JsonTextError:
        raise
    except ValueError as error:  # JSONDecodeError, and ints beyond Python's digit limit
        raise JsonTextError(str(error)) from None
    except RecursionError:  # unreachable below MAX_DEPTH; never a 500 should it change
        raise JsonTextError(f"nested too deeply; at most {max_depth} levels are accepted") from None
    if "\\ud" in text.lower():  # only escapes can smuggle a surrogate into text decoded from UTF-8
        return _text_only(value, replace_lone_surrogates)
    return value


def _text_only(value: Any, replace: bool) -> Any:
    """`value` with every string (and key) encodable text: a lone surrogate is replaced by U+FFFD,
    or refused with JsonTextError."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            if replace:
                return _SURROGATE.sub("\ufffd", value)  # json joined the valid pairs: these are lone
            raise JsonTextError("a string holds a lone UTF-16 surrogate escape (\\ud800-\\udfff), which is not"
                                " text") from None
        return value
    if isinstance(value, dict):
        return {_text_only(k, replace): _text_only(v, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_only(item, replace) for item in value]
    return value
