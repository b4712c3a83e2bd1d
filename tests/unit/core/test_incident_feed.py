"""core/incident_feed.py: the declarations and ends between two readings of the open incidents."""

from __future__ import annotations

from vigil.core.incident_feed import FeedChange, unheard_changes


def test_new_open_incidents_are_declared_and_gone_ones_ended_in_id_order() -> None:
    assert unheard_changes({1: "hs", 3: "ms"}, {3: "ms", 4: "hs", 2: "ms"}) == [
        FeedChange(1, "hs", "ended"), FeedChange(2, "ms", "declared"), FeedChange(4, "hs", "declared")]


def test_nothing_changed_says_nothing() -> None:
    assert unheard_changes({}, {}) == [] and unheard_changes({5: "hs"}, {5: "hs"}) == []
