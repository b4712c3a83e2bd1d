"""Fan-out drop policy: a slow consumer loses whole GOPs, never the producer's pace or a broken GOP."""

from __future__ import annotations

import threading

from vigil.core.media import (
    Codec,
    DownReason,
    EncodedPacket,
    PacketsDropped,
    SessionEnded,
    SessionStarted,
    StreamInfo,
    StreamItem,
)
from vigil.ingest.fanout import Fanout, Subscription

INFO = StreamInfo(Codec.H264, 640, 360, b"")


def pkt(n: int, key: bool) -> EncodedPacket:
    return EncodedPacket(bytes([n % 256]), n * 6000, n * 6000, key, n)


def drain(sub: Subscription) -> list[StreamItem]:
    out = []
    while (item := sub.get(timeout_s=0)) is not None:
        out.append(item)
    return out


def test_subscriber_starts_at_keyframe_and_overflow_resyncs_on_keyframe() -> None:
    fan = Fanout()
    sub = fan.subscribe("slow", max_packets=4)
    fan.publish(SessionStarted(INFO, 0))
    for n in range(12):  # GOP of 3: keyframes at 0, 3, 6, 9 — consumer reads nothing
        fan.publish(pkt(n, n % 3 == 0))
    items = drain(sub)
    assert isinstance(items[0], SessionStarted)
    packets = [i for i in items if isinstance(i, EncodedPacket)]
    assert [p.dts_90k // 6000 for p in packets[:4]] == [0, 1, 2, 3]
    # Packets 4..11 were dropped: the queue never had room again at a keyframe while full.
    assert sub.dropped_total == 8
    fan.publish(pkt(12, True))
    more = drain(sub)
    assert isinstance(more[0], PacketsDropped) and more[0].count == 8
    assert isinstance(more[1], EncodedPacket) and more[1].is_keyframe


def test_late_subscriber_gets_session_then_waits_for_keyframe() -> None:
    fan = Fanout()
    fan.publish(SessionStarted(INFO, 0))
    fan.publish(pkt(0, True))
    late = fan.subscribe("late", max_packets=10)
    fan.publish(pkt(1, False))
    fan.publish(pkt(2, True))
    items = drain(late)
    assert isinstance(items[0], SessionStarted)
    assert [i.dts_90k for i in items[1:] if isinstance(i, EncodedPacket)] == [12000]


def test_control_items_survive_a_full_queue_and_close_drains() -> None:
    fan = Fanout()
    sub = fan.subscribe("s", max_packets=1)
    fan.publish(SessionStarted(INFO, 0))
    fan.publish(pkt(0, True))
    fan.publish(pkt(1, False))
    fan.publish(SessionEnded(DownReason.ENDED, 5))
    fan.close()
    items = drain(sub)
    assert [type(i).__name__ for i in items] == ["SessionStarted", "EncodedPacket", "PacketsDropped", "SessionEnded"]
    assert sub.closed and sub.get(timeout_s=0) is None


def test_consumer_thread_blocks_until_items_arrive() -> None:
    fan = Fanout()
    sub = fan.subscribe("t", max_packets=10)
    got: list[object] = []
    t = threading.Thread(target=lambda: got.append(sub.get(timeout_s=5)))
    t.start()
    fan.publish(SessionStarted(INFO, 0))
    t.join(5)
    assert isinstance(got[0], SessionStarted)
