"""The talk floor (core/intercom.py): one talker per device, the holder named to the next."""

from __future__ import annotations

import pytest

from vigil.core.errors import TalkBusyError
from vigil.core.intercom import TalkFloors

S = 1_000_000_000


def test_one_talker_per_device_and_the_next_is_told_who() -> None:
    floors = TalkFloors()
    taken = floors.take("door-cam", "s1", "user:alice", 0)
    assert taken.displaced is None and floors.holder("door-cam") == taken.holder
    with pytest.raises(TalkBusyError, match=r"user:alice is talking through camera door-cam \(for 12 s\)"):
        floors.take("door-cam", "s2", "user:bob", 12 * S)
    with pytest.raises(TalkBusyError, match="you are already talking"):
        floors.take("door-cam", "s3", "user:alice", 1 * S)
    assert floors.take("gym-cam", "s4", "user:bob", 0).holder.actor == "user:bob"  # another device is free


def test_only_the_holding_session_releases() -> None:
    floors = TalkFloors()
    floors.take("door-cam", "s1", "user:alice", 0)
    assert not floors.release("door-cam", "s-late")
    assert floors.holder("door-cam") is not None
    assert floors.release("door-cam", "s1") and floors.holder("door-cam") is None
    assert floors.take("door-cam", "s2", "user:bob", S).holder.session == "s2"


def test_a_stale_holder_is_taken_over_and_named() -> None:
    floors = TalkFloors(max_hold_s=60)
    first = floors.take("door-cam", "s1", "user:alice", 0).holder
    with pytest.raises(TalkBusyError):
        floors.take("door-cam", "s2", "user:bob", 59 * S)
    taken = floors.take("door-cam", "s2", "user:bob", 60 * S)
    assert taken.displaced == first and taken.holder.actor == "user:bob"
    assert not floors.release("door-cam", "s1")  # the displaced session's late release frees nothing
