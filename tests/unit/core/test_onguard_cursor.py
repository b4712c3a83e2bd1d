"""The OnGuard poller's persisted cursor is read with the bounded JSON parser: whatever the row
holds, the answer is a cursor or None (then the first lookback applies), never an exception."""

from __future__ import annotations

import pytest

from vigil.core import onguard as og


def test_a_cursor_round_trips() -> None:
    assert og.parse_cursor(og.format_cursor(1_700_000_000_000_000_000)) == 1_700_000_000_000_000_000


@pytest.mark.parametrize("text", [None, "", "[" * 100_000, '{"until_wall_ns": NaN}', '{"until_wall_ns": -1}',
                                  '{"until_wall_ns": true}', "[1]", '"x"', "{"])
def test_an_unreadable_cursor_is_none(text: str | None) -> None:
    assert og.parse_cursor(text) is None
